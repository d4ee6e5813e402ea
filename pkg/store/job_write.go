package store

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// jobRow is a job's columns that writeJob writes, as read or last written: writeJob
// names only those a change changed.
type jobRow struct {
	status, reason, reasonDetail, issueDate, invoiceHash, frozenAt, invoiceReference, sessionReference string
	ksefNumber, acquisitionDate, invoicingMode, offlineMode, deadline, correctedHash                   string
	attempts                                                                                           int
	deadlineLifted, upoDue                                                                             bool
}

func rowOf(j *Job) jobRow {
	return jobRow{status: j.Status, reason: j.Reason, reasonDetail: j.ReasonDetail, issueDate: j.IssueDate, invoiceHash: j.InvoiceHash,
		frozenAt: frozenAt(*j), invoiceReference: j.InvoiceReference, sessionReference: j.SessionReference, ksefNumber: j.KSeFNumber,
		acquisitionDate: j.AcquisitionDate, invoicingMode: j.InvoicingMode, offlineMode: j.OfflineMode, deadline: j.Deadline,
		correctedHash: j.CorrectedHash, attempts: j.Attempts, deadlineLifted: j.DeadlineLifted, upoDue: j.UPODue}
}

// changed lists the columns of cur that differ from was (all of them when was is nil)
// as "column = ?" with their values; only those values are boxed.
func (cur *jobRow) changed(was *jobRow) ([]string, []any) {
	c := columnChanges{all: was == nil, set: make([]string, 0, 8), args: make([]any, 0, 10)}
	var old jobRow
	if was != nil {
		old = *was
	}
	put(&c, "status", cur.status, old.status)
	put(&c, "reason", cur.reason, old.reason)
	put(&c, "reason_detail", cur.reasonDetail, old.reasonDetail)
	put(&c, "attempts", cur.attempts, old.attempts)
	put(&c, "issue_date", cur.issueDate, old.issueDate)
	put(&c, "invoice_hash", cur.invoiceHash, old.invoiceHash)
	put(&c, "frozen_at", cur.frozenAt, old.frozenAt)
	put(&c, "invoice_reference", cur.invoiceReference, old.invoiceReference)
	put(&c, "session_reference", cur.sessionReference, old.sessionReference)
	put(&c, "ksef_number", cur.ksefNumber, old.ksefNumber)
	put(&c, "acquisition_date", cur.acquisitionDate, old.acquisitionDate)
	put(&c, "invoicing_mode", cur.invoicingMode, old.invoicingMode)
	put(&c, "offline_mode", cur.offlineMode, old.offlineMode)
	put(&c, "deadline", cur.deadline, old.deadline)
	put(&c, "deadline_lifted", cur.deadlineLifted, old.deadlineLifted)
	put(&c, "hash_of_corrected", cur.correctedHash, old.correctedHash)
	put(&c, "upo_due", cur.upoDue, old.upoDue)
	return c.set, c.args
}

// columnChanges collects the "column = ?" list of an UPDATE and its values.
type columnChanges struct {
	all  bool // every column, changed or not
	set  []string
	args []any
}

// put adds column col when its value v differs from old (or c takes all).
func put[T comparable](c *columnChanges, col string, v, old T) {
	if c.all || v != old {
		c.set, c.args = append(c.set, col+" = ?"), append(c.args, v)
	}
}

// writeJob writes the columns of j a change changed since it was read (all of them for a
// job not read), with updated_at, and its documents when they changed. Only the changed
// columns are named: SQLite rewrites the entries of every index on a column an UPDATE
// names, changed or not (five indexes on the queue), and a status change should touch
// the status index alone.
func (d *DB) writeJob(ctx context.Context, tx *sql.Tx, j *Job, now time.Time) error {
	set, args := j.changes()
	return d.writeRows(ctx, tx, set, args, []*Job{j}, now)
}

// changes is writeJob's column list and values for j.
func (j *Job) changes() ([]string, []any) {
	cur := rowOf(j)
	var was *jobRow
	if j.rowRead {
		was = &j.read
	}
	return cur.changed(was)
}

// writeJobs is writeJob for many jobs: jobs whose changes are the same (the same columns
// set to the same values, as when a batch session's jobs move to SENDING) are written by
// one UPDATE; the others one by one.
func (d *DB) writeJobs(ctx context.Context, tx *sql.Tx, jobs []*Job, now time.Time) error {
	type group struct {
		set  []string
		args []any
		jobs []*Job
	}
	var order []string
	groups := map[string]*group{}
	for _, j := range jobs {
		set, args := j.changes()
		k := changeKey(set, args)
		g := groups[k]
		if g == nil {
			g = &group{set: set, args: args}
			groups[k] = g
			order = append(order, k)
		}
		g.jobs = append(g.jobs, j)
	}
	for _, k := range order {
		g := groups[k]
		if err := d.writeRows(ctx, tx, g.set, g.args, g.jobs, now); err != nil {
			return err
		}
	}
	return nil
}

