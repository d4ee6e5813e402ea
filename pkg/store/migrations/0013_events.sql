-- The transactional outbox. A job transition that matters to the shop (ACCEPTED, FAILED,
-- an AUTH_ERROR hold or release, a deferral, an offline deadline) writes one event row in
-- the same transaction as the transition, so no event is lost when a process is killed.
-- seq is per website and strictly increasing; payload is the JSON delivered, fixed when
-- the event is written. delivery is pending, delivered or dead; attempts and
-- next_attempt_at drive the retries (exponential backoff), last_error says why the last
-- attempt failed.
CREATE TABLE ksefpl_event (
    event_id        TEXT PRIMARY KEY,
    website_id      INTEGER NOT NULL,
    seq             INTEGER NOT NULL,
    job_id          INTEGER NOT NULL DEFAULT 0,
    type            TEXT NOT NULL,
    payload         TEXT NOT NULL,
    occurred_at     TEXT NOT NULL,
    delivery        TEXT NOT NULL DEFAULT 'pending',
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL DEFAULT '',
    last_error      TEXT NOT NULL DEFAULT '',
    delivered_at    TEXT NOT NULL DEFAULT '',
    UNIQUE (website_id, seq)
);
CREATE INDEX ksefpl_event_delivery ON ksefpl_event (website_id, delivery, seq);
CREATE INDEX ksefpl_event_job ON ksefpl_event (job_id, type);
CREATE INDEX ksefpl_event_time ON ksefpl_event (occurred_at);
