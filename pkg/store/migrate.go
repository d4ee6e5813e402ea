package store

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// migration is one embedded schema step, named NNNN_description.sql.
type migration struct {
	version int
	name    string
	sql     string
}

func loadMigrations(e engine) ([]migration, error) {
	files, dir := e.migrationFS()
	entries, err := fs.ReadDir(files, dir)
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, e := range entries {
		name := e.Name()
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration %s: name must start with a number", name)
		}
		b, err := fs.ReadFile(files, dir+"/"+name)
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: name, sql: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	return out, nil
}

// migrate applies every embedded migration (up to version upTo, when not 0) not applied
// yet, each in its own transaction together with its schema_migrations row. A store
// that has them all, as at every start but the first after an upgrade, costs one query.
func (d *DB) migrate(ctx context.Context, upTo int) error {
	migs, err := loadMigrations(d.eng)
	if err != nil {
		return err
	}
	if upTo > 0 {
		migs = slices.DeleteFunc(migs, func(m migration) bool { return m.version > upTo })
	}
	if applied, err := d.appliedMigrations(ctx); err == nil && len(applied) > 0 &&
		!slices.ContainsFunc(migs, func(m migration) bool { return !applied[m.version] }) {
		return nil
	}
	if _, err := d.sql.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY,
		name TEXT NOT NULL,
		applied_at TEXT NOT NULL)`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	unlock, err := d.eng.lockMigrations(ctx, d.sql)
	if err != nil {
		return err
	}
	defer unlock()
	for _, m := range migs {
		err := d.inTx(ctx, func(tx *sql.Tx) error {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE version = ?`, m.version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if _, err := tx.ExecContext(ctx, m.sql); err != nil {
				return fmt.Errorf("apply migration %s: %w", m.name, err)
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations(version, name, applied_at) VALUES (?, ?, ?)`,
				m.version, m.name, timestamp(d.now()))
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// appliedMigrations reads the versions applied (an error before the first migration:
// there is no table yet).
func (d *DB) appliedMigrations(ctx context.Context) (map[int]bool, error) {
	rows, err := d.sql.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int]bool{}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out[v] = true
	}
	return out, rows.Err()
}

// SchemaVersion reports the newest applied migration.
func (d *DB) SchemaVersion(ctx context.Context) (int, error) {
	var v sql.NullInt64
	err := d.sql.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&v)
	return int(v.Int64), err
}
