package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Scope names as Magento stores them in core_config_data.scope.
const (
	ScopeDefault  = "default"
	ScopeWebsites = "websites"
	ScopeStores   = "stores"
)

// ConfigRow is one core_config_data row.
type ConfigRow struct {
	Scope   string
	ScopeID int64
	Path    string
	Value   string
}

// ConfigGet returns the value stored at exactly (scope, scopeID, path).
func (d *DB) ConfigGet(ctx context.Context, scope string, scopeID int64, path string) (string, bool, error) {
	var v sql.NullString
	st, err := d.shared(ctx, `SELECT value FROM core_config_data WHERE scope = ? AND scope_id = ? AND path = ?`)
	if err != nil {
		return "", false, fmt.Errorf("read config %s: %w", path, err)
	}
	err = st.QueryRowContext(ctx, scope, scopeID, path).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("read config %s: %w", path, err)
	}
	return v.String, true, nil
}

// ConfigSet inserts or replaces the value at (scope, scopeID, path).
func (d *DB) ConfigSet(ctx context.Context, scope string, scopeID int64, path, value string) error {
	_, err := d.sql.ExecContext(ctx, `INSERT INTO core_config_data (scope, scope_id, path, value, updated_at)
		VALUES (?, ?, ?, ?, ?)`+d.onConflict([]string{"scope", "scope_id", "path"}, []string{"value", "updated_at"}),
		scope, scopeID, path, value, timestamp(d.now()))
	if err != nil {
		return fmt.Errorf("save config %s: %w", path, err)
	}
	return nil
}

// ConfigDelete removes the value at (scope, scopeID, path) and reports whether it existed.
func (d *DB) ConfigDelete(ctx context.Context, scope string, scopeID int64, path string) (bool, error) {
	res, err := d.sql.ExecContext(ctx,
		`DELETE FROM core_config_data WHERE scope = ? AND scope_id = ? AND path = ?`, scope, scopeID, path)
	if err != nil {
		return false, fmt.Errorf("delete config %s: %w", path, err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// ConfigRows returns every stored configuration row, ordered by path, scope and scope id.
func (d *DB) ConfigRows(ctx context.Context) ([]ConfigRow, error) {
	rows, err := d.sql.QueryContext(ctx,
		`SELECT scope, scope_id, path, COALESCE(value, '') FROM core_config_data ORDER BY path, scope, scope_id`)
	if err != nil {
		return nil, fmt.Errorf("list config: %w", err)
	}
	defer rows.Close()
	var out []ConfigRow
	for rows.Next() {
		var r ConfigRow
		if err := rows.Scan(&r.Scope, &r.ScopeID, &r.Path, &r.Value); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// ConfigReplace rewrites many values in one transaction (used when re-encrypting secrets).
func (d *DB) ConfigReplace(ctx context.Context, rows []ConfigRow) error {
	return d.inTx(ctx, func(tx *sql.Tx) error {
		for _, r := range rows {
			if _, err := tx.ExecContext(ctx,
				`UPDATE core_config_data SET value = ?, updated_at = ? WHERE scope = ? AND scope_id = ? AND path = ?`,
				r.Value, timestamp(d.now()), r.Scope, r.ScopeID, r.Path); err != nil {
				return fmt.Errorf("rewrite config %s: %w", r.Path, err)
			}
		}
		return nil
	})
}
