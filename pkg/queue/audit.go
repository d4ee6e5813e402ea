package queue

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ksefpl/ksefpl/pkg/config"
	"github.com/ksefpl/ksefpl/pkg/store"
)

// AuditView is one audit-log row as operators see it (audit, audit:export, queue show):
// the stored entry plus the website's code. JSON keys are stable and snake_case.
type AuditView struct {
	ID               int64     `json:"id"`
	OccurredAt       time.Time `json:"occurred_at"`
	Website          string    `json:"website"`
	WebsiteID        int64     `json:"website_id"`
	JobID            int64     `json:"job_id"`
	SessionReference string    `json:"session_reference"`
	Event            string    `json:"event"`
	FromStatus       string    `json:"from_status"`
	ToStatus         string    `json:"to_status"`
	Reason           string    `json:"reason"`
	KSeFCode         int       `json:"ksef_code"`
	KSeFDescription  string    `json:"ksef_description"`
	Actor            string    `json:"actor"`
	Message          string    `json:"message"`
}

func auditViewOf(e store.AuditEntry, website string) AuditView {
	return AuditView{ID: e.ID, OccurredAt: e.OccurredAt.UTC(), Website: website, WebsiteID: e.WebsiteID, JobID: e.JobID,
		SessionReference: e.SessionReference, Event: e.Event, FromStatus: e.FromStatus, ToStatus: e.ToStatus,
		Reason: e.Reason, KSeFCode: e.KSeFCode, KSeFDescription: e.KSeFDescription, Actor: e.Actor, Message: e.Message}
}

// AuditQuery selects audit rows; zero fields match everything.
type AuditQuery struct {
	JobID            int64
	SessionReference string
	WebsiteID        int64
	Since            time.Time
	// Limit keeps only the newest Limit rows (0: all).
	Limit int
}

// Audit returns the audit rows the query selects in the order they were written (the
// newest Limit when set).
func Audit(ctx context.Context, db *store.DB, q AuditQuery) ([]AuditView, error) {
	entries, err := db.Audit(ctx, store.AuditFilter{JobID: q.JobID, SessionReference: q.SessionReference,
		WebsiteID: q.WebsiteID, Since: q.Since, Limit: q.Limit, Newest: true})
	if err != nil {
		return nil, fmt.Errorf("read the audit log: %w", err)
	}
	codes, err := websiteCodes(ctx, db)
	if err != nil {
		return nil, err
	}
	out := make([]AuditView, 0, len(entries))
	for _, e := range entries {
		out = append(out, auditViewOf(e, codes[e.WebsiteID]))
	}
	return out, nil
}

// SinceError reports a --since value that is neither a time nor a duration.
type SinceError struct{ Value string }

// Error says which forms --since accepts.
func (e *SinceError) Error() string {
	return fmt.Sprintf("invalid --since %q: give an RFC 3339 time (2026-11-20T10:00:00+01:00), a date (2026-11-20) or a duration back from now (90m, 24h, 7d)", e.Value)
}

// ParseSince reads a lower time bound: an RFC 3339 time, a date (midnight UTC), or a
// duration before now (Go syntax such as 90m or 24h, or whole days such as 7d).
func ParseSince(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	if d, err := config.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, &SinceError{Value: s}
}
