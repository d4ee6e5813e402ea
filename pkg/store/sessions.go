package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Session statuses (ksefpl's view of a KSeF session).
const (
	SessionActive     = "active"     // opened, nothing being sent right now
	SessionSending    = "sending"    // a submit run is sending into it
	SessionClosing    = "closing"    // close requested; KSeF is finishing it (170)
	SessionClosed     = "closed"     // KSeF finished it (200) and its UPO is stored
	SessionExpired    = "expired"    // past validUntil before ksefpl closed it
	SessionTerminated = "terminated" // KSeF cancelled or failed it (415/440/445)
)

// Session kinds.
const (
	SessionOnline = "online"
	SessionBatch  = "batch"
)

// InFlightSessionStatuses are the statuses of sessions that still need attention.
var InFlightSessionStatuses = []string{SessionActive, SessionSending, SessionClosing}

// Session is one ksefpl_sessions row.
type Session struct {
	Reference      string    `json:"session_reference"`
	WebsiteID      int64     `json:"website_id"`
	Environment    string    `json:"environment"`
	APIURL         string    `json:"api_url"`
	FormCode       string    `json:"form_code"`
	Kind           string    `json:"kind"` // SessionOnline or SessionBatch
	Status         string    `json:"status"`
	KSeFStatusCode int       `json:"ksef_status_code"`
	KSeFStatusText string    `json:"ksef_status_text"`
	OpenedAt       time.Time `json:"opened_at"`
	ValidUntil     time.Time `json:"valid_until"`
	ClosedAt       time.Time `json:"closed_at"`
	InvoiceCount   int       `json:"invoice_count"`
	AcceptedCount  int       `json:"accepted_count"`
	FailedCount    int       `json:"failed_count"`
	UPOReferences  []string  `json:"upo_references"`
	UpdatedAt      time.Time `json:"updated_at"`
	// Owner is the submit process that follows the session up (see ClaimSession); set
	// on CreateSession with OwnerTTL, how long the ownership lasts unless renewed.
	Owner    string        `json:"owner,omitempty"`
	OwnerTTL time.Duration `json:"-"`
}

const sessionColumns = `session_reference, website_id, environment, api_url, form_code, status, ksef_status_code,
	ksef_status_text, opened_at, valid_until, closed_at, invoice_count, accepted_count, failed_count,
	upo_references, updated_at, kind, owner`

func scanSession(s scanner) (*Session, error) {
	var x Session
	var opened, valid, closed, upos, updated string
	if err := s.Scan(&x.Reference, &x.WebsiteID, &x.Environment, &x.APIURL, &x.FormCode, &x.Status,
		&x.KSeFStatusCode, &x.KSeFStatusText, &opened, &valid, &closed, &x.InvoiceCount, &x.AcceptedCount,
		&x.FailedCount, &upos, &updated, &x.Kind, &x.Owner); err != nil {
		return nil, err
	}
	var err error
	for _, p := range []struct {
		dst *time.Time
		src string
	}{{&x.OpenedAt, opened}, {&x.ValidUntil, valid}, {&x.ClosedAt, closed}, {&x.UpdatedAt, updated}} {
		if p.src == "" {
			continue
		}
		if *p.dst, err = parseTime(p.src); err != nil {
			return nil, err
		}
	}
	if upos != "" {
		x.UPOReferences = strings.Split(upos, ",")
	}
	return &x, nil
}

// CreateSession records a newly opened session and appends audit in one transaction.
func (d *DB) CreateSession(ctx context.Context, s Session, audit AuditEntry) error {
	return d.inTx(ctx, func(tx *sql.Tx) error {
		now := d.now()
		if s.Kind == "" {
			s.Kind = SessionOnline
		}
		var until int64
		if s.Owner != "" {
			clock, err := d.eng.clock(ctx, tx, d.now)
			if err != nil {
				return err
			}
			until = clock.Add(s.OwnerTTL).UnixMilli()
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO ksefpl_sessions (`+sessionColumns+`, owner_until) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
			s.Reference, s.WebsiteID, s.Environment, s.APIURL, s.FormCode, s.Status, s.KSeFStatusCode, s.KSeFStatusText,
			timestamp(s.OpenedAt), timestamp(s.ValidUntil), "", s.InvoiceCount, s.AcceptedCount, s.FailedCount,
			strings.Join(s.UPOReferences, ","), timestamp(now), s.Kind, s.Owner, until); err != nil {
			return fmt.Errorf("record session %s: %w", s.Reference, err)
		}
		d.countMove(tx, s.WebsiteID, countSession, "", s.Status)
		audit.SessionReference, audit.WebsiteID, audit.ToStatus = s.Reference, s.WebsiteID, s.Status
		return d.appendAudit(ctx, tx, now, audit)
	})
}

// SessionByRef returns one session; ErrNotFound when unknown.
func (d *DB) SessionByRef(ctx context.Context, ref string) (*Session, error) {
	s, err := scanSession(d.sql.QueryRowContext(ctx, `SELECT `+sessionColumns+` FROM ksefpl_sessions WHERE session_reference = ?`, ref))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("session %s: %w", ref, ErrNotFound)
	}
	return s, err
}

