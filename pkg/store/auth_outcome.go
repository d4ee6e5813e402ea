package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// AuthOutcome records one authentication attempt for a website: by test-connection or by
// submit. The queue's pre-flight reads the newest ones. It never holds the token itself,
// only its fingerprint.
type AuthOutcome struct {
	ID               int64     `json:"id"`
	WebsiteID        int64     `json:"website_id"`
	OccurredAt       time.Time `json:"occurred_at"`
	Source           string    `json:"source"`
	Environment      string    `json:"environment"`
	TokenFingerprint string    `json:"token_fingerprint"`
	Success          bool      `json:"success"`
	Reason           string    `json:"reason"`
	Message          string    `json:"message"`
}

// RecordAuthOutcome appends an outcome.
func (d *DB) RecordAuthOutcome(ctx context.Context, o AuthOutcome) (int64, error) {
	if o.OccurredAt.IsZero() {
		o.OccurredAt = d.now()
	}
	res, err := d.sql.ExecContext(ctx, `INSERT INTO ksefpl_auth_outcome
		(website_id, occurred_at, source, environment, token_fingerprint, success, reason, message)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		o.WebsiteID, timestamp(o.OccurredAt), o.Source, o.Environment, o.TokenFingerprint, o.Success, o.Reason, o.Message)
	if err != nil {
		return 0, fmt.Errorf("record authentication outcome: %w", err)
	}
	return res.LastInsertId()
}

// LastAuthOutcome returns the newest outcome for a website, optionally only from one
// source ("" for any); ErrNotFound when there is none.
func (d *DB) LastAuthOutcome(ctx context.Context, websiteID int64, source string) (AuthOutcome, error) {
	q := `SELECT outcome_id, website_id, occurred_at, source, environment, token_fingerprint, success, reason, message
		FROM ksefpl_auth_outcome WHERE website_id = ?`
	args := []any{websiteID}
	if source != "" {
		q += ` AND source = ?`
		args = append(args, source)
	}
	q += ` ORDER BY outcome_id DESC LIMIT 1`
	var o AuthOutcome
	var at string
	err := d.sql.QueryRowContext(ctx, q, args...).Scan(&o.ID, &o.WebsiteID, &at, &o.Source, &o.Environment,
		&o.TokenFingerprint, &o.Success, &o.Reason, &o.Message)
	if errors.Is(err, sql.ErrNoRows) {
		return o, fmt.Errorf("authentication outcome for website %d: %w", websiteID, ErrNotFound)
	}
	if err != nil {
		return o, fmt.Errorf("read authentication outcome: %w", err)
	}
	o.OccurredAt, err = parseTime(at)
	return o, err
}

// ClearAuthOutcomes forgets a website's outcomes (after a change of environment or token).
func (d *DB) ClearAuthOutcomes(ctx context.Context, websiteID int64) error {
	if _, err := d.sql.ExecContext(ctx, `DELETE FROM ksefpl_auth_outcome WHERE website_id = ?`, websiteID); err != nil {
		return fmt.Errorf("clear authentication outcomes: %w", err)
	}
	return nil
}
