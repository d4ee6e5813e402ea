-- MySQL (>= 8.0.13) / MariaDB (>= 10.6) version of migrations/0001_config.sql. Every file
-- here mirrors the SQLite migration of the same name and ends in the same schema: the same
-- tables, columns (names and order), defaults, unique keys and indexes (same names).
--
-- How the SQLite types were mapped, the same way in every file:
--   * INTEGER PRIMARY KEY (a rowid alias, assigned when not given) is
--     BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY. Other INTEGER columns are BIGINT (SQLite
--     integers are signed 64-bit), except 0/1 flags, which are TINYINT.
--   * TEXT in a primary key, unique key or index is a VARCHAR, because InnoDB cannot index
--     a TEXT column without a prefix: codes, statuses, kinds and types VARCHAR(64),
--     references, KSeF numbers, event ids, fingerprints, serials, environments, lease
--     names and config paths VARCHAR(255), timestamps VARCHAR(40) (RFC 3339 with
--     nanoseconds is at most 35 characters, a date 10). Two exceptions hold longer
--     values: increment_id is VARCHAR(512) (the shop JSON admits 256 characters, XML
--     input is not length-checked before KSeF) and cache_key is VARCHAR(768) (it embeds
--     the API base URL, 768 x 4 bytes is the 3072-byte InnoDB key limit). Every key stays
--     under 3072 bytes (utf8mb4 counts 4 bytes a character).
--   * TEXT that is not indexed but holds a bounded value (codes, timestamps, hashes,
--     references, actors) is a VARCHAR of the same bounds. Website and store codes are
--     VARCHAR(255) since the code rule sets no length. A lease holder (host|pid|nonce)
--     and an authentication outcome's environment (which may name a custom host) are
--     VARCHAR(512).
--   * Free text (names, messages, error details, descriptions, KSeF texts, JSON payloads),
--     PEM, ciphertext and lists are MEDIUMTEXT (16 MiB), the invoice input LONGTEXT
--     (inputs are capped at 4 MiB, but the cap is in bytes of any encoding). Where SQLite
--     has DEFAULT '' on such a column it is MEDIUMTEXT NOT NULL DEFAULT (''), an
--     expression default: MySQL accepts a default on a TEXT column only in that form
--     (8.0.13 and later), MariaDB accepts it from 10.2 (tested on MariaDB 10.11). A
--     VARCHAR would have put a length limit on text SQLite stores whole.
--   * BLOB is LONGBLOB.
--   * Every table is InnoDB, utf8mb4 with the binary collation utf8mb4_bin: comparisons
--     and unique keys are exact and case-sensitive, as in SQLite. One difference remains:
--     utf8mb4_bin is a PAD SPACE collation, so 'a' and 'a ' compare equal (and collide in
--     a unique key). The NO PAD binary collations differ between MySQL
--     (utf8mb4_0900_bin) and MariaDB (utf8mb4_nopad_bin), so neither is portable.
--   * REFERENCES become table-level FOREIGN KEY constraints (MySQL 8 parses and silently
--     ignores a REFERENCES clause written in a column definition). InnoDB adds an
--     index for a foreign key column no other index starts with.
--   * Indexes are declared inside CREATE TABLE, under the SQLite index names, so that
--     each table is created by one statement (MySQL commits every DDL statement at once,
--     the migration's transaction cannot undo a half-applied file).
--   * Column names that are keywords are quoted with backticks: usage is reserved in
--     MySQL and MariaDB, body in MariaDB's Oracle mode, and code, name, path, value,
--     source, status, type, event, serial, subject, issuer, xml, version, kind and holder
--     are quoted as a precaution.
--   * These files contain no semicolon except between statements, so that they can be
--     sent as one multi-statement string. String literals use single quotes (the
--     connection runs with ANSI_QUOTES).

-- Magento-shaped scopes and configuration.
CREATE TABLE store_website (
    website_id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    `code`     VARCHAR(255) NOT NULL,
    `name`     MEDIUMTEXT NOT NULL,
    is_default TINYINT NOT NULL DEFAULT 0,
    UNIQUE KEY store_website_code (`code`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
INSERT INTO store_website (website_id, `code`, `name`, is_default) VALUES (1, 'base', 'Main Website', 1);

CREATE TABLE store (
    store_id   BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    `code`     VARCHAR(255) NOT NULL,
    website_id BIGINT NOT NULL,
    `name`     MEDIUMTEXT NOT NULL,
    UNIQUE KEY store_code (`code`),
    CONSTRAINT store_website_id_fk FOREIGN KEY (website_id) REFERENCES store_website (website_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
INSERT INTO store (store_id, `code`, website_id, `name`) VALUES (1, 'default', 1, 'Default Store View');

CREATE TABLE core_config_data (
    config_id  BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    scope      VARCHAR(64) NOT NULL DEFAULT 'default',
    scope_id   BIGINT NOT NULL DEFAULT 0,
    `path`     VARCHAR(255) NOT NULL,
    `value`    MEDIUMTEXT,
    updated_at VARCHAR(40) NOT NULL,
    UNIQUE KEY core_config_data_scope_scope_id_path (scope, scope_id, `path`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Cached KSeF authentication results. value is always ciphertext.
CREATE TABLE ksefpl_cache (
    cache_key  VARCHAR(768) NOT NULL PRIMARY KEY,
    tag        VARCHAR(64) NOT NULL,
    `value`    MEDIUMTEXT NOT NULL,
    expires_at VARCHAR(40) NOT NULL,
    updated_at VARCHAR(40) NOT NULL,
    KEY ksefpl_cache_tag (tag)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Outcomes of authentication attempts per website (test-connection and submit).
-- environment is the target, "production via HOST" for a custom host, hence 512.
CREATE TABLE ksefpl_auth_outcome (
    outcome_id        BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    website_id        BIGINT NOT NULL,
    occurred_at       VARCHAR(40) NOT NULL,
    `source`          VARCHAR(64) NOT NULL,
    environment       VARCHAR(512) NOT NULL,
    token_fingerprint VARCHAR(255) NOT NULL,
    success           TINYINT NOT NULL,
    reason            VARCHAR(64) NOT NULL DEFAULT '',
    message           MEDIUMTEXT NOT NULL DEFAULT (''),
    KEY ksefpl_auth_outcome_website (website_id, outcome_id),
    CONSTRAINT ksefpl_auth_outcome_website_id_fk FOREIGN KEY (website_id) REFERENCES store_website (website_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
