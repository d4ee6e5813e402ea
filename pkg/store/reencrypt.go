package store

import (
	"context"
	"database/sql"
	"fmt"
)

// Reencryption reports what ReencryptSecrets did.
type Reencryption struct {
	// ConfigValues is how many core_config_data values were rewritten.
	ConfigValues int64
	// CacheRows is how many ksefpl_cache values were rewritten.
	CacheRows int64
	// CacheDropped is how many ksefpl_cache rows were deleted because their value could
	// not be re-encrypted (a cache row is only a copy of what KSeF can issue again).
	CacheDropped int64
	// Keys is how many private keys (certificates and enrolments in progress) were
	// rewritten.
	Keys int64
	// Scrubbed reports that the WAL was checkpointed and truncated and the database
	// vacuumed, so the replaced values are gone from the files. False when another
	// connection kept the checkpoint from completing (see ScrubDetail).
	Scrubbed bool
	// ScrubDetail says why Scrubbed is false.
	ScrubDetail string
}

// ReencryptConfig maps one stored config value to its replacement; an error aborts the
// whole transaction.
type ReencryptConfig func(row ConfigRow) (string, error)

// ReencryptCache maps one cache value to its replacement; keep=false deletes the row,
// an error aborts the whole transaction.
type ReencryptCache func(e CacheEntry) (value string, keep bool, err error)

// ReencryptKey maps one encrypted private key to its replacement; an error aborts the
// whole transaction.
type ReencryptKey func(ciphertext string) (string, error)

// ReencryptSecrets rewrites, inside ONE transaction, every core_config_data value whose
// path is in configPaths (all scopes) with configFn, every ksefpl_cache row with cacheFn
// and every private key (ksefpl_certificate, ksefpl_certificate_enrollment) with keyFn. It runs with PRAGMA secure_delete on, then checkpoints the WAL with TRUNCATE,
// vacuums and truncates the WAL again, so that the old values do not survive in the
// database file or its -wal file. The store never sees plaintext: both functions get
// and return ciphertext.
func (d *DB) ReencryptSecrets(ctx context.Context, configPaths []string, configFn ReencryptConfig, cacheFn ReencryptCache, keyFn ReencryptKey) (Reencryption, error) {
	var out Reencryption
	conn, err := d.sql.Conn(ctx)
	if err != nil {
		return out, fmt.Errorf("re-encrypt secrets: %w", err)
	}
	defer conn.Close()
	restore, err := d.eng.secureDelete(ctx, conn)
	if err != nil {
		return out, fmt.Errorf("re-encrypt secrets: %w", err)
	}
	defer restore()

	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return out, fmt.Errorf("re-encrypt secrets: begin transaction: %w", err)
	}
	err = reencryptTx(ctx, tx, d, configPaths, configFn, cacheFn, &out)
	if err == nil {
		err = reencryptKeysTx(ctx, tx, d, keyFn, &out)
	}
	if err != nil {
		_ = tx.Rollback()
		return Reencryption{}, err
	}
	if err := tx.Commit(); err != nil {
		return Reencryption{}, fmt.Errorf("re-encrypt secrets: commit: %w", err)
	}
	out.Scrubbed, out.ScrubDetail, err = d.eng.scrub(ctx, conn)
	return out, err
}

