package ksefsim

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ksefpl/ksefpl/pkg/kcert"
)

// kodII builds a KOD II link for the simulator's QR base (e.url + "/qr") the way a
// client does: the signed string is the link without "http://" and without the
// signature segment; sign returns the raw signature of it.
func kodII(base, ctxType, ctxValue, seller, serial string, invoice []byte, sign func(msg []byte) []byte) string {
	h := sha256.Sum256(invoice)
	link := strings.TrimSuffix(base, "/") + "/certificate/" + ctxType + "/" + ctxValue + "/" + seller + "/" + serial + "/" +
		base64.RawURLEncoding.EncodeToString(h[:])
	signed := strings.TrimPrefix(strings.TrimPrefix(link, "https://"), "http://")
	return link + "/" + base64.RawURLEncoding.EncodeToString(sign([]byte(signed)))
}

// signP1363 signs with ECDSA P-256/SHA-256 as r‖s.
func signP1363(t *testing.T, key crypto.Signer) func([]byte) []byte {
	return func(msg []byte) []byte {
		d := sha256.Sum256(msg)
		r, s, err := ecdsa.Sign(rand.Reader, key.(*ecdsa.PrivateKey), d[:])
		if err != nil {
			t.Fatal(err)
		}
		out := make([]byte, 64)
		r.FillBytes(out[:32])
		s.FillBytes(out[32:])
		return out
	}
}

// signDER signs with ECDSA P-256/SHA-256 as ASN.1 DER.
func signDER(t *testing.T, key crypto.Signer) func([]byte) []byte {
	return func(msg []byte) []byte {
		d := sha256.Sum256(msg)
		sig, err := ecdsa.SignASN1(rand.Reader, key.(*ecdsa.PrivateKey), d[:])
		if err != nil {
			t.Fatal(err)
		}
		return sig
	}
}

// signPSS signs with RSASSA-PSS SHA-256 (MGF1-SHA-256) and the given salt length.
func signPSS(t *testing.T, key crypto.Signer, salt int) func([]byte) []byte {
	return func(msg []byte) []byte {
		d := sha256.Sum256(msg)
		sig, err := rsa.SignPSS(rand.Reader, key.(*rsa.PrivateKey), crypto.SHA256, d[:], &rsa.PSSOptions{SaltLength: salt, Hash: crypto.SHA256})
		if err != nil {
			t.Fatal(err)
		}
		return sig
	}
}

type cKODII struct {
	Valid              bool
	ReasonCode, Reason string
	Context            struct{ Type, Value string }
	SellerNip          string
	Certificate        *struct {
		Serial, Subject, Name, Type, Status, ValidFrom, ValidTo string
		SubjectIdentifier                                       struct{ Type, Value string }
	}
}

// getKODII fetches a KOD II link as JSON (host, when set, is the Host the request is
// addressed to).
func getKODII(t *testing.T, link, host string) (int, cKODII) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, link, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/json")
	if host != "" {
		req.Host = host
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var out cKODII
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("KOD II answer %d %s: %v", resp.StatusCode, body, err)
	}
	return resp.StatusCode, out
}

func wantKODII(t *testing.T, what, link, reason string) cKODII {
	t.Helper()
	status, out := getKODII(t, link, "")
	if status != 200 || out.Valid != (reason == "") || out.ReasonCode != reason {
		t.Fatalf("%s: %d valid=%v reason %s (%s), want %q", what, status, out.Valid, out.ReasonCode, out.Reason, reason)
	}
	return out
}

