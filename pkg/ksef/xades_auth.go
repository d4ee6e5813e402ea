package ksef

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ksefpl/ksefpl/pkg/failure"
)

// AuthTokenNamespace is the namespace of the AuthTokenRequest document.
const AuthTokenNamespace = "http://ksef.mf.gov.pl/auth/token/2.0"

// SubjectIdentifierType values: who authenticates is read from the certificate's
// subject (a NIP or PESEL), or the certificate is known by its SHA-256 fingerprint.
const (
	SubjectCertificateSubject     = "certificateSubject"
	SubjectCertificateFingerprint = "certificateFingerprint"
)

// AuthTokenRequest is the document signed for POST /auth/xades-signature.
type AuthTokenRequest struct {
	XMLName               xml.Name `xml:"http://ksef.mf.gov.pl/auth/token/2.0 AuthTokenRequest"`
	Challenge             string   `xml:"Challenge"`
	ContextIdentifier     authContext
	SubjectIdentifierType string `xml:"SubjectIdentifierType"`
}

// authContext is ContextIdentifier with its one element named after the type.
type authContext struct {
	XMLName    xml.Name `xml:"ContextIdentifier"`
	Nip        string   `xml:"Nip,omitempty"`
	InternalID string   `xml:"InternalId,omitempty"`
	NipVatUe   string   `xml:"NipVatUe,omitempty"`
}

// MarshalAuthTokenRequest builds the unsigned AuthTokenRequest for a challenge and a
// context (type Nip, InternalId or NipVatUe).
func MarshalAuthTokenRequest(challenge string, id ContextIdentifier, subjectType string) ([]byte, error) {
	var ctxID authContext
	switch id.Type {
	case "", "Nip":
		ctxID.Nip = id.Value
	case "InternalId":
		ctxID.InternalID = id.Value
	case "NipVatUe":
		ctxID.NipVatUe = id.Value
	default:
		return nil, &ConfigError{Field: "context identifier", Msg: fmt.Sprintf("type %q cannot be signed into an AuthTokenRequest", id.Type)}
	}
	b, err := xml.Marshal(AuthTokenRequest{Challenge: challenge, ContextIdentifier: ctxID, SubjectIdentifierType: subjectType})
	if err != nil {
		return nil, err
	}
	return append([]byte(xml.Header), b...), nil
}

// XAdESAuth authenticates with a certificate: the AuthTokenRequest signed with XAdES
// (POST /auth/xades-signature). The signing itself is the caller's (the key never
// reaches this package); Sign must return the document with an enveloped XAdES
// signature appended.
type XAdESAuth struct {
	// Certificate is the signing certificate.
	Certificate *x509.Certificate
	// Sign signs the unsigned AuthTokenRequest.
	Sign func(doc []byte) ([]byte, error)
	// SubjectIdentifierType is SubjectCertificateSubject (default) or
	// SubjectCertificateFingerprint.
	SubjectIdentifierType string
	// VerifyCertificateChain, when set, is sent as ?verifyCertificateChain=: KSeF's
	// environments that accept self-signed certificates then check the chain and the
	// revocation status anyway.
	VerifyCertificateChain *bool
	// Now is the clock for Check (default time.Now).
	Now func() time.Time
	// OnSigned, when set, sees each signed document before it is sent (tests keep them
	// for independent verification).
	OnSigned func(signed []byte)
}

var _ Authenticator = XAdESAuth{}

// CertificateValidityError reports a certificate outside its validity period; KSeF
// refuses it, so authentication is not attempted. Its class is auth.
type CertificateValidityError struct {
	Serial    string
	NotBefore time.Time
	NotAfter  time.Time
	Now       time.Time
}

