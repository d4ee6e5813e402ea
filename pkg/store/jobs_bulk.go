package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
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
	return d.UpdateJobsEach(ctx, ids, from, func(j *Job) (AuditEntry, error) { return audit, mutate(j) })
}

// UpdateJobsEach is UpdateJobs with an audit entry of its own per job: change returns it
// (an entry without Event appends nothing).
func (d *DB) UpdateJobsEach(ctx context.Context, ids []int64, from []string, change func(j *Job) (AuditEntry, error)) ([]*Job, error) {
	var out []*Job
	err := d.inTx(ctx, func(tx *sql.Tx) error {
		now := d.now()
		byID, err := d.prepared(ctx, tx, `SELECT `+lightJobColumns+` FROM ksefpl_queue WHERE job_id = ?`+d.eng.forUpdate())
		if err != nil {
			return err
		}
		for _, id := range ids {
			j, err := scanJob(byID.QueryRowContext(ctx, id))
			if err != nil {
				return fmt.Errorf("job %d: %w", id, err)
			}
			if len(from) > 0 && !contains(from, j.Status) {
				return fmt.Errorf("job %d is %s, not %s: %w", id, j.Status, strings.Join(from, "/"), ErrConflict)
			}
			before := j.Status
			a, err := change(j)
			if err != nil {
				return err
			}
			if err := d.writeJob(ctx, tx, j, now); err != nil {
				return err
			}
			if a.Event != "" {
				a.JobID, a.WebsiteID, a.FromStatus, a.ToStatus, a.job = j.ID, j.WebsiteID, before, j.Status, j
				if a.SessionReference == "" {
					a.SessionReference = j.SessionReference
				}
				if err := d.appendAudit(ctx, tx, now, a); err != nil {
					return err
				}
			}
			out = append(out, j)
		}
		return nil
	})
	return out, err
}
