-- Monitoring (status --check, ksefpl metrics). One row per website records its last
-- submit run — when it started and finished, how long it took, whether it succeeded
-- (no website error) and the failure class when not — with the time of the last
-- successful run and running totals (runs, failed runs, jobs sent, accepted, failed) that
-- only grow, so that they are Prometheus counters. An idle run writes its row too: "the
-- last successful submit" cannot be read from the audit log, which a run with nothing
-- to do leaves untouched. One row per KSeF rate-limit group counts the API calls the
-- runs made, the 429 answers they received and the retries.
CREATE TABLE ksefpl_submit_run (
    website_id       BIGINT NOT NULL PRIMARY KEY,
    last_started_at  VARCHAR(40) NOT NULL DEFAULT '',
    last_finished_at VARCHAR(40) NOT NULL DEFAULT '',
    last_duration_ms BIGINT NOT NULL DEFAULT 0,
    last_success     TINYINT NOT NULL DEFAULT 0,
    last_error_class VARCHAR(64) NOT NULL DEFAULT '',
    last_success_at  VARCHAR(40) NOT NULL DEFAULT '',
    runs             BIGINT NOT NULL DEFAULT 0,
    failed_runs      BIGINT NOT NULL DEFAULT 0,
    sent             BIGINT NOT NULL DEFAULT 0,
    accepted         BIGINT NOT NULL DEFAULT 0,
    failed           BIGINT NOT NULL DEFAULT 0
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE ksefpl_api_calls (
    rate_group        VARCHAR(64) NOT NULL PRIMARY KEY,
    calls             BIGINT NOT NULL DEFAULT 0,
    too_many_requests BIGINT NOT NULL DEFAULT 0,
    retries           BIGINT NOT NULL DEFAULT 0
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
