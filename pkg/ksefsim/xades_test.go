package ksefsim

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ksefpl/ksefpl/pkg/kcert"
)

func TestXadesAuthenticationEndToEnd(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{AuthDelay: 2})
	cases := []struct {
		name       string
		opts       kcert.TestCertOptions
		method     string
		display    string
		subjectSub string
	}{
		{"seal EC", kcert.TestCertOptions{Kind: kcert.KindSeal, NIP: testNIP, KeyType: kcert.KeyEC}, "QualifiedSeal", "Pieczęć kwalifikowana", "nip-" + testNIP},
		{"seal RSA", kcert.TestCertOptions{Kind: kcert.KindSeal, NIP: testNIP, KeyType: kcert.KeyRSA}, "QualifiedSeal", "Pieczęć kwalifikowana", "nip-" + testNIP},
		{"personal TINPL EC", kcert.TestCertOptions{Kind: kcert.KindPersonal, NIP: testNIP, KeyType: kcert.KeyEC}, "QualifiedSignature", "Podpis kwalifikowany", "nip-" + testNIP},
		{"personal TINPL RSA", kcert.TestCertOptions{Kind: kcert.KindPersonal, NIP: testNIP, KeyType: kcert.KeyRSA}, "QualifiedSignature", "Podpis kwalifikowany", "nip-" + testNIP},
	}
	for _, tc := range cases {
		m := e.testCert(tc.opts)
		signed := e.signedRequest(m, testNIP, subjectByCertificate)
		r := e.postXades(signed, "")
		if r.status != 202 {
			t.Fatalf("%s: xades-signature %d %s", tc.name, r.status, r.body)
		}
		var in cInit
		r.decode(t, &in)
		if m := refPattern.FindStringSubmatch(in.ReferenceNumber); m == nil || m[1] != "AU" || in.AuthenticationToken.Token == "" {
			t.Fatalf("%s: init answer %s", tc.name, r.body)
		}
		st, inProgress := e.pollAuth(in)
		if inProgress != 2 || st.Status.Code != 200 || st.Status.Description != descSucceeded {
			t.Fatalf("%s: %d polls at 100, then %+v", tc.name, inProgress, st.Status)
		}
		xs := e.xStatus(in)
		if xs.AuthenticationMethod != tc.method || xs.AuthenticationMethodInfo.Category != "XadesSignature" ||
			xs.AuthenticationMethodInfo.Code != tc.method || xs.AuthenticationMethodInfo.DisplayName != tc.display {
			t.Errorf("%s: method %q %+v", tc.name, xs.AuthenticationMethod, xs.AuthenticationMethodInfo)
		}
		tk := e.redeem(in)
		claims := jwtPayload(t, tk.AccessToken.Token)
		if claims["authentication-method"] != tc.method || claims["sub"] != tc.subjectSub || claims["context-identifier-value"] != testNIP {
			t.Errorf("%s: access token claims %v", tc.name, claims)
		}
		// The access token works on existing endpoints.
		if l := e.limits(tk.AccessToken.Token); !l.CanRequest {
			t.Errorf("%s: limits %+v", tc.name, l)
		}
		cs := e.openSession(tk.AccessToken.Token)
		if tc.name == "seal EC" {
			// The UPO names the authentication by the hash of the signed document.
			inv := cs.send(fa3(testNIP, "FV/X/1", e.today()))
			if v, _ := cs.waitInvoice(inv); v.Status.Code != 200 {
				t.Fatalf("invoice: %+v", v)
			}
			u := e.call("GET", "/v2/sessions/"+cs.ref+"/invoices/"+inv+"/upo", nil, bearer(tk.AccessToken.Token)...)
			validateUPO(t, u.body)
			if !bytes.Contains(u.body, []byte("<SkrotDokumentuUwierzytelniajacego>"+b64sha(signed)+"</SkrotDokumentuUwierzytelniajacego>")) ||
				bytes.Contains(u.body, []byte("NumerReferencyjnyTokenaKSeF")) {
				t.Errorf("UPO after XAdES does not carry the document hash:\n%s", u.body)
			}
		}
		// Refresh works as after a token.
		if r := e.call("POST", "/v2/auth/token/refresh", nil, bearer(tk.RefreshToken.Token)...); r.status != 200 {
			t.Errorf("%s: refresh %d %s", tc.name, r.status, r.body)
		}
		// The exact bytes are kept for read-back.
		docs := e.sim.SignedAuthRequests()
		if !bytes.Equal(docs[len(docs)-1], signed) {
			t.Errorf("%s: SignedAuthRequests does not end with the document sent", tc.name)
		}
	}

	// GET /sim/auth-requests has the same documents, base64, with their references.
	var back []struct {
		ReceivedAt      time.Time
		ReferenceNumber string
		Document        string
	}
	e.call("GET", "/sim/auth-requests", nil).decode(t, &back)
	if len(back) != len(cases) || !refPattern.MatchString(back[0].ReferenceNumber) || back[0].ReceivedAt.IsZero() {
		t.Fatalf("GET /sim/auth-requests: %+v", back)
	}
	if b, _ := base64.StdEncoding.DecodeString(back[1].Document); !bytes.Equal(b, e.sim.SignedAuthRequests()[1]) {
		t.Error("GET /sim/auth-requests document differs from SignedAuthRequests")
	}

	// The v2.1 schema namespace is accepted too.
	m := e.seal(testNIP, kcert.KeyEC)
	doc := e.signDoc(m, authTokenRequestXML(authNamespace21, e.challenge().Challenge, "Nip", testNIP, subjectByCertificate))
	if r := e.postXades(doc, ""); r.status != 202 {
		t.Fatalf("v2.1 document: %d %s", r.status, r.body)
	}
	e.noViolations()
}

