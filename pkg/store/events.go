package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Event types: what the shop learns about a job.
const (
	EventAccepted     = "job.accepted"          // KSeF assigned a KSeF number
	EventFailed       = "job.failed"            // KSeF rejected the document (or it can never be sent)
	EventAuthHeld     = "job.auth_held"         // held as AUTH_ERROR: the website's credentials were refused
	EventAuthReleased = "job.auth_released"     // released from AUTH_ERROR
	EventDeferred     = "job.deferred"          // held back by a submit run (a reason that may pass)
	EventDeadline     = "offline.deadline"      // an offline document's deadline moved or was lifted
	EventDeadlineNear = "offline.deadline_near" // an offline document's deadline is less than offline.DueSoon away
	EventTest         = "test"                  // notify:test; never stored
)

// Delivery states of an event.
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryDead      = "dead"
)

// Event is one outbox row: Payload is the JSON delivered, fixed when the event is
// written in the transaction of the job transition it reports.
type Event struct {
	ID            string          `json:"id"`
	WebsiteID     int64           `json:"website_id"`
	Seq           int64           `json:"seq"`
	JobID         int64           `json:"job_id,omitempty"`
	Type          string          `json:"type"`
	Payload       json.RawMessage `json:"payload"`
	OccurredAt    time.Time       `json:"occurred_at"`
	Delivery      string          `json:"delivery"`
	Attempts      int             `json:"attempts"`
	NextAttemptAt time.Time       `json:"next_attempt_at,omitzero"`
	LastError     string          `json:"last_error,omitempty"`
	DeliveredAt   time.Time       `json:"delivered_at,omitzero"`
}

// EventPayload is the JSON an event carries to the shop (see docs/notify-magento.md).
type EventPayload struct {
	ID              string `json:"id"`
	Type            string `json:"type"`
	Seq             int64  `json:"seq,omitempty"`
	Website         string `json:"website"`
	JobID           int64  `json:"job_id,omitempty"`
	EntityType      string `json:"entity_type,omitempty"`
	IncrementID     string `json:"increment_id,omitempty"`
	Status          string `json:"status,omitempty"`
	OccurredAt      string `json:"occurred_at"`
	KSeFNumber      string `json:"ksef_number,omitempty"`
	UPOReference    string `json:"upo_reference,omitempty"`
	AcceptedAt      string `json:"accepted_at,omitempty"`
	Reason          string `json:"reason,omitempty"`
	KSeFCode        int    `json:"ksef_code,omitempty"`
	KSeFDescription string `json:"ksef_description,omitempty"`
	Deadline        string `json:"deadline,omitempty"`
	Message         string `json:"message,omitempty"`
}

// eventTypeOf decides which event, if any, an audit entry raises: the one it asks for
// (AuditEntry.Notify), or the one its job transition implies.
func eventTypeOf(e AuditEntry) string {
	if e.Notify != "" {
		return e.Notify
	}
	if e.Event != EventTransition || e.JobID == 0 || e.FromStatus == e.ToStatus {
		return ""
	}
	switch e.ToStatus {
	case JobAccepted:
		return EventAccepted
	case JobFailed:
		return EventFailed
	case JobAuthError:
		return EventAuthHeld
	case JobPending:
		if e.FromStatus == JobAuthError {
			return EventAuthReleased
		}
	}
	return ""
}

// NewEventID returns "evt_" and 26 random base32 characters.
func NewEventID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("event id: %w", err)
	}
	return "evt_" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:])), nil
}

