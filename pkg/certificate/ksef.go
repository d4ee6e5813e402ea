package certificate

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"time"

	"github.com/ksefpl/ksefpl/pkg/authcache"
	"github.com/ksefpl/ksefpl/pkg/config"
	"github.com/ksefpl/ksefpl/pkg/deps"
	"github.com/ksefpl/ksefpl/pkg/kcert"
	"github.com/ksefpl/ksefpl/pkg/ksef"
	"github.com/ksefpl/ksefpl/pkg/store"
	"github.com/ksefpl/ksefpl/pkg/website"
)

// login authenticates the website with its authentication certificate (XAdES), whatever
// its auth_method: KSeF lets only a signed login enrol or revoke certificates.
func login(ctx context.Context, env *deps.Deps, s *website.Settings, operation string) (*ksef.Client, string, error) {
	c := s.AuthCert
	switch {
	case c == nil:
		return nil, "", &NeedsXAdESError{Website: s.WebsiteCode, Operation: operation}
	case c.Material == nil:
		return nil, "", &NeedsXAdESError{Website: s.WebsiteCode, Operation: operation, Why: c.Err.Error()}
	}
	if s.EndpointsErr != nil {
		return nil, "", s.EndpointsErr
	}
	client, err := s.Client(env.ClientOptions())
	if err != nil {
		return nil, "", err
	}
	tok, err := client.AccessToken(ctx, ksef.Credentials{Auth: c.Authenticator(env.Now), NIP: s.Seller.NIP,
		CacheKey: authcache.Key(s.WebsiteID, s.Endpoints.API, c.Fingerprint), Margin: s.Margin})
	if err != nil {
		return nil, "", fmt.Errorf("authenticate website %s with certificate %s: %w", s.WebsiteCode, c.Serial, err)
	}
	return client, tok, nil
}

// EnrollRequest asks KSeF for a new certificate for a website.
type EnrollRequest struct {
	Scope config.Scope
	Usage string
	// Name is the certificate's name in KSeF (default "ksefpl <website> <type> <date>").
	Name string
	// Wait bounds how long to wait for KSeF to issue it (default 5 min).
	Wait time.Duration
	// PollInterval is the pause between status reads (default 2 s).
	PollInterval time.Duration
	Actor        string
}

// EnrollResult says what an enrolment produced.
type EnrollResult struct {
	Reference   string `json:"reference"`
	Certificate Info   `json:"certificate"`
	// Resumed is true when an enrolment left by an earlier run was collected.
	Resumed bool `json:"resumed"`
	// Authenticated says whether a new authentication certificate authenticated (and so
	// became the one in use); AuthError says why not.
	Authenticated bool     `json:"authenticated"`
	AuthError     string   `json:"auth_error,omitempty"`
	Warnings      []string `json:"warnings"`
}

// Enroll obtains a KSeF certificate for the website: after an XAdES login with the
// website's authentication certificate it checks the limits, reads the enrolment data,
// generates an EC P-256 key, sends a CSR with exactly that subject, waits for KSeF to
// issue the certificate and stores it with its key. An offline certificate is in use at
// once; an authentication certificate only after it has authenticated successfully (the
// old one is kept until then). An enrolment KSeF has not finished within Wait is kept and
// collected by the next Enroll of the same type.
func Enroll(ctx context.Context, d *deps.Deps, r EnrollRequest) (*EnrollResult, error) {
	env := d.WithDefaults()
	if r.Wait <= 0 {
		r.Wait = 5 * time.Minute
	}
	if r.PollInterval <= 0 {
		r.PollInterval = 2 * time.Second
	}
	s, err := env.Website(ctx, r.Scope)
	if err != nil {
		return nil, err
	}
	if env.Keys == nil {
		return nil, config.ErrNoKey
	}
	client, tok, err := login(ctx, env, s, "certificate:enroll")
	if err != nil {
		return nil, err
	}
	res := &EnrollResult{Warnings: []string{}}
	pending, err := env.DB.Enrollments(ctx, s.WebsiteID, store.EnrollmentPending)
	if err != nil {
		return nil, err
	}
	var e *store.Enrollment
	for _, p := range pending {
		if p.Usage == r.Usage {
			e, res.Resumed = p, true
			break
		}
	}
	if e == nil {
		if e, err = submit(ctx, env, s, client, tok, r); err != nil {
			return nil, err
		}
	}
	res.Reference = e.Reference
	serial, err := waitIssued(ctx, env, client, tok, e, r)
	if err != nil {
		return nil, err
	}
	m, err := collect(ctx, env, client, tok, e, serial)
	if err != nil {
		return nil, err
	}
	res.Certificate = describe(s.WebsiteCode, e.Usage, m.Cert, env.Clock())
	inUse := e.Usage == Offline
	row, err := storeMaterial(ctx, env, s, e.Usage, m, store.CertEnrolled, e.Name, inUse, r.Actor, ReasonEnrolled,
		fmt.Sprintf("KSeF issued %s certificate %s (%s) for enrolment %s", e.Usage, res.Certificate.Serial, res.Certificate.Identity, e.Reference))
	if err != nil {
		return nil, err
	}
	e.Status, e.Serial = store.EnrollmentIssued, res.Certificate.Serial
	if err := env.DB.PutEnrollment(ctx, *e, store.AuditEntry{Actor: r.Actor, Reason: ReasonEnrolled,
		Message: "enrolment " + e.Reference + " collected: certificate " + e.Serial}); err != nil {
		return nil, err
	}
	res.Certificate.Source, res.Certificate.Origin, res.Certificate.InUse = "stored", row.Origin, row.InUse
	if e.Usage == Authentication {
		if err := tryAuthentication(ctx, env, s, m); err != nil {
			res.AuthError = err.Error()
			res.Warnings = append(res.Warnings, fmt.Sprintf("the new certificate %s did not authenticate (%v): the old certificate stays in use; "+
				"check the permissions of its subject in KSeF and run ksefpl certificate:enroll again", res.Certificate.Serial, err))
			return res, nil
		}
		res.Authenticated = true
		if err := env.DB.UseCertificate(ctx, row.ID, store.AuditEntry{Actor: r.Actor, Reason: ReasonInUse,
			Message: fmt.Sprintf("KSeF certificate %s authenticated and is the authentication certificate of website %s", row.Serial, s.WebsiteCode)}); err != nil {
			return nil, err
		}
		res.Certificate.InUse = true
		if s.AuthMethod != config.AuthCertificate {
			res.Warnings = append(res.Warnings, fmt.Sprintf("website %s still authenticates with its token: switch with ksefpl config:set %s %s%s",
				s.WebsiteCode, config.PathAuthMethod, config.AuthCertificate, scopeFlags(s.WebsiteCode)))
		}
	}
	return res, nil
}

