package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// LatarniaMessage is one of Latarnia's announcements as kept in the store: one row per
// environment, message id and version. Times are zero when Latarnia gave none.
type LatarniaMessage struct {
	Environment string
	ID          string
	Version     int
	EventID     string
	Category    string
	Type        string
	Title       string
	Text        string
	Start       time.Time
	End         time.Time
	Published   time.Time
	SeenAt      time.Time
}

// RecordLatarniaMessages keeps the messages not seen before (by environment, id and
// version) and returns how many were new. One transaction.
func (d *DB) RecordLatarniaMessages(ctx context.Context, msgs []LatarniaMessage) (int, error) {
	n := 0
	err := d.inTx(ctx, func(tx *sql.Tx) error {
		n = 0
		now := d.now()
		st, err := tx.PrepareContext(ctx, `INSERT INTO ksefpl_latarnia_message (environment, message_id, version, event_id,
			category, type, title, body, starts_at, ends_at, published_at, seen_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)`+
			d.onConflict([]string{"environment", "message_id", "version"}, nil))
		if err != nil {
			return fmt.Errorf("record Latarnia messages: %w", err)
		}
		defer st.Close()
		for _, m := range msgs {
			r, err := st.ExecContext(ctx, m.Environment, m.ID, m.Version, m.EventID, m.Category, m.Type, m.Title, m.Text,
				optTime(m.Start), optTime(m.End), optTime(m.Published), timestamp(now))
			if err != nil {
				return fmt.Errorf("record Latarnia message %s: %w", m.ID, err)
			}
			if k, _ := r.RowsAffected(); k > 0 {
				n++
			}
		}
		return nil
	})
	return n, err
}

// LatarniaMessages lists the kept messages of an environment, oldest published first.
func (d *DB) LatarniaMessages(ctx context.Context, environment string) ([]LatarniaMessage, error) {
	rows, err := d.sql.QueryContext(ctx, `SELECT environment, message_id, version, event_id, category, type, title, body,
		starts_at, ends_at, published_at, seen_at FROM ksefpl_latarnia_message WHERE environment = ?
		ORDER BY published_at, message_id, version`, environment)
	if err != nil {
		return nil, fmt.Errorf("list Latarnia messages: %w", err)
	}
	defer rows.Close()
	var out []LatarniaMessage
	for rows.Next() {
		var m LatarniaMessage
		var start, end, pub, seen string
		if err := rows.Scan(&m.Environment, &m.ID, &m.Version, &m.EventID, &m.Category, &m.Type, &m.Title, &m.Text,
			&start, &end, &pub, &seen); err != nil {
			return nil, err
		}
		m.Start, m.End, m.Published, m.SeenAt = parseOptTime(start), parseOptTime(end), parseOptTime(pub), parseOptTime(seen)
		out = append(out, m)
	}
	return out, rows.Err()
}

// optTime is a timestamp column value, "" for the zero time.
func optTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return timestamp(t)
}

// parseOptTime reads a column optTime wrote (zero for "").
func parseOptTime(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, _ := parseTime(s)
	return t
}
