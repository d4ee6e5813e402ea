package ksefsim

import (
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"time"

	"github.com/ksefpl/ksefpl/pkg/kcert"
)

// KSeF certificate types (KsefCertificateType) and statuses (CertificateListItemStatus).
const (
	certTypeAuthentication = "Authentication"
	certTypeOffline        = "Offline"
	certStatusActive       = "Active"
	certStatusRevoked      = "Revoked"
	certStatusExpired      = "Expired"
)

// Subject identifier types (CertificateSubjectIdentifierType; kcert.IdentityKind).
const (
	subjectNip         = string(kcert.IdentityNIP)
	subjectPesel       = string(kcert.IdentityPESEL)
	subjectFingerprint = string(kcert.IdentityFingerprint)
)

// Default certificate limits per authenticated subject (limity/limity.md "Wnioski i
// aktywne certyfikaty": NIP 300 requests / 100 active, PESEL and fingerprint 12 / 6).
var (
	defaultEnrollmentLimits  = map[string]int{subjectNip: 300, subjectPesel: 12, subjectFingerprint: 12}
	defaultCertificateLimits = map[string]int{subjectNip: 100, subjectPesel: 6, subjectFingerprint: 6}
)

// ownerPermissions are the permissions of a subject authenticated in the context of
// its own NIP (the owner has every permission in its context).
var ownerPermissions = []string{"InvoiceWrite", "InvoiceRead", "Introspection", "CredentialsRead", "CredentialsManage", "SubunitManage"}

// Validity of the certificates the simulator's CA issues.
const (
	ksefCertValidity  = 2 // years
	maxSignedRequests = 100
)

// ErrInvalidSerial is returned for a certificate serial number that is not hexadecimal.
var ErrInvalidSerial = errors.New("ksefsim: a certificate serial number must be hexadecimal (e.g. 0321C82DA41B4362)")

// ErrInvalidGrant is returned by GrantPermissions for a malformed grant.
var ErrInvalidGrant = errors.New("ksefsim: invalid permission grant")

// subjectID is who authenticated: the identity read from a certificate (NIP, PESEL
// or fingerprint), or the NIP of a KSeF token.
type subjectID struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

func (id subjectID) key() string { return id.Type + ":" + id.Value }

func identityOf(c *x509.Certificate) subjectID {
	i := kcert.IdentityOf(c)
	return subjectID{Type: string(i.Kind), Value: i.Value}
}

// ksefCert is a KSeF certificate: one the simulator's CA issued for an enrolment.
type ksefCert struct {
	serial      string
	name        string
	typ         string
	cert        *x509.Certificate
	owner       subjectID
	requestDate time.Time
	lastUse     time.Time
}

// enrollment is one certificate request (EH reference number).
type enrollment struct {
	ref         string
	owner       subjectID
	requestDate time.Time
	name        string
	typ         string
	csr         []byte
	validFrom   time.Time // zero: from issuance
	polls       int
	final       *statusInfo
	serial      string
}

// certState holds the CA, the KSeF certificates, enrolments, what the simulator was
// told about certificates (revoked, expired) and permissions, and the last received
// XAdES documents.
type certState struct {
	ca          *kcert.Material
	bySerial    map[string]*ksefCert
	enrollments map[string]*enrollment
	requests    map[string]int      // subject key -> enrolment requests submitted
	revoked     map[string]bool     // serial -> revoked (any certificate)
	expired     map[string]bool     // serial -> treated as expired (any certificate)
	keys        map[string]string   // SHA-256 of the SPKI -> subject key it was certified for
	grants      map[string][]string // grantKey -> permissions
	signed      []SignedAuthRequest // the last maxSignedRequests bodies of POST /auth/xades-signature
}

func newCertState(now time.Time) (certState, error) {
	ca, err := kcert.NewTestCertificate(kcert.TestCertOptions{
		Kind: kcert.KindCA, KeyType: kcert.KeyEC, Name: "ksefsim CA",
		NotBefore: now.Add(-24 * time.Hour), NotAfter: now.AddDate(20, 0, 0),
	})
	if err != nil {
		return certState{}, fmt.Errorf("ksefsim: generate the CA: %w", err)
	}
	return certState{
		ca: ca, bySerial: map[string]*ksefCert{}, enrollments: map[string]*enrollment{},
		requests: map[string]int{}, revoked: map[string]bool{}, expired: map[string]bool{},
		keys: map[string]string{}, grants: map[string][]string{},
	}, nil
}