// TestKODIIVerification: links signed with Offline certificates of the simulator's CA
// (EC: P1363 and DER; RSA-PSS salt 32) verify; an Authentication certificate, a
// revoked or expired certificate, a tampered hash, a wrong PSS salt length, a subject
// without permissions and a foreign seller do not.
func TestKODIIVerification(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{})
	base := e.url + "/qr"
	invoice := fa3(testNIP, "QR/1", e.today())

	ecCert, err := e.sim.IssueKSeFCertificate(KSeFCertificateRequest{NIP: testNIP})
	if err != nil {
		t.Fatal(err)
	}
	if ecCert.Cert.KeyUsage != x509.KeyUsageContentCommitment || ecCert.Cert.CheckSignatureFrom(e.sim.CACertificate()) != nil {
		t.Fatalf("Offline certificate: usage %v", ecCert.Cert.KeyUsage)
	}
	ecSerial := kcert.SerialHex(ecCert.Cert)
	link := kodII(base, "Nip", testNIP, testNIP, ecSerial, invoice, signP1363(t, ecCert.Key))
	out := wantKODII(t, "EC P1363", link, "")
	if c := out.Certificate; c == nil || c.Serial != ecSerial || c.Type != "Offline" || c.Status != "Active" ||
		c.SubjectIdentifier.Value != testNIP || !strings.Contains(c.Subject, "VATPL-"+testNIP) || c.ValidTo == "" {
		t.Fatalf("certificate in the answer: %+v", out.Certificate)
	}
	wantKODII(t, "EC DER", kodII(base, "Nip", testNIP, testNIP, ecSerial, invoice, signDER(t, ecCert.Key)), "")
	// The human page.
	r := e.call("GET", strings.TrimPrefix(link, e.url), nil, "Accept", "text/html")
	if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") || !strings.Contains(string(r.body), ecSerial) ||
		!strings.Contains(string(r.body), "podpis linku jest prawidłowy") {
		t.Fatalf("KOD II page: %d %s", r.status, r.body)
	}

	// RSA through the control API.
	ctl := &ControlClient{URL: e.url}
	rsaCert, err := ctl.IssueKSeFCertificate(context.Background(), KSeFCertificateRequest{NIP: testNIP, Key: "rsa", Name: "Offline RSA"})
	if err != nil {
		t.Fatal(err)
	}
	rsaSerial := kcert.SerialHex(rsaCert.Cert)
	wantKODII(t, "RSA-PSS salt 32", kodII(base, "Nip", testNIP, testNIP, rsaSerial, invoice, signPSS(t, rsaCert.Key, 32)), "")
	wantKODII(t, "RSA-PSS salt 20", kodII(base, "Nip", testNIP, testNIP, rsaSerial, invoice, signPSS(t, rsaCert.Key, 20)), qrSignatureInvalid)
	wantKODII(t, "RSA-PSS salt max", kodII(base, "Nip", testNIP, testNIP, rsaSerial, invoice,
		signPSS(t, rsaCert.Key, rsa.PSSSaltLengthAuto)), qrSignatureInvalid)

	// A tampered hash (the signature covers the original one).
	tampered := strings.Replace(link, base64.RawURLEncoding.EncodeToString(sha256Of(invoice)),
		base64.RawURLEncoding.EncodeToString(sha256Of([]byte("another invoice"))), 1)
	wantKODII(t, "tampered hash", tampered, qrSignatureInvalid)
	// Signed for another host.
	wrongHost := kodII("http://qr-test.ksef.mf.gov.pl", "Nip", testNIP, testNIP, ecSerial, invoice, signP1363(t, ecCert.Key))
	wantKODII(t, "signed for another host", base+strings.TrimPrefix(wrongHost, "http://qr-test.ksef.mf.gov.pl"), qrSignatureInvalid)
	// ...but valid when addressed to that host (the simulator standing in for it).
	if status, out := getKODII(t, e.url+strings.TrimPrefix(wrongHost, "http://qr-test.ksef.mf.gov.pl"), "qr-test.ksef.mf.gov.pl"); status != 200 || !out.Valid {
		t.Fatalf("on the official QR host: %d %+v", status, out)
	}

	// An Authentication certificate cannot sign KOD II.
	auth, err := e.sim.IssueKSeFCertificate(KSeFCertificateRequest{NIP: testNIP, Type: "Authentication"})
	if err != nil {
		t.Fatal(err)
	}
	wantKODII(t, "Authentication certificate", kodII(base, "Nip", testNIP, testNIP, kcert.SerialHex(auth.Cert), invoice, signP1363(t, auth.Key)), qrCertNotOffline)
	// An unknown serial, and a test certificate of the CA that is no KSeF certificate.
	wantKODII(t, "unknown serial", kodII(base, "Nip", testNIP, testNIP, "0123456789ABCDEF", invoice, signP1363(t, ecCert.Key)), qrCertNotFound)
	seal := e.seal(testNIP, kcert.KeyEC)
	wantKODII(t, "qualified seal", kodII(base, "Nip", testNIP, testNIP, kcert.SerialHex(seal.Cert), invoice, signP1363(t, seal.Key)), qrCertNotFound)

	// A foreign seller: the context cannot issue for it.
	wantKODII(t, "foreign seller", kodII(base, "Nip", testNIP, otherNIP, ecSerial, invoice, signP1363(t, ecCert.Key)), qrSellerNotAllowed)
	// A context where the certificate's subject has no permissions.
	wantKODII(t, "foreign context", kodII(base, "Nip", otherNIP, otherNIP, ecSerial, invoice, signP1363(t, ecCert.Key)), qrNoPermission)

	// A person (PESEL) needs InvoiceWrite in the context.
	const pesel = "88102341294"
	person, err := e.sim.IssueKSeFCertificate(KSeFCertificateRequest{PESEL: pesel})
	if err != nil {
		t.Fatal(err)
	}
	personLink := kodII(base, "Nip", testNIP, testNIP, kcert.SerialHex(person.Cert), invoice, signP1363(t, person.Key))
	wantKODII(t, "person without permissions", personLink, qrNoPermission)
	if err := e.sim.GrantPermissions(PermissionGrant{ContextNIP: testNIP, SubjectType: "Pesel", Value: pesel, Permissions: &[]string{"InvoiceRead"}}); err != nil {
		t.Fatal(err)
	}
	wantKODII(t, "person with InvoiceRead only", personLink, qrNoPermission)
	if err := e.sim.GrantPermissions(PermissionGrant{ContextNIP: testNIP, SubjectType: "Pesel", Value: pesel}); err != nil {
		t.Fatal(err)
	}
	wantKODII(t, "person with InvoiceWrite", personLink, "")

	// Revoked, then expired.
	if err := e.sim.RevokeCertificate(rsaSerial); err != nil {
		t.Fatal(err)
	}
	wantKODII(t, "revoked", kodII(base, "Nip", testNIP, testNIP, rsaSerial, invoice, signPSS(t, rsaCert.Key, 32)), qrCertRevoked)
	e.clock.Advance(3 * 365 * 24 * time.Hour)
	wantKODII(t, "expired", link, qrCertExpired)

	// Malformed links: 400.
	for _, bad := range []string{
		"/qr/certificate/Foo/" + testNIP + "/" + testNIP + "/" + ecSerial + "/abc/def",
		"/qr/certificate/Nip/" + testNIP + "/123/" + ecSerial + "/" + base64.RawURLEncoding.EncodeToString(sha256Of(invoice)) + "/AAAA",
		"/qr/certificate/Nip/" + testNIP + "/" + testNIP + "/XYZ/" + base64.RawURLEncoding.EncodeToString(sha256Of(invoice)) + "/AAAA",
		"/qr/certificate/Nip/" + testNIP + "/" + testNIP + "/" + ecSerial + "/short/AAAA",
	} {
		if status, out := getKODII(t, e.url+bad, ""); status != 400 || out.Valid || out.ReasonCode != qrMalformed {
			t.Errorf("malformed %s: %d %+v", bad, status, out)
		}
	}
}

