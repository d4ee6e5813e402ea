package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// SubmitRun is one website's record of submit runs: the last run, the last successful
// one, and running totals that only grow.
type SubmitRun struct {
	WebsiteID  int64
	StartedAt  time.Time
	FinishedAt time.Time
	Duration   time.Duration
	// Success is true when the last run ended without a website error (jobs KSeF
	// rejected do not make a run unsuccessful; they are counted in Failed).
	Success bool
	// ErrorClass is the failure class of the last run's error ("" on success).
	ErrorClass string
	// LastSuccessAt is when the last successful run finished (zero: never).
	LastSuccessAt time.Time
	// Runs, FailedRuns, Sent, Accepted and Failed are totals over every recorded run.
	Runs, FailedRuns, Sent, Accepted, Failed int64
}

// RunRecord is what one run did for one website (RecordSubmitRun).
type RunRecord struct {
	WebsiteID             int64
	StartedAt, FinishedAt time.Time
	Success               bool
	ErrorClass            string
	Sent, Accepted        int
	Failed                int
}

// RecordSubmitRun records a finished run of one website: its times and outcome become
// the website's last run, and its counts are added to the totals.
func (d *DB) RecordSubmitRun(ctx context.Context, r RunRecord) error {
	success, failedRun, lastSuccess := 0, 1, ""
	if r.Success {
		success, failedRun, lastSuccess = 1, 0, timestamp(r.FinishedAt)
	}
	err := d.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO ksefpl_submit_run (website_id) VALUES (?)`+d.onConflict([]string{"website_id"}, nil),
			r.WebsiteID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE ksefpl_submit_run SET last_started_at = ?, last_finished_at = ?, last_duration_ms = ?,
			last_success = ?, last_error_class = ?, last_success_at = CASE WHEN ? = '' THEN last_success_at ELSE ? END,
			runs = runs + 1, failed_runs = failed_runs + ?, sent = sent + ?, accepted = accepted + ?, failed = failed + ?
			WHERE website_id = ?`,
			timestamp(r.StartedAt), timestamp(r.FinishedAt), r.FinishedAt.Sub(r.StartedAt).Milliseconds(), success, r.ErrorClass,
			lastSuccess, lastSuccess, failedRun, r.Sent, r.Accepted, r.Failed, r.WebsiteID)
		return err
	})
	if err != nil {
		return fmt.Errorf("record the submit run of website %d: %w", r.WebsiteID, err)
	}
	return nil
}

// SubmitRuns returns the run record of every website that has one, by website id.
func (d *DB) SubmitRuns(ctx context.Context) (map[int64]SubmitRun, error) {
	rows, err := d.sql.QueryContext(ctx, `SELECT website_id, last_started_at, last_finished_at, last_duration_ms, last_success,
		last_error_class, last_success_at, runs, failed_runs, sent, accepted, failed FROM ksefpl_submit_run`)
	if err != nil {
		return nil, fmt.Errorf("read the submit runs: %w", err)
	}
	defer rows.Close()
	out := map[int64]SubmitRun{}
	for rows.Next() {
		var r SubmitRun
		var started, finished, lastSuccess string
		var ms int64
		if err := rows.Scan(&r.WebsiteID, &started, &finished, &ms, &r.Success, &r.ErrorClass, &lastSuccess,
			&r.Runs, &r.FailedRuns, &r.Sent, &r.Accepted, &r.Failed); err != nil {
			return nil, fmt.Errorf("read the submit runs: %w", err)
		}
		r.Duration = time.Duration(ms) * time.Millisecond
		if r.StartedAt, err = parseTime(started); err != nil {
			return nil, fmt.Errorf("submit run of website %d: %w", r.WebsiteID, err)
		}
		if r.FinishedAt, err = parseTime(finished); err != nil {
			return nil, fmt.Errorf("submit run of website %d: %w", r.WebsiteID, err)
		}
		if lastSuccess != "" {
			if r.LastSuccessAt, err = parseTime(lastSuccess); err != nil {
				return nil, fmt.Errorf("submit run of website %d: %w", r.WebsiteID, err)
			}
		}
		out[r.WebsiteID] = r
	}
	return out, rows.Err()
}

// APICalls are the totals of one KSeF rate-limit group over every recorded run.
type APICalls struct {
	Calls, TooManyRequests, Retries int64
}

// AddAPICalls adds a run's calls, 429 answers and retries per rate-limit group to the
// totals.
func (d *DB) AddAPICalls(ctx context.Context, byGroup map[string]APICalls) error {
	if len(byGroup) == 0 {
		return nil
	}
	err := d.inTx(ctx, func(tx *sql.Tx) error {
		for g, c := range byGroup {
			if _, err := tx.ExecContext(ctx, `INSERT INTO ksefpl_api_calls (rate_group) VALUES (?)`+d.onConflict([]string{"rate_group"}, nil), g); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE ksefpl_api_calls SET calls = calls + ?, too_many_requests = too_many_requests + ?,
				retries = retries + ? WHERE rate_group = ?`, c.Calls, c.TooManyRequests, c.Retries, g); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("record the API calls of a run: %w", err)
	}
	return nil
}

// APICallTotals returns the totals per rate-limit group.
func (d *DB) APICallTotals(ctx context.Context) (map[string]APICalls, error) {
	rows, err := d.sql.QueryContext(ctx, `SELECT rate_group, calls, too_many_requests, retries FROM ksefpl_api_calls`)
	if err != nil {
		return nil, fmt.Errorf("read the API call totals: %w", err)
	}
	defer rows.Close()
	out := map[string]APICalls{}
	for rows.Next() {
		var g string
		var c APICalls
		if err := rows.Scan(&g, &c.Calls, &c.TooManyRequests, &c.Retries); err != nil {
			return nil, fmt.Errorf("read the API call totals: %w", err)
		}
		out[g] = c
	}
	return out, rows.Err()
}

// SessionCounts returns how many sessions each status has (one website's, or all with 0).
func (d *DB) SessionCounts(ctx context.Context, websiteID int64) (map[string]int, error) {
	out, err := d.counts(ctx, countSession, websiteID)
	if err != nil {
		return nil, fmt.Errorf("count sessions: %w", err)
	}
	return out, nil
}

// UPOCounts returns how many UPOs are stored per website (by the website of their
// session).
func (d *DB) UPOCounts(ctx context.Context) (map[int64]int, error) {
	rows, err := d.sql.QueryContext(ctx, `SELECT website_id, SUM(n) FROM ksefpl_counts WHERE kind = ? GROUP BY website_id`, countUPO)
	if err != nil {
		return nil, fmt.Errorf("count UPOs: %w", err)
	}
	defer rows.Close()
	out := map[int64]int{}
	for rows.Next() {
		var id int64
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return nil, fmt.Errorf("count UPOs: %w", err)
		}
		out[id] = n
	}
	return out, rows.Err()
}
