package certificate

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ksefpl/ksefpl/pkg/config"
	"github.com/ksefpl/ksefpl/pkg/deps"
	"github.com/ksefpl/ksefpl/pkg/kcert"
	"github.com/ksefpl/ksefpl/pkg/store"
	"github.com/ksefpl/ksefpl/pkg/website"
)

// Audit reasons written by this package.
const (
	ReasonImported           = "CERTIFICATE_IMPORTED"
	ReasonRemoved            = "CERTIFICATE_REMOVED"
	ReasonRevoked            = "CERTIFICATE_REVOKED"
	ReasonEnrollmentSent     = "CERTIFICATE_ENROLLMENT_SUBMITTED"
	ReasonEnrolled           = "CERTIFICATE_ENROLLED"
	ReasonEnrollmentRejected = "CERTIFICATE_ENROLLMENT_REJECTED"
	ReasonInUse              = "CERTIFICATE_IN_USE"
	ReasonNotInUse           = "CERTIFICATE_NOT_IN_USE"
)

// Usages, as the commands name them (the store's values).
const (
	Authentication = store.CertAuthentication
	Offline        = store.CertOffline
)

// ParseUsage reads a --type value.
func ParseUsage(s string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", Authentication:
		return Authentication, nil
	case Offline:
		return Offline, nil
	}
	return "", fmt.Errorf("unknown certificate type %q: use authentication or offline", s)
}

// Info describes a certificate, never its key (also its JSON shape).
type Info struct {
	Website     string    `json:"website"`
	Usage       string    `json:"type"`
	Serial      string    `json:"serial"`
	Fingerprint string    `json:"fingerprint"`
	Subject     string    `json:"subject"`
	Issuer      string    `json:"issuer"`
	Identity    string    `json:"identity"`
	NotBefore   time.Time `json:"not_before"`
	NotAfter    time.Time `json:"not_after"`
	DaysLeft    int       `json:"days_left"`
	// Source is "stored" or the environment variable.
	Source string `json:"source"`
	// Origin is imported, enrolled, or "" for the environment.
	Origin string `json:"origin,omitempty"`
	InUse  bool   `json:"in_use"`
	// Problem says why it cannot be used, if it cannot.
	Problem string `json:"problem,omitempty"`
}

// describe builds the Info of a certificate at now.
func describe(websiteCode, usage string, c *x509.Certificate, now time.Time) Info {
	return Info{Website: websiteCode, Usage: usage, Serial: kcert.SerialHex(c), Fingerprint: kcert.Fingerprint(c),
		Subject: kcert.NameString(c.Subject), Issuer: kcert.NameString(c.Issuer), Identity: kcert.IdentityOf(c).String(),
		NotBefore: c.NotBefore.UTC(), NotAfter: c.NotAfter.UTC(), DaysLeft: int(c.NotAfter.Sub(now).Hours() / 24)}
}

// ImportRequest is one certificate to import: a PKCS#12 file, or a PEM certificate with
// its PEM key.
type ImportRequest struct {
	Scope config.Scope
	Usage string
	// PKCS12 is a .p12/.pfx file; else CertPEM and KeyPEM.
	PKCS12  []byte
	CertPEM []byte
	KeyPEM  []byte
	// Password opens the PKCS#12 file or an encrypted PKCS#8 key.
	Password string
	Actor    string
}

// ImportResult is what Import stored.
type ImportResult struct {
	Certificate Info     `json:"certificate"`
	Warnings    []string `json:"warnings"`
}

