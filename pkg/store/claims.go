package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Statements on claimed_by and owner also say "<> ''": SQLite's indexes on them are partial
// (claimed rows only), and only such a term lets its planner use them.

// Claims let several submit processes — on one host, or on many sharing a MySQL
// database — send different jobs of one website in parallel without ever sending one job
// twice. A PENDING job is claimed by one holder (ClaimJobs) before it is frozen and sent,
// and the change that records the send checks Job.ClaimedBy in the same transaction. A
// session is owned by one holder (CreateSession's Owner, or ClaimSession), which alone
// closes it, settles its jobs and recovers what was left mid-send in it. Claims expire
// unless renewed (RenewClaims), measured by the database's clock, and are dropped when
// the holder ends (ReleaseClaims) or is found dead on its node (ExpireDeadClaims).

// ClaimJobs claims for holder, until now+ttl, up to f.Limit PENDING jobs matching f that
// nobody holds a live claim on, in f's order, and returns their ids. Rows another
// transaction is claiming at the same moment are skipped, not waited for (SKIP LOCKED on
// MySQL; SQLite's write lock serialises claimers).
func (d *DB) ClaimJobs(ctx context.Context, f JobFilter, holder string, ttl time.Duration) ([]int64, error) {
	if f.Limit <= 0 {
		return nil, fmt.Errorf("claim jobs: a limit is required")
	}
	f.Statuses = []string{JobPending}
	var ids []int64
	err := d.inTx(ctx, func(tx *sql.Tx) error {
		now, err := d.eng.clock(ctx, tx, d.now)
		if err != nil {
			return err
		}
		f.claimableAt = now.UnixMilli()
		where, args := f.where()
		rows, err := tx.QueryContext(ctx, `SELECT job_id FROM ksefpl_queue`+where+d.eng.forUpdateSkipLocked(), args...)
		if err != nil {
			return fmt.Errorf("claim jobs: %w", err)
		}
		if ids, err = scanIDs(rows); err != nil || len(ids) == 0 {
			return err
		}
		q := `UPDATE ksefpl_queue SET claimed_by = ?, claimed_until = ? WHERE job_id IN (` + placeholders(len(ids)) + `)`
		args = append([]any{holder, now.Add(ttl).UnixMilli()}, anySlice(ids)...)
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("claim jobs: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ids, nil
}

// ClaimSession makes holder the owner of session ref until now+ttl when the session has
// no owner, holder already owns it, its owner's claim expired, or its owner is a process
// of this node that ended. It reports whether holder owns the session now; a session
// ksefpl has no record of is reported as owned (nobody else can claim it either).
func (d *DB) ClaimSession(ctx context.Context, ref, holder string, ttl time.Duration) (bool, error) {
	owned := false
	err := d.inTx(ctx, func(tx *sql.Tx) error {
		now, err := d.eng.clock(ctx, tx, d.now)
		if err != nil {
			return err
		}
		var owner string
		var until int64
		err = tx.QueryRowContext(ctx, `SELECT owner, owner_until FROM ksefpl_sessions WHERE session_reference = ?`+d.eng.forUpdate(), ref).Scan(&owner, &until)
		switch {
		case err == sql.ErrNoRows:
			owned = true
			return nil
		case err != nil:
			return fmt.Errorf("claim session %s: %w", ref, err)
		}
		if owner != "" && owner != holder && until > now.UnixMilli() && !HolderDead(owner) {
			owned = false
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE ksefpl_sessions SET owner = ?, owner_until = ? WHERE session_reference = ?`,
			holder, now.Add(ttl).UnixMilli(), ref); err != nil {
			return fmt.Errorf("claim session %s: %w", ref, err)
		}
		owned = true
		return nil
	})
	return owned, err
}

// RenewClaims extends every claim of holder — its PENDING jobs and its sessions — to
// now+ttl.
func (d *DB) RenewClaims(ctx context.Context, holder string, ttl time.Duration) error {
	return d.inTx(ctx, func(tx *sql.Tx) error {
		now, err := d.eng.clock(ctx, tx, d.now)
		if err != nil {
			return err
		}
		until := now.Add(ttl).UnixMilli()
		if _, err := tx.ExecContext(ctx, `UPDATE ksefpl_queue SET claimed_until = ? WHERE claimed_by = ? AND claimed_by <> '' AND status = ?`, until, holder, JobPending); err != nil {
			return fmt.Errorf("renew claims: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE ksefpl_sessions SET owner_until = ? WHERE owner = ? AND owner <> ''`, until, holder); err != nil {
			return fmt.Errorf("renew claims: %w", err)
		}
		return nil
	})
}

// ReleaseClaims drops every claim of holder at once: its jobs and sessions are free for
// any process to take.
func (d *DB) ReleaseClaims(ctx context.Context, holder string) error {
	err := d.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE ksefpl_queue SET claimed_by = '', claimed_until = 0 WHERE claimed_by = ? AND claimed_by <> ''`, holder); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE ksefpl_sessions SET owner = '', owner_until = 0 WHERE owner = ? AND owner <> ''`, holder)
		return err
	})
	if err != nil {
		return fmt.Errorf("release claims of %s: %w", holder, err)
	}
	return nil
}

// ExpireDeadClaims releases the claims of processes of this node (LocalNode) that have
// ended — killed mid-run — so that their jobs and sessions are free at once instead of
// after expiry; it returns the holders it released. (A dead process of another node is
// recognised by its claims' expiry.)
func (d *DB) ExpireDeadClaims(ctx context.Context) ([]string, error) {
	prefix := LocalNode() + "|%"
	rows, err := d.sql.QueryContext(ctx, `SELECT DISTINCT claimed_by FROM ksefpl_queue WHERE claimed_by <> '' AND claimed_by LIKE ?
		UNION SELECT DISTINCT owner FROM ksefpl_sessions WHERE owner <> '' AND owner LIKE ?`, prefix, prefix)
	if err != nil {
		return nil, fmt.Errorf("list claims of this node: %w", err)
	}
	var holders []string
	for rows.Next() {
		var h string
		if err := rows.Scan(&h); err != nil {
			rows.Close()
			return nil, err
		}
		holders = append(holders, h)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var released []string
	for _, h := range holders {
		if !HolderDead(h) {
			continue
		}
		if err := d.ReleaseClaims(ctx, h); err != nil {
			return released, err
		}
		released = append(released, h)
	}
	return released, nil
}
