package store

import (
	"context"
	"database/sql"
	"fmt"
)

// JobDocument is a frozen document a job held before it was superseded (by a technical
// correction): its exact bytes and hash, kept as the job's history.
type JobDocument struct {
	JobID        int64
	Seq          int
	XML          []byte
	InvoiceHash  string
	FrozenAt     string
	SupersededAt string
	Reason       string
}

// SupersedeDocument replaces a frozen job's bytes in one transaction: the current bytes
// and hash are kept as a JobDocument (reason says why), then mutate changes the job (its
// new bytes, status, …) and audit is appended. from lists the statuses the job may be in
// (ErrConflict otherwise); a job without frozen bytes is refused.
func (d *DB) SupersedeDocument(ctx context.Context, id int64, from []string, reason string, mutate func(j *Job) error, audit AuditEntry) (*Job, error) {
	var out *Job
	err := d.inTx(ctx, func(tx *sql.Tx) error {
		j, err := d.jobForUpdate(ctx, tx, id, from)
		if err != nil {
			return err
		}
		if !j.Frozen() {
			return fmt.Errorf("job %d has no frozen document to supersede: %w", id, ErrConflict)
		}
		now := d.now()
		if _, err := tx.ExecContext(ctx, `INSERT INTO ksefpl_job_document (job_id, seq, xml, invoice_hash, frozen_at, superseded_at, reason)
			VALUES (?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM ksefpl_job_document WHERE job_id = ?), ?, ?, ?, ?, ?)`,
			j.ID, j.ID, j.XML, j.InvoiceHash, frozenAt(*j), timestamp(now), reason); err != nil {
			return fmt.Errorf("keep job %d's document: %w", id, err)
		}
		before := j.Status
		if err := mutate(j); err != nil {
			return err
		}
		if err := d.writeJob(ctx, tx, j, now); err != nil {
			return err
		}
		audit.JobID, audit.WebsiteID = j.ID, j.WebsiteID
		audit.FromStatus, audit.ToStatus = before, j.Status
		if err := d.appendAudit(ctx, tx, now, audit); err != nil {
			return err
		}
		out = j
		return nil
	})
	return out, err
}

// JobDocuments lists the documents a job held before its current one, oldest first.
func (d *DB) JobDocuments(ctx context.Context, jobID int64) ([]JobDocument, error) {
	rows, err := d.sql.QueryContext(ctx, `SELECT job_id, seq, xml, invoice_hash, frozen_at, superseded_at, reason
		FROM ksefpl_job_document WHERE job_id = ? ORDER BY seq`, jobID)
	if err != nil {
		return nil, fmt.Errorf("list job %d's documents: %w", jobID, err)
	}
	defer rows.Close()
	var out []JobDocument
	for rows.Next() {
		var doc JobDocument
		if err := rows.Scan(&doc.JobID, &doc.Seq, &doc.XML, &doc.InvoiceHash, &doc.FrozenAt, &doc.SupersededAt, &doc.Reason); err != nil {
			return nil, err
		}
		out = append(out, doc)
	}
	return out, rows.Err()
}
