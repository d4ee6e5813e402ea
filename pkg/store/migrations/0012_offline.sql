-- Offline invoicing. A job issued in an offline mode (offline24, offline, awaryjny) carries
-- its mode and the last day (Europe/Warsaw, YYYY-MM-DD) by which it must reach KSeF;
-- deadline_lifted is 1 once a total failure lifted the duty to send it.
--
-- A technical correction of a rejected offline invoice is the same document (same
-- invoice number, so the same job): the job takes the corrected bytes, and
-- hash_of_corrected holds the hash of the rejected ones, sent as hashOfCorrectedInvoice.
-- The rejected bytes are kept in ksefpl_job_document, so the job keeps its history.
ALTER TABLE ksefpl_queue ADD COLUMN offline_mode TEXT NOT NULL DEFAULT '';
ALTER TABLE ksefpl_queue ADD COLUMN deadline TEXT NOT NULL DEFAULT '';
ALTER TABLE ksefpl_queue ADD COLUMN deadline_lifted INTEGER NOT NULL DEFAULT 0;
ALTER TABLE ksefpl_queue ADD COLUMN hash_of_corrected TEXT NOT NULL DEFAULT '';

CREATE TABLE ksefpl_job_document (
    job_id        INTEGER NOT NULL REFERENCES ksefpl_queue(job_id),
    seq           INTEGER NOT NULL,
    xml           BLOB NOT NULL,
    invoice_hash  TEXT NOT NULL,
    frozen_at     TEXT NOT NULL,
    superseded_at TEXT NOT NULL,
    reason        TEXT NOT NULL,
    PRIMARY KEY (job_id, seq)
);
CREATE INDEX ksefpl_queue_offline ON ksefpl_queue (website_id, status, deadline) WHERE offline_mode <> '';

-- Latarnia's announcements (failures, their ends, maintenance), kept as read so that
-- offline deadlines can be extended from them and a later run still knows them. One row
-- per environment, message and version.
CREATE TABLE ksefpl_latarnia_message (
    environment  TEXT NOT NULL,
    message_id   TEXT NOT NULL,
    version      INTEGER NOT NULL DEFAULT 0,
    event_id     TEXT NOT NULL DEFAULT '',
    category     TEXT NOT NULL DEFAULT '',
    type         TEXT NOT NULL DEFAULT '',
    title        TEXT NOT NULL DEFAULT '',
    body         TEXT NOT NULL DEFAULT '',
    starts_at    TEXT NOT NULL DEFAULT '',
    ends_at      TEXT NOT NULL DEFAULT '',
    published_at TEXT NOT NULL DEFAULT '',
    seen_at      TEXT NOT NULL,
    PRIMARY KEY (environment, message_id, version)
);
