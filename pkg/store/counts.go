package store

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
)

// Kinds of counts in ksefpl_counts.
const (
	countJob     = "job"     // jobs by status
	countEvent   = "event"   // outbox events by delivery state
	countSession = "session" // sessions by status
	countUPO     = "upo"     // stored UPOs by kind, counted to their session's website
)

type countKey struct {
	website     int64
	kind, state string
}

// countMove records, for the transaction tx, that a row of website moved from one state
// to another ("" for none: a new row); the counts change when tx commits (tryTx).
func (d *DB) countMove(tx *sql.Tx, website int64, kind, from, to string) {
	if from == to {
		return
	}
	s := d.txStateOf(tx)
	if s.counts == nil {
		s.counts = map[countKey]int{}
	}
	m := s.counts
	if from != "" {
		m[countKey{website, kind, from}]--
	}
	if to != "" {
		m[countKey{website, kind, to}]++
	}
}

// flushCounts applies tx's recorded moves, last in the transaction and in one order of
// rows, so that transactions of several hosts queue on the count rows without deadlock.
func (d *DB) flushCounts(ctx context.Context, tx *sql.Tx) error {
	v, ok := d.txs.Load(tx)
	if !ok {
		return nil
	}
	m := v.(*txState).counts
	v.(*txState).counts = nil
	keys := make([]countKey, 0, len(m))
	for k, n := range m {
		if n != 0 {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b countKey) int {
		return cmp.Or(cmp.Compare(a.website, b.website), cmp.Compare(a.kind, b.kind), cmp.Compare(a.state, b.state))
	})
	for _, k := range keys {
		if err := d.addCount(ctx, tx, k, m[k]); err != nil {
			return fmt.Errorf("update the %s counts of website %d: %w", k.kind, k.website, err)
		}
	}
	return nil
}

func (d *DB) addCount(ctx context.Context, tx *sql.Tx, k countKey, n int) error {
	update, err := d.prepared(ctx, tx, `UPDATE ksefpl_counts SET n = n + ? WHERE website_id = ? AND kind = ? AND state = ?`)
	if err != nil {
		return err
	}
	for range 2 {
		r, err := update.ExecContext(ctx, n, k.website, k.kind, k.state)
		if err != nil {
			return err
		}
		if done, err := r.RowsAffected(); err != nil || done == 1 {
			return err
		}
		// The first of its kind: create the row (another transaction may just have).
		if _, err := tx.ExecContext(ctx, `INSERT INTO ksefpl_counts (website_id, kind, state, n) VALUES (?, ?, ?, 0)`+
			d.onConflict([]string{"website_id", "kind", "state"}, nil), k.website, k.kind, k.state); err != nil {
			return err
		}
	}
	return fmt.Errorf("no count row for %s %q", k.kind, k.state)
}

// counts reads the counts of kind for one website (all with 0), leaving out zeros.
func (d *DB) counts(ctx context.Context, kind string, websiteID int64) (map[string]int, error) {
	q := `SELECT state, SUM(n) FROM ksefpl_counts WHERE kind = ?`
	args := []any{kind}
	if websiteID != 0 {
		q += ` AND website_id = ?`
		args = append(args, websiteID)
	}
	rows, err := d.sql.QueryContext(ctx, q+` GROUP BY state`, args...)
	if err != nil {
		return nil, err
	}
	return scanCounts(rows)
}

// scanCounts reads rows of (value, count) into a map, leaving out zeros, and closes rows.
func scanCounts(rows *sql.Rows) (map[string]int, error) {
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var v string
		var n int
		if err := rows.Scan(&v, &n); err != nil {
			return nil, err
		}
		if n != 0 {
			out[v] = n
		}
	}
	return out, rows.Err()
}