// changeKey is one string for a change's columns and values: two jobs with the same key
// get the same UPDATE.
func changeKey(set []string, args []any) string {
	var k strings.Builder
	for i, c := range set {
		k.WriteString(c)
		switch v := args[i].(type) {
		case string:
			k.WriteString("\x00s")
			k.WriteString(v)
		case int:
			k.WriteString("\x00i")
			k.WriteString(strconv.Itoa(v))
		case bool:
			k.WriteString("\x00b")
			k.WriteString(strconv.FormatBool(v))
		default: // changed gives no other kind; kept distinct all the same
			fmt.Fprintf(&k, "\x00%T\x00%v", v, v)
		}
		k.WriteByte(0)
	}
	return k.String()
}

// writeRows sets the columns set to args (and updated_at to now) on the rows of jobs,
// whose changes are all the same: one job by a statement prepared once, several by one
// UPDATE of their ids. Then each job's documents are written when they changed.
func (d *DB) writeRows(ctx context.Context, tx *sql.Tx, set []string, args []any, jobs []*Job, now time.Time) error {
	args = append(args[:len(args):len(args)], timestamp(now))
	for _, j := range jobs {
		args = append(args, j.ID)
	}
	var err error
	if len(jobs) == 1 {
		var st *sql.Stmt
		if st, err = d.prepared(ctx, tx, `UPDATE ksefpl_queue SET `+setClause(set)+` WHERE job_id = ?`); err == nil {
			_, err = st.ExecContext(ctx, args...)
		}
	} else {
		// The rows were read (and on MySQL locked) in this transaction, so all are
		// there; MySQL's affected rows would not say so (it counts changed rows only).
		_, err = tx.ExecContext(ctx, `UPDATE ksefpl_queue SET `+setClause(set)+` WHERE job_id IN (`+placeholders(len(jobs))+`)`, args...)
	}
	if err != nil {
		return fmt.Errorf("update job %d: %w", jobs[0].ID, err)
	}
	for _, j := range jobs {
		if err := d.wroteJob(ctx, tx, j, now); err != nil {
			return err
		}
	}
	return nil
}

// setClause is the SET list of an UPDATE of the columns set, with updated_at last.
func setClause(set []string) string {
	return strings.Join(append(set[:len(set):len(set)], "updated_at = ?"), ", ")
}

// wroteJob records that j's row was written at now: its status count moves, the row
// becomes the one read, and its documents are written when they changed.
func (d *DB) wroteJob(ctx context.Context, tx *sql.Tx, j *Job, now time.Time) error {
	j.UpdatedAt = now
	if j.rowRead {
		d.countMove(tx, j.WebsiteID, countJob, j.read.status, j.Status)
	}
	j.read, j.rowRead = rowOf(j), true
	return d.writeDocuments(ctx, tx, j)
}

// writeDocuments writes the documents of j that differ from those read: both when they
// were read, and those a change set when they were not (a light read cannot tell a
// document cleared from one never read, so it never clears one).
func (d *DB) writeDocuments(ctx context.Context, tx *sql.Tx, j *Job) error {
	var set []string
	var args []any
	if j.docRead && j.Input != j.doc.input || !j.docRead && j.Input != "" {
		set, args = append(set, "input = ?"), append(args, j.Input)
	}
	if j.docRead && !bytes.Equal(j.XML, j.doc.xml) || !j.docRead && j.XML != nil {
		set, args = append(set, "xml = ?"), append(args, j.XML)
	}
	if len(set) == 0 {
		return nil
	}
	st, err := d.prepared(ctx, tx, `UPDATE ksefpl_job_body SET `+strings.Join(set, ", ")+` WHERE body_job_id = ?`)
	if err != nil {
		return err
	}
	r, err := st.ExecContext(ctx, append(args, j.ID)...)
	if err != nil {
		return fmt.Errorf("update job %d's documents: %w", j.ID, err)
	}
	if n, err := r.RowsAffected(); err != nil || n != 1 {
		return fmt.Errorf("update job %d's documents: %d rows (%v): the job has no documents row", j.ID, n, err)
	}
	j.doc = docState{input: j.Input, xml: j.XML}
	return nil
}
