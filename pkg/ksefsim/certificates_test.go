package ksefsim

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ksefpl/ksefpl/pkg/kcert"
)

func TestCertificateEnrollmentFullFlow(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{EnrollmentPolls: 1})
	seal := e.seal(testNIP, kcert.KeyRSA)
	access, _ := e.xadesLogin(seal, testNIP, subjectByCertificate)

	l := e.limits(access)
	if !l.CanRequest || l.Enrollment != (struct{ Remaining, Limit int }{300, 300}) || l.Certificate != (struct{ Remaining, Limit int }{100, 100}) {
		t.Fatalf("limits of a NIP: %+v", l)
	}
	data := e.enrollmentData(access)
	if !data.Equal(kcert.EnrollmentDataOf(seal.Cert)) || data.OrganizationIdentifier != "VATPL-"+testNIP || data.CountryName != "PL" {
		t.Fatalf("enrolment data %+v", data)
	}

	key, err := kcert.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	csrDER, err := kcert.NewCSR(key, data)
	if err != nil {
		t.Fatal(err)
	}
	r := e.enroll(access, "Certyfikat uwierzytelniający 1", "Authentication", csrDER)
	if r.status != 202 {
		t.Fatalf("enroll: %d %s", r.status, r.body)
	}
	var in struct{ ReferenceNumber, Timestamp string }
	r.decode(t, &in)
	if m := refPattern.FindStringSubmatch(in.ReferenceNumber); m == nil || m[1] != "EH" || !validRefNumber(in.ReferenceNumber) || in.Timestamp == "" {
		t.Fatalf("enroll answer %s", r.body)
	}
	st, seen := e.waitEnrollment(access, in.ReferenceNumber)
	if !slices.Equal(seen, []int{100, 200}) || st.Status.Description != descEnrollDone || len(st.CertificateSerialNumber) != 16 {
		t.Fatalf("enrolment statuses %v, final %+v", seen, st)
	}
	if again := e.enrollmentStatus(access, in.ReferenceNumber); again.CertificateSerialNumber != st.CertificateSerialNumber {
		t.Errorf("second read of a final enrolment: %+v", again)
	}

	cert := e.retrieve(access, st.CertificateSerialNumber)
	csr, _ := x509.ParseCertificateRequest(csrDER)
	if err := cert.CheckSignatureFrom(e.sim.CACertificate()); err != nil {
		t.Errorf("the certificate does not verify against the CA: %v", err)
	}
	if !bytes.Equal(cert.RawSubject, csr.RawSubject) || cert.KeyUsage != x509.KeyUsageDigitalSignature || kcert.SerialHex(cert) != st.CertificateSerialNumber {
		t.Errorf("certificate subject/usage/serial: %x %v %s", cert.RawSubject, cert.KeyUsage, kcert.SerialHex(cert))
	}
	if !cert.PublicKey.(*ecdsa.PublicKey).Equal(&key.PublicKey) || !cert.NotBefore.Equal(e.clock.Now().Truncate(time.Second)) ||
		!cert.NotAfter.Equal(cert.NotBefore.AddDate(2, 0, 0)) {
		t.Errorf("certificate key or validity %v..%v", cert.NotBefore, cert.NotAfter)
	}

	// The KSeF certificate authenticates (InternalCertificate), for the same subject.
	ksefCert := &kcert.Material{Cert: cert, Key: key}
	access2, xs := e.xadesLogin(ksefCert, testNIP, subjectByCertificate)
	if xs.AuthenticationMethod != "InternalCertificate" || xs.AuthenticationMethodInfo.DisplayName != "Certyfikat KSeF" {
		t.Errorf("KSeF certificate method %+v", xs)
	}
	// ...also with certificateFingerprint, since it was issued for this NIP.
	e.xadesLogin(ksefCert, testNIP, subjectByFingerprint)
	if d := e.enrollmentData(access2); !d.Equal(data) {
		t.Errorf("enrolment data after a KSeF certificate: %+v", d)
	}

	q := e.query(access, "", nil)
	if len(q.Certificates) != 1 || q.HasMore {
		t.Fatalf("query: %+v", q)
	}
	it := q.Certificates[0]
	if it.CertificateSerialNumber != st.CertificateSerialNumber || it.Status != "Active" || it.Type != "Authentication" ||
		it.Name != "Certyfikat uwierzytelniający 1" || it.CommonName != data.CommonName ||
		it.SubjectIdentifier.Type != "Nip" || it.SubjectIdentifier.Value != testNIP || it.LastUseDate == nil {
		t.Errorf("query item %+v", it)
	}
	if l := e.limits(access); l.Enrollment.Remaining != 299 || l.Certificate.Remaining != 99 {
		t.Errorf("limits after one certificate: %+v", l)
	}

	// Revoke as the owner: Revoked, and authentication with it ends in 460.
	r = e.call("POST", "/v2/certificates/"+it.CertificateSerialNumber+"/revoke", map[string]string{"revocationReason": "KeyCompromise"}, bearer(access)...)
	if r.status != 204 {
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}
	if q := e.query(access, "", map[string]string{"status": "Revoked"}); len(q.Certificates) != 1 || q.Certificates[0].Status != "Revoked" {
		t.Errorf("query after revoke: %+v", q)
	}
	if q := e.query(access, "", map[string]string{"status": "Active"}); len(q.Certificates) != 0 {
		t.Errorf("revoked certificate still Active: %+v", q)
	}
	r = e.call("POST", "/v2/certificates/"+it.CertificateSerialNumber+"/revoke", nil, bearer(access)...)
	if code, _ := exceptionCode(t, r); r.status != 400 || code != codeCertNotRevocable {
		t.Errorf("second revoke: %d %s", r.status, r.body)
	}
	r = e.call("POST", "/v2/certificates/0000000000000001/revoke", nil, bearer(access)...)
	if code, _ := exceptionCode(t, r); r.status != 400 || code != codeCertNotFound {
		t.Errorf("revoke of an unknown certificate: %d %s", r.status, r.body)
	}
	assertAuthStatus(t, e, e.startXades(ksefCert, testNIP, subjectByCertificate, ""), 460, detCertRevoked)

	// An Offline certificate carries nonRepudiation only and cannot authenticate.
	offline := e.obtainCertificate(access, "Certyfikat offline", "Offline")
	if offline.Cert.KeyUsage != x509.KeyUsageContentCommitment {
		t.Errorf("Offline key usage %v", offline.Cert.KeyUsage)
	}
	assertAuthStatus(t, e, e.startXades(offline, testNIP, subjectByCertificate, ""), 460, detIncorrectCert)
	if q := e.query(access, "pageSize=10&pageOffset=0", map[string]string{"type": "Offline", "name": "OFFLINE"}); len(q.Certificates) != 1 {
		t.Errorf("query by type and name: %+v", q)
	}
	e.noViolations()
}

