-- The job queue: one job per (website, entity type, increment id). Once frozen, xml holds
-- the exact bytes sent to KSeF (never rebuilt for a resend) and invoice_hash their
-- base64 SHA-256. input is the document as queued (up to 4 MiB), hence LONGTEXT.
-- The offline columns are added by 0012, at the end of the table as in SQLite.
CREATE TABLE ksefpl_queue (
    job_id            BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    website_id        BIGINT NOT NULL,
    entity_type       VARCHAR(64) NOT NULL,
    increment_id      VARCHAR(512) NOT NULL,
    input_format      VARCHAR(64) NOT NULL,
    input             LONGTEXT NOT NULL,
    `status`          VARCHAR(64) NOT NULL,
    reason            VARCHAR(64) NOT NULL DEFAULT '',
    reason_detail     MEDIUMTEXT NOT NULL DEFAULT (''),
    attempts          BIGINT NOT NULL DEFAULT 0,
    issue_date        VARCHAR(40) NOT NULL DEFAULT '',
    `xml`             LONGBLOB,
    invoice_hash      VARCHAR(255) NOT NULL DEFAULT '',
    frozen_at         VARCHAR(40) NOT NULL DEFAULT '',
    invoice_reference VARCHAR(255) NOT NULL DEFAULT '',
    session_reference VARCHAR(255) NOT NULL DEFAULT '',
    ksef_number       VARCHAR(255) NOT NULL DEFAULT '',
    acquisition_date  VARCHAR(40) NOT NULL DEFAULT '',
    invoicing_mode    VARCHAR(64) NOT NULL DEFAULT '',
    created_at        VARCHAR(40) NOT NULL,
    updated_at        VARCHAR(40) NOT NULL,
    UNIQUE KEY ksefpl_queue_website_entity_increment (website_id, entity_type, increment_id),
    KEY ksefpl_queue_status (website_id, `status`, job_id),
    KEY ksefpl_queue_session (session_reference),
    KEY ksefpl_queue_ksef_number (ksef_number),
    CONSTRAINT ksefpl_queue_website_id_fk FOREIGN KEY (website_id) REFERENCES store_website (website_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- KSeF sessions opened by ksefpl. upo_references is a comma-separated list.
-- The kind column is added by 0010.
CREATE TABLE ksefpl_sessions (
    session_reference  VARCHAR(255) NOT NULL PRIMARY KEY,
    website_id         BIGINT NOT NULL,
    environment        VARCHAR(255) NOT NULL,
    api_url            MEDIUMTEXT NOT NULL,
    form_code          VARCHAR(64) NOT NULL,
    `status`           VARCHAR(64) NOT NULL,
    ksef_status_code   BIGINT NOT NULL DEFAULT 0,
    ksef_status_text   MEDIUMTEXT NOT NULL DEFAULT (''),
    opened_at          VARCHAR(40) NOT NULL,
    valid_until        VARCHAR(40) NOT NULL,
    closed_at          VARCHAR(40) NOT NULL DEFAULT '',
    invoice_count      BIGINT NOT NULL DEFAULT 0,
    accepted_count     BIGINT NOT NULL DEFAULT 0,
    failed_count       BIGINT NOT NULL DEFAULT 0,
    upo_references     MEDIUMTEXT NOT NULL DEFAULT (''),
    updated_at         VARCHAR(40) NOT NULL,
    KEY ksefpl_sessions_status (website_id, `status`),
    CONSTRAINT ksefpl_sessions_website_id_fk FOREIGN KEY (website_id) REFERENCES store_website (website_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- The audit log is append-only: the code never updates or deletes, and triggers refuse it.
-- (TRUNCATE TABLE and DROP TABLE fire no trigger in MySQL: the account ksefpl uses should
-- not be granted DROP on this table.) The reason index is added by 0011.
CREATE TABLE ksefpl_audit_log (
    audit_id          BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    occurred_at       VARCHAR(40) NOT NULL,
    website_id        BIGINT NOT NULL DEFAULT 0,
    job_id            BIGINT NOT NULL DEFAULT 0,
    session_reference VARCHAR(255) NOT NULL DEFAULT '',
    `event`           VARCHAR(64) NOT NULL,
    from_status       VARCHAR(64) NOT NULL DEFAULT '',
    to_status         VARCHAR(64) NOT NULL DEFAULT '',
    reason            VARCHAR(64) NOT NULL DEFAULT '',
    ksef_code         BIGINT NOT NULL DEFAULT 0,
    ksef_description  MEDIUMTEXT NOT NULL DEFAULT (''),
    actor             VARCHAR(255) NOT NULL,
    message           MEDIUMTEXT NOT NULL DEFAULT (''),
    KEY ksefpl_audit_job (job_id, audit_id),
    KEY ksefpl_audit_session (session_reference, audit_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE TRIGGER ksefpl_audit_log_no_update BEFORE UPDATE ON ksefpl_audit_log
FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'ksefpl_audit_log is append-only';
CREATE TRIGGER ksefpl_audit_log_no_delete BEFORE DELETE ON ksefpl_audit_log
FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'ksefpl_audit_log is append-only';

-- Official receipts (UPO), per session page and per invoice.
CREATE TABLE ksefpl_upo (
    upo_id            BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    `kind`            VARCHAR(64) NOT NULL,
    session_reference VARCHAR(255) NOT NULL,
    upo_reference     VARCHAR(255) NOT NULL,
    job_id            BIGINT NOT NULL DEFAULT 0,
    ksef_number       VARCHAR(255) NOT NULL DEFAULT '',
    `xml`             LONGBLOB NOT NULL,
    sha256            VARCHAR(255) NOT NULL,
    hash_verified     TINYINT NOT NULL DEFAULT 0,
    fetched_at        VARCHAR(40) NOT NULL,
    UNIQUE KEY ksefpl_upo_kind_session_upo (`kind`, session_reference, upo_reference),
    KEY ksefpl_upo_job (job_id),
    KEY ksefpl_upo_ksef_number (ksef_number)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Leases: a named lock with an owner and an expiry, so that a crashed holder never blocks
-- the next run for longer than the lease. holder is "host|pid|nonce" (a host name may
-- have up to 253 characters, hence 512).
CREATE TABLE ksefpl_leases (
    `name`     VARCHAR(255) NOT NULL PRIMARY KEY,
    `holder`   VARCHAR(512) NOT NULL,
    expires_at VARCHAR(40) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
