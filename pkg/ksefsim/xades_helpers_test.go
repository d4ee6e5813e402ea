package ksefsim

import (
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"time"

	"github.com/getkin/kin-openapi/openapi3filter"

	"github.com/ksefpl/ksefpl/pkg/kcert"
	"github.com/ksefpl/ksefpl/pkg/xades"
)

// kin-openapi has no decoder for application/xml request bodies; POST
// /auth/xades-signature declares `type: string`, which the plain decoder checks.
func init() { openapi3filter.RegisterBodyDecoder("application/xml", openapi3filter.PlainBodyDecoder) }

// testCert makes a self-signed test certificate valid around the simulator's clock.
func (e *env) testCert(o kcert.TestCertOptions) *kcert.Material {
	e.t.Helper()
	if o.NotBefore.IsZero() {
		o.NotBefore = e.clock.Now().Add(-time.Hour)
	}
	if o.NotAfter.IsZero() {
		o.NotAfter = e.clock.Now().AddDate(1, 0, 0)
	}
	m, err := kcert.NewTestCertificate(o)
	if err != nil {
		e.t.Fatal(err)
	}
	return m
}

func (e *env) seal(nip, key string) *kcert.Material {
	return e.testCert(kcert.TestCertOptions{Kind: kcert.KindSeal, NIP: nip, KeyType: key})
}

// authTokenRequest renders an unsigned AuthTokenRequest (namespace ns, v2.0 when "").
func authTokenRequestXML(ns, challenge, contextElem, contextValue, subjectType string) []byte {
	if ns == "" {
		ns = authNamespace20
	}
	return fmt.Appendf(nil, `<?xml version="1.0" encoding="utf-8"?>
<AuthTokenRequest xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns="%s">
  <Challenge>%s</Challenge>
  <ContextIdentifier>
    <%s>%s</%s>
  </ContextIdentifier>
  <SubjectIdentifierType>%s</SubjectIdentifierType>
</AuthTokenRequest>`, ns, challenge, contextElem, contextValue, contextElem, subjectType)
}

// signDoc signs doc with m as a client would.
func (e *env) signDoc(m *kcert.Material, doc []byte) []byte {
	e.t.Helper()
	signed, err := xades.Sign(doc, m.Key, m.Cert, xades.SignOptions{SigningTime: e.clock.Now()})
	if err != nil {
		e.t.Fatalf("xades.Sign: %v", err)
	}
	return signed
}

// signedRequest fetches a challenge and signs an AuthTokenRequest for the Nip context.
func (e *env) signedRequest(m *kcert.Material, nip, subjectType string) []byte {
	e.t.Helper()
	return e.signDoc(m, authTokenRequestXML("", e.challenge().Challenge, "Nip", nip, subjectType))
}

// postXades sends a body to POST /auth/xades-signature (query may be "").
func (e *env) postXades(body []byte, query string, headers ...string) reply {
	e.t.Helper()
	path := "/v2/auth/xades-signature"
	if query != "" {
		path += "?" + query
	}
	return e.call("POST", path, body, append([]string{"Content-Type", "application/xml"}, headers...)...)
}

// startXades runs challenge, signing and POST /auth/xades-signature, expecting 202.
func (e *env) startXades(m *kcert.Material, nip, subjectType, query string) cInit {
	e.t.Helper()
	r := e.postXades(e.signedRequest(m, nip, subjectType), query)
	if r.status != 202 {
		e.t.Fatalf("xades-signature: %d %s", r.status, r.body)
	}
	var in cInit
	r.decode(e.t, &in)
	return in
}

// cXStatus is AuthenticationOperationStatusResponse with the method fields.
type cXStatus struct {
	AuthenticationMethod     string
	AuthenticationMethodInfo struct{ Category, Code, DisplayName string }
	Status                   struct {
		Code    int
		Details []string
	}
}

func (e *env) xStatus(in cInit) cXStatus {
	e.t.Helper()
	r := e.call("GET", "/v2/auth/"+in.ReferenceNumber, nil, bearer(in.AuthenticationToken.Token)...)
	if r.status != 200 {
		e.t.Fatalf("auth status: %d %s", r.status, r.body)
	}
	var st cXStatus
	r.decode(e.t, &st)
	return st
}

// redeem redeems a successful authentication.
func (e *env) redeem(in cInit) cTokens {
	e.t.Helper()
	r := e.call("POST", "/v2/auth/token/redeem", nil, bearer(in.AuthenticationToken.Token)...)
	if r.status != 200 {
		e.t.Fatalf("redeem: %d %s", r.status, r.body)
	}
	var tk cTokens
	r.decode(e.t, &tk)
	return tk
}

// xadesLogin authenticates with m in the Nip context nip and returns the access
// token and the final status (which must be 200).
func (e *env) xadesLogin(m *kcert.Material, nip, subjectType string) (string, cXStatus) {
	e.t.Helper()
	in := e.startXades(m, nip, subjectType, "")
	if st, _ := e.pollAuth(in); st.Status.Code != 200 {
		e.t.Fatalf("XAdES authentication ended in %d %v", st.Status.Code, st.Status.Details)
	}
	st := e.xStatus(in)
	return e.redeem(in).AccessToken.Token, st
}