func reencryptTx(ctx context.Context, tx *sql.Tx, d *DB, configPaths []string, configFn ReencryptConfig, cacheFn ReencryptCache, out *Reencryption) error {
	now := timestamp(d.now())
	if len(configPaths) > 0 {
		args := make([]any, len(configPaths))
		for i, p := range configPaths {
			args[i] = p
		}
		rows, err := tx.QueryContext(ctx, `SELECT scope, scope_id, path, COALESCE(value, '') FROM core_config_data
			WHERE path IN (`+placeholders(len(configPaths))+`) ORDER BY path, scope, scope_id`, args...)
		if err != nil {
			return fmt.Errorf("re-encrypt secrets: list config: %w", err)
		}
		var cfg []ConfigRow
		for rows.Next() {
			var r ConfigRow
			if err := rows.Scan(&r.Scope, &r.ScopeID, &r.Path, &r.Value); err != nil {
				rows.Close()
				return err
			}
			cfg = append(cfg, r)
		}
		if err := rows.Close(); err != nil {
			return err
		}
		for _, r := range cfg {
			if r.Value == "" {
				continue
			}
			v, err := configFn(r)
			if err != nil {
				return fmt.Errorf("re-encrypt %s at %s %d: %w", r.Path, r.Scope, r.ScopeID, err)
			}
			if _, err := tx.ExecContext(ctx, `UPDATE core_config_data SET value = ?, updated_at = ?
				WHERE scope = ? AND scope_id = ? AND path = ?`, v, now, r.Scope, r.ScopeID, r.Path); err != nil {
				return fmt.Errorf("re-encrypt %s: %w", r.Path, err)
			}
			out.ConfigValues++
		}
	}
	rows, err := tx.QueryContext(ctx, `SELECT cache_key, tag, value FROM ksefpl_cache ORDER BY cache_key`)
	if err != nil {
		return fmt.Errorf("re-encrypt secrets: list cache: %w", err)
	}
	var cache []CacheEntry
	for rows.Next() {
		var e CacheEntry
		if err := rows.Scan(&e.Key, &e.Tag, &e.Value); err != nil {
			rows.Close()
			return err
		}
		cache = append(cache, e)
	}
	if err := rows.Close(); err != nil {
		return err
	}
	for _, e := range cache {
		v, keep, err := cacheFn(e)
		if err != nil {
			return fmt.Errorf("re-encrypt cache entry: %w", err)
		}
		if !keep {
			if _, err := tx.ExecContext(ctx, `DELETE FROM ksefpl_cache WHERE cache_key = ?`, e.Key); err != nil {
				return fmt.Errorf("re-encrypt secrets: drop cache entry: %w", err)
			}
			out.CacheDropped++
			continue
		}
		if _, err := tx.ExecContext(ctx, `UPDATE ksefpl_cache SET value = ?, updated_at = ? WHERE cache_key = ?`,
			v, now, e.Key); err != nil {
			return fmt.Errorf("re-encrypt cache entry: %w", err)
		}
		out.CacheRows++
	}
	return nil
}

// reencryptKeysTx rewrites the encrypted private keys of certificates and enrolments.
func reencryptKeysTx(ctx context.Context, tx *sql.Tx, d *DB, keyFn ReencryptKey, out *Reencryption) error {
	now := timestamp(d.now())
	for _, t := range []struct{ table, id string }{
		{"ksefpl_certificate", "certificate_id"},
		{"ksefpl_certificate_enrollment", "reference"},
	} {
		rows, err := tx.QueryContext(ctx, `SELECT `+t.id+`, key_enc FROM `+t.table+` ORDER BY `+t.id)
		if err != nil {
			return fmt.Errorf("re-encrypt secrets: list %s: %w", t.table, err)
		}
		type row struct {
			id  any
			key string
		}
		var all []row
		for rows.Next() {
			var r row
			if err := rows.Scan(&r.id, &r.key); err != nil {
				rows.Close()
				return err
			}
			all = append(all, r)
		}
		if err := rows.Close(); err != nil {
			return err
		}
		for _, r := range all {
			v, err := keyFn(r.key)
			if err != nil {
				return fmt.Errorf("re-encrypt a private key of %s: %w", t.table, err)
			}
			if _, err := tx.ExecContext(ctx, `UPDATE `+t.table+` SET key_enc = ?, updated_at = ? WHERE `+t.id+` = ?`, v, now, r.id); err != nil {
				return fmt.Errorf("re-encrypt a private key of %s: %w", t.table, err)
			}
			out.Keys++
		}
	}
	return nil
}
