package kcert

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"
)

var (
	personData = EnrollmentData{
		CommonName:       "Zażółć Gęślą-Jaźń",
		CountryName:      "PL",
		GivenNames:       NameList{"Zażółć", "Maria"},
		Surname:          "Gęślą-Jaźń",
		SerialNumber:     "PNOPL-88102341294",
		UniqueIdentifier: "a1b2c3d4-0001",
	}
	sealData = EnrollmentData{
		CommonName:             "Kowalski & Syn sp. z o.o.",
		CountryName:            "PL",
		OrganizationName:       "Kowalski & Syn spółka z ograniczoną odpowiedzialnością",
		OrganizationIdentifier: "VATPL-5260250274",
	}
)

func TestNewCSR(t *testing.T) {
	ecKey, err := NewKey()
	if err != nil {
		t.Fatal(err)
	}
	_, _, personal := fixtures(t) // RSA 2048
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		key  crypto.Signer
		data EnrollmentData
	}{
		{"EC person", ecKey, personData},
		{"EC seal", ecKey, sealData},
		{"RSA person", personal.Key, personData},
		{"RSA seal", personal.Key, sealData},
	} {
		name := tc.name
		t.Run(name, func(t *testing.T) {
			der, err := NewCSR(tc.key, tc.data)
			if err != nil {
				t.Fatal(err)
			}

			csr, err := x509.ParseCertificateRequest(der)
			if err != nil {
				t.Fatal(err)
			}
			if err := csr.CheckSignature(); err != nil {
				t.Fatal(err)
			}
			wantAlg := x509.ECDSAWithSHA256
			if strings.HasPrefix(name, "RSA") {
				wantAlg = x509.SHA256WithRSA
			}
			if csr.SignatureAlgorithm != wantAlg {
				t.Fatalf("signature algorithm %v, want %v", csr.SignatureAlgorithm, wantAlg)
			}
			if _, err := CheckCSR(der); err != nil {
				t.Fatal(err)
			}

			got, err := SubjectOfCSR(der)
			if err != nil {
				t.Fatal(err)
			}
			if !got.Equal(tc.data) {
				t.Fatalf("SubjectOfCSR = %+v, want %+v", got, tc.data)
			}

			// Independent check: openssl reads every attribute, 2.5.4.97 included.
			p := writeFile(t, dir, "csr.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
			text := openssl(t, "req", "-in", p, "-noout", "-text", "-nameopt", "multiline,utf8,-esc_msb")
			if out := openssl(t, "req", "-in", p, "-noout", "-verify"); !strings.Contains(out, "verify OK") && !strings.Contains(out, "Certificate request self-signature verify OK") {
				t.Fatalf("openssl could not verify the CSR signature:\n%s", out)
			}
			want := map[string]string{
				"commonName":   tc.data.CommonName,
				"countryName":  tc.data.CountryName,
				"surname":      tc.data.Surname,
				"serialNumber": tc.data.SerialNumber,
				// openssl calls 2.5.4.45 x500UniqueIdentifier
				"x500UniqueIdentifier":   tc.data.UniqueIdentifier,
				"organizationName":       tc.data.OrganizationName,
				"organizationIdentifier": tc.data.OrganizationIdentifier,
			}
			for label, v := range want {
				if v == "" {
					if regexp.MustCompile(`(?m)^\s*` + label + `\s*=`).MatchString(text) {
						t.Errorf("openssl shows %s, which the data does not have:\n%s", label, text)
					}
					continue
				}
				if !regexp.MustCompile(`(?m)^\s*` + label + `\s*= ` + regexp.QuoteMeta(v) + `$`).MatchString(text) {
					t.Errorf("openssl does not show %s = %s:\n%s", label, v, text)
				}
			}
			for _, g := range tc.data.GivenNames {
				if !regexp.MustCompile(`(?m)^\s*givenName\s*= ` + regexp.QuoteMeta(g) + `$`).MatchString(text) {
					t.Errorf("openssl does not show givenName = %s:\n%s", g, text)
				}
			}

			// Independent check of the string types: countryName and
			// serialNumber PrintableString, the rest UTF8String, as the
			// official C# and Java clients encode them.
			asn := openssl(t, "asn1parse", "-in", p)
			checkStringTypes(t, asn, tc.data)
		})
	}
}

