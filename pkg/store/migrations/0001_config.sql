-- Magento-shaped scopes and configuration.
CREATE TABLE store_website (
    website_id INTEGER PRIMARY KEY,
    code       TEXT NOT NULL UNIQUE,
    name       TEXT NOT NULL,
    is_default INTEGER NOT NULL DEFAULT 0
);
INSERT INTO store_website (website_id, code, name, is_default) VALUES (1, 'base', 'Main Website', 1);

CREATE TABLE store (
    store_id   INTEGER PRIMARY KEY,
    code       TEXT NOT NULL UNIQUE,
    website_id INTEGER NOT NULL REFERENCES store_website(website_id),
    name       TEXT NOT NULL
);
INSERT INTO store (store_id, code, website_id, name) VALUES (1, 'default', 1, 'Default Store View');

CREATE TABLE core_config_data (
    config_id  INTEGER PRIMARY KEY,
    scope      TEXT NOT NULL DEFAULT 'default',
    scope_id   INTEGER NOT NULL DEFAULT 0,
    path       TEXT NOT NULL,
    value      TEXT,
    updated_at TEXT NOT NULL,
    UNIQUE (scope, scope_id, path)
);

-- Cached KSeF authentication results. value is always ciphertext.
CREATE TABLE ksefpl_cache (
    cache_key  TEXT PRIMARY KEY,
    tag        TEXT NOT NULL,
    value      TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX ksefpl_cache_tag ON ksefpl_cache (tag);

-- Outcomes of authentication attempts per website (test-connection and submit).
CREATE TABLE ksefpl_auth_outcome (
    outcome_id        INTEGER PRIMARY KEY,
    website_id        INTEGER NOT NULL REFERENCES store_website(website_id),
    occurred_at       TEXT NOT NULL,
    source            TEXT NOT NULL,
    environment       TEXT NOT NULL,
    token_fingerprint TEXT NOT NULL,
    success           INTEGER NOT NULL,
    reason            TEXT NOT NULL DEFAULT '',
    message           TEXT NOT NULL DEFAULT ''
);
CREATE INDEX ksefpl_auth_outcome_website ON ksefpl_auth_outcome (website_id, outcome_id);