// xadesError posts body and checks the synchronous 400 exception code.
func xadesError(t *testing.T, e *env, name string, body []byte, query string, want int) []string {
	t.Helper()
	r := e.postXades(body, query)
	if r.status != 400 {
		t.Fatalf("%s: got %d %s, want 400 with %d", name, r.status, r.body, want)
	}
	code, details := exceptionCode(t, r)
	if code != want {
		t.Fatalf("%s: exception %d %q, want %d", name, code, details, want)
	}
	return details
}

// selfSigned makes a bare self-signed certificate with the given subject and key.
func selfSigned(t *testing.T, e *env, subject pkix.Name, key any, pub any) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: subject,
		NotBefore: e.clock.Now().Add(-time.Hour), NotAfter: e.clock.Now().AddDate(1, 0, 0),
		KeyUsage: x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var x509CertElem = regexp.MustCompile(`<ds:X509Certificate>[^<]*</ds:X509Certificate>`)

func TestXadesDocumentAndSignatureFailures(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{})
	m := e.seal(testNIP, kcert.KeyEC)

	// Tampered after signing: the context NIP changed.
	signed := e.signedRequest(m, testNIP, subjectByCertificate)
	tampered := bytes.Replace(signed, []byte("<Nip>"+testNIP), []byte("<Nip>"+otherNIP), 1)
	if d := xadesError(t, e, "tampered", tampered, "", codeBadSignature); d[0] != "Nieprawidłowa wartość skrótu dla referencji." {
		t.Errorf("tampered details %q", d)
	}
	// The SignatureValue changed.
	sv := regexp.MustCompile(`(<ds:SignatureValue[^>]*>)([A-Za-z0-9+/])`)
	flipped := sv.ReplaceAllFunc(signed, func(b []byte) []byte {
		c := b[len(b)-1]
		b[len(b)-1] = map[bool]byte{true: 'B', false: 'A'}[c == 'A']
		return b
	})
	if d := xadesError(t, e, "signature value", flipped, "", codeBadSignature); d[0] != "Podpis zweryfikowany negatywnie." {
		t.Errorf("signature value details %q", d)
	}
	// No signature at all.
	unsigned := authTokenRequestXML("", e.challenge().Challenge, "Nip", testNIP, subjectByCertificate)
	xadesError(t, e, "unsigned", unsigned, "", codeNoSignature)
	// Two signatures.
	signed = e.signedRequest(m, testNIP, subjectByCertificate)
	i, j := bytes.Index(signed, []byte("<ds:Signature")), bytes.LastIndex(signed, []byte("</ds:Signature>"))+len("</ds:Signature>")
	twice := slices.Concat(signed[:j], signed[i:j], signed[j:])
	xadesError(t, e, "two signatures", twice, "", codeTooManySignatures)
	// Not well-formed, not UTF-8, not an AuthTokenRequest, not the schema.
	xadesError(t, e, "not XML", []byte("<AuthTokenRequest><Challenge>"), "", codeUnreadable)
	latin2 := bytes.Replace(e.signedRequest(m, testNIP, subjectByCertificate), []byte(`encoding="utf-8"`), []byte(`encoding="ISO-8859-2"`), 1)
	xadesError(t, e, "ISO-8859-2", latin2, "", codeBadCharEncoding)
	doctype := []byte("<?xml version=\"1.0\"?><!DOCTYPE a [<!ENTITY x \"y\">]><a>&x;</a>")
	xadesError(t, e, "DOCTYPE", doctype, "", codeBadDocument)
	other := e.signDoc(m, []byte(`<Wniosek xmlns="urn:x"><Challenge>x</Challenge></Wniosek>`))
	if d := xadesError(t, e, "wrong root", other, "", codeSchema); d[0] != "The 'urn:x:Wniosek' element is not declared." {
		t.Errorf("wrong root details %q", d)
	}
	badNIP := e.signDoc(m, authTokenRequestXML("", e.challenge().Challenge, "Nip", "0123456789", subjectByCertificate))
	if d := xadesError(t, e, "bad NIP", badNIP, "", codeSchema); !strings.Contains(d[0], "TNIP' - The Pattern constraint failed.") {
		t.Errorf("bad NIP details %q", d)
	}
	badType := e.signDoc(m, authTokenRequestXML("", e.challenge().Challenge, "Nip", testNIP, "certificateSerial"))
	xadesError(t, e, "bad subject type", badType, "", codeSchema)
	noCtx := e.signDoc(m, []byte(`<AuthTokenRequest xmlns="`+authNamespace20+`"><Challenge>`+e.challenge().Challenge+`</Challenge><SubjectIdentifierType>certificateSubject</SubjectIdentifierType></AuthTokenRequest>`))
	if d := xadesError(t, e, "missing context", noCtx, "", codeSchema); !strings.Contains(d[0], "invalid child element 'SubjectIdentifierType'") {
		t.Errorf("missing context details %q", d)
	}

	// A key below the minimum: the certificate in KeyInfo is swapped for an RSA-1024
	// one (xades.Sign would refuse to sign with it).
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	weak := selfSigned(t, e, pkix.Name{CommonName: "Słaby klucz", Country: []string{"PL"}}, small, &small.PublicKey)
	swapped := x509CertElem.ReplaceAll(e.signedRequest(e.seal(testNIP, kcert.KeyRSA), testNIP, subjectByCertificate),
		[]byte("<ds:X509Certificate>"+base64.StdEncoding.EncodeToString(weak.Raw)+"</ds:X509Certificate>"))
	if d := xadesError(t, e, "RSA 1024", swapped, "", codeInvalidCert); !strings.Contains(d[0], "1024") {
		t.Errorf("RSA 1024 details %q", d)
	}

	// certificateSubject with a certificate that names no NIP or PESEL.
	ek, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	anon := &kcert.Material{Cert: selfSigned(t, e, pkix.Name{CommonName: "Bez identyfikatora", Country: []string{"PL"}}, ek, &ek.PublicKey), Key: ek}
	xadesError(t, e, "no identifier", e.signedRequest(anon, testNIP, subjectByCertificate), "", codeSignatureConflict)

	// A bad verifyCertificateChain value is a validation error.
	xadesError(t, e, "verifyCertificateChain", e.signedRequest(m, testNIP, subjectByCertificate), "verifyCertificateChain=maybe", codeValidation)

	// The problem-details format is honoured.
	r := e.postXades(unsigned, "", "X-Error-Format", "problem-details")
	var p cProblem
	r.decode(t, &p)
	if r.status != 400 || len(p.Errors) != 1 || p.Errors[0].Code != codeNoSignature || p.Errors[0].Description != descNoSignature {
		t.Errorf("problem format: %d %s", r.status, r.body)
	}
	// Refused documents are kept too, without a reference number.
	if n := len(e.sim.SignedAuthRequests()); n < 15 {
		t.Errorf("only %d documents kept", n)
	}
	e.noResponseViolations()
}