// Import checks a certificate with its private key and stores it, encrypted, as the
// website's certificate of the usage, in use at once. It refuses a key that does not
// match the certificate, a key KSeF does not accept (RSA below 2048 bits, EC other than
// P-256/P-384), a certificate outside its validity today, and for offline use one that
// is not a KSeF Offline certificate (non-repudiation key usage); it warns when the
// certificate's identity is not the seller NIP.
func Import(ctx context.Context, d *deps.Deps, r ImportRequest) (*ImportResult, error) {
	env := d.WithDefaults()
	if env.Keys == nil {
		return nil, config.ErrNoKey
	}
	subject := "cannot import the certificate"
	var m *kcert.Material
	var err error
	if r.PKCS12 != nil {
		m, err = kcert.ParsePKCS12(r.PKCS12, r.Password)
	} else {
		m, err = kcert.ParsePEM(r.CertPEM, r.KeyPEM, r.Password)
	}
	if err != nil {
		return nil, &InvalidError{Subject: subject, Problems: []string{err.Error()}}
	}
	s, err := env.Website(ctx, r.Scope)
	if err != nil {
		return nil, err
	}
	now := env.Clock()
	var problems []string
	if err := m.KeyMatches(); err != nil {
		problems = append(problems, err.Error())
	}
	if err := kcert.CheckKey(m.Cert.PublicKey); err != nil {
		problems = append(problems, err.Error())
	}
	if err := kcert.CheckValidity(m.Cert, now); err != nil {
		problems = append(problems, err.Error())
	}
	if r.Usage == Offline && !IsOfflineCertificate(m.Cert) {
		problems = append(problems, "only a KSeF certificate of type Offline (key usage non-repudiation) may sign offline QR codes (KOD II); "+
			"this one is for authentication — obtain an Offline certificate with ksefpl certificate:enroll --type offline")
	}
	if len(problems) > 0 {
		return nil, &InvalidError{Subject: subject, Problems: problems}
	}
	res := &ImportResult{Certificate: describe(s.WebsiteCode, r.Usage, m.Cert, now), Warnings: []string{}}
	res.Warnings = append(res.Warnings, identityWarnings(m.Cert, s.Seller.NIP)...)
	if r.Usage == Authentication && s.AuthMethod != config.AuthCertificate {
		res.Warnings = append(res.Warnings, fmt.Sprintf("website %s still authenticates with its token: switch with ksefpl config:set %s %s%s "+
			"and check with ksefpl test-connection%s", s.WebsiteCode, config.PathAuthMethod, config.AuthCertificate,
			scopeFlags(s.WebsiteCode), websiteFlag(s.WebsiteCode)))
	}
	if name, _ := website.CertEnvVar(env.Getenv, s.WebsiteCode); name != "" && r.Usage == Authentication {
		res.Warnings = append(res.Warnings, name+" is set and overrides the stored authentication certificate")
	}
	row, err := storeMaterial(ctx, env, s, r.Usage, m, store.CertImported, "", true, r.Actor, ReasonImported,
		fmt.Sprintf("imported %s certificate %s (%s), valid until %s", r.Usage, res.Certificate.Serial, res.Certificate.Identity,
			res.Certificate.NotAfter.Format(time.DateOnly)))
	if err != nil {
		return nil, err
	}
	res.Certificate.InUse, res.Certificate.Origin, res.Certificate.Source = row.InUse, row.Origin, "stored"
	return res, nil
}

// IsOfflineCertificate reports whether c has the key usage of a KSeF certificate of type
// Offline: non-repudiation only (a KSeF Authentication certificate has digital signature
// only; a qualified seal usually has both or non-repudiation with other usages).
func IsOfflineCertificate(c *x509.Certificate) bool {
	return c.KeyUsage&x509.KeyUsageContentCommitment != 0 && c.KeyUsage&x509.KeyUsageDigitalSignature == 0
}

// identityWarnings says when the certificate does not identify the seller NIP.
func identityWarnings(c *x509.Certificate, sellerNIP string) []string {
	id := kcert.IdentityOf(c)
	switch {
	case id.Kind == kcert.IdentityNIP && id.Value == sellerNIP:
		return nil
	case id.Kind == kcert.IdentityNIP:
		return []string{fmt.Sprintf("the certificate identifies NIP %s, not the seller NIP %s: KSeF accepts it only where NIP %s holds permissions in the context of %s",
			id.Value, sellerNIP, id.Value, sellerNIP)}
	case id.Kind == kcert.IdentityPESEL:
		return []string{fmt.Sprintf("the certificate identifies a person (PESEL): KSeF accepts it only where that person holds permissions in the context of NIP %s", sellerNIP)}
	}
	return []string{fmt.Sprintf("the certificate carries no NIP or PESEL KSeF recognises (organizationIdentifier VATPL-…, serialNumber TINPL-…/PNOPL-…): "+
		"KSeF identifies it by its fingerprint %s, which needs permissions in the context of NIP %s", kcert.Fingerprint(c), sellerNIP)}
}