// appendEvent writes the event of audit entry e (type typ) inside tx: the job as it is
// now in the same transaction gives the payload, and the website's next sequence number
// orders it.
func (d *DB) appendEvent(ctx context.Context, tx *sql.Tx, now time.Time, e AuditEntry, typ string) error {
	id, err := NewEventID()
	if err != nil {
		return err
	}
	p := EventPayload{ID: id, Type: typ, JobID: e.JobID, OccurredAt: timestamp(e.OccurredAt), Status: e.ToStatus,
		Reason: e.Reason, KSeFCode: e.KSeFCode, KSeFDescription: e.KSeFDescription, Message: e.Message}
	ts := d.txStateOf(tx)
	if e.JobID == 0 || e.job != nil {
		if p.Website, err = d.websiteCode(ctx, tx, ts, e.WebsiteID); err != nil {
			return err
		}
	}
	if e.JobID != 0 {
		// The job as the transition left it: as written (e.job), or read back.
		var reason, detail, ksefNumber, acquired, invoiceRef, deadline string
		var lifted bool
		if j := e.job; j != nil {
			p.EntityType, p.IncrementID, p.Status, reason, detail = j.EntityType, j.IncrementID, j.Status, j.Reason, j.ReasonDetail
			ksefNumber, acquired, invoiceRef, deadline, lifted = j.KSeFNumber, j.AcquisitionDate, j.InvoiceReference, j.Deadline, j.DeadlineLifted
		} else {
			st, err := d.prepared(ctx, tx, `SELECT w.code, q.entity_type, q.increment_id, q.status, q.reason, q.reason_detail, q.ksef_number,
			q.acquisition_date, q.invoice_reference, q.deadline, q.deadline_lifted
			FROM ksefpl_queue q JOIN store_website w ON w.website_id = q.website_id WHERE q.job_id = ?`)
			if err != nil {
				return err
			}
			if err := st.QueryRowContext(ctx, e.JobID).Scan(&p.Website, &p.EntityType, &p.IncrementID, &p.Status, &reason, &detail,
				&ksefNumber, &acquired, &invoiceRef, &deadline, &lifted); err != nil {
				return fmt.Errorf("event: job %d: %w", e.JobID, err)
			}
		}
		switch typ {
		case EventAccepted:
			p.KSeFNumber, p.AcceptedAt, p.UPOReference = ksefNumber, acquired, invoiceRef
		case EventDeadline, EventDeadlineNear:
			if !lifted {
				p.Deadline = deadline
			}
		}
		if p.Reason == "" {
			p.Reason = reason
		}
		if p.Message == "" && detail != "" && typ != EventAccepted {
			p.Message = detail
		}
	}
	if p.Seq, err = d.nextSeq(ctx, tx, ts, e.WebsiteID); err != nil {
		return err
	}
	body, err := json.Marshal(p)
	if err != nil {
		return err
	}
	insert, err := d.prepared(ctx, tx, `INSERT INTO ksefpl_event (event_id, website_id, seq, job_id, type, payload, occurred_at,
		delivery, next_attempt_at) VALUES (?,?,?,?,?,?,?,?,?)`)
	if err != nil {
		return err
	}
	if _, err := insert.ExecContext(ctx,
		id, e.WebsiteID, p.Seq, e.JobID, typ, string(body), timestamp(e.OccurredAt), DeliveryPending, timestamp(now)); err != nil {
		return fmt.Errorf("store event %s: %w", typ, err)
	}
	d.countMove(tx, e.WebsiteID, countEvent, "", DeliveryPending)
	return nil
}

// websiteCode is the code of website, read once per transaction.
func (d *DB) websiteCode(ctx context.Context, tx *sql.Tx, ts *txState, website int64) (string, error) {
	if c, ok := ts.websiteCodes[website]; ok {
		return c, nil
	}
	st, err := d.prepared(ctx, tx, `SELECT code FROM store_website WHERE website_id = ?`)
	if err != nil {
		return "", err
	}
	var code string
	if err := st.QueryRowContext(ctx, website).Scan(&code); err != nil {
		return "", fmt.Errorf("event: website %d: %w", website, err)
	}
	if ts.websiteCodes == nil {
		ts.websiteCodes = map[int64]string{}
	}
	ts.websiteCodes[website] = code
	return code, nil
}

// nextSeq is the sequence number of website's next event. The first event of a
// transaction reads the largest one; the transaction then holds the lock that keeps
// every other writer from adding one (SQLite's write lock; on MySQL the website's row,
// locked here), so the following ones count on from it.
func (d *DB) nextSeq(ctx context.Context, tx *sql.Tx, ts *txState, website int64) (int64, error) {
	if last, ok := ts.lastSeq[website]; ok {
		ts.lastSeq[website] = last + 1
		return last + 1, nil
	}
	// Locked on MySQL: two hosts' transitions of one website must not take the same
	// number (the second waits, then reads the first's row). The website's row is locked
	// first, so that appenders queue on one row instead of deadlocking on the gap locks
	// of the MAX read.
	if fu := d.eng.forUpdate(); fu != "" {
		st, err := d.prepared(ctx, tx, `SELECT website_id FROM store_website WHERE website_id = ?`+fu)
		if err != nil {
			return 0, err
		}
		var id int64
		if err := st.QueryRowContext(ctx, website).Scan(&id); err != nil {
			return 0, fmt.Errorf("event sequence: website %d: %w", website, err)
		}
	}
	next, err := d.prepared(ctx, tx, `SELECT COALESCE(MAX(seq), 0) + 1 FROM ksefpl_event WHERE website_id = ?`+d.eng.forUpdate())
	if err != nil {
		return 0, err
	}
	var seq int64
	if err := next.QueryRowContext(ctx, website).Scan(&seq); err != nil {
		return 0, fmt.Errorf("event sequence: %w", err)
	}
	if ts.lastSeq == nil {
		ts.lastSeq = map[int64]int64{}
	}
	ts.lastSeq[website] = seq
	return seq, nil
}