// Sessions lists sessions of a website (0: all) with one of statuses (none: all), oldest first.
func (d *DB) Sessions(ctx context.Context, websiteID int64, statuses ...string) ([]*Session, error) {
	q := `SELECT ` + sessionColumns + ` FROM ksefpl_sessions WHERE 1 = 1`
	var args []any
	if websiteID != 0 {
		q += ` AND website_id = ?`
		args = append(args, websiteID)
	}
	if len(statuses) > 0 {
		q += ` AND status IN (` + placeholders(len(statuses)) + `)`
		for _, s := range statuses {
			args = append(args, s)
		}
	}
	rows, err := d.sql.QueryContext(ctx, q+` ORDER BY opened_at, session_reference`, args...)
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	defer rows.Close()
	var out []*Session
	for rows.Next() {
		s, err := scanSession(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// UpdateSession changes one session in a transaction, like UpdateJob: the status must be
// one of from (any when empty), mutate edits it, and audit is appended (when its Event is
// set) only if the status changed or audit.Event is not EventSession.
func (d *DB) UpdateSession(ctx context.Context, ref string, from []string, mutate func(s *Session) error, audit AuditEntry) (*Session, error) {
	var out *Session
	err := d.inTx(ctx, func(tx *sql.Tx) error {
		s, err := scanSession(tx.QueryRowContext(ctx, `SELECT `+sessionColumns+` FROM ksefpl_sessions WHERE session_reference = ?`+d.eng.forUpdate(), ref))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("session %s: %w", ref, ErrNotFound)
		}
		if err != nil {
			return err
		}
		if len(from) > 0 && !contains(from, s.Status) {
			return fmt.Errorf("session %s is %s, not %s: %w", ref, s.Status, strings.Join(from, "/"), ErrConflict)
		}
		before := s.Status
		if err := mutate(s); err != nil {
			return err
		}
		now := d.now()
		closed := ""
		if !s.ClosedAt.IsZero() {
			closed = timestamp(s.ClosedAt)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE ksefpl_sessions SET status = ?, ksef_status_code = ?, ksef_status_text = ?,
			valid_until = ?, closed_at = ?, invoice_count = ?, accepted_count = ?, failed_count = ?, upo_references = ?,
			updated_at = ? WHERE session_reference = ?`,
			s.Status, s.KSeFStatusCode, s.KSeFStatusText, timestamp(s.ValidUntil), closed, s.InvoiceCount,
			s.AcceptedCount, s.FailedCount, strings.Join(s.UPOReferences, ","), timestamp(now), ref); err != nil {
			return fmt.Errorf("update session %s: %w", ref, err)
		}
		s.UpdatedAt = now
		d.countMove(tx, s.WebsiteID, countSession, before, s.Status)
		if audit.Event != "" && (before != s.Status || audit.Event != EventSession) {
			audit.SessionReference, audit.WebsiteID = s.Reference, s.WebsiteID
			audit.FromStatus, audit.ToStatus = before, s.Status
			if err := d.appendAudit(ctx, tx, now, audit); err != nil {
				return err
			}
		}
		out = s
		return nil
	})
	return out, err
}