// storeMaterial encrypts the key and stores the certificate with its audit row.
func storeMaterial(ctx context.Context, env *deps.Deps, s *website.Settings, usage string, m *kcert.Material,
	origin, ksefName string, inUse bool, actor, reason, msg string) (*store.Certificate, error) {
	keyEnc, err := website.EncryptKey(env.Keys, m.Key)
	if err != nil {
		return nil, fmt.Errorf("encrypt the private key: %w", err)
	}
	var pemText strings.Builder
	for _, c := range append([]*x509.Certificate{m.Cert}, m.Chain...) {
		_ = pem.Encode(&pemText, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	return env.DB.PutCertificate(ctx, store.Certificate{
		WebsiteID: s.WebsiteID, Usage: usage, Serial: kcert.SerialHex(m.Cert), Fingerprint: kcert.Fingerprint(m.Cert),
		Subject: kcert.NameString(m.Cert.Subject), Issuer: kcert.NameString(m.Cert.Issuer), NotBefore: m.Cert.NotBefore, NotAfter: m.Cert.NotAfter,
		CertPEM: pemText.String(), KeyEnc: keyEnc, Origin: origin, KSeFName: ksefName, InUse: inUse,
	}, store.AuditEntry{Actor: actor, Reason: reason, Message: msg})
}

// List describes a website's certificates (every website's when websiteCode is ""):
// the environment override first, then the stored ones, in use first.
func List(ctx context.Context, d *deps.Deps, websiteCode string) ([]Info, error) {
	env := d.WithDefaults()
	var sites []store.Website
	if websiteCode != "" {
		if _, err := env.Config.WebsiteScope(ctx, websiteCode); err != nil {
			return nil, err
		}
		w, err := env.DB.WebsiteByCode(ctx, websiteCode)
		if err != nil {
			return nil, err
		}
		sites = []store.Website{w}
	} else {
		all, err := env.DB.Websites(ctx)
		if err != nil {
			return nil, err
		}
		sites = all
	}
	now := env.Clock()
	out := []Info{}
	for _, w := range sites {
		if name, v := website.CertEnvVar(env.Getenv, w.Code); name != "" {
			in := Info{Website: w.Code, Usage: Authentication, Source: name, InUse: true}
			if m, err := kcert.ParseBundle([]byte(v)); err != nil {
				in.Problem = err.Error()
			} else {
				in = describe(w.Code, Authentication, m.Cert, now)
				in.Source, in.InUse = name, true
			}
			out = append(out, in)
		}
		rows, err := env.DB.Certificates(ctx, w.ID)
		if err != nil {
			return nil, err
		}
		for _, row := range rows {
			c, err := website.FromStore(row, env.Keys)
			if err != nil {
				return nil, err
			}
			in := describe(w.Code, row.Usage, c.Certificate, now)
			in.Source, in.Origin, in.InUse = "stored", row.Origin, row.InUse
			if c.Err != nil {
				in.Problem = c.Err.Error()
			}
			out = append(out, in)
		}
	}
	return out, nil
}

// find returns the website's stored certificate with the serial.
func find(ctx context.Context, env *deps.Deps, sc config.Scope, serial string) (*store.Certificate, error) {
	rows, err := env.DB.Certificates(ctx, sc.WebsiteID)
	if err != nil {
		return nil, err
	}
	want := strings.ToUpper(strings.TrimSpace(serial))
	for _, r := range rows {
		if strings.TrimLeft(r.Serial, "0") == strings.TrimLeft(want, "0") {
			return r, nil
		}
	}
	return nil, &NotFoundError{Serial: serial, Website: sc.WebsiteCode}
}

// Remove deletes a stored certificate and its key from the website, with an audit row.
// KSeF is not told: revoke it first (Revoke) when it must not be used any more.
func Remove(ctx context.Context, d *deps.Deps, sc config.Scope, serial, actor string) (*Info, error) {
	env := d.WithDefaults()
	row, err := find(ctx, env, sc, serial)
	if err != nil {
		return nil, err
	}
	c, err := website.FromStore(row, nil)
	if err != nil {
		return nil, err
	}
	in := describe(sc.WebsiteCode, row.Usage, c.Certificate, env.Clock())
	in.Source, in.Origin, in.InUse = "stored", row.Origin, row.InUse
	if err := env.DB.DeleteCertificate(ctx, row.ID, store.AuditEntry{Actor: actor, Reason: ReasonRemoved,
		Message: fmt.Sprintf("removed %s certificate %s from website %s", row.Usage, row.Serial, sc.WebsiteCode)}); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, &NotFoundError{Serial: serial, Website: sc.WebsiteCode}
		}
		return nil, err
	}
	return &in, nil
}

// scopeFlags are the config:set flags that target a website ("" for base).
func scopeFlags(code string) string {
	if code == "" || code == "base" {
		return ""
	}
	return " --scope websites --scope-code " + code
}

// websiteFlag is the --website flag for hints ("" for base).
func websiteFlag(code string) string {
	if code == "" || code == "base" {
		return ""
	}
	return " --website " + code
}
