package store

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
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
	set := make([]string, 0, 8)
	args := make([]any, 0, 10)
	str := func(col, v, old string) {
		if was == nil || v != old {
			set, args = append(set, col+" = ?"), append(args, v)
		}
	}
	var old jobRow
	if was != nil {
		old = *was
	}
	str("status", cur.status, old.status)
	str("reason", cur.reason, old.reason)
	str("reason_detail", cur.reasonDetail, old.reasonDetail)
	if was == nil || cur.attempts != old.attempts {
		set, args = append(set, "attempts = ?"), append(args, cur.attempts)
	}
	str("issue_date", cur.issueDate, old.issueDate)
	str("invoice_hash", cur.invoiceHash, old.invoiceHash)
	str("frozen_at", cur.frozenAt, old.frozenAt)
	str("invoice_reference", cur.invoiceReference, old.invoiceReference)
	str("session_reference", cur.sessionReference, old.sessionReference)
	str("ksef_number", cur.ksefNumber, old.ksefNumber)
	str("acquisition_date", cur.acquisitionDate, old.acquisitionDate)
	str("invoicing_mode", cur.invoicingMode, old.invoicingMode)
	str("offline_mode", cur.offlineMode, old.offlineMode)
	str("deadline", cur.deadline, old.deadline)
	if was == nil || cur.deadlineLifted != old.deadlineLifted {
		set, args = append(set, "deadline_lifted = ?"), append(args, cur.deadlineLifted)
	}
	str("hash_of_corrected", cur.correctedHash, old.correctedHash)
	if was == nil || cur.upoDue != old.upoDue {
		set, args = append(set, "upo_due = ?"), append(args, cur.upoDue)
	}
	return set, args
}

// writeJob writes the columns of j a change changed since it was read (all of them for a
// job not read), with updated_at, and its documents when they changed. Only the changed
// columns are named: SQLite rewrites the entries of every index on a column an UPDATE
// names, changed or not (five indexes on the queue), and a status change should touch
// the status index alone.
func (d *DB) writeJob(ctx context.Context, tx *sql.Tx, j *Job, now time.Time) error {
	set, args := j.changes()
	st, err := d.prepared(ctx, tx, `UPDATE ksefpl_queue SET `+setClause(set)+` WHERE job_id = ?`)
	if err != nil {
		return err
	}
	if _, err := st.ExecContext(ctx, append(args, timestamp(now), j.ID)...); err != nil {
		return fmt.Errorf("update job %d: %w", j.ID, err)
	}
	return d.wroteJob(ctx, tx, j, now)
}

// setClause is the SET list of an UPDATE of the columns set, with updated_at last.
func setClause(set []string) string {
	return strings.Join(append(set[:len(set):len(set)], "updated_at = ?"), ", ")
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
	var key strings.Builder
	for _, j := range jobs {
		set, args := j.changes()
		key.Reset()
		for i, c := range set {
			key.WriteString(c)
			fmt.Fprintf(&key, "\x00%T\x00%v\x00", args[i], args[i])
		}
		k := key.String()
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
		if len(g.jobs) == 1 {
			if err := d.writeJob(ctx, tx, g.jobs[0], now); err != nil {
				return err
			}
			continue
		}
		args := append(g.args, timestamp(now))
		for _, j := range g.jobs {
			args = append(args, j.ID)
		}
		// The rows were read (and on MySQL locked) in this transaction, so all are
		// there; MySQL's affected rows would not say so (it counts changed rows only).
		if _, err := tx.ExecContext(ctx, `UPDATE ksefpl_queue SET `+setClause(g.set)+` WHERE job_id IN (`+
			placeholders(len(g.jobs))+`)`, args...); err != nil {
			return fmt.Errorf("update jobs %d…: %w", g.jobs[0].ID, err)
		}
		for _, j := range g.jobs {
			if err := d.wroteJob(ctx, tx, j, now); err != nil {
				return err
			}
		}
	}
	return nil
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