func TestXadesChallengeProblems(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{})
	m := e.seal(testNIP, kcert.KeyEC)
	unknown := e.signDoc(m, authTokenRequestXML("", newRefNumber(e.clock.Now(), infixChallenge), "Nip", testNIP, subjectByCertificate))
	xadesError(t, e, "unknown challenge", unknown, "", codeInvalidChallenge)

	used := e.signedRequest(m, testNIP, subjectByCertificate)
	if r := e.postXades(used, ""); r.status != 202 {
		t.Fatalf("first use: %d %s", r.status, r.body)
	}
	xadesError(t, e, "used challenge", used, "", codeInvalidChallenge)

	old := e.signedRequest(m, testNIP, subjectByCertificate)
	e.clock.Advance(challengeTTL + time.Second)
	xadesError(t, e, "expired challenge", old, "", codeInvalidChallenge)

	// A challenge used by a KSeF token authentication cannot be reused with XAdES.
	tok := e.issue(testNIP)
	cert, pub := e.cert(usageTokenEncryption)
	ch := e.challenge()
	e.call("POST", "/v2/auth/ksef-token", map[string]any{
		"challenge":         ch.Challenge,
		"contextIdentifier": map[string]string{"type": "Nip", "value": testNIP},
		"encryptedToken":    encryptToken(t, pub, fmt.Sprintf("%s|%d", tok, ch.TimestampMs)),
		"publicKeyId":       cert.PublicKeyID,
	})
	xadesError(t, e, "challenge of a token authentication", e.signDoc(m, authTokenRequestXML("", ch.Challenge, "Nip", testNIP, subjectByCertificate)), "", codeInvalidChallenge)
	e.noViolations()
}