const eventColumns = `event_id, website_id, seq, job_id, type, payload, occurred_at, delivery, attempts, next_attempt_at,
	last_error, delivered_at`

func scanEvent(s scanner) (*Event, error) {
	var ev Event
	var payload, occurred, next, delivered string
	if err := s.Scan(&ev.ID, &ev.WebsiteID, &ev.Seq, &ev.JobID, &ev.Type, &payload, &occurred, &ev.Delivery, &ev.Attempts,
		&next, &ev.LastError, &delivered); err != nil {
		return nil, err
	}
	ev.Payload = json.RawMessage(payload)
	var err error
	if ev.OccurredAt, err = parseTime(occurred); err != nil {
		return nil, err
	}
	if next != "" {
		if ev.NextAttemptAt, err = parseTime(next); err != nil {
			return nil, err
		}
	}
	if delivered != "" {
		if ev.DeliveredAt, err = parseTime(delivered); err != nil {
			return nil, err
		}
	}
	return &ev, nil
}

// EventFilter selects events; zero fields match everything. Events come in order of
// website and sequence (AfterSeq needs a WebsiteID to mean a cursor).
type EventFilter struct {
	WebsiteID int64
	AfterSeq  int64
	Since     time.Time
	Delivery  string
	JobID     int64
	Type      string
	IDs       []string
	// Due selects pending events whose next attempt is at or before Due.
	Due   time.Time
	Limit int
}

