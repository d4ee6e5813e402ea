package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// copyTables are the tables a whole store consists of, parents first (foreign keys).
// Leases are not copied: they belong to processes of the old store's host.
var copyTables = []string{
	"store_website", "store", "core_config_data", "ksefpl_cache", "ksefpl_auth_outcome", "ksefpl_nbp_rates",
	"ksefpl_queue", "ksefpl_job_body", "ksefpl_counts", "ksefpl_sessions", "ksefpl_audit_log", "ksefpl_upo", "ksefpl_certificate",
	"ksefpl_certificate_enrollment", "ksefpl_job_document", "ksefpl_latarnia_message", "ksefpl_event",
	"ksefpl_submit_run", "ksefpl_api_calls",
}

// notCopied are tables deliberately left behind.
var notCopied = map[string]bool{"ksefpl_leases": true, "schema_migrations": true}

// CopyReport says what CopyFrom moved: rows per table, equal in source and target.
type CopyReport struct {
	Source string         `json:"source"`
	Target string         `json:"target"`
	Rows   map[string]int `json:"rows"`
}

// ErrTargetNotEmpty says the target store already holds jobs or audit rows.
var ErrTargetNotEmpty = errors.New("the target database already holds jobs or audit rows")

// CopyFrom copies every table of src (at the same schema version) into d, in ONE
// transaction: d's own rows (the seed website and store, configuration set before the
// copy) are replaced, and each table's row count is checked against src's before the
// commit. It refuses (ErrTargetNotEmpty) when d already holds jobs or audit rows, and
// when src has a table it does not know. Ids are kept, so jobs, sessions, UPOs, audit
// rows and events keep their links, and secrets stay the ciphertexts they were.
func (d *DB) CopyFrom(ctx context.Context, src *DB) (CopyReport, error) {
	rep := CopyReport{Source: src.Path(), Target: d.Path(), Rows: map[string]int{}}
	sv, err := src.SchemaVersion(ctx)
	if err != nil {
		return rep, err
	}
	dv, err := d.SchemaVersion(ctx)
	if err != nil {
		return rep, err
	}
	if sv != dv {
		return rep, fmt.Errorf("the source is at schema version %d, the target at %d: open both with this release first", sv, dv)
	}
	if err := src.knowsEveryTable(ctx); err != nil {
		return rep, err
	}
	for _, t := range []string{"ksefpl_queue", "ksefpl_audit_log"} {
		var n int
		if err := d.sql.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+t).Scan(&n); err != nil {
			return rep, err
		}
		if n > 0 {
			return rep, fmt.Errorf("%w (%s has %d rows): copy into a new, empty database", ErrTargetNotEmpty, t, n)
		}
	}
	conn, err := d.sql.Conn(ctx)
	if err != nil {
		return rep, err
	}
	defer conn.Close()
	if d.eng.name() == "mysql" {
		// Rows arrive parents first, but a table may refer to itself or to a later one.
		if _, err := conn.ExecContext(ctx, `SET FOREIGN_KEY_CHECKS = 0`); err != nil {
			return rep, err
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), `SET FOREIGN_KEY_CHECKS = 1`) //nolint:errcheck // best effort on a closing connection
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return rep, err
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it does nothing
	for i := len(copyTables) - 1; i >= 0; i-- {
		if copyTables[i] == "ksefpl_audit_log" {
			continue // empty (checked above) and append-only
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM `+copyTables[i]); err != nil {
			return rep, fmt.Errorf("empty %s in the target: %w", copyTables[i], err)
		}
	}
	for _, t := range copyTables {
		n, err := copyTable(ctx, src, tx, t)
		if err != nil {
			return rep, fmt.Errorf("copy %s: %w", t, err)
		}
		var got int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+t).Scan(&got); err != nil {
			return rep, err
		}
		if got != n {
			return rep, fmt.Errorf("copy %s: the source has %d rows, the target %d after the copy", t, n, got)
		}
		rep.Rows[t] = n
	}
	if err := tx.Commit(); err != nil {
		return rep, fmt.Errorf("commit the copy: %w", err)
	}
	return rep, nil
}

// knowsEveryTable refuses a store with a table CopyFrom would leave behind unawares.
func (d *DB) knowsEveryTable(ctx context.Context) error {
	q := `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`
	if d.eng.name() == "mysql" {
		q = `SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()`
	}
	rows, err := d.sql.QueryContext(ctx, q)
	if err != nil {
		return err
	}
	defer rows.Close()
	known := map[string]bool{}
	for _, t := range copyTables {
		known[t] = true
	}
	var unknown []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return err
		}
		if !known[name] && !notCopied[name] {
			unknown = append(unknown, name)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return fmt.Errorf("the source has tables this release cannot copy: %s", strings.Join(unknown, ", "))
	}
	return rows.Err()
}

// copyBatch is how many rows one INSERT carries.
const copyBatch = 200

// copyTable inserts every row of table t of src into tx, columns by name, and returns
// how many there were.
func copyTable(ctx context.Context, src *DB, tx *sql.Tx, t string) (int, error) {
	rows, err := src.sql.QueryContext(ctx, `SELECT * FROM `+t)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return 0, err
	}
	quoted := make([]string, len(cols))
	for i, c := range cols {
		quoted[i] = `"` + c + `"`
	}
	one := "(" + strings.TrimSuffix(strings.Repeat("?,", len(cols)), ",") + ")"
	var args []any
	pending, n := 0, 0
	flush := func() error {
		if pending == 0 {
			return nil
		}
		q := `INSERT INTO ` + t + ` (` + strings.Join(quoted, ", ") + `) VALUES ` + strings.TrimSuffix(strings.Repeat(one+",", pending), ",")
		_, err := tx.ExecContext(ctx, q, args...)
		args, pending = args[:0], 0
		return err
	}
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return n, err
		}
		args = append(args, vals...)
		pending++
		n++
		if pending == copyBatch {
			if err := flush(); err != nil {
				return n, err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return n, err
	}
	return n, flush()
}