func TestEnrollmentIsCheckedAndRejected(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{EnrollmentPolls: -1})
	const pesel = "88102341294"
	person := e.testCert(kcert.TestCertOptions{Kind: kcert.KindPersonal, PESEL: pesel, Name: "Anna Maria Nowak"})
	if err := e.sim.GrantPermissions(PermissionGrant{ContextNIP: testNIP, SubjectType: "Pesel", Value: pesel}); err != nil {
		t.Fatal(err)
	}
	access, _ := e.xadesLogin(person, testNIP, subjectByCertificate)
	if l := e.limits(access); l.Enrollment.Limit != 12 || l.Certificate.Limit != 6 {
		t.Errorf("limits of a PESEL: %+v", l)
	}
	data := e.enrollmentData(access)
	if strings.Join(data.GivenNames, " ") != "Anna Maria" || data.Surname != "Nowak" || data.SerialNumber != "PNOPL-"+pesel {
		t.Fatalf("enrolment data of a person: %+v", data)
	}
	key, _ := kcert.NewKey()
	codeOf := func(r reply) int {
		t.Helper()
		if r.status != 400 {
			t.Fatalf("want 400, got %d %s", r.status, r.body)
		}
		c, _ := exceptionCode(t, r)
		return c
	}

	// A modified subject is refused (25003).
	changed := data
	changed.Surname = "Kowalska"
	csr, err := kcert.NewCSR(key, changed)
	if err != nil {
		t.Fatal(err)
	}
	if c := codeOf(e.enroll(access, "Zmieniony podmiot", "Authentication", csr)); c != codeCSRSubject {
		t.Errorf("modified subject: %d", c)
	}
	// Bad encodings, keys and names.
	good, _ := kcert.NewCSR(key, data)
	if c := codeOf(e.call("POST", "/v2/certificates/enrollments", map[string]any{"certificateName": "Certyfikat", "certificateType": "Authentication", "csr": "!!"}, bearer(access)...)); c != codeValidation {
		t.Errorf("CSR not base64: %d", c)
	}
	if c := codeOf(e.enroll(access, "Certyfikat", "Authentication", []byte("not a CSR"))); c != codeCSRFormat {
		t.Errorf("garbage CSR: %d", c)
	}
	if c := codeOf(e.enroll(access, "abc", "Authentication", good)); c != codeValidation {
		t.Errorf("short name: %d", c)
	}
	if c := codeOf(e.enroll(access, "Certyfikat", "Signing", good)); c != codeValidation {
		t.Errorf("bad type: %d", c)
	}
	big, err := rsa.GenerateKey(rand.Reader, 3072)
	if err != nil {
		t.Fatal(err)
	}
	rsaCSR, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{RawSubject: mustCSRSubject(t, good)}, big)
	if err != nil {
		t.Fatal(err)
	}
	if c := codeOf(e.enroll(access, "Certyfikat RSA 3072", "Authentication", rsaCSR)); c != codeCSRKey {
		t.Errorf("RSA 3072: %d", c)
	}
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	p384CSR, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{RawSubject: mustCSRSubject(t, good)}, p384)
	if c := codeOf(e.enroll(access, "Certyfikat P-384", "Authentication", p384CSR)); c != codeCSRKey {
		t.Errorf("P-384: %d", c)
	}
	brokenSig := slices.Clone(good)
	brokenSig[len(brokenSig)-3] ^= 0xFF
	if c := codeOf(e.enroll(access, "Zły podpis", "Authentication", brokenSig)); c != codeCSRFormat {
		t.Errorf("broken CSR signature: %d", c)
	}

	// The person's key, once certified, cannot be certified for another subject.
	var mine struct{ ReferenceNumber string }
	e.enroll(access, "Certyfikat osoby", "Authentication", good).decode(t, &mine)
	st, _ := e.waitEnrollment(access, mine.ReferenceNumber)
	if st.Status.Code != 200 {
		t.Fatalf("person's enrolment: %+v", st)
	}
	if cert := e.retrieve(access, st.CertificateSerialNumber); !bytes.Equal(cert.RawSubject, mustCSRSubject(t, good)) {
		t.Error("the person's certificate does not carry the CSR subject")
	}
	company := e.seal(testNIP, kcert.KeyEC)
	companyAccess, _ := e.xadesLogin(company, testNIP, subjectByCertificate)
	stolen, _ := kcert.NewCSR(key, e.enrollmentData(companyAccess))
	r := e.enroll(companyAccess, "Cudzy klucz", "Authentication", stolen)
	var in struct{ ReferenceNumber string }
	r.decode(t, &in)
	st, seen := e.waitEnrollment(companyAccess, in.ReferenceNumber)
	if !slices.Equal(seen, []int{400}) || st.Status.Description != descEnrollRejected || !slices.Contains(st.Status.Details, detKeyCertified) || st.CertificateSerialNumber != "" {
		t.Errorf("key of another subject: %v %+v", seen, st)
	}
	// Enrolments belong to their subject.
	rr := e.call("GET", "/v2/certificates/enrollments/"+in.ReferenceNumber, nil, bearer(access)...)
	if c, _ := exceptionCode(t, rr); rr.status != 400 || c != codeEnrollmentNotFound {
		t.Errorf("another subject's enrolment: %d %s", rr.status, rr.body)
	}
	e.noResponseViolations()
}