// submit checks the limits, builds the CSR from the enrolment data and sends it; the
// enrolment and its new key are recorded before the result is awaited.
func submit(ctx context.Context, env *deps.Deps, s *website.Settings, client *ksef.Client, tok string, r EnrollRequest) (*store.Enrollment, error) {
	lim, err := client.CertificateLimits(ctx, tok)
	if err != nil {
		return nil, err
	}
	if !lim.CanRequest {
		return nil, &LimitError{Enrollments: lim.Enrollment.Remaining, EnrollmentLimit: lim.Enrollment.Limit,
			Certificates: lim.Certificate.Remaining, CertificateLimit: lim.Certificate.Limit}
	}
	raw, err := client.CertificateEnrollmentData(ctx, tok)
	if err != nil {
		return nil, err
	}
	var data kcert.EnrollmentData
	if err := json.Unmarshal(raw, &data); err != nil {
		return nil, fmt.Errorf("read KSeF's enrolment data: %w", err)
	}
	key, err := kcert.NewKey()
	if err != nil {
		return nil, err
	}
	csr, err := kcert.NewCSR(key, data)
	if err != nil {
		return nil, fmt.Errorf("build the certificate request: %w", err)
	}
	name := r.Name
	if name == "" {
		name = fmt.Sprintf("ksefpl %s %s %s", s.WebsiteCode, r.Usage, env.Clock().Format("20060102 150405"))
	}
	ksefType := ksef.CertificateTypeAuthentication
	if r.Usage == Offline {
		ksefType = ksef.CertificateTypeOffline
	}
	keyEnc, err := website.EncryptKey(env.Keys, key)
	if err != nil {
		return nil, err
	}
	ref, err := client.Enroll(ctx, tok, ksef.EnrollRequest{Name: name, Type: ksefType, CSR: csr})
	if err != nil {
		return nil, err
	}
	e := &store.Enrollment{Reference: ref, WebsiteID: s.WebsiteID, Usage: r.Usage, Name: name, KeyEnc: keyEnc, Status: store.EnrollmentPending}
	if err := env.DB.PutEnrollment(ctx, *e, store.AuditEntry{Actor: r.Actor, Reason: ReasonEnrollmentSent,
		Message: fmt.Sprintf("asked KSeF for a %s certificate %q for %s (enrolment %s)", ksefType, name, kcert.IdentityOf(s.AuthCert.Certificate).String(), ref)}); err != nil {
		return nil, err
	}
	return e, nil
}

