-- The transactional outbox. A job transition that matters to the shop (ACCEPTED, FAILED,
-- an AUTH_ERROR hold or release, a deferral, an offline deadline) writes one event row in
-- the same transaction as the transition, so no event is lost when a process is killed.
-- seq is per website and strictly increasing. payload is the JSON delivered, fixed when
-- the event is written. delivery is pending, delivered or dead. attempts and
-- next_attempt_at drive the retries (exponential backoff), last_error says why the last
-- attempt failed.
CREATE TABLE ksefpl_event (
    event_id        VARCHAR(255) NOT NULL PRIMARY KEY,
    website_id      BIGINT NOT NULL,
    seq             BIGINT NOT NULL,
    job_id          BIGINT NOT NULL DEFAULT 0,
    `type`          VARCHAR(64) NOT NULL,
    payload         MEDIUMTEXT NOT NULL,
    occurred_at     VARCHAR(40) NOT NULL,
    delivery        VARCHAR(64) NOT NULL DEFAULT 'pending',
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at VARCHAR(40) NOT NULL DEFAULT '',
    last_error      MEDIUMTEXT NOT NULL DEFAULT (''),
    delivered_at    VARCHAR(40) NOT NULL DEFAULT '',
    UNIQUE KEY ksefpl_event_website_seq (website_id, seq),
    KEY ksefpl_event_delivery (website_id, delivery, seq),
    KEY ksefpl_event_job (job_id, `type`),
    KEY ksefpl_event_time (occurred_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