func mustCSRSubject(t *testing.T, der []byte) []byte {
	t.Helper()
	c, err := x509.ParseCertificateRequest(der)
	if err != nil {
		t.Fatal(err)
	}
	return c.RawSubject
}

func TestCertificatesBelongToTheSubjectNotTheContext(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{})
	const pesel = "02070803628"
	person := e.testCert(kcert.TestCertOptions{Kind: kcert.KindPersonal, PESEL: pesel})
	for _, nip := range []string{testNIP, otherNIP} {
		if err := e.sim.GrantPermissions(PermissionGrant{ContextNIP: nip, SubjectType: "Pesel", Value: pesel}); err != nil {
			t.Fatal(err)
		}
	}
	inA, _ := e.xadesLogin(person, testNIP, subjectByCertificate)
	inB, _ := e.xadesLogin(person, otherNIP, subjectByCertificate)
	issued := e.obtainCertificate(inA, "Certyfikat z kontekstu A", "Authentication")
	q := e.query(inB, "", nil)
	if len(q.Certificates) != 1 || q.Certificates[0].SubjectIdentifier.Type != "Pesel" || q.Certificates[0].SubjectIdentifier.Value != pesel {
		t.Fatalf("query from context B: %+v", q)
	}
	if c := e.retrieve(inB, kcert.SerialHex(issued.Cert)); !c.Equal(issued.Cert) {
		t.Error("retrieve from context B")
	}
	// The KSeF certificate carries the PESEL: it authenticates in both contexts.
	e.xadesLogin(issued, otherNIP, subjectByCertificate)

	// The company itself does not see the person's certificates.
	company, _ := e.xadesLogin(e.seal(testNIP, kcert.KeyEC), testNIP, subjectByCertificate)
	if q := e.query(company, "", nil); len(q.Certificates) != 0 {
		t.Errorf("the company sees %d certificates of the person", len(q.Certificates))
	}
	r := e.call("POST", "/v2/certificates/retrieve", map[string]any{"certificateSerialNumbers": []string{kcert.SerialHex(issued.Cert)}}, bearer(company)...)
	var out cRetrieved
	r.decode(t, &out)
	if r.status != 200 || len(out.Certificates) != 0 {
		t.Errorf("the company retrieves the person's certificate: %s", r.body)
	}
	r = e.call("POST", "/v2/certificates/"+kcert.SerialHex(issued.Cert)+"/revoke", nil, bearer(company)...)
	if c, _ := exceptionCode(t, r); r.status != 400 || c != codeCertNotFound {
		t.Errorf("the company revokes the person's certificate: %d %s", r.status, r.body)
	}
	e.noViolations()
}

