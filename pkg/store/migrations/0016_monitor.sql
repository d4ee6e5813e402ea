-- Monitoring (status --check, ksefpl metrics). One row per website records its last
-- submit run — when it started and finished, how long it took, whether it succeeded
-- (no website error) and the failure class when not — with the time of the last
-- successful run and running totals (runs, failed runs, jobs sent, accepted, failed) that
-- only grow, so that they are Prometheus counters. An idle run writes its row too: "the
-- last successful submit" cannot be read from the audit log, which a run with nothing
-- to do leaves untouched. One row per KSeF rate-limit group counts the API calls the
-- runs made, the 429 answers they received and the retries.
CREATE TABLE ksefpl_submit_run (
    website_id       INTEGER PRIMARY KEY,
    last_started_at  TEXT NOT NULL DEFAULT '',
    last_finished_at TEXT NOT NULL DEFAULT '',
    last_duration_ms INTEGER NOT NULL DEFAULT 0,
    last_success     INTEGER NOT NULL DEFAULT 0,
    last_error_class TEXT NOT NULL DEFAULT '',
    last_success_at  TEXT NOT NULL DEFAULT '',
    runs             INTEGER NOT NULL DEFAULT 0,
    failed_runs      INTEGER NOT NULL DEFAULT 0,
    sent             INTEGER NOT NULL DEFAULT 0,
    accepted         INTEGER NOT NULL DEFAULT 0,
    failed           INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE ksefpl_api_calls (
    rate_group        TEXT PRIMARY KEY,
    calls             INTEGER NOT NULL DEFAULT 0,
    too_many_requests INTEGER NOT NULL DEFAULT 0,
    retries           INTEGER NOT NULL DEFAULT 0
);