// Events lists events matching f.
func (d *DB) Events(ctx context.Context, f EventFilter) ([]*Event, error) {
	var where []string
	var args []any
	add := func(cond string, v ...any) { where = append(where, cond); args = append(args, v...) }
	if f.WebsiteID != 0 {
		add("website_id = ?", f.WebsiteID)
	}
	if f.AfterSeq > 0 {
		add("seq > ?", f.AfterSeq)
	}
	if !f.Since.IsZero() {
		add("occurred_at >= ?", timestamp(f.Since))
	}
	if f.Delivery != "" {
		add("delivery = ?", f.Delivery)
	}
	if f.JobID != 0 {
		add("job_id = ?", f.JobID)
	}
	if f.Type != "" {
		add("type = ?", f.Type)
	}
	if len(f.IDs) > 0 {
		add("event_id IN ("+placeholders(len(f.IDs))+")", anySlice(f.IDs)...)
	}
	if !f.Due.IsZero() {
		add("delivery = ? AND next_attempt_at <= ?", DeliveryPending, timestamp(f.Due))
	}
	q := `SELECT ` + eventColumns + ` FROM ksefpl_event`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY website_id, seq`
	if f.Limit > 0 {
		q += fmt.Sprintf(` LIMIT %d`, f.Limit)
	}
	rows, err := d.sql.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	defer rows.Close()
	var out []*Event
	for rows.Next() {
		ev, err := scanEvent(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, ev)
	}
	return out, rows.Err()
}

// EventCounts returns how many events each delivery state has (one website, or all with 0).
func (d *DB) EventCounts(ctx context.Context, websiteID int64) (map[string]int, error) {
	out, err := d.counts(ctx, countEvent, websiteID)
	if err != nil {
		return nil, fmt.Errorf("count events: %w", err)
	}
	return out, nil
}

// ErrEventNotPending says an event is no longer waiting for delivery.
var ErrEventNotPending = errors.New("event is not pending")

// StartDelivery records an attempt before it is made: attempts+1, and the next attempt
// at retryAt, so that a process killed during the call leaves the event due again later
// (at least once). It fails with ErrEventNotPending when the event was delivered or
// parked meanwhile.
func (d *DB) StartDelivery(ctx context.Context, id string, retryAt time.Time) (*Event, error) {
	var out *Event
	err := d.inTx(ctx, func(tx *sql.Tx) error {
		ev, err := scanEvent(tx.QueryRowContext(ctx, `SELECT `+eventColumns+` FROM ksefpl_event WHERE event_id = ?`+d.eng.forUpdate(), id))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("event %s: %w", id, ErrNotFound)
		}
		if err != nil {
			return err
		}
		if ev.Delivery != DeliveryPending {
			return fmt.Errorf("event %s is %s: %w", id, ev.Delivery, ErrEventNotPending)
		}
		ev.Attempts++
		ev.NextAttemptAt = retryAt
		if _, err := tx.ExecContext(ctx, `UPDATE ksefpl_event SET attempts = ?, next_attempt_at = ? WHERE event_id = ?`,
			ev.Attempts, timestamp(retryAt), id); err != nil {
			return fmt.Errorf("record delivery attempt of %s: %w", id, err)
		}
		out = ev
		return nil
	})
	return out, err
}

// FinishDelivery records an attempt's outcome: delivered (errText empty), or failed
// with errText — parked as dead when dead is true.
func (d *DB) FinishDelivery(ctx context.Context, id, errText string, dead bool) error {
	err := d.inTx(ctx, func(tx *sql.Tx) error {
		now := d.now()
		var website int64
		switch err := tx.QueryRowContext(ctx, `SELECT website_id FROM ksefpl_event WHERE event_id = ? AND delivery = ?`+d.eng.forUpdate(),
			id, DeliveryPending).Scan(&website); {
		case errors.Is(err, sql.ErrNoRows):
			return nil // delivered or parked meanwhile
		case err != nil:
			return err
		}
		var err error
		to := DeliveryPending
		switch {
		case errText == "":
			to = DeliveryDelivered
			_, err = tx.ExecContext(ctx, `UPDATE ksefpl_event SET delivery = ?, delivered_at = ?, last_error = '' WHERE event_id = ?`,
				to, timestamp(now), id)
		case dead:
			to = DeliveryDead
			_, err = tx.ExecContext(ctx, `UPDATE ksefpl_event SET delivery = ?, last_error = ? WHERE event_id = ?`, to, errText, id)
		default:
			_, err = tx.ExecContext(ctx, `UPDATE ksefpl_event SET last_error = ? WHERE event_id = ?`, errText, id)
		}
		d.countMove(tx, website, countEvent, DeliveryPending, to)
		return err
	})
	if err != nil {
		return fmt.Errorf("record delivery of %s: %w", id, err)
	}
	return nil
}

// RetryEvents puts dead (or pending) events back to pending, due now, with their attempt
// count reset; it returns how many changed.
func (d *DB) RetryEvents(ctx context.Context, ids []string, allDead bool, websiteID int64) (int, error) {
	where := ` WHERE delivery <> ?`
	args := []any{DeliveryDelivered}
	switch {
	case allDead:
		where += ` AND delivery = ?`
		args = append(args, DeliveryDead)
	case len(ids) > 0:
		where += ` AND event_id IN (` + placeholders(len(ids)) + `)`
		args = append(args, anySlice(ids)...)
	default:
		return 0, nil
	}
	if websiteID != 0 {
		where += ` AND website_id = ?`
		args = append(args, websiteID)
	}
	changed := 0
	err := d.inTx(ctx, func(tx *sql.Tx) error {
		changed = 0
		// What moves back to pending (dead events, or those named), locked and counted
		// before it moves.
		rows, err := tx.QueryContext(ctx, `SELECT website_id, delivery FROM ksefpl_event`+where+d.eng.forUpdate(), args...)
		if err != nil {
			return err
		}
		type move struct {
			website int64
			from    string
		}
		var moves []move
		for rows.Next() {
			var m move
			if err := rows.Scan(&m.website, &m.from); err != nil {
				rows.Close()
				return err
			}
			moves = append(moves, m)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		r, err := tx.ExecContext(ctx, `UPDATE ksefpl_event SET delivery = ?, attempts = 0, next_attempt_at = ?, last_error = ''`+where,
			append([]any{DeliveryPending, timestamp(d.now())}, args...)...)
		if err != nil {
			return err
		}
		n, err := r.RowsAffected()
		changed = int(n)
		for _, m := range moves {
			d.countMove(tx, m.website, countEvent, m.from, DeliveryPending)
		}
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("retry events: %w", err)
	}
	return changed, nil
}

// HasEvent reports whether job jobID already raised an event of type typ.
func (d *DB) HasEvent(ctx context.Context, jobID int64, typ string) (bool, error) {
	var n int
	err := d.sql.QueryRowContext(ctx, `SELECT COUNT(*) FROM ksefpl_event WHERE job_id = ? AND type = ?`, jobID, typ).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("look up events of job %d: %w", jobID, err)
	}
	return n > 0, nil
}