func TestXadesCertificateProblemsEndIn460(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{})
	now := e.clock.Now()
	expired := e.testCert(kcert.TestCertOptions{Kind: kcert.KindSeal, NIP: testNIP, NotBefore: now.AddDate(-2, 0, 0), NotAfter: now.Add(-time.Minute)})
	assertAuthStatus(t, e, e.startXades(expired, testNIP, subjectByCertificate, ""), 460, detInvalidCert)

	future := e.testCert(kcert.TestCertOptions{Kind: kcert.KindSeal, NIP: testNIP, NotBefore: now.Add(time.Hour), NotAfter: now.AddDate(1, 0, 0)})
	assertAuthStatus(t, e, e.startXades(future, testNIP, subjectByCertificate, ""), 460, detInvalidCert)

	revoked := e.seal(testNIP, kcert.KeyEC)
	if r := e.call("POST", "/sim/certificates/revoke", map[string]string{"serialNumber": kcert.SerialHex(revoked.Cert)}); r.status != 204 {
		t.Fatalf("revoke control: %d %s", r.status, r.body)
	}
	assertAuthStatus(t, e, e.startXades(revoked, testNIP, subjectByCertificate, ""), 460, detCertRevoked)
	st := e.xStatus(e.startXades(revoked, testNIP, subjectByCertificate, ""))
	if st.Status.Code != 100 {
		t.Errorf("a 460 is reached only after the AuthDelay polls: %+v", st)
	}

	markedExpired := e.seal(testNIP, kcert.KeyRSA)
	if err := e.sim.ExpireCertificate(kcert.SerialHex(markedExpired.Cert)); err != nil {
		t.Fatal(err)
	}
	assertAuthStatus(t, e, e.startXades(markedExpired, testNIP, subjectByCertificate, ""), 460, detInvalidCert)
	if r := e.call("POST", "/sim/certificates/expire", map[string]string{"serialNumber": "xyz"}); r.status != 400 {
		t.Errorf("bad serial accepted: %d %s", r.status, r.body)
	}

	// Revoking a certificate after its authentication stops redeem and refresh.
	late := e.seal(testNIP, kcert.KeyEC)
	in := e.startXades(late, testNIP, subjectByCertificate, "")
	e.pollAuth(in)
	tk := e.redeem(in)
	if err := e.sim.RevokeCertificate(kcert.SerialHex(late.Cert)); err != nil {
		t.Fatal(err)
	}
	r := e.call("POST", "/v2/auth/token/refresh", nil, bearer(tk.RefreshToken.Token)...)
	if code, _ := exceptionCode(t, r); r.status != 400 || code != codeNotAuthorized {
		t.Errorf("refresh after revocation: %d %s", r.status, r.body)
	}
	e.noViolations()
}

