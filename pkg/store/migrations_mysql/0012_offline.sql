-- Offline invoicing. A job issued in an offline mode (offline24, offline, awaryjny) carries
-- its mode and the last day (Europe/Warsaw, YYYY-MM-DD) by which it must reach KSeF.
-- deadline_lifted is 1 once a total failure lifted the duty to send it.
--
-- A technical correction of a rejected offline invoice is the same document (same
-- invoice number, so the same job): the job takes the corrected bytes, and
-- hash_of_corrected holds the hash of the rejected ones, sent as hashOfCorrectedInvoice.
-- The rejected bytes are kept in ksefpl_job_document, so the job keeps its history.
--
-- The four columns and the index ksefpl_queue_offline are added by one ALTER TABLE (one
-- rebuild of the queue, applied whole or not at all). SQLite's index is partial (WHERE
-- offline_mode <> ''), MySQL has no partial indexes: this one covers every job.
ALTER TABLE ksefpl_queue
    ADD COLUMN offline_mode VARCHAR(64) NOT NULL DEFAULT '',
    ADD COLUMN deadline VARCHAR(40) NOT NULL DEFAULT '',
    ADD COLUMN deadline_lifted TINYINT NOT NULL DEFAULT 0,
    ADD COLUMN hash_of_corrected VARCHAR(255) NOT NULL DEFAULT '',
    ADD INDEX ksefpl_queue_offline (website_id, `status`, deadline);

-- reason is the job's reason code when the document was superseded.
CREATE TABLE ksefpl_job_document (
    job_id        BIGINT NOT NULL,
    seq           BIGINT NOT NULL,
    `xml`         LONGBLOB NOT NULL,
    invoice_hash  VARCHAR(255) NOT NULL,
    frozen_at     VARCHAR(40) NOT NULL,
    superseded_at VARCHAR(40) NOT NULL,
    reason        VARCHAR(64) NOT NULL,
    PRIMARY KEY (job_id, seq),
    CONSTRAINT ksefpl_job_document_job_id_fk FOREIGN KEY (job_id) REFERENCES ksefpl_queue (job_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Latarnia's announcements (failures, their ends, maintenance), kept as read so that
-- offline deadlines can be extended from them and a later run still knows them. One row
-- per environment, message and version. category and type are Latarnia's words, title
-- and body its text.
CREATE TABLE ksefpl_latarnia_message (
    environment  VARCHAR(255) NOT NULL,
    message_id   VARCHAR(255) NOT NULL,
    `version`    BIGINT NOT NULL DEFAULT 0,
    event_id     VARCHAR(255) NOT NULL DEFAULT '',
    category     VARCHAR(255) NOT NULL DEFAULT '',
    `type`       VARCHAR(255) NOT NULL DEFAULT '',
    title        MEDIUMTEXT NOT NULL DEFAULT (''),
    `body`       MEDIUMTEXT NOT NULL DEFAULT (''),
    starts_at    VARCHAR(40) NOT NULL DEFAULT '',
    ends_at      VARCHAR(40) NOT NULL DEFAULT '',
    published_at VARCHAR(40) NOT NULL DEFAULT '',
    seen_at      VARCHAR(40) NOT NULL,
    PRIMARY KEY (environment, message_id, `version`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
