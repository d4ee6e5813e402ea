package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Audit events.
const (
	EventTransition = "transition" // a job changed status
	EventSession    = "session"    // a session changed status
	EventWarning    = "warning"    // something notable that changed no status
	EventUPO        = "upo"        // a UPO was stored
	EventAuth       = "auth"       // an authentication outcome that affects jobs
	// EventCertificate: a certificate was imported, enrolled, put in use, revoked or removed.
	EventCertificate = "certificate"
)

// AuditEntry is one ksefpl_audit_log row. Rows are only ever appended.
type AuditEntry struct {
	ID               int64     `json:"id"`
	OccurredAt       time.Time `json:"occurred_at"`
	WebsiteID        int64     `json:"website_id"`
	JobID            int64     `json:"job_id,omitempty"`
	SessionReference string    `json:"session_reference,omitempty"`
	Event            string    `json:"event"`
	FromStatus       string    `json:"from_status,omitempty"`
	ToStatus         string    `json:"to_status,omitempty"`
	Reason           string    `json:"reason,omitempty"`
	KSeFCode         int       `json:"ksef_code,omitempty"`
	KSeFDescription  string    `json:"ksef_description,omitempty"`
	Actor            string    `json:"actor"`
	Message          string    `json:"message,omitempty"`
	// Notify asks for an outbox event of this type (e.g. EventDeferred) in the same
	// transaction; transitions to ACCEPTED, FAILED and AUTH_ERROR, and from AUTH_ERROR
	// back to PENDING, raise theirs without it. Not stored in the audit row.
	Notify string `json:"-"`
	// job is the job as the transition wrote it in the same transaction: its event is
	// built from it instead of re-read.
	job *Job
}

// auditColumns are the columns appendAudits writes, one "?" each in auditValues.
const (
	auditColumns = `occurred_at, website_id, job_id, session_reference, event, from_status, to_status, reason, ksef_code,
		ksef_description, actor, message`
	auditValues = `(?,?,?,?,?,?,?,?,?,?,?,?)`
)

// auditRows is how many audit rows one INSERT of appendAudits writes at most.
const auditRows = 64

func (d *DB) appendAudit(ctx context.Context, tx *sql.Tx, now time.Time, e AuditEntry) error {
	return d.appendAudits(ctx, tx, now, []AuditEntry{e})
}

// appendAudits appends the entries in order, up to auditRows per INSERT, then the
// outbox events they raise, in the same order.
func (d *DB) appendAudits(ctx context.Context, tx *sql.Tx, now time.Time, es []AuditEntry) error {
	for start := 0; start < len(es); start += auditRows {
		part := es[start:min(len(es), start+auditRows)]
		args := make([]any, 0, 12*len(part))
		for _, e := range part {
			e = e.completed(now)
			args = append(args, timestamp(e.OccurredAt), e.WebsiteID, e.JobID, e.SessionReference, e.Event, e.FromStatus, e.ToStatus,
				e.Reason, e.KSeFCode, e.KSeFDescription, e.Actor, e.Message)
		}
		query := `INSERT INTO ksefpl_audit_log (` + auditColumns + `) VALUES ` +
			strings.TrimSuffix(strings.Repeat(auditValues+",", len(part)), ",")
		var err error
		if len(part) == 1 || len(part) == auditRows {
			// The common sizes are prepared once; a chunk's remainder is parsed once.
			var st *sql.Stmt
			if st, err = d.prepared(ctx, tx, query); err == nil {
				_, err = st.ExecContext(ctx, args...)
			}
		} else {
			_, err = tx.ExecContext(ctx, query, args...)
		}
		if err != nil {
			return fmt.Errorf("append audit: %w", err)
		}
	}
	for _, e := range es {
		if typ := eventTypeOf(e); typ != "" && e.WebsiteID != 0 {
			if err := d.appendEvent(ctx, tx, now, e.completed(now), typ); err != nil {
				return err
			}
		}
	}
	return nil
}

// completed is e with the defaults of a stored row: occurred now, by ksefpl.
func (e AuditEntry) completed(now time.Time) AuditEntry {
	if e.OccurredAt.IsZero() {
		e.OccurredAt = now
	}
	if e.Actor == "" {
		e.Actor = "ksefpl"
	}
	return e
}

// AppendAudit appends one entry on its own.
func (d *DB) AppendAudit(ctx context.Context, e AuditEntry) error {
	return d.inTx(ctx, func(tx *sql.Tx) error { return d.appendAudit(ctx, tx, d.now(), e) })
}

// AppendAudits appends many entries in one transaction.
func (d *DB) AppendAudits(ctx context.Context, es []AuditEntry) error {
	if len(es) == 0 {
		return nil
	}
	return d.inTx(ctx, func(tx *sql.Tx) error { return d.appendAudits(ctx, tx, d.now(), es) })
}

// AuditFilter selects audit entries; zero fields match everything.
type AuditFilter struct {
	JobID            int64
	SessionReference string
	WebsiteID        int64
	Since            time.Time
	AfterID          int64
	Limit            int
	// Newest makes Limit keep the newest entries (still returned in order).
	Newest bool
}

// Audit lists entries in the order they were written.
func (d *DB) Audit(ctx context.Context, f AuditFilter) ([]AuditEntry, error) {
	var where []string
	var args []any
	if f.JobID != 0 {
		where, args = append(where, "job_id = ?"), append(args, f.JobID)
	}
	if f.SessionReference != "" {
		where, args = append(where, "session_reference = ?"), append(args, f.SessionReference)
	}
	if f.WebsiteID != 0 {
		where, args = append(where, "website_id = ?"), append(args, f.WebsiteID)
	}
	if !f.Since.IsZero() {
		where, args = append(where, "occurred_at >= ?"), append(args, timestamp(f.Since))
	}
	if f.AfterID != 0 {
		where, args = append(where, "audit_id > ?"), append(args, f.AfterID)
	}
	q := `SELECT audit_id, occurred_at, website_id, job_id, session_reference, event, from_status, to_status, reason,
		ksef_code, ksef_description, actor, message FROM ksefpl_audit_log`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	switch {
	case f.Newest && f.Limit > 0:
		q = "SELECT * FROM (" + q + fmt.Sprintf(" ORDER BY audit_id DESC LIMIT %d) AS newest ORDER BY audit_id", f.Limit)
	case f.Limit > 0:
		q += fmt.Sprintf(" ORDER BY audit_id LIMIT %d", f.Limit)
	default:
		q += " ORDER BY audit_id"
	}
	rows, err := d.sql.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		var e AuditEntry
		var at string
		if err := rows.Scan(&e.ID, &at, &e.WebsiteID, &e.JobID, &e.SessionReference, &e.Event, &e.FromStatus,
			&e.ToStatus, &e.Reason, &e.KSeFCode, &e.KSeFDescription, &e.Actor, &e.Message); err != nil {
			return nil, err
		}
		if e.OccurredAt, err = parseTime(at); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// LastAuditOf returns when the website's newest audit row with the reason was written;
// ok is false when there is none.
func (d *DB) LastAuditOf(ctx context.Context, websiteID int64, reason string) (at time.Time, ok bool, err error) {
	var s sql.NullString
	if err := d.sql.QueryRowContext(ctx, `SELECT occurred_at FROM ksefpl_audit_log WHERE website_id = ? AND reason = ?
		ORDER BY audit_id DESC LIMIT 1`, websiteID, reason).Scan(&s); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return time.Time{}, false, nil
		}
		return time.Time{}, false, fmt.Errorf("read the audit log: %w", err)
	}
	t, err := parseTime(s.String)
	return t, err == nil, err
}
