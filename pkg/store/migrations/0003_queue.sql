-- The job queue: one job per (website, entity type, increment id). Once frozen, xml holds
-- the exact bytes sent to KSeF (never rebuilt for a resend) and invoice_hash their
-- base64 SHA-256.
CREATE TABLE ksefpl_queue (
    job_id            INTEGER PRIMARY KEY,
    website_id        INTEGER NOT NULL REFERENCES store_website(website_id),
    entity_type       TEXT NOT NULL,
    increment_id      TEXT NOT NULL,
    input_format      TEXT NOT NULL,
    input             TEXT NOT NULL,
    status            TEXT NOT NULL,
    reason            TEXT NOT NULL DEFAULT '',
    reason_detail     TEXT NOT NULL DEFAULT '',
    attempts          INTEGER NOT NULL DEFAULT 0,
    issue_date        TEXT NOT NULL DEFAULT '',
    xml               BLOB,
    invoice_hash      TEXT NOT NULL DEFAULT '',
    frozen_at         TEXT NOT NULL DEFAULT '',
    invoice_reference TEXT NOT NULL DEFAULT '',
    session_reference TEXT NOT NULL DEFAULT '',
    ksef_number       TEXT NOT NULL DEFAULT '',
    acquisition_date  TEXT NOT NULL DEFAULT '',
    invoicing_mode    TEXT NOT NULL DEFAULT '',
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    UNIQUE (website_id, entity_type, increment_id)
);
CREATE INDEX ksefpl_queue_status ON ksefpl_queue (website_id, status, job_id);
CREATE INDEX ksefpl_queue_session ON ksefpl_queue (session_reference);
CREATE INDEX ksefpl_queue_ksef_number ON ksefpl_queue (ksef_number);

-- KSeF sessions opened by ksefpl.
CREATE TABLE ksefpl_sessions (
    session_reference  TEXT PRIMARY KEY,
    website_id         INTEGER NOT NULL REFERENCES store_website(website_id),
    environment        TEXT NOT NULL,
    api_url            TEXT NOT NULL,
    form_code          TEXT NOT NULL,
    status             TEXT NOT NULL,
    ksef_status_code   INTEGER NOT NULL DEFAULT 0,
    ksef_status_text   TEXT NOT NULL DEFAULT '',
    opened_at          TEXT NOT NULL,
    valid_until        TEXT NOT NULL,
    closed_at          TEXT NOT NULL DEFAULT '',
    invoice_count      INTEGER NOT NULL DEFAULT 0,
    accepted_count     INTEGER NOT NULL DEFAULT 0,
    failed_count       INTEGER NOT NULL DEFAULT 0,
    upo_references     TEXT NOT NULL DEFAULT '',
    updated_at         TEXT NOT NULL
);
CREATE INDEX ksefpl_sessions_status ON ksefpl_sessions (website_id, status);

-- The audit log is append-only: the code never updates or deletes, and triggers refuse it.
CREATE TABLE ksefpl_audit_log (
    audit_id          INTEGER PRIMARY KEY,
    occurred_at       TEXT NOT NULL,
    website_id        INTEGER NOT NULL DEFAULT 0,
    job_id            INTEGER NOT NULL DEFAULT 0,
    session_reference TEXT NOT NULL DEFAULT '',
    event             TEXT NOT NULL,
    from_status       TEXT NOT NULL DEFAULT '',
    to_status         TEXT NOT NULL DEFAULT '',
    reason            TEXT NOT NULL DEFAULT '',
    ksef_code         INTEGER NOT NULL DEFAULT 0,
    ksef_description  TEXT NOT NULL DEFAULT '',
    actor             TEXT NOT NULL,
    message           TEXT NOT NULL DEFAULT ''
);
CREATE INDEX ksefpl_audit_job ON ksefpl_audit_log (job_id, audit_id);
CREATE INDEX ksefpl_audit_session ON ksefpl_audit_log (session_reference, audit_id);
CREATE TRIGGER ksefpl_audit_log_no_update BEFORE UPDATE ON ksefpl_audit_log
BEGIN SELECT RAISE(ABORT, 'ksefpl_audit_log is append-only'); END;
CREATE TRIGGER ksefpl_audit_log_no_delete BEFORE DELETE ON ksefpl_audit_log
BEGIN SELECT RAISE(ABORT, 'ksefpl_audit_log is append-only'); END;

-- Official receipts (UPO), per session page and per invoice.
CREATE TABLE ksefpl_upo (
    upo_id            INTEGER PRIMARY KEY,
    kind              TEXT NOT NULL,
    session_reference TEXT NOT NULL,
    upo_reference     TEXT NOT NULL,
    job_id            INTEGER NOT NULL DEFAULT 0,
    ksef_number       TEXT NOT NULL DEFAULT '',
    xml               BLOB NOT NULL,
    sha256            TEXT NOT NULL,
    hash_verified     INTEGER NOT NULL DEFAULT 0,
    fetched_at        TEXT NOT NULL,
    UNIQUE (kind, session_reference, upo_reference)
);
CREATE INDEX ksefpl_upo_job ON ksefpl_upo (job_id);
CREATE INDEX ksefpl_upo_ksef_number ON ksefpl_upo (ksef_number);

-- Leases: a named lock with an owner and an expiry, so that a crashed holder never blocks
-- the next run for longer than the lease.
CREATE TABLE ksefpl_leases (
    name       TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