// waitIssued polls the enrolment until KSeF issued or rejected it, or Wait passed.
func waitIssued(ctx context.Context, env *deps.Deps, client *ksef.Client, tok string, e *store.Enrollment, r EnrollRequest) (string, error) {
	deadline := time.Now().Add(r.Wait)
	for {
		st, err := client.EnrollmentStatus(ctx, tok, e.Reference)
		if err != nil {
			return "", err
		}
		switch {
		case st.Status.Code == ksef.EnrollmentIssued:
			if st.CertificateSerialNumber == "" {
				return "", &ksef.ResponseError{Method: "GET", Path: "/certificates/enrollments/" + e.Reference,
					Err: fmt.Errorf("status 200 without certificateSerialNumber")}
			}
			return st.CertificateSerialNumber, nil
		case st.Status.Code != ksef.EnrollmentProcessing:
			rej := &RejectedError{Reference: e.Reference, Code: st.Status.Code, Description: st.Status.Description, Details: st.Status.Details}
			e.Status, e.Message = store.EnrollmentRejected, rej.Error()
			if err := env.DB.PutEnrollment(ctx, *e, store.AuditEntry{Actor: r.Actor, Reason: ReasonEnrollmentRejected,
				KSeFCode: st.Status.Code, KSeFDescription: st.Status.Description, Message: rej.Error()}); err != nil {
				return "", err
			}
			return "", rej
		}
		if !time.Now().Add(r.PollInterval).Before(deadline) {
			return "", &PendingError{Reference: e.Reference, Website: websiteCodeOf(ctx, env, e.WebsiteID)}
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(r.PollInterval):
		}
	}
}

// collect retrieves the issued certificate and pairs it with the enrolment's key.
func collect(ctx context.Context, env *deps.Deps, client *ksef.Client, tok string, e *store.Enrollment, serial string) (*kcert.Material, error) {
	certs, err := client.RetrieveCertificates(ctx, tok, serial)
	if err != nil {
		return nil, err
	}
	if len(certs) != 1 {
		return nil, &ksef.ResponseError{Method: "POST", Path: "/certificates/retrieve", Err: fmt.Errorf("%d certificates for serial %s", len(certs), serial)}
	}
	cert, err := x509.ParseCertificate(certs[0].Certificate)
	if err != nil {
		return nil, &ksef.ResponseError{Method: "POST", Path: "/certificates/retrieve", Err: err}
	}
	key, err := website.DecryptKey(env.Keys, e.KeyEnc, "enrolment "+e.Reference)
	if err != nil {
		return nil, err
	}
	m := &kcert.Material{Cert: cert, Key: key}
	if err := m.KeyMatches(); err != nil {
		return nil, fmt.Errorf("KSeF's certificate %s does not carry the key of enrolment %s: %w", serial, e.Reference, err)
	}
	return m, nil
}

// tryAuthentication runs a full XAdES authentication with a new certificate.
func tryAuthentication(ctx context.Context, env *deps.Deps, s *website.Settings, m *kcert.Material) error {
	o := env.ClientOptions()
	o.DB, o.Keys = nil, nil // a full authentication, no cached tokens
	client, err := s.Client(o)
	if err != nil {
		return err
	}
	c := &website.Cert{Usage: Authentication, Certificate: m.Cert, Material: m, Serial: kcert.SerialHex(m.Cert), Fingerprint: kcert.Fingerprint(m.Cert)}
	_, err = client.AccessToken(ctx, ksef.Credentials{Auth: c.Authenticator(env.Now), NIP: s.Seller.NIP, Margin: s.Margin})
	return err
}

// Revoke asks KSeF to revoke one of the website's certificates (reason Unspecified,
// Superseded or KeyCompromise), after an XAdES login, and audits it. The certificate
// stays stored; remove it with Remove.
func Revoke(ctx context.Context, d *deps.Deps, sc config.Scope, serial, reason, actor string) (*Info, error) {
	env := d.WithDefaults()
	row, err := find(ctx, env, sc, serial)
	if err != nil {
		return nil, err
	}
	s, err := env.Website(ctx, sc)
	if err != nil {
		return nil, err
	}
	client, tok, err := login(ctx, env, s, "certificate:revoke")
	if err != nil {
		return nil, err
	}
	if reason == "" {
		reason = ksef.RevocationUnspecified
	}
	if err := client.RevokeCertificate(ctx, tok, row.Serial, reason); err != nil {
		return nil, err
	}
	c, err := website.FromStore(row, nil)
	if err != nil {
		return nil, err
	}
	in := describe(sc.WebsiteCode, row.Usage, c.Certificate, env.Clock())
	in.Source, in.Origin, in.InUse = "stored", row.Origin, row.InUse
	if err := env.DB.AppendAudit(ctx, store.AuditEntry{WebsiteID: sc.WebsiteID, Event: store.EventCertificate, Actor: actor,
		Reason: ReasonRevoked, Message: fmt.Sprintf("KSeF revoked %s certificate %s (%s)", row.Usage, row.Serial, reason)}); err != nil {
		return nil, err
	}
	return &in, nil
}

// websiteCodeOf names a website for messages.
func websiteCodeOf(ctx context.Context, env *deps.Deps, id int64) string {
	w, err := env.DB.WebsiteByID(ctx, id)
	if err != nil {
		return fmt.Sprint(id)
	}
	return w.Code
}