// checkStringTypes reads openssl asn1parse output: each attribute OID line is
// followed by its value line.
func checkStringTypes(t *testing.T, asn string, d EnrollmentData) {
	t.Helper()
	lines := strings.Split(asn, "\n")
	seen := 0
	for i, l := range lines {
		if !strings.Contains(l, "OBJECT") || i+1 >= len(lines) {
			continue
		}
		var attr string
		for _, name := range []string{"countryName", "serialNumber", "commonName", "surname", "givenName", "organizationName", "organizationIdentifier", "x500UniqueIdentifier"} {
			if strings.HasSuffix(strings.TrimSpace(l), ":"+name) {
				attr = name
			}
		}
		if attr == "" {
			continue
		}
		seen++
		want := "UTF8STRING"
		if attr == "countryName" || attr == "serialNumber" {
			want = "PRINTABLESTRING"
		}
		if !strings.Contains(lines[i+1], want) {
			t.Errorf("%s is encoded as %q, want %s", attr, strings.TrimSpace(lines[i+1]), want)
		}
	}
	n := 2 + len(d.GivenNames)
	for _, v := range []string{d.Surname, d.SerialNumber, d.UniqueIdentifier, d.OrganizationName, d.OrganizationIdentifier} {
		if v != "" {
			n++
		}
	}
	if seen != n {
		t.Errorf("asn1parse shows %d subject attributes, want %d:\n%s", seen, n, asn)
	}
}

func TestNewCSRRefusals(t *testing.T) {
	ecKey, _ := NewKey()
	if _, err := NewCSR(ecKey, EnrollmentData{CountryName: "PL"}); err == nil {
		t.Error("no commonName accepted")
	}
	if _, err := NewCSR(ecKey, EnrollmentData{CommonName: "X"}); err == nil {
		t.Error("no countryName accepted")
	}
	rsa3072, err := rsa.GenerateKey(rand.Reader, 3072)
	if err != nil {
		t.Fatal(err)
	}
	var ke *KeyError
	if _, err := NewCSR(rsa3072, sealData); !errors.As(err, &ke) {
		t.Errorf("RSA 3072: got %v, want *KeyError", err)
	}
	if _, err := NewCSR(nil, sealData); err == nil {
		t.Error("nil key accepted")
	}
	// A serialNumber PrintableString cannot hold falls back to UTF8String.
	d := personData
	d.SerialNumber = "PNOPL_88102341294@x"
	der, err := NewCSR(ecKey, d)
	if err != nil {
		t.Fatal(err)
	}
	got, err := SubjectOfCSR(der)
	if err != nil || !got.Equal(d) {
		t.Fatalf("got %+v, %v", got, err)
	}
}

func TestSubjectOfCSRRejectsForeignAttributes(t *testing.T) {
	key, _ := NewKey()
	tmpl := &x509.CertificateRequest{Subject: pkix.Name{
		CommonName: "X", Country: []string{"PL"}, OrganizationalUnit: []string{"IT"},
	}}
	der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, key)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := SubjectOfCSR(der); err == nil || !strings.Contains(err.Error(), "2.5.4.11") {
		t.Fatalf("OU accepted: %v", err)
	}
	tmpl = &x509.CertificateRequest{Subject: pkix.Name{CommonName: "X", Country: []string{"PL", "DE"}}}
	der, _ = x509.CreateCertificateRequest(rand.Reader, tmpl, key)
	if _, err := SubjectOfCSR(der); err == nil {
		t.Fatal("two countryName accepted")
	}
	if _, err := SubjectOfCSR([]byte("junk")); err == nil {
		t.Fatal("junk accepted")
	}
	// A tampered request fails CheckCSR.
	good, _ := NewCSR(key, sealData)
	bad := bytes.Clone(good)
	bad[len(bad)-3] ^= 0xFF
	if _, err := CheckCSR(bad); err == nil {
		t.Fatal("tampered CSR accepted")
	}
}

