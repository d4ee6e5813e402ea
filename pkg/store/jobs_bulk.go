package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// UpdateJobs applies UpdateJob's contract to many jobs in ONE transaction: each job must
// be in one of from, mutate edits it, and one audit row per job is appended. If any job
// is not in from, or mutate fails, nothing changes (ErrConflict / mutate's error).
//
// The jobs' documents are not read (a change of a whole batch session's jobs neither
// reads nor holds them): mutate sees Input "" and XML nil, may set new frozen bytes (a
// freeze) but cannot clear them. The jobs come back as written, with the documents
// mutate set.
func (d *DB) UpdateJobs(ctx context.Context, ids []int64, from []string, mutate func(j *Job) error, audit AuditEntry) ([]*Job, error) {
	return d.UpdateJobsEach(ctx, ids, from, sameAudit(mutate, audit))
}

// sameAudit is a change of UpdateJobsEach that mutates each job and gives each the same
// audit entry.
func sameAudit(mutate func(j *Job) error, audit AuditEntry) func(j *Job) (AuditEntry, error) {
	return func(j *Job) (AuditEntry, error) { return audit, mutate(j) }
}

// MoveJobs is UpdateJobs for a caller that does not need the jobs back (a whole batch
// session's): what it holds at a time does not grow with the number of jobs.
func (d *DB) MoveJobs(ctx context.Context, ids []int64, from []string, mutate func(j *Job) error, audit AuditEntry) error {
	_, err := d.updateJobsEach(ctx, ids, from, sameAudit(mutate, audit), false)
	return err
}

// UpdateJobsEach is UpdateJobs with an audit entry of its own per job: change returns it
// (an entry without Event appends nothing).
func (d *DB) UpdateJobsEach(ctx context.Context, ids []int64, from []string, change func(j *Job) (AuditEntry, error)) ([]*Job, error) {
	return d.updateJobsEach(ctx, ids, from, change, true)
}

// updateJobsEach is UpdateJobsEach, returning the jobs only when keep is set.
func (d *DB) updateJobsEach(ctx context.Context, ids []int64, from []string, change func(j *Job) (AuditEntry, error), keep bool) ([]*Job, error) {
	var out []*Job
	err := d.inTx(ctx, func(tx *sql.Tx) error {
		out = out[:0]
		now := d.now()
		for start := 0; start < len(ids); start += readChunk {
			chunk := ids[start:min(len(ids), start+readChunk)]
			read, err := d.jobsForUpdate(ctx, tx, chunk)
			if err != nil {
				return err
			}
			jobs := make([]*Job, 0, len(chunk))
			audits := make([]AuditEntry, 0, len(chunk))
			for _, id := range chunk {
				j := read[id]
				if j == nil {
					return fmt.Errorf("job %d: %w", id, ErrNotFound)
				}
				if len(from) > 0 && !contains(from, j.Status) {
					return fmt.Errorf("job %d is %s, not %s: %w", id, j.Status, strings.Join(from, "/"), ErrConflict)
				}
				before := j.Status
				a, err := change(j)
				if err != nil {
					return err
				}
				jobs = append(jobs, j)
				if a.Event != "" {
					audits = append(audits, transitionAudit(a, j, before))
				}
			}
			if err := d.writeJobs(ctx, tx, jobs, now); err != nil {
				return err
			}
			if err := d.appendAudits(ctx, tx, now, audits); err != nil {
				return err
			}
			if keep {
				out = append(out, jobs...)
			}
		}
		return nil
	})
	return out, err
}

// readChunk bounds how many jobs UpdateJobsEach reads (and locks) per query.
const readChunk = 500

// jobsForUpdate reads (and on MySQL locks) the rows of ids without their documents.
func (d *DB) jobsForUpdate(ctx context.Context, tx *sql.Tx, ids []int64) (map[int64]*Job, error) {
	rows, err := tx.QueryContext(ctx, `SELECT `+lightJobColumns+` FROM ksefpl_queue WHERE job_id IN (`+placeholders(len(ids))+`)`+d.eng.forUpdate(), anySlice(ids)...)
	if err != nil {
		return nil, fmt.Errorf("read jobs: %w", err)
	}
	defer rows.Close()
	read := make(map[int64]*Job, len(ids))
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, err
		}
		read[j.ID] = j
	}
	return read, rows.Err()
}

// changeJob applies change to j, writes it and appends the audit entry change returns.
func (d *DB) changeJob(ctx context.Context, tx *sql.Tx, j *Job, change func(j *Job) (AuditEntry, error), now time.Time) error {
	before := j.Status
	a, err := change(j)
	if err != nil {
		return err
	}
	if err := d.writeJob(ctx, tx, j, now); err != nil {
		return err
	}
	if a.Event == "" {
		return nil
	}
	return d.appendAudit(ctx, tx, now, transitionAudit(a, j, before))
}

// transitionAudit completes the audit entry of j's change from status before: the job,
// its website, both statuses and (unless the entry names one) its session.
func transitionAudit(a AuditEntry, j *Job, before string) AuditEntry {
	a.JobID, a.WebsiteID, a.FromStatus, a.ToStatus, a.job = j.ID, j.WebsiteID, before, j.Status, j
	if a.SessionReference == "" {
		a.SessionReference = j.SessionReference
	}
	return a
}
