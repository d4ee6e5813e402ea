package store

import (
	"context"
	"database/sql"
	"io/fs"
	"strings"
	"time"
)

// engine is what differs between the database engines behind *DB: where its migrations
// live, the statements that differ, row locking, the clock of leases, error translation
// and the scrubbing of replaced secrets. sqliteEngine and mysqlEngine implement it.
type engine interface {
	// name is "sqlite" or "mysql".
	name() string
	// migrationFS holds the engine's migrations (same versions, same history).
	migrationFS() (fs.FS, string)
	// forUpdate is appended to a SELECT that reads rows the same transaction changes.
	forUpdate() string
	// forUpdateSkipLocked is appended to a SELECT that claims rows: rows another
	// transaction has locked are skipped instead of waited for.
	forUpdateSkipLocked() string
	// onConflict ends an INSERT so that a row with the same unique key is updated in
	// the update columns (taken from the inserted values), or left as it is when update
	// is empty; key names the unique key's columns.
	onConflict(key, update []string) string
	// retryable reports a transient conflict the whole transaction may be retried for
	// (a deadlock, a lock wait timeout, a busy database).
	retryable(err error) bool
	// duplicate reports a unique-key violation.
	duplicate(err error) bool
	// clock returns the time leases are measured by, read inside tx.
	clock(ctx context.Context, tx *sql.Tx, local func() time.Time) (time.Time, error)
	// secureDelete prepares conn so that what a re-encryption overwrites is not left
	// behind in free pages; restore undoes it.
	secureDelete(ctx context.Context, conn *sql.Conn) (restore func(), err error)
	// scrub makes the storage forget replaced secrets as far as the engine can; ok is
	// false with the reason when it could not.
	scrub(ctx context.Context, conn *sql.Conn) (ok bool, detail string, err error)
	// lockMigrations serialises schema migrations across processes and hosts; the
	// returned function releases the lock.
	lockMigrations(ctx context.Context, db *sql.DB) (func(), error)
}

// Engine names the database engine: "sqlite" or "mysql".
func (d *DB) Engine() string { return d.eng.name() }

// onConflict is the engine's upsert tail (see engine.onConflict).
func (d *DB) onConflict(key, update []string) string { return d.eng.onConflict(key, update) }

// sqliteOnConflict renders SQLite's ON CONFLICT clause.
func sqliteOnConflict(key, update []string) string {
	if len(update) == 0 {
		return " ON CONFLICT (" + strings.Join(key, ", ") + ") DO NOTHING"
	}
	sets := make([]string, len(update))
	for i, c := range update {
		sets[i] = c + " = excluded." + c
	}
	return " ON CONFLICT (" + strings.Join(key, ", ") + ") DO UPDATE SET " + strings.Join(sets, ", ")
}

// mysqlOnConflict renders MySQL's ON DUPLICATE KEY UPDATE clause; "do nothing" assigns a
// key column to itself, which leaves the row unchanged (0 rows affected).
func mysqlOnConflict(key, update []string) string {
	if len(update) == 0 {
		return " ON DUPLICATE KEY UPDATE " + key[0] + " = " + key[0]
	}
	sets := make([]string, len(update))
	for i, c := range update {
		sets[i] = c + " = VALUES(" + c + ")"
	}
	return " ON DUPLICATE KEY UPDATE " + strings.Join(sets, ", ")
}
