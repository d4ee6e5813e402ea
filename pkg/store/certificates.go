package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Certificate usages.
const (
	CertAuthentication = "authentication"
	CertOffline        = "offline"
)

// Certificate origins.
const (
	CertImported = "imported" // certificate:import
	CertEnrolled = "enrolled" // certificate:enroll (issued by KSeF)
)

// Certificate is a website's certificate with its private key. KeyEnc is ciphertext:
// the store never sees a private key in plaintext.
type Certificate struct {
	ID          int64
	WebsiteID   int64
	Usage       string
	Serial      string
	Fingerprint string
	Subject     string
	Issuer      string
	NotBefore   time.Time
	NotAfter    time.Time
	CertPEM     string
	KeyEnc      string
	Origin      string
	KSeFName    string
	InUse       bool
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

const certColumns = `certificate_id, website_id, "usage", serial, fingerprint, subject, issuer, not_before, not_after,
	cert_pem, key_enc, origin, ksef_name, in_use, created_at, updated_at`

func scanCertificate(sc interface{ Scan(...any) error }) (*Certificate, error) {
	var c Certificate
	var nb, na, ca, ua string
	if err := sc.Scan(&c.ID, &c.WebsiteID, &c.Usage, &c.Serial, &c.Fingerprint, &c.Subject, &c.Issuer, &nb, &na,
		&c.CertPEM, &c.KeyEnc, &c.Origin, &c.KSeFName, &c.InUse, &ca, &ua); err != nil {
		return nil, err
	}
	var err error
	for _, p := range []struct {
		dst *time.Time
		s   string
	}{{&c.NotBefore, nb}, {&c.NotAfter, na}, {&c.CreatedAt, ca}, {&c.UpdatedAt, ua}} {
		if *p.dst, err = parseTime(p.s); err != nil {
			return nil, err
		}
	}
	return &c, nil
}

// PutCertificate stores a certificate of a website, with its audit row, in one
// transaction. With c.InUse the website's other certificates of the same usage stop
// being in use. The same certificate (website, usage, fingerprint) stored again replaces
// the key and the in-use flag and keeps its id.
func (d *DB) PutCertificate(ctx context.Context, c Certificate, audit AuditEntry) (*Certificate, error) {
	now := d.now()
	var out *Certificate
	err := d.inTx(ctx, func(tx *sql.Tx) error {
		if c.InUse {
			if _, err := tx.ExecContext(ctx, `UPDATE ksefpl_certificate SET in_use = 0, updated_at = ?
				WHERE website_id = ? AND "usage" = ? AND fingerprint <> ?`, timestamp(now), c.WebsiteID, c.Usage, c.Fingerprint); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO ksefpl_certificate (website_id, "usage", serial, fingerprint, subject, issuer,
			not_before, not_after, cert_pem, key_enc, origin, ksef_name, in_use, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`+d.onConflict([]string{"website_id", `"usage"`, "fingerprint"},
			[]string{"key_enc", "cert_pem", "in_use", "ksef_name", "updated_at"}),
			c.WebsiteID, c.Usage, c.Serial, c.Fingerprint, c.Subject, c.Issuer, timestamp(c.NotBefore), timestamp(c.NotAfter),
			c.CertPEM, c.KeyEnc, c.Origin, c.KSeFName, c.InUse, timestamp(now), timestamp(now))
		if err != nil {
			return err
		}
		if out, err = scanCertificate(tx.QueryRowContext(ctx, `SELECT `+certColumns+` FROM ksefpl_certificate
			WHERE website_id = ? AND "usage" = ? AND fingerprint = ?`, c.WebsiteID, c.Usage, c.Fingerprint)); err != nil {
			return err
		}
		return d.certAudit(ctx, tx, audit, c.WebsiteID)
	})
	if err != nil {
		return nil, fmt.Errorf("store certificate %s: %w", c.Serial, err)
	}
	return out, nil
}

// Certificates lists a website's certificates (every website's with websiteID 0), in use
// first, newest first.
func (d *DB) Certificates(ctx context.Context, websiteID int64) ([]*Certificate, error) {
	q := `SELECT ` + certColumns + ` FROM ksefpl_certificate`
	var args []any
	if websiteID != 0 {
		q += ` WHERE website_id = ?`
		args = append(args, websiteID)
	}
	q += ` ORDER BY website_id, "usage", in_use DESC, certificate_id DESC`
	rows, err := d.sql.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list certificates: %w", err)
	}
	defer rows.Close()
	var out []*Certificate
	for rows.Next() {
		c, err := scanCertificate(rows)
		if err != nil {
			return nil, fmt.Errorf("list certificates: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// CertificateInUse returns the website's certificate of the usage that is in use;
// ErrNotFound when there is none.
func (d *DB) CertificateInUse(ctx context.Context, websiteID int64, usage string) (*Certificate, error) {
	c, err := scanCertificate(d.sql.QueryRowContext(ctx, `SELECT `+certColumns+` FROM ksefpl_certificate
		WHERE website_id = ? AND "usage" = ? AND in_use = 1`, websiteID, usage))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%s certificate of website %d: %w", usage, websiteID, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read certificate: %w", err)
	}
	return c, nil
}

// UseCertificate makes certificate id the website's certificate in use for its usage
// (and no other), with its audit row, in one transaction.
func (d *DB) UseCertificate(ctx context.Context, id int64, audit AuditEntry) error {
	return d.inTx(ctx, func(tx *sql.Tx) error {
		var websiteID int64
		var usage string
		err := tx.QueryRowContext(ctx, `SELECT website_id, "usage" FROM ksefpl_certificate WHERE certificate_id = ?`, id).Scan(&websiteID, &usage)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("certificate %d: %w", id, ErrNotFound)
		}
		if err != nil {
			return err
		}
		now := timestamp(d.now())
		if _, err := tx.ExecContext(ctx, `UPDATE ksefpl_certificate SET in_use = (certificate_id = ?), updated_at = ?
			WHERE website_id = ? AND "usage" = ?`, id, now, websiteID, usage); err != nil {
			return err
		}
		return d.certAudit(ctx, tx, audit, websiteID)
	})
}

// DeleteCertificate removes certificate id (its encrypted key with it) and writes the
// audit row, in one transaction.
func (d *DB) DeleteCertificate(ctx context.Context, id int64, audit AuditEntry) error {
	return d.inTx(ctx, func(tx *sql.Tx) error {
		var websiteID int64
		err := tx.QueryRowContext(ctx, `SELECT website_id FROM ksefpl_certificate WHERE certificate_id = ?`, id).Scan(&websiteID)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("certificate %d: %w", id, ErrNotFound)
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM ksefpl_certificate WHERE certificate_id = ?`, id); err != nil {
			return err
		}
		return d.certAudit(ctx, tx, audit, websiteID)
	})
}

// Enrollment is a KSeF certificate enrolment in progress.
type Enrollment struct {
	Reference string
	WebsiteID int64
	Usage     string
	Name      string
	KeyEnc    string
	Status    string
	Message   string
	Serial    string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Enrollment statuses.
const (
	EnrollmentPending  = "pending"
	EnrollmentIssued   = "issued"
	EnrollmentRejected = "rejected"
)

// PutEnrollment records (or updates) an enrolment with its audit row.
func (d *DB) PutEnrollment(ctx context.Context, e Enrollment, audit AuditEntry) error {
	now := timestamp(d.now())
	return d.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO ksefpl_certificate_enrollment
			(reference, website_id, "usage", name, key_enc, status, message, serial, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`+d.onConflict([]string{"reference"}, []string{"status", "message", "serial", "updated_at"}),
			e.Reference, e.WebsiteID, e.Usage, e.Name, e.KeyEnc, e.Status, e.Message, e.Serial, now, now); err != nil {
			return fmt.Errorf("record enrolment %s: %w", e.Reference, err)
		}
		return d.certAudit(ctx, tx, audit, e.WebsiteID)
	})
}

// Enrollments lists a website's enrolments in a status ("" for all), oldest first.
func (d *DB) Enrollments(ctx context.Context, websiteID int64, status string) ([]*Enrollment, error) {
	q := `SELECT reference, website_id, "usage", name, key_enc, status, message, serial, created_at, updated_at
		FROM ksefpl_certificate_enrollment WHERE website_id = ?`
	args := []any{websiteID}
	if status != "" {
		q += ` AND status = ?`
		args = append(args, status)
	}
	rows, err := d.sql.QueryContext(ctx, q+` ORDER BY created_at, reference`, args...)
	if err != nil {
		return nil, fmt.Errorf("list enrolments: %w", err)
	}
	defer rows.Close()
	var out []*Enrollment
	for rows.Next() {
		var e Enrollment
		var ca, ua string
		if err := rows.Scan(&e.Reference, &e.WebsiteID, &e.Usage, &e.Name, &e.KeyEnc, &e.Status, &e.Message, &e.Serial, &ca, &ua); err != nil {
			return nil, err
		}
		if e.CreatedAt, err = parseTime(ca); err != nil {
			return nil, err
		}
		if e.UpdatedAt, err = parseTime(ua); err != nil {
			return nil, err
		}
		out = append(out, &e)
	}
	return out, rows.Err()
}

// certAudit appends a certificate audit row (event "certificate" unless set) of the website.
func (d *DB) certAudit(ctx context.Context, tx *sql.Tx, e AuditEntry, websiteID int64) error {
	if e.WebsiteID == 0 {
		e.WebsiteID = websiteID
	}
	if e.Event == "" {
		e.Event = EventCertificate
	}
	return d.appendAudit(ctx, tx, d.now(), e)
}