func TestXadesPermissions(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{})
	// A seal of another company has no permissions in testNIP's context...
	other := e.seal(otherNIP, kcert.KeyEC)
	assertAuthStatus(t, e, e.startXades(other, testNIP, subjectByCertificate, ""), 415, detNoPerms)
	// ...until it is granted some.
	if r := e.call("POST", "/sim/permissions", map[string]any{"contextNip": testNIP, "subjectType": "Nip", "value": otherNIP}); r.status != 204 {
		t.Fatalf("grant: %d %s", r.status, r.body)
	}
	access, _ := e.xadesLogin(other, testNIP, subjectByCertificate)
	e.openSession(access)

	// A person identified by PESEL.
	const pesel = "88102341294"
	person := e.testCert(kcert.TestCertOptions{Kind: kcert.KindPersonal, PESEL: pesel, KeyType: kcert.KeyRSA})
	assertAuthStatus(t, e, e.startXades(person, testNIP, subjectByCertificate, ""), 415, detNoPerms)
	// A grant with an empty permission list is still no permission.
	if err := e.sim.GrantPermissions(PermissionGrant{ContextNIP: testNIP, SubjectType: "Pesel", Value: pesel, Permissions: &[]string{}}); err != nil {
		t.Fatal(err)
	}
	assertAuthStatus(t, e, e.startXades(person, testNIP, subjectByCertificate, ""), 415, detNoPerms)
	if err := e.sim.GrantPermissions(PermissionGrant{ContextNIP: testNIP, SubjectType: "Pesel", Value: pesel, Permissions: &[]string{"InvoiceRead"}}); err != nil {
		t.Fatal(err)
	}
	access, st := e.xadesLogin(person, testNIP, subjectByCertificate)
	if st.AuthenticationMethod != "QualifiedSignature" {
		t.Errorf("person method %q", st.AuthenticationMethod)
	}
	// InvoiceRead only: opening a session (InvoiceWrite) is forbidden.
	cert, pub := e.cert(usageSymmetricEncryption)
	r := e.call("POST", "/v2/sessions/online", map[string]any{
		"formCode": fa3Form(),
		"encryption": map[string]string{
			"encryptedSymmetricKey": encryptToken(t, pub, strings.Repeat("k", 32)),
			"initializationVector":  base64.StdEncoding.EncodeToString(make([]byte, 16)), "publicKeyId": cert.PublicKeyID,
		},
	}, bearer(access)...)
	if r.status != 403 || !strings.Contains(string(r.body), `"presentPermissions":["InvoiceRead"]`) {
		t.Errorf("session with InvoiceRead only: %d %s", r.status, r.body)
	}

	// certificateFingerprint: only a grant on the fingerprint counts, even for the
	// company's own seal.
	own := e.seal(testNIP, kcert.KeyEC)
	assertAuthStatus(t, e, e.startXades(own, testNIP, subjectByFingerprint, ""), 415, detNoPerms)
	if r := e.call("POST", "/sim/permissions", map[string]any{"contextNip": testNIP, "subjectType": "Fingerprint", "value": strings.ToLower(kcert.Fingerprint(own.Cert))}); r.status != 204 {
		t.Fatalf("grant fingerprint: %d %s", r.status, r.body)
	}
	access, _ = e.xadesLogin(own, testNIP, subjectByFingerprint)
	if sub := jwtPayload(t, access)["sub"]; sub != "fingerprint-"+kcert.Fingerprint(own.Cert) {
		t.Errorf("fingerprint subject claim %v", sub)
	}
	// A certificate without any identifier authenticates by fingerprint once granted.
	ek, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	anon := &kcert.Material{Cert: selfSigned(t, e, pkix.Name{CommonName: "Bez identyfikatora", Country: []string{"PL"}}, ek, &ek.PublicKey), Key: ek}
	assertAuthStatus(t, e, e.startXades(anon, testNIP, subjectByFingerprint, ""), 415, detNoPerms)
	if err := e.sim.GrantPermissions(PermissionGrant{ContextNIP: testNIP, SubjectType: "Fingerprint", Value: kcert.Fingerprint(anon.Cert)}); err != nil {
		t.Fatal(err)
	}
	_, st = e.xadesLogin(anon, testNIP, subjectByFingerprint)
	if st.AuthenticationMethod != "QualifiedSeal" {
		t.Errorf("anonymous certificate method %q", st.AuthenticationMethod)
	}

	for _, bad := range []map[string]any{
		{"contextNip": "1", "subjectType": "Nip", "value": otherNIP},
		{"contextNip": testNIP, "subjectType": "Regon", "value": otherNIP},
		{"contextNip": testNIP, "subjectType": "Fingerprint", "value": "ABC"},
	} {
		if r := e.call("POST", "/sim/permissions", bad); r.status != 400 {
			t.Errorf("grant %v accepted: %d", bad, r.status)
		}
	}
	e.noViolations()
}