func TestCertificateLimitsAreEnforced(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{CertificateLimit: 1, CertificateEnrollmentLimit: 3, EnrollmentPolls: -1})
	access, _ := e.xadesLogin(e.seal(testNIP, kcert.KeyEC), testNIP, subjectByCertificate)
	e.obtainCertificate(access, "Pierwszy certyfikat", "Authentication")
	l := e.limits(access)
	if l.CanRequest || l.Certificate.Remaining != 0 || l.Enrollment.Remaining != 2 {
		t.Fatalf("limits with the certificate limit reached: %+v", l)
	}
	key, _ := kcert.NewKey()
	csr, _ := kcert.NewCSR(key, e.enrollmentData(access))
	r := e.enroll(access, "Drugi certyfikat", "Authentication", csr)
	var in struct{ ReferenceNumber string }
	r.decode(t, &in)
	st, _ := e.waitEnrollment(access, in.ReferenceNumber)
	if st.Status.Code != 400 || !slices.Contains(st.Status.Details, detCertLimit) {
		t.Fatalf("enrolment over the certificate limit: %+v", st)
	}
	// After a revocation there is room again.
	first := e.query(access, "", nil).Certificates[0].CertificateSerialNumber
	if r := e.call("POST", "/v2/certificates/"+first+"/revoke", nil, bearer(access)...); r.status != 204 {
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}
	e.obtainCertificate(access, "Trzeci certyfikat", "Authentication")
	// Three requests were made: the fourth is refused at once.
	if l := e.limits(access); l.CanRequest || l.Enrollment.Remaining != 0 {
		t.Errorf("limits after three requests: %+v", l)
	}
	r = e.enroll(access, "Czwarty certyfikat", "Authentication", csr)
	if c, _ := exceptionCode(t, r); r.status != 400 || c != codeEnrollmentLimit {
		t.Errorf("fourth request: %d %s", r.status, r.body)
	}
	e.noViolations()
}

