package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// LeaseHeldError says who holds a lease and until when.
type LeaseHeldError struct {
	Name      string
	Holder    string
	ExpiresAt time.Time
}

func (e *LeaseHeldError) Error() string {
	return fmt.Sprintf("%s is held by %s until %s", e.Name, e.Holder, e.ExpiresAt.UTC().Format(time.RFC3339))
}

// AcquireLease takes the named lease for holder until now+ttl. It succeeds when the lease
// is free, expired, or already held by holder (a renewal); otherwise it returns a
// *LeaseHeldError. The check and the write happen in one transaction.
func (d *DB) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) error {
	return d.inTx(ctx, func(tx *sql.Tx) error {
		now := d.now()
		var cur, exp string
		err := tx.QueryRowContext(ctx, `SELECT holder, expires_at FROM ksefpl_leases WHERE name = ?`, name).Scan(&cur, &exp)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			_, err = tx.ExecContext(ctx, `INSERT INTO ksefpl_leases (name, holder, expires_at) VALUES (?, ?, ?)`,
				name, holder, timestamp(now.Add(ttl)))
			return err
		case err != nil:
			return fmt.Errorf("read lease %s: %w", name, err)
		}
		expires, err := parseTime(exp)
		if err != nil {
			return err
		}
		if cur != holder && now.Before(expires) {
			return &LeaseHeldError{Name: name, Holder: cur, ExpiresAt: expires}
		}
		_, err = tx.ExecContext(ctx, `UPDATE ksefpl_leases SET holder = ?, expires_at = ? WHERE name = ?`,
			holder, timestamp(now.Add(ttl)), name)
		return err
	})
}

// ReleaseLease frees the lease if holder still holds it.
func (d *DB) ReleaseLease(ctx context.Context, name, holder string) error {
	_, err := d.sql.ExecContext(ctx, `DELETE FROM ksefpl_leases WHERE name = ? AND holder = ?`, name, holder)
	if err != nil {
		return fmt.Errorf("release lease %s: %w", name, err)
	}
	return nil
}

// TakeOverLease moves the lease from oldHolder to holder, only if oldHolder still holds
// it (used when the old holder is known to be dead). ErrConflict when it moved meanwhile.
func (d *DB) TakeOverLease(ctx context.Context, name, oldHolder, holder string, ttl time.Duration) error {
	r, err := d.sql.ExecContext(ctx, `UPDATE ksefpl_leases SET holder = ?, expires_at = ? WHERE name = ? AND holder = ?`,
		holder, timestamp(d.now().Add(ttl)), name, oldHolder)
	if err != nil {
		return fmt.Errorf("take over lease %s: %w", name, err)
	}
	if n, err := r.RowsAffected(); err != nil || n == 0 {
		return fmt.Errorf("lease %s: %w", name, ErrConflict)
	}
	return nil
}
