package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// CacheEntry is one ksefpl_cache row. Value is whatever the caller stored (ciphertext for
// anything secret: the store never sees plaintext tokens).
type CacheEntry struct {
	Key       string
	Tag       string
	Value     string
	ExpiresAt time.Time
}

// CachePut inserts or replaces a cache entry.
func (d *DB) CachePut(ctx context.Context, e CacheEntry) error {
	_, err := d.sql.ExecContext(ctx, `INSERT INTO ksefpl_cache (cache_key, tag, value, expires_at, updated_at)
		VALUES (?, ?, ?, ?, ?)`+d.onConflict([]string{"cache_key"}, []string{"tag", "value", "expires_at", "updated_at"}),
		e.Key, e.Tag, e.Value, timestamp(e.ExpiresAt), timestamp(d.now()))
	if err != nil {
		return fmt.Errorf("write cache: %w", err)
	}
	return nil
}

// CacheGet returns the entry for key if it exists and has not expired.
func (d *DB) CacheGet(ctx context.Context, key string) (CacheEntry, bool, error) {
	e := CacheEntry{Key: key}
	var exp string
	err := d.sql.QueryRowContext(ctx, `SELECT tag, value, expires_at FROM ksefpl_cache WHERE cache_key = ?`, key).
		Scan(&e.Tag, &e.Value, &exp)
	if errors.Is(err, sql.ErrNoRows) {
		return e, false, nil
	}
	if err != nil {
		return e, false, fmt.Errorf("read cache: %w", err)
	}
	if e.ExpiresAt, err = parseTime(exp); err != nil {
		return e, false, fmt.Errorf("read cache: bad expiry: %w", err)
	}
	if !d.now().Before(e.ExpiresAt) {
		return e, false, nil
	}
	return e, true, nil
}

// CacheDelete removes one entry.
func (d *DB) CacheDelete(ctx context.Context, key string) error {
	if _, err := d.sql.ExecContext(ctx, `DELETE FROM ksefpl_cache WHERE cache_key = ?`, key); err != nil {
		return fmt.Errorf("delete cache entry: %w", err)
	}
	return nil
}

// CacheDeleteWhere removes entries whose tag is one of tags (all tags when none given)
// and whose key starts with keyPrefix; it returns how many went.
func (d *DB) CacheDeleteWhere(ctx context.Context, keyPrefix string, tags ...string) (int64, error) {
	q := `DELETE FROM ksefpl_cache WHERE substr(cache_key, 1, ?) = ?`
	args := []any{len(keyPrefix), keyPrefix}
	if len(tags) > 0 {
		q += ` AND tag IN (?` + strings.Repeat(",?", len(tags)-1) + `)`
		for _, t := range tags {
			args = append(args, t)
		}
	}
	res, err := d.sql.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, fmt.Errorf("clean cache: %w", err)
	}
	return res.RowsAffected()
}

// CacheEntries lists every entry, expired ones included (for key rotation and cleaning).
func (d *DB) CacheEntries(ctx context.Context) ([]CacheEntry, error) {
	rows, err := d.sql.QueryContext(ctx, `SELECT cache_key, tag, value, expires_at FROM ksefpl_cache ORDER BY cache_key`)
	if err != nil {
		return nil, fmt.Errorf("list cache: %w", err)
	}
	defer rows.Close()
	var out []CacheEntry
	for rows.Next() {
		var e CacheEntry
		var exp string
		if err := rows.Scan(&e.Key, &e.Tag, &e.Value, &exp); err != nil {
			return nil, err
		}
		if e.ExpiresAt, err = parseTime(exp); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}
