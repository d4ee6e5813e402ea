package kcert

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestCheckKey(t *testing.T) {
	_, seal, personal := fixtures(t)
	rsa1024, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	p224, _ := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	p521, _ := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	edPub, edPriv, _ := ed25519.GenerateKey(rand.Reader)

	for _, ok := range []any{seal.Cert.PublicKey, personal.Cert.PublicKey, p384.Public(), seal.Key, personal.Key} {
		if err := CheckKey(ok); err != nil {
			t.Errorf("CheckKey(%s) = %v, want nil", describeKey(ok), err)
		}
	}
	for _, tc := range []struct {
		key  any
		want string
	}{
		{rsa1024.Public(), "RSA 1024"},
		{rsa1024, "RSA 1024"},
		{p224.Public(), "ECDSA P-224"},
		{p521.Public(), "ECDSA P-521"},
		{edPub, "Ed25519"},
		{edPriv, "Ed25519"},
		{nil, "none"},
	} {
		err := CheckKey(tc.key)
		var ke *KeyError
		if !errors.As(err, &ke) {
			t.Fatalf("CheckKey(%s) = %v, want *KeyError", tc.want, err)
		}
		if ke.Key != tc.want || ke.Reason == "" || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("CheckKey(%s): %+v / %q", tc.want, ke, err)
		}
	}

	// KSeF certificate requests are stricter: RSA 2048 and P-256 only.
	if err := CheckCSRKey(seal.Key); err != nil {
		t.Error(err)
	}
	if err := CheckCSRKey(personal.Key); err != nil {
		t.Error(err)
	}
	for _, k := range []any{p384.Public(), rsa1024.Public(), edPub} {
		var ke *KeyError
		if err := CheckCSRKey(k); !errors.As(err, &ke) {
			t.Errorf("CheckCSRKey(%s) = %v, want *KeyError", describeKey(k), err)
		}
	}
}

func TestCheckValidity(t *testing.T) {
	nb := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	na := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	m, err := NewTestCertificate(TestCertOptions{Kind: KindSeal, NIP: "1111111111", NotBefore: nb, NotAfter: na})
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckValidity(m.Cert, nb.Add(24*time.Hour)); err != nil {
		t.Fatalf("within validity: %v", err)
	}

	err = CheckValidity(m.Cert, nb.Add(-time.Minute))
	var nyv *NotYetValidError
	if !errors.As(err, &nyv) {
		t.Fatalf("before NotBefore: got %v, want *NotYetValidError", err)
	}
	if !nyv.NotBefore.Equal(nb) || !strings.Contains(err.Error(), "2026-01-01T00:00:00Z") {
		t.Fatalf("NotYetValidError lacks the date: %+v %q", nyv, err)
	}

	err = CheckValidity(m.Cert, na.Add(time.Second))
	var exp *ExpiredError
	if !errors.As(err, &exp) {
		t.Fatalf("after NotAfter: got %v, want *ExpiredError", err)
	}
	if !exp.NotAfter.Equal(na) || !strings.Contains(err.Error(), "2027-01-01T00:00:00Z") {
		t.Fatalf("ExpiredError lacks the date: %+v %q", exp, err)
	}
	if CheckValidity(nil, time.Now()) == nil {
		t.Fatal("nil certificate accepted")
	}
}

func TestFingerprintAndSerial(t *testing.T) {
	_, seal, _ := fixtures(t)
	fp := Fingerprint(seal.Cert)
	if !regexp.MustCompile(`^[0-9A-F]{64}$`).MatchString(fp) {
		t.Fatalf("fingerprint %q", fp)
	}
	// Independent: openssl's SHA-256 fingerprint of the same certificate.
	certPEM, _, _ := EncodePEM(&Material{Cert: seal.Cert, Key: seal.Key})
	p := writeFile(t, t.TempDir(), "c.pem", certPEM)
	out := openssl(t, "x509", "-in", p, "-noout", "-fingerprint", "-sha256")
	if got := strings.ReplaceAll(strings.TrimSpace(out[strings.Index(out, "=")+1:]), ":", ""); got != fp {
		t.Fatalf("openssl fingerprint %s, ours %s", got, fp)
	}

	if s := SerialHex(seal.Cert); !regexp.MustCompile(`^[0-9A-F]{16}$`).MatchString(s) {
		t.Fatalf("random 64-bit serial %q does not match ^[0-9A-F]{16}$", s)
	}
	for _, tc := range []struct {
		n    *big.Int
		want string
	}{
		{big.NewInt(1), "0000000000000001"},
		{big.NewInt(0xABCDEF), "0000000000ABCDEF"},
		{new(big.Int).SetUint64(0xFEDCBA9876543210), "FEDCBA9876543210"},
		{new(big.Int).Lsh(big.NewInt(1), 68), "100000000000000000"},
		{big.NewInt(-255), "-00000000000000FF"},
	} {
		if got := SerialHex(&x509.Certificate{SerialNumber: tc.n}); got != tc.want {
			t.Errorf("SerialHex(%v) = %q, want %q", tc.n, got, tc.want)
		}
	}
	if SerialHex(nil) != "" || Fingerprint(nil) != "" {
		t.Error("nil certificate")
	}
}

