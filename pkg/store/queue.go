package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Job statuses.
const (
	JobPending   = "PENDING"    // waiting to be sent
	JobAuthError = "AUTH_ERROR" // held: the website's token was refused; released by a good test-connection
	JobSending   = "SENDING"    // bytes frozen and a send started: KSeF may or may not have it
	JobSubmitted = "SUBMITTED"  // KSeF acknowledged it with an invoice reference
	JobAccepted  = "ACCEPTED"   // KSeF assigned a KSeF number
	JobFailed    = "FAILED"     // KSeF rejected it, or its session was terminated
)

// ErrConflict is returned when a row is not in a state the change expects (another
// process moved it first).
var ErrConflict = errors.New("changed concurrently")

// Job is one ksefpl_queue row.
type Job struct {
	ID               int64
	WebsiteID        int64
	EntityType       string // invoice | creditmemo
	IncrementID      string
	InputFormat      string // json | xml
	Input            string
	Status           string
	Reason           string
	ReasonDetail     string
	Attempts         int
	IssueDate        string // P_1, YYYY-MM-DD
	XML              []byte // frozen bytes, nil until frozen
	InvoiceHash      string
	FrozenAt         time.Time
	InvoiceReference string
	SessionReference string
	KSeFNumber       string
	AcquisitionDate  string
	InvoicingMode    string
	// OfflineMode is the offline mode the document was issued in ("" online:
	// offline24, offline or awaryjny); Deadline the last day (YYYY-MM-DD, Europe/Warsaw)
	// by which it must reach KSeF; DeadlineLifted that a total failure lifted that duty.
	OfflineMode    string
	Deadline       string
	DeadlineLifted bool
	// CorrectedHash is, for a technical correction, the hash of the rejected offline
	// document the job's bytes correct (sent as hashOfCorrectedInvoice; "" otherwise).
	CorrectedHash string
	// ClaimedBy is the submit process that claimed the job to send it (see ClaimJobs);
	// writing a job never changes it.
	ClaimedBy string
	// UPODue marks an accepted job whose invoice UPO submit still fetches (an online
	// session's invoice); a batch session's invoices have theirs fetched on demand.
	// Saving the job's invoice UPO clears it.
	UPODue    bool
	CreatedAt time.Time
	UpdatedAt time.Time

	// doc is the job's documents (Input, XML) as read, to write them back only when a
	// change replaced them; docRead is false when they were not read (a light read).
	doc     docState
	docRead bool
	// read holds the written columns as read (rowRead), so that a write sets only those
	// a change changed (see writeJob).
	read    jobRow
	rowRead bool
}

// docState is a job's documents as last read or written.
type docState struct {
	input string
	xml   []byte
}

// Frozen reports whether the job's bytes are fixed.
func (j *Job) Frozen() bool { return len(j.XML) > 0 }

// jobSource is the FROM clause of a job read: the queue row and its documents.
const jobSource = ` FROM ksefpl_queue LEFT JOIN ksefpl_job_body ON body_job_id = job_id`

// jobColumns are a job's columns in scanJob's order; lightJobColumns the same without
// the documents (NULL input), for changes that do not touch them.
const (
	jobColumns = `job_id, website_id, entity_type, increment_id, input_format, input, status, reason,
	reason_detail, attempts, issue_date, xml, invoice_hash, frozen_at, invoice_reference, session_reference,
	ksef_number, acquisition_date, invoicing_mode, offline_mode, deadline, deadline_lifted, hash_of_corrected, claimed_by,
	upo_due, created_at, updated_at`
	lightJobColumns = `job_id, website_id, entity_type, increment_id, input_format, NULL, status, reason,
	reason_detail, attempts, issue_date, NULL, invoice_hash, frozen_at, invoice_reference, session_reference,
	ksef_number, acquisition_date, invoicing_mode, offline_mode, deadline, deadline_lifted, hash_of_corrected, claimed_by,
	upo_due, created_at, updated_at`
)

type scanner interface{ Scan(dest ...any) error }