// normSerial normalises a hexadecimal serial number the way kcert.SerialHex renders
// one: upper case, at least 16 digits.
func normSerial(s string) (string, error) {
	s = strings.TrimSpace(strings.ReplaceAll(s, ":", ""))
	n, ok := new(big.Int).SetString(s, 16)
	if s == "" || !ok || n.Sign() < 0 {
		return "", fmt.Errorf("%w: got %q", ErrInvalidSerial, s)
	}
	return kcert.SerialHex(&x509.Certificate{SerialNumber: n}), nil
}

// spkiKey identifies a public key: the SHA-256 of its (re-encoded) SPKI.
func spkiKey(pub crypto.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}

// CACertificate returns the certificate of the simulator's CA: it issues the KSeF
// certificates of enrolments and the test certificates of IssueCertificate, and in
// strict mode (Config.StrictCertificates) it is the only trusted issuer.
func (s *Server) CACertificate() *x509.Certificate {
	return s.st.certs.ca.Cert
}

// IssueCertificate issues a test certificate from the simulator's CA, shaped like a
// qualified seal (o.Kind kcert.KindSeal, o.NIP) or a qualified personal certificate
// (kcert.KindPersonal, o.NIP or o.PESEL); o.Issuer is ignored. NotBefore and NotAfter
// default to an hour ago and two years on, by the simulator's clock. Such a
// certificate authenticates in strict mode (QualifiedSeal or QualifiedSignature).
func (s *Server) IssueCertificate(o kcert.TestCertOptions) (*kcert.Material, error) {
	if o.Kind != kcert.KindSeal && o.Kind != kcert.KindPersonal {
		return nil, fmt.Errorf("ksefsim: certificate kind %q (want %q or %q)", o.Kind, kcert.KindSeal, kcert.KindPersonal)
	}
	now := s.now()
	if o.NotBefore.IsZero() {
		o.NotBefore = now.Add(-time.Hour)
	}
	if o.NotAfter.IsZero() {
		o.NotAfter = o.NotBefore.AddDate(ksefCertValidity, 0, 0)
	}
	o.Issuer = s.st.certs.ca
	m, err := kcert.NewTestCertificate(o)
	if err != nil {
		return nil, err
	}
	s.st.mu.Lock()
	s.st.certs.keys[spkiKey(m.Cert.PublicKey)] = identityOf(m.Cert).key()
	s.st.mu.Unlock()
	return m, nil
}

// RevokeCertificate makes the simulator treat the certificate with this serial
// number (hexadecimal, any certificate) as revoked: a KSeF certificate gets status
// Revoked, and authentication with the certificate ends in 460 "Certyfikat odwołany".
func (s *Server) RevokeCertificate(serial string) error {
	n, err := normSerial(serial)
	if err != nil {
		return err
	}
	s.st.mu.Lock()
	s.st.certs.revoked[n] = true
	s.st.mu.Unlock()
	return nil
}

// ExpireCertificate makes the simulator treat the certificate with this serial
// number as expired: a KSeF certificate gets status Expired, and authentication with
// the certificate ends in 460 "Nieważny certyfikat".
func (s *Server) ExpireCertificate(serial string) error {
	n, err := normSerial(serial)
	if err != nil {
		return err
	}
	s.st.mu.Lock()
	s.st.certs.expired[n] = true
	s.st.mu.Unlock()
	return nil
}

// PermissionGrant gives a subject identifier permissions in the context of a NIP
// (what ZAW-FA or a grant in the KSeF application does). Permissions nil means
// InvoiceRead, InvoiceWrite, CredentialsRead and CredentialsManage; an empty list
// records the subject without permissions (authentication ends in 415).
type PermissionGrant struct {
	ContextNIP  string    `json:"contextNip"`
	SubjectType string    `json:"subjectType"` // Nip, Pesel or Fingerprint
	Value       string    `json:"value"`       // NIP, PESEL or SHA-256 fingerprint (hex)
	Permissions *[]string `json:"permissions,omitempty"`
}

// GrantPermissions records a grant: XAdES authentication of that subject in that
// context then succeeds (with certificateSubject for a NIP or PESEL, with
// certificateFingerprint for a fingerprint).
func (s *Server) GrantPermissions(g PermissionGrant) error {
	if !validNIPShape(g.ContextNIP) {
		return fmt.Errorf("%w: contextNip must be 10 digits, got %q", ErrInvalidGrant, g.ContextNIP)
	}
	v := strings.TrimSpace(g.Value)
	switch g.SubjectType {
	case subjectNip:
		if !validNIPShape(v) {
			return fmt.Errorf("%w: a Nip value must be 10 digits, got %q", ErrInvalidGrant, g.Value)
		}
	case subjectPesel:
		if len(v) != 11 || strings.Trim(v, "0123456789") != "" {
			return fmt.Errorf("%w: a Pesel value must be 11 digits, got %q", ErrInvalidGrant, g.Value)
		}
	case subjectFingerprint:
		v = strings.ToUpper(strings.ReplaceAll(v, ":", ""))
		if b, err := hex.DecodeString(v); err != nil || len(b) != sha256.Size {
			return fmt.Errorf("%w: a Fingerprint value must be the SHA-256 of the certificate (64 hex digits), got %q", ErrInvalidGrant, g.Value)
		}
	default:
		return fmt.Errorf("%w: subjectType must be Nip, Pesel or Fingerprint, got %q", ErrInvalidGrant, g.SubjectType)
	}
	perms := defaultPermissions
	if g.Permissions != nil {
		perms = *g.Permissions
	}
	s.st.mu.Lock()
	s.st.certs.grants[grantKey("Nip", g.ContextNIP, subjectID{g.SubjectType, v})] = append([]string{}, perms...)
	s.st.mu.Unlock()
	return nil
}

