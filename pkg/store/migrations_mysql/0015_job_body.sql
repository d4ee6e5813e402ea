-- Issue 18: a job's row changes with every transition (frozen, sending, submitted,
-- accepted, each with claims); its documents do not. The input as queued and the frozen
-- bytes move to ksefpl_job_body, written when the job is queued and when it is frozen
-- (or its document replaced), so that a transition rewrites a small row. body_job_id is
-- named apart from job_id so that the queue and its bodies join without ambiguity.
--
-- upo_due marks an accepted job whose invoice UPO is still to be fetched by submit: an
-- invoice of an online session, or one accepted otherwise (resolve, reconcile). The
-- invoices of a batch session are covered by the session's collective UPO; their own
-- UPOs are fetched on demand (upo:download). Jobs accepted before this release without
-- an invoice UPO are marked due, as they were.
CREATE TABLE ksefpl_job_body (
    body_job_id BIGINT NOT NULL PRIMARY KEY,
    input       LONGTEXT NOT NULL,
    `xml`       LONGBLOB,
    CONSTRAINT ksefpl_job_body_job_id_fk FOREIGN KEY (body_job_id) REFERENCES ksefpl_queue (job_id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
INSERT INTO ksefpl_job_body (body_job_id, input, `xml`) SELECT job_id, input, `xml` FROM ksefpl_queue;
ALTER TABLE ksefpl_queue
    DROP COLUMN input,
    DROP COLUMN `xml`,
    ADD COLUMN upo_due TINYINT NOT NULL DEFAULT 0,
    ADD INDEX ksefpl_queue_upo_due (website_id, upo_due, job_id);
UPDATE ksefpl_queue q SET upo_due = 1 WHERE q.`status` = 'ACCEPTED'
    AND NOT EXISTS (SELECT 1 FROM ksefpl_upo u WHERE u.kind = 'invoice' AND u.job_id = q.job_id);

-- queue show looks a document up by its increment id alone (any website, any type).
CREATE INDEX ksefpl_queue_increment ON ksefpl_queue (increment_id);

-- Counts of jobs by status, outbox events by delivery state, sessions by status and UPOs
-- by kind (to their session's website), per website, kept by
-- the transactions that change them: status, metrics and submit's heartbeat read a few
-- rows instead of counting a million.
CREATE TABLE ksefpl_counts (
    website_id BIGINT NOT NULL,
    kind       VARCHAR(16) NOT NULL,
    state      VARCHAR(64) NOT NULL,
    n          BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (website_id, kind, state)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
INSERT INTO ksefpl_counts (website_id, kind, state, n)
    SELECT website_id, 'job', `status`, COUNT(*) FROM ksefpl_queue GROUP BY website_id, `status`;
INSERT INTO ksefpl_counts (website_id, kind, state, n)
    SELECT website_id, 'event', delivery, COUNT(*) FROM ksefpl_event GROUP BY website_id, delivery;
INSERT INTO ksefpl_counts (website_id, kind, state, n)
    SELECT website_id, 'session', `status`, COUNT(*) FROM ksefpl_sessions GROUP BY website_id, `status`;
INSERT INTO ksefpl_counts (website_id, kind, state, n)
    SELECT s.website_id, 'upo', u.kind, COUNT(*) FROM ksefpl_upo u
    JOIN ksefpl_sessions s ON s.session_reference = u.session_reference GROUP BY s.website_id, u.kind;