func TestEnrollmentDataJSON(t *testing.T) {
	for in, want := range map[string]NameList{
		`{"commonName":"A","countryName":"PL","givenName":"Jan"}`:                    {"Jan"},
		`{"commonName":"A","countryName":"PL","givenName":["Jan","Maria"]}`:          {"Jan", "Maria"},
		`{"commonName":"A","countryName":"PL","givenName":null,"surname":null}`:      nil,
		`{"commonName":"A","countryName":"PL"}`:                                      nil,
		`{"commonName":"A","countryName":"PL","givenName":""}`:                       nil,
		`{"commonName":"A","countryName":"PL","givenName":[]}`:                       nil,
		`{"commonName":"A","countryName":"PL","organizationIdentifier":"VATPL-1"}`:   nil,
		`{"commonName":"A","countryName":"PL","givenName":["Jan",""],"surname":"K"}`: {"Jan"},
	} {
		var d EnrollmentData
		if err := json.Unmarshal([]byte(in), &d); err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if d.CommonName != "A" || d.CountryName != "PL" || strings.Join(d.GivenNames, "|") != strings.Join(want, "|") {
			t.Errorf("%s: %+v", in, d)
		}
	}
	var d EnrollmentData
	if err := json.Unmarshal([]byte(`{"givenName":42}`), &d); err == nil {
		t.Error("a number accepted as givenName")
	}

	for _, tc := range []struct {
		d    EnrollmentData
		want string
	}{
		{EnrollmentData{CommonName: "A", CountryName: "PL", GivenNames: NameList{"Jan"}}, `{"commonName":"A","countryName":"PL","givenName":"Jan"}`},
		{EnrollmentData{CommonName: "A", CountryName: "PL", GivenNames: NameList{"Jan", "Ewa"}}, `{"commonName":"A","countryName":"PL","givenName":["Jan","Ewa"]}`},
		{EnrollmentData{CommonName: "A", CountryName: "PL"}, `{"commonName":"A","countryName":"PL"}`},
	} {
		b, err := json.Marshal(tc.d)
		if err != nil || string(b) != tc.want {
			t.Errorf("Marshal = %s, %v; want %s", b, err, tc.want)
		}
		var back EnrollmentData
		if err := json.Unmarshal(b, &back); err != nil || !back.Equal(tc.d) {
			t.Errorf("round trip %s: %+v %v", b, back, err)
		}
	}
}

// TestEnrollmentFlow is the simulator's path: enrolment data from the
// authentication certificate, a CSR from it, the subject compared, a KSeF
// certificate issued by a test CA, and that certificate identifying the
// same subject.
func TestEnrollmentFlow(t *testing.T) {
	ca, seal, personal := fixtures(t)
	for _, auth := range []*Material{seal, personal} {
		data := EnrollmentDataOf(auth.Cert)
		key, _ := NewKey()
		csrDER, err := NewCSR(key, data)
		if err != nil {
			t.Fatal(err)
		}
		subj, err := SubjectOfCSR(csrDER)
		if err != nil || !subj.Equal(data) {
			t.Fatalf("subject %+v (%v), want %+v", subj, err, data)
		}
		cert, err := IssueFromCSR(csrDER, IssueOptions{Issuer: ca, NotAfter: time.Now().AddDate(1, 0, 0)})
		if err != nil {
			t.Fatal(err)
		}
		csr, _ := x509.ParseCertificateRequest(csrDER)
		if !bytes.Equal(cert.RawSubject, csr.RawSubject) {
			t.Fatal("issued subject differs from the CSR's")
		}
		if cert.KeyUsage != x509.KeyUsageDigitalSignature {
			t.Fatalf("key usage %v", cert.KeyUsage)
		}
		roots := x509.NewCertPool()
		roots.AddCert(ca.Cert)
		if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
			t.Fatalf("issued certificate does not verify: %v", err)
		}
		m := &Material{Cert: cert, Chain: []*x509.Certificate{ca.Cert}, Key: key}
		if err := m.KeyMatches(); err != nil {
			t.Fatal(err)
		}
		if got, want := IdentityOf(cert), IdentityOf(auth.Cert); got.Kind != want.Kind || got.Value != want.Value {
			t.Fatalf("identity of the KSeF certificate %+v, of the authentication one %+v", got, want)
		}
		if !EnrollmentDataOf(cert).Equal(data) {
			t.Fatal("enrolment data of the issued certificate differs")
		}
	}
	if _, err := IssueFromCSR(nil, IssueOptions{}); err == nil {
		t.Fatal("no issuer accepted")
	}
}