// TestKODIIWithEnrolledOfflineCertificate: an Offline certificate obtained through
// the real enrolment flow (/certificates/enrollments) signs valid KOD II links, and
// IssueKSeFCertificate's certificates are listed like enrolled ones.
func TestKODIIWithEnrolledOfflineCertificate(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{EnrollmentPolls: -1})
	seal := e.seal(testNIP, kcert.KeyEC)
	access, _ := e.xadesLogin(seal, testNIP, subjectByCertificate)
	offline := e.obtainCertificate(access, "Certyfikat offline", "Offline")
	invoice := fa3(testNIP, "QR/2", e.today())
	wantKODII(t, "enrolled Offline certificate",
		kodII(e.url+"/qr", "Nip", testNIP, testNIP, kcert.SerialHex(offline.Cert), invoice, signP1363(t, offline.Key)), "")

	issued, err := e.sim.IssueKSeFCertificate(KSeFCertificateRequest{NIP: testNIP, Name: "Offline z symulatora"})
	if err != nil {
		t.Fatal(err)
	}
	q := e.query(access, "", map[string]string{"type": "Offline"})
	found := false
	for _, c := range q.Certificates {
		found = found || c.CertificateSerialNumber == kcert.SerialHex(issued.Cert) && c.Name == "Offline z symulatora" && c.Status == "Active"
	}
	if len(q.Certificates) != 2 || !found {
		t.Fatalf("query of Offline certificates: %+v", q)
	}
	e.noViolations()
}

func sha256Of(b []byte) []byte {
	h := sha256.Sum256(b)
	return h[:]
}
