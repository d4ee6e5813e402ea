package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// UPO kinds.
const (
	UPOSession = "session" // a page of a session's collective UPO
	UPOInvoice = "invoice" // one invoice's UPO
)

// UPO is one stored official receipt.
type UPO struct {
	ID               int64
	Kind             string
	SessionReference string
	UPOReference     string // the EU page reference, or the invoice reference for invoice UPOs
	JobID            int64
	KSeFNumber       string
	XML              []byte
	SHA256           string // base64 SHA-256 of XML
	HashVerified     bool   // KSeF's x-ms-meta-hash matched
	FetchedAt        time.Time
}

// SaveUPO stores u (once per kind, session and reference) with an audit entry in the same
// transaction; a second save of the same UPO changes nothing and reports false.
func (d *DB) SaveUPO(ctx context.Context, u UPO, audit AuditEntry) (bool, error) {
	n, err := d.SaveUPOs(ctx, []UPO{u}, []AuditEntry{audit})
	return n == 1, err
}

// SaveUPOs is SaveUPO for many UPOs (audits[i] goes with upos[i]) in one transaction; it
// returns how many were new.
func (d *DB) SaveUPOs(ctx context.Context, upos []UPO, audits []AuditEntry) (int, error) {
	saved := 0
	err := d.inTx(ctx, func(tx *sql.Tx) error {
		saved = 0
		now := d.now()
		websites := map[string]int64{} // session → website, looked up once per session
		for i, u := range upos {
			r, err := tx.ExecContext(ctx, `INSERT INTO ksefpl_upo (kind, session_reference, upo_reference, job_id, ksef_number,
				xml, sha256, hash_verified, fetched_at) VALUES (?,?,?,?,?,?,?,?,?)`+
				d.onConflict([]string{"kind", "session_reference", "upo_reference"}, nil),
				u.Kind, u.SessionReference, u.UPOReference, u.JobID, u.KSeFNumber, u.XML, u.SHA256, u.HashVerified, timestamp(now))
			if err != nil {
				return fmt.Errorf("store UPO %s: %w", u.UPOReference, err)
			}
			if u.Kind == UPOInvoice && u.JobID != 0 {
				// The job's UPO is no longer due (also when it was stored already).
				if _, err := tx.ExecContext(ctx, `UPDATE ksefpl_queue SET upo_due = 0 WHERE job_id = ? AND upo_due <> 0`, u.JobID); err != nil {
					return fmt.Errorf("store UPO %s: %w", u.UPOReference, err)
				}
			}
			n, err := r.RowsAffected()
			if err != nil {
				return err
			}
			if n == 0 {
				continue
			}
			saved++
			if err := d.countUPO(ctx, tx, u, websites); err != nil {
				return err
			}
			if i >= len(audits) || audits[i].Event == "" {
				continue
			}
			a := audits[i]
			a.SessionReference, a.JobID = u.SessionReference, u.JobID
			if err := d.appendAudit(ctx, tx, now, a); err != nil {
				return err
			}
		}
		return nil
	})
	return saved, err
}

// countUPO counts a newly stored UPO to its session's website (websites caches the
// look-ups of one transaction); a UPO of a session the store does not know (a KSeF
// number resolved by hand) is not counted to any website.
func (d *DB) countUPO(ctx context.Context, tx *sql.Tx, u UPO, websites map[string]int64) error {
	website, ok := websites[u.SessionReference]
	if !ok {
		st, err := d.prepared(ctx, tx, `SELECT website_id FROM ksefpl_sessions WHERE session_reference = ?`)
		if err != nil {
			return err
		}
		if err := st.QueryRowContext(ctx, u.SessionReference).Scan(&website); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("store UPO %s: %w", u.UPOReference, err)
		}
		websites[u.SessionReference] = website
	}
	if website != 0 {
		d.countMove(tx, website, countUPO, "", u.Kind)
	}
	return nil
}

// UPOFilter selects UPOs; zero fields match everything.
type UPOFilter struct {
	Kind             string
	SessionReference string
	JobID            int64
	KSeFNumber       string
}

// UPOs lists stored UPOs in the order they were fetched.
func (d *DB) UPOs(ctx context.Context, f UPOFilter) ([]*UPO, error) {
	var where []string
	var args []any
	if f.Kind != "" {
		where, args = append(where, "kind = ?"), append(args, f.Kind)
	}
	if f.SessionReference != "" {
		where, args = append(where, "session_reference = ?"), append(args, f.SessionReference)
	}
	if f.JobID != 0 {
		where, args = append(where, "job_id = ?"), append(args, f.JobID)
	}
	if f.KSeFNumber != "" {
		where, args = append(where, "ksef_number = ?"), append(args, f.KSeFNumber)
	}
	q := `SELECT upo_id, kind, session_reference, upo_reference, job_id, ksef_number, xml, sha256, hash_verified, fetched_at
		FROM ksefpl_upo`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	rows, err := d.sql.QueryContext(ctx, q+" ORDER BY upo_id", args...)
	if err != nil {
		return nil, fmt.Errorf("list UPOs: %w", err)
	}
	defer rows.Close()
	var out []*UPO
	for rows.Next() {
		var u UPO
		var at string
		if err := rows.Scan(&u.ID, &u.Kind, &u.SessionReference, &u.UPOReference, &u.JobID, &u.KSeFNumber, &u.XML,
			&u.SHA256, &u.HashVerified, &at); err != nil {
			return nil, err
		}
		if u.FetchedAt, err = parseTime(at); err != nil {
			return nil, err
		}
		out = append(out, &u)
	}
	return out, rows.Err()
}

// JobsWithUPODue lists a website's jobs whose invoice UPO is due (Job.UPODue), without
// their documents: an index range over those jobs alone, however many are accepted.
func (d *DB) JobsWithUPODue(ctx context.Context, websiteID int64, limit int) ([]*Job, error) {
	q := `SELECT ` + lightJobColumns + ` FROM ksefpl_queue WHERE website_id = ? AND upo_due = 1 ORDER BY job_id`
	if limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", limit)
	}
	return d.queryJobs(ctx, q, websiteID)
}
