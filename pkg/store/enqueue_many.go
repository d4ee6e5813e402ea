package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// frozenAt is the frozen_at column of j ("" while not frozen).
func frozenAt(j Job) string {
	if j.FrozenAt.IsZero() {
		return ""
	}
	return timestamp(j.FrozenAt)
}

// EnqueueItem is one document for EnqueueMany: the job to insert and the audit entry
// to append when it changes something.
type EnqueueItem struct {
	Job   Job
	Audit AuditEntry
}

// EnqueueOutcome is what EnqueueMany did with one item: the job as stored and
// whether it was Enqueued, Existed or Replaced.
type EnqueueOutcome struct {
	Job    *Job
	Result EnqueueResult
}

// EnqueueMany does what Enqueue does for each item, in order, inside ONE transaction:
// an item for a (website, entity type, increment id) that already has a job changes
// nothing (Existed) unless replace allows it (see Enqueue); a later item may meet a job
// an earlier item of the same batch created. Either every item is applied or, on any
// error, none is. Outcomes are in the items' order.
func (d *DB) EnqueueMany(ctx context.Context, items []EnqueueItem, replace bool) ([]EnqueueOutcome, error) {
	out := make([]EnqueueOutcome, 0, len(items))
	err := d.inTxIdempotent(ctx, func(tx *sql.Tx) error {
		out = out[:0]
		now := d.now()
		// The statements are parsed once per batch, not once per item.
		byKey, err := tx.PrepareContext(ctx, `SELECT `+jobColumns+jobSource+`
			WHERE website_id = ? AND entity_type = ? AND increment_id = ?`)
		if err != nil {
			return fmt.Errorf("queue: prepare: %w", err)
		}
		defer byKey.Close()
		byID, err := tx.PrepareContext(ctx, `SELECT `+jobColumns+jobSource+` WHERE job_id = ?`)
		if err != nil {
			return fmt.Errorf("queue: prepare: %w", err)
		}
		defer byID.Close()
		insert, err := tx.PrepareContext(ctx, `INSERT INTO ksefpl_queue (website_id, entity_type, increment_id, input_format,
			status, reason, reason_detail, issue_date, invoice_hash, frozen_at, offline_mode, deadline,
			hash_of_corrected, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`)
		if err != nil {
			return fmt.Errorf("queue: prepare: %w", err)
		}
		defer insert.Close()
		insertBody, err := tx.PrepareContext(ctx, `INSERT INTO ksefpl_job_body (body_job_id, input, xml) VALUES (?,?,?)`)
		if err != nil {
			return fmt.Errorf("queue: prepare: %w", err)
		}
		defer insertBody.Close()
		for _, it := range items {
			j, audit := it.Job, it.Audit
			old, err := scanJob(byKey.QueryRowContext(ctx, j.WebsiteID, j.EntityType, j.IncrementID))
			res := Enqueued
			switch {
			case errors.Is(err, sql.ErrNoRows):
				r, err := insert.ExecContext(ctx, j.WebsiteID, j.EntityType, j.IncrementID, j.InputFormat, j.Status, j.Reason, j.ReasonDetail,
					j.IssueDate, j.InvoiceHash, frozenAt(j), j.OfflineMode, j.Deadline, j.CorrectedHash, timestamp(now), timestamp(now))
				if err != nil {
					return fmt.Errorf("queue %s %s: %w", j.EntityType, j.IncrementID, err)
				}
				if j.ID, err = r.LastInsertId(); err != nil {
					return err
				}
				if _, err := insertBody.ExecContext(ctx, j.ID, j.Input, j.XML); err != nil {
					return fmt.Errorf("queue %s %s: %w", j.EntityType, j.IncrementID, err)
				}
				d.countMove(tx, j.WebsiteID, countJob, "", j.Status)
				audit.FromStatus, audit.ToStatus = "", j.Status
			case err != nil:
				return fmt.Errorf("queue %s %s: %w", j.EntityType, j.IncrementID, err)
			case !replace || !replaceable(old):
				out = append(out, EnqueueOutcome{Job: old, Result: Existed})
				continue
			default:
				res = Replaced
				if _, err := tx.ExecContext(ctx, `UPDATE ksefpl_queue SET input_format = ?, status = ?, reason = ?,
					reason_detail = ?, issue_date = ?, invoice_hash = ?, frozen_at = ?, invoice_reference = '',
					session_reference = '', offline_mode = ?, deadline = ?, hash_of_corrected = ?, upo_due = 0, updated_at = ? WHERE job_id = ?`,
					j.InputFormat, j.Status, j.Reason, j.ReasonDetail, j.IssueDate, j.InvoiceHash, frozenAt(j),
					j.OfflineMode, j.Deadline, j.CorrectedHash, timestamp(now), old.ID); err != nil {
					return fmt.Errorf("replace job %d: %w", old.ID, err)
				}
				if _, err := tx.ExecContext(ctx, `UPDATE ksefpl_job_body SET input = ?, xml = ? WHERE body_job_id = ?`, j.Input, j.XML, old.ID); err != nil {
					return fmt.Errorf("replace job %d: %w", old.ID, err)
				}
				j.ID = old.ID
				d.countMove(tx, old.WebsiteID, countJob, old.Status, j.Status)
				audit.FromStatus, audit.ToStatus = old.Status, j.Status
			}
			audit.JobID, audit.WebsiteID = j.ID, j.WebsiteID
			if err := d.appendAudit(ctx, tx, now, audit); err != nil {
				return err
			}
			stored, err := scanJob(byID.QueryRowContext(ctx, j.ID))
			if err != nil {
				return err
			}
			out = append(out, EnqueueOutcome{Job: stored, Result: res})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