func TestIdentityOf(t *testing.T) {
	_, seal, personalNIP := fixtures(t)
	personalPESEL, err := NewTestCertificate(TestCertOptions{Kind: KindPersonal, PESEL: "88102341294", Name: "Anna Maria Nowak"})
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		m    *Material
		want Identity
	}{
		"seal VATPL":      {seal, Identity{IdentityNIP, "1234567890", "organizationIdentifier"}},
		"personal TINPL":  {personalNIP, Identity{IdentityNIP, "5260250274", "serialNumber"}},
		"personal PNOPL":  {personalPESEL, Identity{IdentityPESEL, "88102341294", "serialNumber"}},
		"CA (no subject)": {fxCA, Identity{IdentityFingerprint, Fingerprint(fxCA.Cert), ""}},
	} {
		if got := IdentityOf(tc.m.Cert); got != tc.want {
			t.Errorf("%s: IdentityOf = %+v, want %+v", name, got, tc.want)
		}
		wantType := "certificateSubject"
		if tc.want.Kind == IdentityFingerprint {
			wantType = "certificateFingerprint"
		}
		if got := SubjectIdentifierType(tc.m.Cert); got != wantType {
			t.Errorf("%s: SubjectIdentifierType = %q, want %q", name, got, wantType)
		}
	}
	if IdentityOf(personalPESEL.Cert).String() != "Pesel 88102341294 (serialNumber)" {
		t.Error(IdentityOf(personalPESEL.Cert).String())
	}
}

// TestIdentityPatterns exercises the documented patterns on subjects built
// by hand (the way real qualified certificates spell them).
func TestIdentityPatterns(t *testing.T) {
	key, _ := NewKey()
	mk := func(atvs ...pkix.AttributeTypeAndValue) *x509.Certificate {
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{ExtraNames: atvs},
			NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
		if err != nil {
			t.Fatal(err)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	a := func(oid []int, v string) pkix.AttributeTypeAndValue {
		return pkix.AttributeTypeAndValue{Type: oid, Value: v}
	}
	cn := a(OIDCommonName, "X")
	gn := a(OIDGivenName, "Jan")
	for _, tc := range []struct {
		name  string
		cert  *x509.Certificate
		kind  IdentityKind
		value string
	}{
		{"orgId VATPL-", mk(cn, a(OIDOrganizationIdentifier, "VATPL-5260250274")), IdentityNIP, "5260250274"},
		{"orgId VATPL no dash", mk(cn, a(OIDOrganizationIdentifier, "VATPL5260250274")), IdentityNIP, "5260250274"},
		{"orgId NTRPL is not NIP", mk(cn, a(OIDOrganizationIdentifier, "NTRPL-0000012345")), IdentityFingerprint, ""},
		{"orgId lower case is not matched", mk(cn, a(OIDOrganizationIdentifier, "vatpl-5260250274")), IdentityFingerprint, ""},
		{"serial PESEL:", mk(cn, gn, a(OIDSerialNumber, "PESEL: 88102341294")), IdentityPESEL, "88102341294"},
		{"serial NIP", mk(cn, gn, a(OIDSerialNumber, "NIP 5260250274")), IdentityNIP, "5260250274"},
		{"serial too short", mk(cn, gn, a(OIDSerialNumber, "TINPL-12345")), IdentityFingerprint, ""},
		{"serial plain digits", mk(cn, gn, a(OIDSerialNumber, "88102341294")), IdentityFingerprint, ""},
		{"person with orgId only", mk(cn, gn, a(OIDOrganizationIdentifier, "VATPL-5260250274")), IdentityFingerprint, ""},
		{"person PESEL wins over orgId", mk(cn, gn, a(OIDOrganizationIdentifier, "VATPL-5260250274"), a(OIDSerialNumber, "PNOPL-88102341294")), IdentityPESEL, "88102341294"},
		{"seal orgId wins over serial", mk(cn, a(OIDSerialNumber, "TINPL-1111111111"), a(OIDOrganizationIdentifier, "VATPL-5260250274")), IdentityNIP, "5260250274"},
		{"seal serial fallback", mk(cn, a(OIDSerialNumber, "TINPL-1111111111")), IdentityNIP, "1111111111"},
		{"none", mk(cn), IdentityFingerprint, ""},
	} {
		got := IdentityOf(tc.cert)
		want := tc.value
		if tc.kind == IdentityFingerprint {
			want = Fingerprint(tc.cert)
		}
		if got.Kind != tc.kind || got.Value != want {
			t.Errorf("%s: got %+v, want %s %s", tc.name, got, tc.kind, want)
		}
	}
}