func TestXadesStrictCertificates(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{StrictCertificates: true})
	self := e.seal(testNIP, kcert.KeyEC)
	assertAuthStatus(t, e, e.startXades(self, testNIP, subjectByCertificate, ""), 460, detUntrustedChain)

	cc := &ControlClient{URL: e.url + "/v2"}
	m, err := cc.IssueCertificate(context.Background(), CertificateRequest{NIP: testNIP, Kind: "seal", Key: "rsa"})
	if err != nil {
		t.Fatal(err)
	}
	ca, err := cc.CACertificate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !ca.Equal(e.sim.CACertificate()) || m.Cert.CheckSignatureFrom(ca) != nil || len(m.Chain) != 1 || !m.Chain[0].Equal(ca) {
		t.Fatal("the issued certificate is not the CA's")
	}
	// The wire form: certificate then CA (PEM), PKCS#8 key, serial and fingerprint.
	var issued IssuedCertificate
	e.call("POST", "/sim/certificates", map[string]string{"nip": testNIP, "kind": "seal"}).decode(t, &issued)
	cert, rest := pemCut(t, issued.Certificate)
	if c2, _ := pemCut(t, rest); !c2.Equal(ca) || !strings.HasPrefix(issued.PrivateKey, "-----BEGIN PRIVATE KEY-----") ||
		issued.SerialNumber != kcert.SerialHex(cert) || issued.Fingerprint != kcert.Fingerprint(cert) {
		t.Errorf("POST /sim/certificates answer: %+v", issued)
	}
	_, st := e.xadesLogin(m, testNIP, subjectByCertificate)
	if st.AuthenticationMethod != "QualifiedSeal" {
		t.Errorf("CA-issued seal method %q", st.AuthenticationMethod)
	}
	person, err := cc.IssueCertificate(context.Background(), CertificateRequest{PESEL: "88102341294", Kind: "personal"})
	if err != nil || kcert.IdentityOf(person.Cert).Value != "88102341294" {
		t.Fatalf("personal certificate: %v", err)
	}
	if _, err := cc.IssueCertificate(context.Background(), CertificateRequest{Kind: "seal"}); err == nil {
		t.Error("a seal without a NIP was issued")
	}

	// Without strict mode, the client may ask for the chain check per request.
	lax := newEnv(t, Config{})
	assertAuthStatus(t, lax, lax.startXades(self, testNIP, subjectByCertificate, "verifyCertificateChain=true"), 460, detUntrustedChain)
	if st, _ := lax.pollAuth(lax.startXades(self, testNIP, subjectByCertificate, "verifyCertificateChain=false")); st.Status.Code != 200 {
		t.Errorf("verifyCertificateChain=false: %+v", st.Status)
	}
	e.noViolations()
	lax.noViolations()
}

// pemCut parses the first certificate of a PEM bundle and returns the rest.
func pemCut(t *testing.T, bundle string) (*x509.Certificate, string) {
	t.Helper()
	block, rest := pem.Decode([]byte(bundle))
	if block == nil || block.Type != "CERTIFICATE" {
		t.Fatalf("no certificate in %q", bundle)
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c, string(rest)
}