func scanJob(s scanner) (*Job, error) {
	var j Job
	var input sql.NullString
	var frozen, created, updated string
	if err := s.Scan(&j.ID, &j.WebsiteID, &j.EntityType, &j.IncrementID, &j.InputFormat, &input, &j.Status,
		&j.Reason, &j.ReasonDetail, &j.Attempts, &j.IssueDate, &j.XML, &j.InvoiceHash, &frozen, &j.InvoiceReference,
		&j.SessionReference, &j.KSeFNumber, &j.AcquisitionDate, &j.InvoicingMode, &j.OfflineMode, &j.Deadline, &j.DeadlineLifted,
		&j.CorrectedHash, &j.ClaimedBy, &j.UPODue, &created, &updated); err != nil {
		return nil, err
	}
	j.Input, j.docRead = input.String, input.Valid
	j.doc = docState{input: j.Input, xml: j.XML}
	var err error
	if frozen != "" {
		if j.FrozenAt, err = parseTime(frozen); err != nil {
			return nil, err
		}
	}
	if j.CreatedAt, err = parseTime(created); err != nil {
		return nil, err
	}
	j.UpdatedAt, err = parseTime(updated)
	j.read, j.rowRead = rowOf(&j), true
	return &j, err
}

// EnqueueResult says what Enqueue did.
type EnqueueResult int

// Enqueue outcomes.
const (
	Enqueued EnqueueResult = iota // a new job
	Existed                       // the document was already queued; nothing changed
	Replaced                      // an unsent job's input was replaced
)

// Enqueue inserts j (ID, timestamps and status-derived fields are filled) unless a job for
// the same (website, entity type, increment id) exists. With replace, an existing job gets
// j's input and status instead when that cannot double-send: it was never sent (no send
// attempt, not frozen), or it FAILED without a KSeF number (KSeF did not accept it). The audit entry is appended in the same
// transaction when something changed. It returns the job as stored.
func (d *DB) Enqueue(ctx context.Context, j Job, replace bool, audit AuditEntry) (*Job, EnqueueResult, error) {
	out, err := d.EnqueueMany(ctx, []EnqueueItem{{Job: j, Audit: audit}}, replace)
	if err != nil {
		return nil, Enqueued, err
	}
	return out[0].Job, out[0].Result, nil
}

