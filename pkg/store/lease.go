package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// NodeEnv names the environment variable that names this server in lease holders and
// claims when its host name does not tell servers apart (containers sharing a name).
const NodeEnv = "KSEFPL_NODE"

// LocalNode names this server: $KSEFPL_NODE, or the host name.
func LocalNode() string {
	if n := os.Getenv(NodeEnv); n != "" {
		return strings.ReplaceAll(n, "|", "_")
	}
	host, _ := os.Hostname()
	return host
}

// NewLeaseHolder names this process as a lease holder: "node|pid|nonce" (LocalNode).
func NewLeaseHolder() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s|%d|%s", LocalNode(), os.Getpid(), hex.EncodeToString(b[:]))
}

// HolderDead reports whether a holder "node|pid|nonce" names a process on this node
// that has ended (killed mid-run): its lease may be taken over at once.
func HolderDead(holder string) bool {
	parts := strings.Split(holder, "|")
	if len(parts) != 3 {
		return false
	}
	pid, err := strconv.Atoi(parts[1])
	if parts[0] != LocalNode() || err != nil || pid <= 0 {
		return false
	}
	err = syscall.Kill(pid, 0)
	return errors.Is(err, syscall.ESRCH)
}

// AcquireOrTakeOver is AcquireLease, except that a lease held by a process of this host
// that no longer exists is taken over at once instead of waiting for its expiry;
// deadHolder names that process ("" when the lease was free or renewed).
func (d *DB) AcquireOrTakeOver(ctx context.Context, name, holder string, ttl time.Duration) (deadHolder string, err error) {
	err = d.AcquireLease(ctx, name, holder, ttl)
	var held *LeaseHeldError
	if !errors.As(err, &held) || !HolderDead(held.Holder) {
		return "", err
	}
	if d.TakeOverLease(ctx, name, held.Holder, holder, ttl) != nil {
		return "", err
	}
	return held.Holder, nil
}

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
	// Two hosts inserting the same free lease at once: the loser's duplicate key runs
	// its transaction again, and it then finds the winner's row.
	return d.inTxIdempotent(ctx, func(tx *sql.Tx) error {
		now, err := d.eng.clock(ctx, tx, d.now)
		if err != nil {
			return err
		}
		var cur, exp string
		err = tx.QueryRowContext(ctx, `SELECT holder, expires_at FROM ksefpl_leases WHERE name = ?`+d.eng.forUpdate(), name).Scan(&cur, &exp)
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
	return d.inTx(ctx, func(tx *sql.Tx) error {
		now, err := d.eng.clock(ctx, tx, d.now)
		if err != nil {
			return err
		}
		r, err := tx.ExecContext(ctx, `UPDATE ksefpl_leases SET holder = ?, expires_at = ? WHERE name = ? AND holder = ?`,
			holder, timestamp(now.Add(ttl)), name, oldHolder)
		if err != nil {
			return fmt.Errorf("take over lease %s: %w", name, err)
		}
		if n, err := r.RowsAffected(); err != nil || n == 0 {
			return fmt.Errorf("lease %s: %w", name, ErrConflict)
		}
		return nil
	})
}