// Client-side certificate wire types, written for the tests from open-api 2.8.1.
type (
	cLimits struct {
		CanRequest  bool
		Enrollment  struct{ Remaining, Limit int }
		Certificate struct{ Remaining, Limit int }
	}
	cEnrollStatus struct {
		RequestDate string
		Status      struct {
			Code        int
			Description string
			Details     []string
		}
		CertificateSerialNumber string
	}
	cRetrieved struct {
		Certificates []struct {
			Certificate, CertificateName, CertificateSerialNumber, CertificateType string
		}
	}
	cCertItem struct {
		CertificateSerialNumber, Name, Type, CommonName, Status string
		SubjectIdentifier                                       struct{ Type, Value string }
		ValidFrom, ValidTo, RequestDate                         string
		LastUseDate                                             *string
	}
	cQuery struct {
		Certificates []cCertItem
		HasMore      bool
	}
)

func (e *env) limits(access string) cLimits {
	e.t.Helper()
	r := e.call("GET", "/v2/certificates/limits", nil, bearer(access)...)
	if r.status != 200 {
		e.t.Fatalf("limits: %d %s", r.status, r.body)
	}
	var l cLimits
	r.decode(e.t, &l)
	return l
}

func (e *env) enrollmentData(access string) kcert.EnrollmentData {
	e.t.Helper()
	r := e.call("GET", "/v2/certificates/enrollments/data", nil, bearer(access)...)
	if r.status != 200 {
		e.t.Fatalf("enrollment data: %d %s", r.status, r.body)
	}
	var d kcert.EnrollmentData
	r.decode(e.t, &d)
	return d
}

// enroll submits a CSR and returns the reply.
func (e *env) enroll(access, name, typ string, csr []byte) reply {
	e.t.Helper()
	return e.call("POST", "/v2/certificates/enrollments", map[string]any{
		"certificateName": name, "certificateType": typ, "csr": base64.StdEncoding.EncodeToString(csr),
	}, bearer(access)...)
}

func (e *env) enrollmentStatus(access, ref string) cEnrollStatus {
	e.t.Helper()
	r := e.call("GET", "/v2/certificates/enrollments/"+ref, nil, bearer(access)...)
	if r.status != 200 {
		e.t.Fatalf("enrollment status: %d %s", r.status, r.body)
	}
	var st cEnrollStatus
	r.decode(e.t, &st)
	return st
}

// waitEnrollment polls until the enrolment is final and returns it with the codes seen.
func (e *env) waitEnrollment(access, ref string) (cEnrollStatus, []int) {
	e.t.Helper()
	var seen []int
	for range 10 {
		st := e.enrollmentStatus(access, ref)
		seen = append(seen, st.Status.Code)
		if st.Status.Code != 100 {
			return st, seen
		}
	}
	e.t.Fatalf("enrolment %s never left 100", ref)
	return cEnrollStatus{}, nil
}

// obtainCertificate enrols a fresh EC key for the caller's enrolment data and returns
// the issued certificate with its key.
func (e *env) obtainCertificate(access, name, typ string) *kcert.Material {
	e.t.Helper()
	key, err := kcert.NewKey()
	if err != nil {
		e.t.Fatal(err)
	}
	csr, err := kcert.NewCSR(key, e.enrollmentData(access))
	if err != nil {
		e.t.Fatal(err)
	}
	r := e.enroll(access, name, typ, csr)
	if r.status != 202 {
		e.t.Fatalf("enroll: %d %s", r.status, r.body)
	}
	var in struct{ ReferenceNumber string }
	r.decode(e.t, &in)
	st, _ := e.waitEnrollment(access, in.ReferenceNumber)
	if st.Status.Code != 200 {
		e.t.Fatalf("enrolment ended in %d %v", st.Status.Code, st.Status.Details)
	}
	return &kcert.Material{Cert: e.retrieve(access, st.CertificateSerialNumber), Key: key}
}

// retrieve fetches one of the caller's KSeF certificates.
func (e *env) retrieve(access, serial string) *x509.Certificate {
	e.t.Helper()
	r := e.call("POST", "/v2/certificates/retrieve", map[string]any{"certificateSerialNumbers": []string{serial}}, bearer(access)...)
	var out cRetrieved
	r.decode(e.t, &out)
	if r.status != 200 || len(out.Certificates) != 1 {
		e.t.Fatalf("retrieve %s: %d %s", serial, r.status, r.body)
	}
	der, err := base64.StdEncoding.DecodeString(out.Certificates[0].Certificate)
	if err != nil {
		e.t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func (e *env) query(access, query string, filter any) cQuery {
	e.t.Helper()
	path := "/v2/certificates/query"
	if query != "" {
		path += "?" + query
	}
	r := e.call("POST", path, filter, bearer(access)...)
	if r.status != 200 {
		e.t.Fatalf("query: %d %s", r.status, r.body)
	}
	var q cQuery
	r.decode(e.t, &q)
	return q
}