// JobByID returns one job; ErrNotFound when there is none.
func (d *DB) JobByID(ctx context.Context, id int64) (*Job, error) {
	j, err := scanJob(d.sql.QueryRowContext(ctx, `SELECT `+jobColumns+jobSource+` WHERE job_id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("job %d: %w", id, ErrNotFound)
	}
	return j, err
}

// JobFilter selects jobs; zero fields match everything.
type JobFilter struct {
	WebsiteID int64
	Statuses  []string
	// EntityType and IncrementID with WebsiteID name one document (a unique index).
	EntityType       string
	IncrementID      string
	KSeFNumber       string
	SessionReference string
	IDs              []int64
	// AfterID selects jobs with a greater id (walking a backlog in windows).
	AfterID int64
	Limit   int
	// Newest makes Limit keep the newest jobs instead of the oldest (still returned
	// oldest first).
	Newest bool
	// OfflineOnly selects the jobs issued in an offline mode, OnlineOnly the others.
	OfflineOnly, OnlineOnly bool
	// ByDeadline orders by deadline (earliest first), then id, instead of id alone.
	ByDeadline bool
	// IssuedFrom and IssuedTo select jobs by issue date (P_1, YYYY-MM-DD, both
	// inclusive; "" leaves that end open). Jobs without an issue date never match a
	// bound.
	IssuedFrom, IssuedTo string
	// WithoutDocuments leaves the jobs' Input and XML out (not read).
	WithoutDocuments bool
	// claimableAt (Unix milliseconds), when set, selects jobs without a live claim at
	// that time (ClaimJobs).
	claimableAt int64
}

// Jobs lists jobs in id order.
func (d *DB) Jobs(ctx context.Context, f JobFilter) ([]*Job, error) {
	where, args := f.where()
	if f.WithoutDocuments {
		return d.queryJobs(ctx, `SELECT `+lightJobColumns+` FROM ksefpl_queue`+where, args...)
	}
	return d.queryJobs(ctx, `SELECT `+jobColumns+jobSource+where, args...)
}

// JobIDs lists the ids of the jobs Jobs would return, without loading their rows: for
// walking a large backlog one job at a time.
func (d *DB) JobIDs(ctx context.Context, f JobFilter) ([]int64, error) {
	where, args := f.where()
	rows, err := d.sql.QueryContext(ctx, `SELECT job_id FROM ksefpl_queue`+where, args...)
	if err != nil {
		return nil, fmt.Errorf("list jobs: %w", err)
	}
	return scanIDs(rows)
}

// scanIDs reads a one-column result of ids and closes rows.
func scanIDs(rows *sql.Rows) ([]int64, error) {
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// where renders the filter as a WHERE clause with ORDER BY and LIMIT.
func (f JobFilter) where() (string, []any) {
	var where []string
	var args []any
	if f.WebsiteID != 0 {
		where, args = append(where, "website_id = ?"), append(args, f.WebsiteID)
	}
	if len(f.Statuses) > 0 {
		where, args = append(where, "status IN ("+placeholders(len(f.Statuses))+")"), append(args, anySlice(f.Statuses)...)
	}
	if len(f.IDs) > 0 {
		where, args = append(where, "job_id IN ("+placeholders(len(f.IDs))+")"), append(args, anySlice(f.IDs)...)
	}
	if f.EntityType != "" {
		where, args = append(where, "entity_type = ?"), append(args, f.EntityType)
	}
	if f.IncrementID != "" {
		where, args = append(where, "increment_id = ?"), append(args, f.IncrementID)
	}
	if f.AfterID != 0 {
		where, args = append(where, "job_id > ?"), append(args, f.AfterID)
	}
	if f.KSeFNumber != "" {
		where, args = append(where, "ksef_number = ?"), append(args, f.KSeFNumber)
	}
	if f.SessionReference != "" {
		where, args = append(where, "session_reference = ?"), append(args, f.SessionReference)
	}
	if f.OfflineOnly {
		where = append(where, "offline_mode <> ''")
	}
	if f.OnlineOnly {
		where = append(where, "offline_mode = ''")
	}
	if f.IssuedFrom != "" {
		where, args = append(where, "issue_date <> '' AND issue_date >= ?"), append(args, f.IssuedFrom)
	}
	if f.IssuedTo != "" {
		where, args = append(where, "issue_date <> '' AND issue_date <= ?"), append(args, f.IssuedTo)
	}
	if f.claimableAt != 0 {
		where, args = append(where, "claimed_until < ?"), append(args, f.claimableAt)
	}
	q := ""
	if len(where) > 0 {
		q = " WHERE " + strings.Join(where, " AND ")
	}
	if f.Newest && f.Limit > 0 {
		// The newest Limit, put back in id order by the outer query.
		// (A derived table: MySQL takes no LIMIT directly inside IN.)
		return " WHERE job_id IN (SELECT job_id FROM (SELECT job_id FROM ksefpl_queue" + q +
			fmt.Sprintf(" ORDER BY job_id DESC LIMIT %d) AS newest) ORDER BY job_id", f.Limit), args
	}
	if f.ByDeadline {
		q += " ORDER BY deadline, job_id"
	} else {
		q += " ORDER BY job_id"
	}
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	return q, args
}

// queryJobs runs a SELECT of jobColumns and scans every row.
func (d *DB) queryJobs(ctx context.Context, q string, args ...any) ([]*Job, error) {
	rows, err := d.sql.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list jobs: %w", err)
	}
	defer rows.Close()
	var out []*Job
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, j)
	}
	return out, rows.Err()
}

// JobCounts returns how many jobs each status has (for one website, or all with 0).
func (d *DB) JobCounts(ctx context.Context, websiteID int64) (map[string]int, error) {
	out, err := d.counts(ctx, countJob, websiteID)
	if err != nil {
		return nil, fmt.Errorf("count jobs: %w", err)
	}
	return out, nil
}

// UpdateJob changes one job inside a transaction: it reads the job, checks that its
// status is one of from (any when from is empty; ErrConflict otherwise), lets mutate
// change it, writes it back and appends audit (with from/to statuses filled in) in the
// same transaction. mutate may return an error to abort without changes.
func (d *DB) UpdateJob(ctx context.Context, id int64, from []string, mutate func(j *Job) error, audit AuditEntry) (*Job, error) {
	var out *Job
	err := d.inTx(ctx, func(tx *sql.Tx) error {
		j, err := d.jobForUpdate(ctx, tx, id, from)
		if err != nil {
			return err
		}
		if err := d.changeJob(ctx, tx, j, sameAudit(mutate, audit), d.now()); err != nil {
			return err
		}
		out = j
		return nil
	})
	return out, err
}

// jobForUpdate reads job id inside tx and checks that it is in one of the from statuses
// (any when from is empty): ErrNotFound, or ErrConflict naming its status.
func (d *DB) jobForUpdate(ctx context.Context, tx *sql.Tx, id int64, from []string) (*Job, error) {
	j, err := scanJob(tx.QueryRowContext(ctx, `SELECT `+jobColumns+jobSource+` WHERE job_id = ?`+d.eng.forUpdate(), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("job %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	if len(from) > 0 && !contains(from, j.Status) {
		return nil, fmt.Errorf("job %d is %s, not %s: %w", id, j.Status, strings.Join(from, "/"), ErrConflict)
	}
	return j, nil
}

// replaceable reports whether a job's input may be replaced by a new version.
func replaceable(j *Job) bool {
	switch j.Status {
	case JobPending, JobAuthError:
		return j.Attempts == 0 && !j.Frozen()
	case JobFailed:
		return j.KSeFNumber == ""
	}
	return false
}

func placeholders(n int) string { return strings.TrimSuffix(strings.Repeat("?,", n), ",") }

// anySlice passes a list as query arguments (for an IN list of placeholders).
func anySlice[T any](xs []T) []any {
	out := make([]any, len(xs))
	for i, x := range xs {
		out[i] = x
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// JobDigest is what identifies a job's document, without its input or XML: for
// comparing the queue with what KSeF holds.
type JobDigest struct {
	ID          int64
	WebsiteID   int64
	EntityType  string
	IncrementID string
	Status      string
	Reason      string
	IssueDate   string
	InvoiceHash string
	KSeFNumber  string
}

// JobDigests lists the digests of the jobs matching f, in id order.
func (d *DB) JobDigests(ctx context.Context, f JobFilter) ([]JobDigest, error) {
	where, args := f.where()
	rows, err := d.sql.QueryContext(ctx, `SELECT job_id, website_id, entity_type, increment_id, status, reason, issue_date,
		invoice_hash, ksef_number FROM ksefpl_queue`+where, args...)
	if err != nil {
		return nil, fmt.Errorf("list jobs: %w", err)
	}
	defer rows.Close()
	var out []JobDigest
	for rows.Next() {
		var j JobDigest
		if err := rows.Scan(&j.ID, &j.WebsiteID, &j.EntityType, &j.IncrementID, &j.Status, &j.Reason, &j.IssueDate,
			&j.InvoiceHash, &j.KSeFNumber); err != nil {
			return nil, err
		}
		out = append(out, j)
	}
	return out, rows.Err()
}

// JobKey is a job's id, session and invoice reference, for grouping a large backlog
// without loading rows.
type JobKey struct {
	ID               int64
	SessionReference string
	InvoiceReference string
}

// JobKeys lists (id, session, invoice reference) of the jobs matching f.
func (d *DB) JobKeys(ctx context.Context, f JobFilter) ([]JobKey, error) {
	where, args := f.where()
	rows, err := d.sql.QueryContext(ctx, `SELECT job_id, session_reference, invoice_reference FROM ksefpl_queue`+where, args...)
	if err != nil {
		return nil, fmt.Errorf("list jobs: %w", err)
	}
	defer rows.Close()
	var out []JobKey
	for rows.Next() {
		var k JobKey
		if err := rows.Scan(&k.ID, &k.SessionReference, &k.InvoiceReference); err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// SessionsOfJobs lists the distinct sessions of a website's jobs in status (those with a
// session), in the order of their first job.
func (d *DB) SessionsOfJobs(ctx context.Context, websiteID int64, status string) ([]string, error) {
	rows, err := d.sql.QueryContext(ctx, `SELECT session_reference FROM ksefpl_queue
		WHERE website_id = ? AND status = ? AND session_reference <> '' GROUP BY session_reference ORDER BY MIN(job_id)`, websiteID, status)
	if err != nil {
		return nil, fmt.Errorf("list sessions of %s jobs: %w", status, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var ref string
		if err := rows.Scan(&ref); err != nil {
			return nil, err
		}
		out = append(out, ref)
	}
	return out, rows.Err()
}

// frozenChunk bounds how many jobs' bytes FrozenXML reads per query (and holds at once).
const frozenChunk = 500

// FrozenXML calls fn with the frozen bytes of each of ids, in the order of ids, reading
// them a chunk per query; a job without frozen bytes, or not found, is an error.
func (d *DB) FrozenXML(ctx context.Context, ids []int64, fn func(id int64, xml []byte) error) error {
	for start := 0; start < len(ids); start += frozenChunk {
		chunk := ids[start:min(len(ids), start+frozenChunk)]
		got := make(map[int64][]byte, len(chunk))
		rows, err := d.sql.QueryContext(ctx, `SELECT body_job_id, xml FROM ksefpl_job_body WHERE body_job_id IN (`+placeholders(len(chunk))+`)`, anySlice(chunk)...)
		if err != nil {
			return fmt.Errorf("read frozen documents: %w", err)
		}
		for rows.Next() {
			var id int64
			var xml []byte
			if err := rows.Scan(&id, &xml); err != nil {
				rows.Close()
				return err
			}
			got[id] = xml
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, id := range chunk {
			xml := got[id]
			if len(xml) == 0 {
				return fmt.Errorf("job %d has no frozen document: %w", id, ErrNotFound)
			}
			if err := fn(id, xml); err != nil {
				return err
			}
		}
	}
	return nil
}
