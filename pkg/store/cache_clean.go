package store

import (
	"context"
	"database/sql"
	"fmt"
)

// CacheDeleteKeys removes the entries with these keys in one transaction and reports how
// many existed.
func (d *DB) CacheDeleteKeys(ctx context.Context, keys []string) (int64, error) {
	var n int64
	err := d.inTx(ctx, func(tx *sql.Tx) error {
		for _, k := range keys {
			res, err := tx.ExecContext(ctx, `DELETE FROM ksefpl_cache WHERE cache_key = ?`, k)
			if err != nil {
				return fmt.Errorf("delete cache entry: %w", err)
			}
			c, err := res.RowsAffected()
			if err != nil {
				return err
			}
			n += c
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// ConnectionForgotten says what ForgetConnectionState removed.
type ConnectionForgotten struct {
	CacheRows int64 // ksefpl_cache rows
	Outcomes  int64 // ksefpl_auth_outcome rows
}

// ForgetConnectionState removes, in one transaction, the cache rows whose key starts with
// one of cacheKeyPrefixes and the authentication outcomes of the websites in
// outcomeWebsiteIDs: what a change of a website's environment, endpoint or token makes
// stale.
func (d *DB) ForgetConnectionState(ctx context.Context, cacheKeyPrefixes []string, outcomeWebsiteIDs []int64) (ConnectionForgotten, error) {
	var out ConnectionForgotten
	err := d.inTx(ctx, func(tx *sql.Tx) error {
		for _, p := range cacheKeyPrefixes {
			res, err := tx.ExecContext(ctx, `DELETE FROM ksefpl_cache WHERE substr(cache_key, 1, ?) = ?`, len(p), p)
			if err != nil {
				return fmt.Errorf("clear cached KSeF tokens: %w", err)
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			out.CacheRows += n
		}
		for _, id := range outcomeWebsiteIDs {
			res, err := tx.ExecContext(ctx, `DELETE FROM ksefpl_auth_outcome WHERE website_id = ?`, id)
			if err != nil {
				return fmt.Errorf("clear authentication outcomes: %w", err)
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			out.Outcomes += n
		}
		return nil
	})
	if err != nil {
		return ConnectionForgotten{}, err
	}
	return out, nil
}
