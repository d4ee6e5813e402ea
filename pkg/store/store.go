// Package store owns ksefpl's database: a SQLite file in the home (modernc.org/sqlite,
// no cgo; the default) or a MySQL/MariaDB database shared by several hosts
// (go-sql-driver/mysql), holding Magento-shaped configuration (core_config_data,
// store_website, store), the encrypted cache of KSeF tokens, connection-test outcomes,
// the job queue, KSeF sessions, UPOs, leases, the append-only audit log and the event
// outbox.
//
// The package speaks SQL only: it knows nothing about KSeF, encryption or configuration
// paths. Values that must be secret arrive here already encrypted. *DB is the one type
// callers use; what differs between the engines (migrations, upserts, row locks, the
// lease clock, error translation, scrubbing) lives behind the unexported engine
// interface (engine.go, engine_sqlite.go, engine_mysql.go).
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"sync"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// ErrNotFound is returned when a looked-up row does not exist.
var ErrNotFound = errors.New("not found")

// DB is an open ksefpl database.
type DB struct {
	sql  *sql.DB
	eng  engine
	path string
	now  func() time.Time
	// stmts caches prepared statements by query text, so that hot statements are parsed
	// once per connection rather than once per use (tx_state.go).
	stmts sync.Map
	// txs holds each open transaction's *txState until it ends (tx_state.go).
	txs sync.Map
}

// Options tunes Open. The zero value is fine.
type Options struct {
	// BusyTimeout is how long a writer waits for another process's lock (default 10s).
	BusyTimeout time.Duration
	// Now supplies timestamps (default time.Now). On MySQL leases still use the
	// server's clock unless LocalLeaseClock is set.
	Now func() time.Time
	// LocalLeaseClock makes a MySQL store measure leases by Now too (tests that move
	// time); SQLite always does.
	LocalLeaseClock bool
	// migrateTo stops the migrations at this version (tests that make an old store).
	migrateTo int
	// driverName is the database/sql driver of a SQLite store (default "sqlite"; tests
	// register a wrapper that records the statements).
	driverName string
}

// Open opens (creating with mode 0600 if needed) the SQLite database at path, switches it
// to WAL mode with a busy timeout and foreign keys, and applies pending migrations.
func Open(ctx context.Context, path string, opts Options) (*DB, error) {
	if opts.BusyTimeout == 0 {
		opts.BusyTimeout = 10 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	// Create the file ourselves so that it (and the -wal/-shm files SQLite derives
	// from its mode) are private to the owner.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	_ = f.Close()
	if err := os.Chmod(path, 0o600); err != nil {
		return nil, fmt.Errorf("secure database %s: %w", path, err)
	}
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", opts.BusyTimeout.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Set("_txlock", "immediate")
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
	if opts.driverName == "" {
		opts.driverName = "sqlite"
	}
	db, err := sql.Open(opts.driverName, dsn)
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	d := &DB{sql: db, eng: sqliteEngine{}, path: path, now: opts.Now}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	if err := d.migrate(ctx, opts.migrateTo); err != nil {
		db.Close()
		return nil, err
	}
	return d, nil
}

// Close closes the database.
func (d *DB) Close() error {
	d.stmts.Range(func(_, v any) bool {
		v.(*sql.Stmt).Close()
		return true
	})
	return d.sql.Close()
}

// Path returns the database file's path.
func (d *DB) Path() string { return d.path }

// timestamp formats t the way every table stores times: UTC RFC 3339 with nanoseconds.
func timestamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// parseTime reads a timestamp written by timestamp.
func parseTime(s string) (time.Time, error) { return time.Parse(time.RFC3339Nano, s) }

// txAttempts bounds the retries of a transaction that met a transient conflict.
const txAttempts = 8

// inTx runs fn inside one transaction, committing when it returns nil. A transient
// conflict (a deadlock or lock wait timeout on MySQL, a busy SQLite) rolls it back and
// runs it again, a few times: fn must not keep state across attempts.
func (d *DB) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return d.inTxRetrying(ctx, d.eng.retryable, fn)
}

// inTxIdempotent is inTx that also runs fn again after a unique-key violation: for an
// insert that first looks for the row, a concurrent insert of the same key (another
// host queuing the same document) is then found by the next attempt.
func (d *DB) inTxIdempotent(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return d.inTxRetrying(ctx, func(err error) bool { return d.eng.retryable(err) || d.eng.duplicate(err) }, fn)
}

func (d *DB) inTxRetrying(ctx context.Context, retry func(error) bool, fn func(tx *sql.Tx) error) error {
	var err error
	for attempt := 1; ; attempt++ {
		if err = d.tryTx(ctx, fn); err == nil || attempt == txAttempts || !retry(err) || ctx.Err() != nil {
			return err
		}
		time.Sleep(time.Duration(attempt*attempt) * 5 * time.Millisecond)
	}
}

func (d *DB) tryTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := d.sql.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	err = fn(tx)
	if err == nil {
		err = d.flushCounts(ctx, tx)
	}
	state := d.endTx(tx)
	if err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	d.share(ctx, state)
	return nil
}