func TestNewTestCertificate(t *testing.T) {
	ca, seal, personal := fixtures(t)
	dir := t.TempDir()
	// seal: O, organizationIdentifier, CN, C; no givenName/surname.
	if got := EnrollmentDataOf(seal.Cert); !got.Equal(EnrollmentData{
		CommonName: "Kowalski sp. z o.o.", CountryName: "PL", OrganizationName: "Kowalski sp. z o.o.", OrganizationIdentifier: "VATPL-1234567890",
	}) {
		t.Fatalf("seal subject %+v", got)
	}
	if seal.Cert.KeyUsage != x509.KeyUsageDigitalSignature|x509.KeyUsageContentCommitment {
		t.Fatalf("seal key usage %v", seal.Cert.KeyUsage)
	}
	if len(seal.Chain) != 1 || !bytes.Equal(seal.Chain[0].Raw, ca.Cert.Raw) {
		t.Fatal("seal chain is not the CA")
	}
	if err := seal.Cert.CheckSignatureFrom(ca.Cert); err != nil {
		t.Fatal(err)
	}
	// personal: givenName, surname, serialNumber, CN, C.
	if got := EnrollmentDataOf(personal.Cert); !got.Equal(EnrollmentData{
		CommonName: "Jan Kowalski", CountryName: "PL", GivenNames: NameList{"Jan"}, Surname: "Kowalski", SerialNumber: "TINPL-5260250274",
	}) {
		t.Fatalf("personal subject %+v", got)
	}
	if personal.Cert.KeyUsage != x509.KeyUsageDigitalSignature {
		t.Fatalf("personal key usage %v", personal.Cert.KeyUsage)
	}
	if err := personal.Cert.CheckSignature(personal.Cert.SignatureAlgorithm, personal.Cert.RawTBSCertificate, personal.Cert.Signature); err != nil || !bytes.Equal(personal.Cert.RawIssuer, personal.Cert.RawSubject) {
		t.Fatalf("personal certificate is not self-signed: %v", err)
	}
	if describeKey(personal.Key.Public()) != "RSA 2048" || describeKey(seal.Key.Public()) != "ECDSA P-256" {
		t.Fatal("key types")
	}
	for _, m := range []*Material{seal, personal} {
		if err := CheckKey(m.Cert.PublicKey); err != nil {
			t.Fatal(err)
		}
		if err := CheckValidity(m.Cert, time.Now()); err != nil {
			t.Fatal(err)
		}
		if d := m.Cert.NotAfter.Sub(m.Cert.NotBefore); d < 2*365*24*time.Hour {
			t.Fatalf("default validity %v", d)
		}
		if !regexp.MustCompile(`^[0-9A-F]{16}$`).MatchString(SerialHex(m.Cert)) {
			t.Fatalf("serial %s", SerialHex(m.Cert))
		}
		// openssl shows the subject (organizationIdentifier by name) and key usage.
		certPEM, _, _ := EncodePEM(m)
		p := writeFile(t, dir, "c.pem", certPEM)
		text := openssl(t, "x509", "-in", p, "-noout", "-text")
		if !strings.Contains(text, "Digital Signature") || !strings.Contains(text, "C = PL") {
			t.Fatalf("openssl:\n%s", text)
		}
		if m == seal && (!strings.Contains(text, "organizationIdentifier = VATPL-1234567890") || !strings.Contains(text, "Non Repudiation")) {
			t.Fatalf("openssl seal:\n%s", text)
		}
		if m == personal && !strings.Contains(text, "serialNumber = TINPL-5260250274") {
			t.Fatalf("openssl personal:\n%s", text)
		}
	}

	// Overrides and refusals.
	m, err := NewTestCertificate(TestCertOptions{Kind: KindPersonal, PESEL: "88102341294", NIP: "1234567890", GivenName: "Anna Maria", Surname: "Nowak-Kowalska", Name: "A. M. Nowak-Kowalska"})
	if err != nil {
		t.Fatal(err)
	}
	if d := EnrollmentDataOf(m.Cert); d.SerialNumber != "PNOPL-88102341294" || d.Surname != "Nowak-Kowalska" || d.GivenNames[0] != "Anna Maria" || d.CommonName != "A. M. Nowak-Kowalska" {
		t.Fatalf("overrides: %+v", d)
	}
	for _, o := range []TestCertOptions{
		{Kind: KindSeal},
		{Kind: KindSeal, NIP: "123"},
		{Kind: KindPersonal},
		{Kind: KindPersonal, PESEL: "1234567890"},
		{Kind: "other", NIP: "1234567890"},
		{Kind: KindSeal, NIP: "1234567890", KeyType: "dsa"},
		{Kind: KindSeal, NIP: "1234567890", NotBefore: time.Now(), NotAfter: time.Now().Add(-time.Hour)},
		{Kind: KindSeal, NIP: "1234567890", Issuer: &Material{Cert: ca.Cert, Key: seal.Key}},
	} {
		if _, err := NewTestCertificate(o); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
}