func TestCertificateQueryPagesNewestFirst(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{EnrollmentPolls: -1})
	access, _ := e.xadesLogin(e.seal(testNIP, kcert.KeyEC), testNIP, subjectByCertificate)
	var serials []string
	for i := range 12 {
		m := e.obtainCertificate(access, "Certyfikat numer "+string(rune('A'+i)), "Authentication")
		serials = append(serials, kcert.SerialHex(m.Cert))
		e.clock.Advance(time.Second)
	}
	p0 := e.query(access, "pageSize=10", nil)
	p1 := e.query(access, "pageSize=10&pageOffset=1", nil)
	if len(p0.Certificates) != 10 || !p0.HasMore || len(p1.Certificates) != 2 || p1.HasMore {
		t.Fatalf("pages: %d %v / %d %v", len(p0.Certificates), p0.HasMore, len(p1.Certificates), p1.HasMore)
	}
	if p0.Certificates[0].CertificateSerialNumber != serials[11] || p1.Certificates[1].CertificateSerialNumber != serials[0] {
		t.Errorf("not newest first: %s ... %s", p0.Certificates[0].Name, p1.Certificates[1].Name)
	}
	if q := e.query(access, "", map[string]string{"certificateSerialNumber": serials[3]}); len(q.Certificates) != 1 || q.Certificates[0].Name != "Certyfikat numer D" {
		t.Errorf("by serial: %+v", q)
	}
	if q := e.query(access, "", map[string]string{"expiresAfter": e.clock.Now().AddDate(3, 0, 0).Format(time.RFC3339)}); len(q.Certificates) != 0 {
		t.Errorf("expiresAfter in 3 years: %d", len(q.Certificates))
	}
	if err := e.sim.ExpireCertificate(serials[5]); err != nil {
		t.Fatal(err)
	}
	if q := e.query(access, "", map[string]string{"status": "Expired"}); len(q.Certificates) != 1 || q.Certificates[0].CertificateSerialNumber != serials[5] {
		t.Errorf("expired by control: %+v", q)
	}
	r := e.call("POST", "/v2/certificates/"+serials[5]+"/revoke", nil, bearer(access)...)
	if c, _ := exceptionCode(t, r); r.status != 400 || c != codeCertNotRevocable {
		t.Errorf("revoke of an expired certificate: %d %s", r.status, r.body)
	}
	e.noViolations()

	// Out-of-range paging and a bad filter are validation errors.
	for _, path := range []string{"/v2/certificates/query?pageSize=5", "/v2/certificates/query?pageSize=51", "/v2/certificates/query?pageOffset=-1"} {
		r := e.call("POST", path, nil, bearer(access)...)
		if c, _ := exceptionCode(t, r); r.status != 400 || c != codeValidation {
			t.Errorf("%s: %d %s", path, r.status, r.body)
		}
	}
	r = e.call("POST", "/v2/certificates/query", map[string]string{"status": "Lost"}, bearer(access)...)
	if c, _ := exceptionCode(t, r); r.status != 400 || c != codeValidation {
		t.Errorf("bad status filter: %d %s", r.status, r.body)
	}
	r = e.call("POST", "/v2/certificates/retrieve", map[string]any{"certificateSerialNumbers": []string{}}, bearer(access)...)
	if c, _ := exceptionCode(t, r); r.status != 400 || c != codeValidation {
		t.Errorf("retrieve nothing: %d %s", r.status, r.body)
	}
	e.noResponseViolations()
}

func TestCertificatesAfterKsefTokenLogin(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{})
	access := e.loggedIn(testNIP)
	if l := e.limits(access); !l.CanRequest || l.Enrollment.Limit != 300 {
		t.Errorf("limits after a token: %+v", l)
	}
	if q := e.query(access, "", nil); len(q.Certificates) != 0 || q.HasMore {
		t.Errorf("query after a token: %+v", q)
	}
	r := e.call("GET", "/v2/certificates/enrollments/data", nil, bearer(access)...)
	if c, _ := exceptionCode(t, r); r.status != 400 || c != codeNoEnrollmentData {
		t.Errorf("enrolment data after a token: %d %s", r.status, r.body)
	}
	key, _ := kcert.NewKey()
	csr, _ := kcert.NewCSR(key, kcert.EnrollmentData{CommonName: "Firma", CountryName: "PL", OrganizationIdentifier: "VATPL-" + testNIP, OrganizationName: "Firma"})
	r = e.enroll(access, "Certyfikat z tokena", "Authentication", csr)
	if c, _ := exceptionCode(t, r); r.status != 400 || c != codeNoEnrollment {
		t.Errorf("enrolment after a token: %d %s", r.status, r.body)
	}
	r = e.call("POST", "/v2/certificates/0321C82DA41B4362/revoke", nil, bearer(access)...)
	var p struct {
		ReasonCode string
		Security   map[string]any
	}
	r.decode(t, &p)
	if r.status != 403 || p.ReasonCode != "auth-method-not-allowed" || p.Security["authenticationMethodCategory"] != "Token" {
		t.Errorf("revoke after a token: %d %s", r.status, r.body)
	}
	r = e.call("GET", "/v2/certificates/enrollments/20260302-EH-0000000000-0000000000-00", nil, bearer(access)...)
	if c, _ := exceptionCode(t, r); r.status != 400 || c != codeEnrollmentNotFound {
		t.Errorf("unknown enrolment: %d %s", r.status, r.body)
	}
	e.noViolations()
	if r := e.call("GET", "/v2/certificates/limits", nil); r.status != 401 {
		t.Errorf("limits without a token: %d", r.status)
	}
	e.noResponseViolations()
}