// Error says which bound was crossed and what to do.
func (e *CertificateValidityError) Error() string {
	if e.Now.Before(e.NotBefore) {
		return fmt.Sprintf("certificate %s is not valid before %s: wait, or import a certificate valid today",
			e.Serial, e.NotBefore.UTC().Format(time.RFC3339))
	}
	return fmt.Sprintf("certificate %s expired on %s: renew it (ksefpl certificate:enroll) or import a new one",
		e.Serial, e.NotAfter.UTC().Format(time.RFC3339))
}

// Class is failure.Auth: the credential cannot be used.
func (e *CertificateValidityError) Class() failure.Class { return failure.Auth }

// Check refuses a missing certificate or signer and a certificate outside its validity.
func (a XAdESAuth) Check() error {
	if a.Certificate == nil || a.Sign == nil {
		return &ConfigError{Field: "certificate", Msg: "none configured; import one with ksefpl certificate:import"}
	}
	now := time.Now()
	if a.Now != nil {
		now = a.Now()
	}
	if now.Before(a.Certificate.NotBefore) || now.After(a.Certificate.NotAfter) {
		return &CertificateValidityError{Serial: certSerial(a.Certificate), NotBefore: a.Certificate.NotBefore,
			NotAfter: a.Certificate.NotAfter, Now: now}
	}
	return nil
}

// Start signs an AuthTokenRequest for the challenge and calls POST /auth/xades-signature.
func (a XAdESAuth) Start(ctx context.Context, c *Client, id ContextIdentifier, ch *Challenge) (*AuthInit, *Challenge, error) {
	if err := a.Check(); err != nil {
		return nil, nil, err
	}
	if ch == nil {
		var err error
		if ch, err = c.Challenge(ctx); err != nil {
			return nil, nil, err
		}
	}
	st := a.SubjectIdentifierType
	if st == "" {
		st = SubjectCertificateSubject
	}
	doc, err := MarshalAuthTokenRequest(ch.Challenge, id, st)
	if err != nil {
		return nil, ch, err
	}
	signed, err := a.Sign(doc)
	if err != nil {
		return nil, ch, fmt.Errorf("sign the AuthTokenRequest with certificate %s: %w", certSerial(a.Certificate), err)
	}
	if a.OnSigned != nil {
		a.OnSigned(bytes.Clone(signed))
	}
	path := "/auth/xades-signature"
	if a.VerifyCertificateChain != nil {
		path += fmt.Sprintf("?verifyCertificateChain=%t", *a.VerifyCertificateChain)
	}
	var init AuthInit
	if _, err := c.do(ctx, call{method: "POST", path: path, rawBody: signed, contentType: "application/xml", out: &init}); err != nil {
		return nil, ch, err
	}
	if init.ReferenceNumber == "" || init.AuthenticationToken.Token == "" {
		return nil, ch, &ResponseError{Method: "POST", Path: "/auth/xades-signature", Err: errors.New("referenceNumber or authenticationToken missing")}
	}
	return &init, ch, nil
}

// Method is "xades".
func (a XAdESAuth) Method() string { return "xades" }

// Describe names the certificate by its serial number, subject and short fingerprint.
func (a XAdESAuth) Describe() string {
	if a.Certificate == nil {
		return "certificate (none)"
	}
	fp := a.Fingerprint()
	return fmt.Sprintf("certificate %s (%s, fingerprint %s)", certSerial(a.Certificate), a.Certificate.Subject.CommonName, fp[:12])
}

// Fingerprint is the SHA-256 of the certificate, upper-case hex.
func (a XAdESAuth) Fingerprint() string {
	if a.Certificate == nil {
		return ""
	}
	sum := sha256.Sum256(a.Certificate.Raw)
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

// String names the certificate (XAdESAuth holds no secret, only a signing function).
func (a XAdESAuth) String() string { return "XAdESAuth{" + a.Describe() + "}" }

// certSerial is the serial number in upper-case hex, at least 16 digits (as KSeF writes
// the serials of its certificates).
func certSerial(c *x509.Certificate) string {
	if c == nil || c.SerialNumber == nil {
		return ""
	}
	return fmt.Sprintf("%016X", c.SerialNumber)
}
