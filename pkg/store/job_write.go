package store

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// writtenColumns are the queue columns writeJob writes, with how a job holds each. The
// first is status (the kept counts follow it).
var writtenColumns = []struct {
	name  string
	value func(j *Job) any
}{
	{"status", func(j *Job) any { return j.Status }},
	{"reason", func(j *Job) any { return j.Reason }},
	{"reason_detail", func(j *Job) any { return j.ReasonDetail }},
	{"attempts", func(j *Job) any { return j.Attempts }},
	{"issue_date", func(j *Job) any { return j.IssueDate }},
	{"invoice_hash", func(j *Job) any { return j.InvoiceHash }},
	{"frozen_at", func(j *Job) any { return frozenAt(*j) }},
	{"invoice_reference", func(j *Job) any { return j.InvoiceReference }},
	{"session_reference", func(j *Job) any { return j.SessionReference }},
	{"ksef_number", func(j *Job) any { return j.KSeFNumber }},
	{"acquisition_date", func(j *Job) any { return j.AcquisitionDate }},
	{"invoicing_mode", func(j *Job) any { return j.InvoicingMode }},
	{"offline_mode", func(j *Job) any { return j.OfflineMode }},
	{"deadline", func(j *Job) any { return j.Deadline }},
	{"deadline_lifted", func(j *Job) any { return j.DeadlineLifted }},
	{"hash_of_corrected", func(j *Job) any { return j.CorrectedHash }},
	{"upo_due", func(j *Job) any { return j.UPODue }},
}

// writtenValues are j's values of writtenColumns.
func (j *Job) writtenValues() []any {
	out := make([]any, len(writtenColumns))
	for i, c := range writtenColumns {
		out[i] = c.value(j)
	}
	return out
}

// writeJob writes the columns of j a change changed since it was read (all of them for a
// job not read), with updated_at, and its documents when they changed. Only the changed
// columns are named: SQLite rewrites the entries of every index on a column an UPDATE
// names, changed or not (five indexes on the queue), and a status change should touch
// the status index alone.
func (d *DB) writeJob(ctx context.Context, tx *sql.Tx, j *Job, now time.Time) error {
	cur := j.writtenValues()
	set := make([]string, 0, len(cur)+1)
	args := make([]any, 0, len(cur)+2)
	for i, c := range writtenColumns {
		if j.read == nil || cur[i] != j.read[i] {
			set, args = append(set, c.name+" = ?"), append(args, cur[i])
		}
	}
	set, args = append(set, "updated_at = ?"), append(args, timestamp(now), j.ID)
	st, err := d.prepared(ctx, tx, `UPDATE ksefpl_queue SET `+strings.Join(set, ", ")+` WHERE job_id = ?`)
	if err != nil {
		return err
	}
	if _, err := st.ExecContext(ctx, args...); err != nil {
		return fmt.Errorf("update job %d: %w", j.ID, err)
	}
	j.UpdatedAt = now
	if j.read != nil {
		d.countMove(tx, j.WebsiteID, countJob, j.read[0].(string), j.Status)
	}
	j.read = cur
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
