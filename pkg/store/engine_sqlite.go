package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

//go:embed migrations/*.sql
var sqliteMigrations embed.FS

// sqliteEngine is one SQLite file (modernc.org/sqlite, no cgo) in WAL mode. A
// transaction takes the write lock when it begins (_txlock=immediate), so a read, check
// and write inside one is race-free without row locks.
type sqliteEngine struct{}

func (sqliteEngine) name() string { return "sqlite" }

func (sqliteEngine) migrationFS() (fs.FS, string) { return sqliteMigrations, "migrations" }

func (sqliteEngine) forUpdate() string { return "" }

// forUpdateSkipLocked is empty: the transaction holds SQLite's write lock from its start.
func (sqliteEngine) forUpdateSkipLocked() string { return "" }

func (sqliteEngine) onConflict(key, update []string) string { return sqliteOnConflict(key, update) }

func (sqliteEngine) retryable(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	switch se.Code() & 0xff {
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
		return true
	}
	return false
}

func (sqliteEngine) duplicate(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}

// clock is this process's clock: one file serves one host.
func (sqliteEngine) clock(_ context.Context, _ *sql.Tx, local func() time.Time) (time.Time, error) {
	return local(), nil
}

// lockMigrations needs no lock: a migration's transaction takes the write lock.
func (sqliteEngine) lockMigrations(context.Context, *sql.DB) (func(), error) { return func() {}, nil }

// secureDelete turns on PRAGMA secure_delete, which zeroes the content SQLite deletes.
func (sqliteEngine) secureDelete(ctx context.Context, conn *sql.Conn) (func(), error) {
	var prev int
	if err := conn.QueryRowContext(ctx, `PRAGMA secure_delete`).Scan(&prev); err != nil {
		return nil, fmt.Errorf("read secure_delete: %w", err)
	}
	if _, err := conn.ExecContext(ctx, `PRAGMA secure_delete = ON`); err != nil {
		return nil, fmt.Errorf("enable secure_delete: %w", err)
	}
	return func() {
		// Restore the pooled connection's setting; the context may be done by now.
		_, _ = conn.ExecContext(context.WithoutCancel(ctx), fmt.Sprintf(`PRAGMA secure_delete = %d`, prev))
	}, nil
}

// scrub moves every committed page into the database file, rebuilds it without free
// pages and truncates the WAL, on conn (whose secure_delete is on).
func (sqliteEngine) scrub(ctx context.Context, conn *sql.Conn) (bool, string, error) {
	if ok, detail, err := checkpointTruncate(ctx, conn); err != nil || !ok {
		return ok, detail, err
	}
	if _, err := conn.ExecContext(ctx, `VACUUM`); err != nil {
		return false, "", fmt.Errorf("vacuum after re-encryption: %w", err)
	}
	return checkpointTruncate(ctx, conn)
}

// checkpointTruncate runs PRAGMA wal_checkpoint(TRUNCATE) and reports whether it
// completed (not blocked by another connection's reader or writer).
func checkpointTruncate(ctx context.Context, conn *sql.Conn) (bool, string, error) {
	var busy, logFrames, done int
	if err := conn.QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &logFrames, &done); err != nil {
		return false, "", fmt.Errorf("checkpoint the WAL: %w", err)
	}
	if busy != 0 {
		return false, "another process was using the database, so the WAL could not be truncated: " +
			"old ciphertexts may remain in ksefpl.db-wal until the next checkpoint; run the command again when nothing else runs", nil
	}
	return true, "", nil
}