func grantKey(ctxType, ctxValue string, id subjectID) string {
	return ctxType + ":" + ctxValue + "|" + id.key()
}

// permissionsIn returns the permissions of a subject in a context, or nil when it
// has none recorded. Caller holds the lock.
func (s *Server) permissionsIn(ctxType, ctxValue string, id subjectID) []string {
	if ctxType == "Nip" && id.Type == subjectNip && id.Value == ctxValue {
		return ownerPermissions
	}
	return s.st.certs.grants[grantKey(ctxType, ctxValue, id)]
}

// SignedAuthRequest is a body received by POST /auth/xades-signature, kept for
// read-back (GET /sim/auth-requests). ReferenceNumber is empty when the request was
// refused synchronously.
type SignedAuthRequest struct {
	ReceivedAt      time.Time `json:"receivedAt"`
	ReferenceNumber string    `json:"referenceNumber,omitempty"`
	Document        []byte    `json:"document"` // the exact bytes received (base64 in JSON)
}

// recordSigned keeps a received document. Caller holds the lock.
func (s *Server) recordSigned(r SignedAuthRequest) {
	st := &s.st.certs
	st.signed = append(st.signed, r)
	if n := len(st.signed) - maxSignedRequests; n > 0 {
		st.signed = slices.Delete(st.signed, 0, n)
	}
}

// SignedAuthRequests returns the documents received by POST /auth/xades-signature
// (the last 100, oldest first), byte for byte.
func (s *Server) SignedAuthRequests() [][]byte {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	out := make([][]byte, len(s.st.certs.signed))
	for i, r := range s.st.certs.signed {
		out[i] = slices.Clone(r.Document)
	}
	return out
}

func (s *Server) signedRequests() []SignedAuthRequest {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	out := slices.Clone(s.st.certs.signed)
	if out == nil {
		out = []SignedAuthRequest{}
	}
	return out
}

// ksefCertOf returns the KSeF certificate c is, or nil. Caller holds the lock.
func (s *Server) ksefCertOf(c *x509.Certificate) *ksefCert {
	kc := s.st.certs.bySerial[kcert.SerialHex(c)]
	if kc == nil || !slices.Equal(kc.cert.Raw, c.Raw) {
		return nil
	}
	return kc
}

// certRevoked and certExpired report what the simulator was told (or, for expiry,
// what the certificate says at now). Caller holds the lock.
func (s *Server) certRevoked(c *x509.Certificate) bool {
	return s.st.certs.revoked[kcert.SerialHex(c)]
}

func (s *Server) certExpired(c *x509.Certificate, now time.Time) bool {
	return s.st.certs.expired[kcert.SerialHex(c)] || now.After(c.NotAfter)
}

// status is the CertificateListItemStatus of a KSeF certificate. Caller holds the lock.
func (s *Server) certStatus(kc *ksefCert, now time.Time) string {
	switch {
	case s.certRevoked(kc.cert):
		return certStatusRevoked
	case s.certExpired(kc.cert, now):
		return certStatusExpired
	}
	return certStatusActive
}

// limitsOf returns the enrolment and active-certificate limits of a subject.
func (s *Server) limitsOf(id subjectID) (enrollments, certificates int) {
	enrollments, certificates = s.cfg.CertificateEnrollmentLimit, s.cfg.CertificateLimit
	if enrollments <= 0 {
		enrollments = defaultEnrollmentLimits[id.Type]
	}
	if certificates <= 0 {
		certificates = defaultCertificateLimits[id.Type]
	}
	return enrollments, certificates
}

// activeCertificates counts the subject's active KSeF certificates. Caller holds the lock.
func (s *Server) activeCertificates(id subjectID, now time.Time) int {
	n := 0
	for _, kc := range s.st.certs.bySerial {
		if kc.owner == id && s.certStatus(kc, now) == certStatusActive {
			n++
		}
	}
	return n
}