func TestEnrollmentStatusIsGoneAfter30Days(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{})
	seal := e.seal(testNIP, kcert.KeyEC)
	access, _ := e.xadesLogin(seal, testNIP, subjectByCertificate)
	key, _ := kcert.NewKey()
	csr, _ := kcert.NewCSR(key, e.enrollmentData(access))
	var in struct{ ReferenceNumber string }
	e.enroll(access, "Stary wniosek", "Authentication", csr).decode(t, &in)
	e.clock.Advance(31 * 24 * time.Hour)
	// A fresh login: the old access token has expired.
	seal2 := e.seal(testNIP, kcert.KeyEC)
	access, _ = e.xadesLogin(seal2, testNIP, subjectByCertificate)
	if r := e.call("GET", "/v2/certificates/enrollments/"+in.ReferenceNumber, nil, bearer(access)...); r.status != 410 {
		t.Errorf("status after 31 days: %d %s", r.status, r.body)
	}
	e.noViolations()
}

func TestCertificateControlClient(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{})
	cc := &ControlClient{URL: e.url}
	ctx := context.Background()
	m := e.seal(testNIP, kcert.KeyEC)
	if err := cc.RevokeCertificate(ctx, strings.ToLower(kcert.SerialHex(m.Cert))); err != nil {
		t.Fatal(err)
	}
	assertAuthStatus(t, e, e.startXades(m, testNIP, subjectByCertificate, ""), 460, detCertRevoked)
	m2 := e.seal(testNIP, kcert.KeyEC)
	if err := cc.ExpireCertificate(ctx, kcert.SerialHex(m2.Cert)); err != nil {
		t.Fatal(err)
	}
	assertAuthStatus(t, e, e.startXades(m2, testNIP, subjectByCertificate, ""), 460, detInvalidCert)
	if err := cc.RevokeCertificate(ctx, "not hex"); err == nil || !strings.Contains(err.Error(), "hexadecimal") {
		t.Errorf("bad serial: %v", err)
	}
	other := e.seal(otherNIP, kcert.KeyEC)
	if err := cc.GrantPermissions(ctx, PermissionGrant{ContextNIP: testNIP, SubjectType: "Nip", Value: otherNIP}); err != nil {
		t.Fatal(err)
	}
	e.xadesLogin(other, testNIP, subjectByCertificate)
	docs, err := cc.SignedAuthRequests(ctx)
	if err != nil || len(docs) != 3 || docs[2].ReferenceNumber == "" || !bytes.Equal(docs[2].Document, e.sim.SignedAuthRequests()[2]) {
		t.Fatalf("signed requests: %v %+v", err, docs)
	}
	if !bytes.Contains(docs[0].Document, []byte("<ds:Signature")) {
		t.Error("read-back document is not the signed one")
	}
	ca, err := cc.CACertificate(ctx)
	if err != nil || !ca.IsCA || ca.PublicKeyAlgorithm != x509.ECDSA || ca.Subject.CommonName != "ksefsim CA" {
		t.Fatalf("CA: %v %+v", err, ca)
	}
	r := e.call("GET", "/sim/ca", nil)
	if ct := r.header.Get("Content-Type"); ct != "application/x-pem-file" || !bytes.HasPrefix(r.body, []byte("-----BEGIN CERTIFICATE-----")) {
		t.Errorf("GET /sim/ca: %s %q", ct, r.body[:20])
	}
	var raw []map[string]any
	e.call("GET", "/sim/auth-requests", nil).decode(t, &raw)
	if b, _ := base64.StdEncoding.DecodeString(raw[0]["document"].(string)); !bytes.Equal(b, docs[0].Document) {
		t.Error("GET /sim/auth-requests document is not base64 of the bytes")
	}
}

func TestSignedAuthRequestsAreBounded(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{})
	for i := range maxSignedRequests + 5 {
		e.postXades([]byte{'<', byte('a' + i%26), '/', '>'}, "")
	}
	docs := e.sim.SignedAuthRequests()
	if len(docs) != maxSignedRequests || !bytes.Equal(docs[len(docs)-1], []byte{'<', byte('a' + (maxSignedRequests+4)%26), '/', '>'}) {
		t.Fatalf("kept %d documents, last %q", len(docs), docs[len(docs)-1])
	}
}
