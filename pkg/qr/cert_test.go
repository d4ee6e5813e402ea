package qr

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ksefpl/ksefpl/pkg/config"
	"github.com/ksefpl/ksefpl/pkg/failure"
	"github.com/ksefpl/ksefpl/pkg/kcert"
	"github.com/ksefpl/ksefpl/pkg/store"
	"github.com/ksefpl/ksefpl/pkg/testenv"
	"github.com/ksefpl/ksefpl/pkg/website"
)

// The KOD II example of kody-qr.md ("Generowanie linku"): its inputs, the string it
// signs, its signature and its link.
const (
	docSerial     = "01F20A5D352AE590"
	docSignedData = "qr-test.ksef.mf.gov.pl/certificate/Nip/1111111111/1111111111/01F20A5D352AE590/UtQp9Gpc51y-u3xApZjIjgkpZ01js-J8KflSPW8WzIE"
	docSignature  = "mSkm_XmM9fq7PgAJwiL32L9ujhyguOEV48cDB0ncemD2r9TMGa3lr0iRoFk588agCi8QPsOuscUY1rZ7ff76STbGquO-gZtQys5_fHdf2HUfDqPqVTnUS6HknBu0zLkyf9ygoW7WbH06Ty_8BgQTlOmJFzNWSt9WZa7tAGuAE9JOooNps-KG2PYkkIP4q4jPMp3FKypAygHVnXtS0RDGgOxhhM7LWtFP7D-dWINbh5yXD8Lr-JVbeOpyQjHa6WmMYavCDQJ3X_Z-iS01LZu2s1B3xuOykl1h0sLObCdADrbxOONsXrvQa61Xt_rxyprVraj2Uf9pANQgR4-12HEcMw"
	docCertLink   = "https://qr-test.ksef.mf.gov.pl/certificate/Nip/1111111111/1111111111/01F20A5D352AE590/UtQp9Gpc51y-u3xApZjIjgkpZ01js-J8KflSPW8WzIE/" + docSignature
	qrTest        = "https://qr-test.ksef.mf.gov.pl"
)

var docParams = CertificateLinkParams{ContextType: ContextNip, ContextValue: docNIP, SellerNIP: docNIP, Serial: docSerial, Hash: docHash}

func TestCertificateLinkMatchesDocumentedExample(t *testing.T) {
	data, err := CertificateSignedData(qrTest, docParams)
	if err != nil {
		t.Fatal(err)
	}
	if data != docSignedData {
		t.Fatalf("signed string\n got %s\nwant %s", data, docSignedData)
	}
	sig, err := base64.RawURLEncoding.DecodeString(docSignature)
	if err != nil {
		t.Fatal(err)
	}
	if len(sig) != 256 {
		t.Fatalf("the documented signature has %d bytes, want 256 (RSA 2048)", len(sig))
	}
	link, err := CertificateLink(qrTest+"/", docParams, sig)
	if err != nil {
		t.Fatal(err)
	}
	if link != docCertLink {
		t.Fatalf("link\n got %s\nwant %s", link, docCertLink)
	}
	p, err := ParseCertificateLink(docCertLink)
	if err != nil {
		t.Fatal(err)
	}
	if p.CertificateLinkParams != docParams || p.Base != qrTest || p.SignedData != docSignedData || !bytes.Equal(p.Signature, sig) {
		t.Fatalf("parsed %+v", p)
	}
}

// TestCertificateLinkAgainstOfficialDoc reads the KOD II inputs, the signed string and
// the link out of kody-qr.md itself, so that a change of the documented format is
// noticed.
func TestCertificateLinkAgainstOfficialDoc(t *testing.T) {
	b, err := os.ReadFile(testenv.SharedPath(t, "ksef-docs", "kody-qr.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := strings.ReplaceAll(string(b), "\r\n", "\n")
	start := regexp.MustCompile(`(?m)^### 2\.`).FindStringIndex(doc)
	if start == nil {
		t.Fatal("kody-qr.md: no section 2 (KOD II) heading")
	}
	kod2 := doc[start[0]:]
	field := func(re string) string {
		m := regexp.MustCompile(re).FindStringSubmatch(kod2)
		if m == nil {
			t.Fatalf("kody-qr.md: %s not found in the KOD II section", re)
		}
		return m[1]
	}
	p := CertificateLinkParams{
		ContextType:  field(`typ identyfikatora kontekstu logowania: "([A-Za-z]+)"`),
		ContextValue: field(`wartość identyfikatora kontekstu: "([0-9]+)"`),
		SellerNIP:    field(`NIP sprzedawcy: "([0-9]+)"`),
		Serial:       field(`numer seryjny certyfikatu KSeF wystawcy: "([0-9A-F]+)"`),
		Hash:         field(`skrót SHA-256 w formacie Base64URL: "([A-Za-z0-9_-]+)"`),
	}
	sig, err := base64.RawURLEncoding.DecodeString(field(`podpisu linku przy użyciu klucza prywatnego certyfikatu KSeF wystawcy: "([A-Za-z0-9_-]+)"`))
	if err != nil {
		t.Fatal(err)
	}
	wantData := field("```\n(qr-test[^\n]+/certificate/[^\n]+)\n```")
	wantLink := field("```\n(https://qr-test[^\n]+/certificate/[^\n]+)\n```")
	data, err := CertificateSignedData(qrTest, p)
	if err != nil {
		t.Fatal(err)
	}
	if data != wantData {
		t.Fatalf("signed string\n got %s\nwant %s (kody-qr.md)", data, wantData)
	}
	link, err := CertificateLink(qrTest, p, sig)
	if err != nil {
		t.Fatal(err)
	}
	if link != wantLink {
		t.Fatalf("link\n got %s\nwant %s (kody-qr.md)", link, wantLink)
	}
	if !strings.Contains(kod2, `"`+LabelCertificate+`"`) || !strings.Contains(kod2, `**`+LabelCertificate+`**`) {
		t.Fatalf("kody-qr.md no longer names %s as KOD II's label", LabelCertificate)
	}
}

// offlineCert issues a KSeF-like certificate of type Offline (key usage
// non-repudiation only) for nip from a test CA, as KSeF issues one for an enrolment.
func offlineCert(t *testing.T, keyType, nip string, notBefore, notAfter time.Time) *kcert.Material {
	t.Helper()
	return issued(t, keyType, nip, x509.KeyUsageContentCommitment, notBefore, notAfter)
}

// issued issues a certificate with the given key usage from a test CA.
func issued(t *testing.T, keyType, nip string, usage x509.KeyUsage, notBefore, notAfter time.Time) *kcert.Material {
	t.Helper()
	ca, err := kcert.NewTestCertificate(kcert.TestCertOptions{Kind: kcert.KindCA})
	if err != nil {
		t.Fatal(err)
	}
	var key crypto.Signer
	switch keyType {
	case kcert.KeyEC:
		key, err = kcert.NewKey()
	case kcert.KeyRSA:
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	default:
		t.Fatalf("key type %q", keyType)
	}
	if err != nil {
		t.Fatal(err)
	}
	csr, err := kcert.NewCSR(key, kcert.EnrollmentData{CommonName: "Test Company " + nip, CountryName: "PL",
		OrganizationName: "Test Company " + nip, OrganizationIdentifier: "VATPL-" + nip})
	if err != nil {
		t.Fatal(err)
	}
	// A serial with a leading zero nibble, as in the documentation's example.
	b := make([]byte, 8)
	if _, err := rand.Read(b[2:]); err != nil {
		t.Fatal(err)
	}
	b[0], b[1] = 0x01, 0xF2
	serial := new(big.Int).SetBytes(b)
	c, err := kcert.IssueFromCSR(csr, kcert.IssueOptions{Issuer: ca, KeyUsage: usage, NotBefore: notBefore, NotAfter: notAfter, SerialNumber: serial})
	if err != nil {
		t.Fatal(err)
	}
	return &kcert.Material{Cert: c, Chain: []*x509.Certificate{ca.Cert}, Key: key}
}

func validOffline(t *testing.T, keyType string) *kcert.Material {
	now := time.Now()
	return offlineCert(t, keyType, docNIP, now.Add(-time.Hour), now.AddDate(1, 0, 0))
}

// asWebsiteCert is m as website.Load gives a stored certificate of the usage.
func asWebsiteCert(m *kcert.Material, usage string) *website.Cert {
	return &website.Cert{Usage: usage, Certificate: m.Cert, Material: m, Serial: kcert.SerialHex(m.Cert),
		Fingerprint: kcert.Fingerprint(m.Cert), Source: "stored"}
}

// splitLink takes the signed string and the signature out of a KOD II link by plain
// string operations (independently of ParseCertificateLink).
func splitLink(t *testing.T, link string) (data string, sig []byte) {
	t.Helper()
	rest, ok := strings.CutPrefix(link, "https://")
	if !ok {
		rest, ok = strings.CutPrefix(link, "http://")
	}
	i := strings.LastIndex(rest, "/")
	if !ok || i < 0 {
		t.Fatalf("not a link: %s", link)
	}
	sig, err := base64.RawURLEncoding.DecodeString(rest[i+1:])
	if err != nil {
		t.Fatalf("signature of %s: %v", link, err)
	}
	return rest[:i], sig
}

func TestSignCertificateLinkVerifies(t *testing.T) {
	for _, keyType := range []string{kcert.KeyEC, kcert.KeyRSA} {
		t.Run(keyType, func(t *testing.T) {
			m := validOffline(t, keyType)
			code, err := NewCertificateCode(qrTest, CertificateLinkParams{ContextType: "nip", ContextValue: docNIP, SellerNIP: docNIP, Hash: docHash},
				asWebsiteCert(m, store.CertOffline), time.Now())
			if err != nil {
				t.Fatal(err)
			}
			serial := kcert.SerialHex(m.Cert)
			if len(serial) != 16 || !strings.HasPrefix(serial, "01F2") || code.Serial != serial || code.Label != "CERTYFIKAT" ||
				code.ContextType != "Nip" || !code.NotAfter.Equal(m.Cert.NotAfter) {
				t.Fatalf("code %+v (serial %s)", code, serial)
			}
			prefix := qrTest + "/certificate/Nip/1111111111/1111111111/" + serial + "/" + docHash + "/"
			if !strings.HasPrefix(code.Link, prefix) {
				t.Fatalf("link %s\nwant prefix %s", code.Link, prefix)
			}
			data, sig := splitLink(t, code.Link)
			if data != strings.TrimSuffix(strings.TrimPrefix(prefix, "https://"), "/") {
				t.Fatalf("signed data %s", data)
			}
			switch keyType {
			case kcert.KeyEC:
				if len(sig) != 64 {
					t.Fatalf("ECDSA signature of %d bytes, want 64 (IEEE P1363 R||S)", len(sig))
				}
			case kcert.KeyRSA:
				if len(sig) != 256 {
					t.Fatalf("RSA signature of %d bytes, want 256", len(sig))
				}
			}
			if err := VerifyCertificateLink(code.Link, m.Cert); err != nil {
				t.Fatal(err)
			}
			// Each signature is fresh (ECDSA and PSS are randomised), and each verifies.
			again, err := SignCertificateLink(qrTest, CertificateLinkParams{ContextType: ContextNip, ContextValue: docNIP, SellerNIP: docNIP,
				Serial: serial, Hash: docHash}, m.Key)
			if err != nil || again == code.Link || VerifyCertificateLink(again, m.Cert) != nil {
				t.Fatalf("second signature %s: %v", again, err)
			}
		})
	}
}

// The ASN.1 DER form of an ECDSA signature is allowed too (kody-qr.md).
func TestVerifyCertificateLinkAcceptsECDSADER(t *testing.T) {
	m := validOffline(t, kcert.KeyEC)
	p := docParams
	p.Serial = kcert.SerialHex(m.Cert)
	data, err := CertificateSignedData(qrTest, p)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256([]byte(data))
	der, err := ecdsa.SignASN1(rand.Reader, m.Key.(*ecdsa.PrivateKey), h[:])
	if err != nil {
		t.Fatal(err)
	}
	link, err := CertificateLink(qrTest, p, der)
	if err != nil {
		t.Fatal(err)
	}
	if err := VerifyCertificateLink(link, m.Cert); err != nil {
		t.Fatal(err)
	}
}

// The simulator's QR service is plain http with a path: the signed string keeps the
// host and the path and drops http://.
func TestCertificateLinkOnLocalSimulator(t *testing.T) {
	m := validOffline(t, kcert.KeyEC)
	p := docParams
	p.Serial = kcert.SerialHex(m.Cert)
	data, err := CertificateSignedData("http://127.0.0.1:8089/qr/", p)
	if err != nil {
		t.Fatal(err)
	}
	if want := "127.0.0.1:8089/qr/certificate/Nip/1111111111/1111111111/" + p.Serial + "/" + docHash; data != want {
		t.Fatalf("signed %s, want %s", data, want)
	}
	link, err := SignCertificateLink("http://127.0.0.1:8089/qr", p, m.Key)
	if err != nil {
		t.Fatal(err)
	}
	parts, err := ParseCertificateLink(link)
	if err != nil || parts.Base != "http://127.0.0.1:8089/qr" || parts.SignedData != data {
		t.Fatalf("%+v %v", parts, err)
	}
	if err := VerifyCertificateLink(link, m.Cert); err != nil {
		t.Fatal(err)
	}
}

func TestCertificateLinkContextTypes(t *testing.T) {
	m := validOffline(t, kcert.KeyEC)
	for typ, value := range map[string]string{
		ContextNip: "5261040828", ContextInternalID: "5261040828-00001", ContextNipVatUE: "5261040828-DE123456789", ContextPeppolID: "PPL123456",
	} {
		p := CertificateLinkParams{ContextType: strings.ToUpper(typ), ContextValue: value, SellerNIP: docNIP, Serial: kcert.SerialHex(m.Cert), Hash: docHash}
		link, err := SignCertificateLink(qrTest, p, m.Key)
		if err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
		if !strings.Contains(link, "/certificate/"+typ+"/"+value+"/") {
			t.Fatalf("%s: %s", typ, link)
		}
		if err := VerifyCertificateLink(link, m.Cert); err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
	}
	for _, c := range []struct {
		p     CertificateLinkParams
		field string
	}{
		{CertificateLinkParams{ContextType: "Pesel", ContextValue: docNIP}, "context identifier type"},
		{CertificateLinkParams{ContextType: "Nip", ContextValue: "1111111112"}, "context identifier"},
		{CertificateLinkParams{ContextType: "InternalId", ContextValue: "1111111111-1"}, "context identifier"},
		{CertificateLinkParams{ContextType: "NipVatUe", ContextValue: "1111111111/DE1"}, "context identifier"},
		{CertificateLinkParams{ContextType: "PeppolId", ContextValue: "P12"}, "context identifier"},
		{CertificateLinkParams{ContextType: "Nip", ContextValue: docNIP, SellerNIP: "123"}, "seller NIP"},
		{CertificateLinkParams{ContextType: "Nip", ContextValue: docNIP, SellerNIP: docNIP, Serial: "01f20a5d352ae590"}, "certificate serial"},
		{CertificateLinkParams{ContextType: "Nip", ContextValue: docNIP, SellerNIP: docNIP, Serial: docSerial, Hash: docHash + "="}, "invoice hash"},
	} {
		_, err := CertificateSignedData(qrTest, c.p)
		var ie *InputError
		if !errors.As(err, &ie) || ie.Field != c.field || !failure.Is(err, failure.Invalid) {
			t.Errorf("%+v: got %v, want an InputError on %s", c.p, err, c.field)
		}
	}
	if _, err := CertificateLink(qrTest, docParams, nil); !failure.Is(err, failure.Invalid) {
		t.Errorf("no signature: %v", err)
	}
}

func TestVerifyCertificateLinkRefusesTampering(t *testing.T) {
	for _, keyType := range []string{kcert.KeyEC, kcert.KeyRSA} {
		t.Run(keyType, func(t *testing.T) {
			m := validOffline(t, keyType)
			other := validOffline(t, keyType)
			p := docParams
			p.Serial = kcert.SerialHex(m.Cert)
			link, err := SignCertificateLink(qrTest, p, m.Key)
			if err != nil {
				t.Fatal(err)
			}
			data, sig := splitLink(t, link)
			flipped := append([]byte{}, sig...)
			flipped[len(flipped)/2] ^= 0x01
			otherHash := HashBase64URL([]byte("<Faktura/>"))
			for name, bad := range map[string]string{
				"hash":      strings.Replace(link, docHash, otherHash, 1),
				"seller":    strings.Replace(link, "/1111111111/"+p.Serial, "/5261040828/"+p.Serial, 1),
				"context":   strings.Replace(link, "/Nip/1111111111/", "/Nip/5261040828/", 1),
				"host":      strings.Replace(link, "qr-test", "qr-demo", 1),
				"signature": "https://" + data + "/" + base64.RawURLEncoding.EncodeToString(flipped),
			} {
				err := VerifyCertificateLink(bad, m.Cert)
				var se *SignatureError
				if !errors.As(err, &se) || !failure.Is(err, failure.Invalid) {
					t.Errorf("%s: got %v, want a SignatureError", name, err)
				}
			}
			// Another certificate: its serial differs, and so does its key.
			var se *SignatureError
			if err := VerifyCertificateLink(link, other.Cert); !errors.As(err, &se) || !strings.Contains(err.Error(), "names certificate") {
				t.Errorf("other certificate: %v", err)
			}
			// Same serial, other key.
			sameSerial := *other.Cert
			sameSerial.SerialNumber = m.Cert.SerialNumber
			if err := VerifyCertificateLink(link, &sameSerial); !errors.As(err, &se) {
				t.Errorf("other key: %v", err)
			}
			for name, bad := range map[string]string{
				"trailing slash": link + "/",
				"no signature":   "https://" + data,
				"query":          link + "?x=1",
				"not base64":     "https://" + data + "/" + "!!",
				"kod I":          docLink,
			} {
				var ie *InputError
				if err := VerifyCertificateLink(bad, m.Cert); !errors.As(err, &ie) || !failure.Is(err, failure.Invalid) {
					t.Errorf("%s: got %v, want an InputError", name, err)
				}
			}
		})
	}
}

func TestSignCertificateDataRefusesOtherKeys(t *testing.T) {
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	rsa1024, _ := rsa.GenerateKey(rand.Reader, 1024)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	for name, key := range map[string]crypto.Signer{"ECDSA P-384": p384, "RSA 1024-bit": rsa1024, "ed25519.PublicKey": ed, "none": nil} {
		_, err := SignCertificateData(key, docSignedData)
		var uk *UnsupportedKeyError
		if !errors.As(err, &uk) || uk.Key != name || !failure.Is(err, failure.Invalid) || !strings.Contains(err.Error(), "ECDSA P-256") {
			t.Errorf("%s: got %v", name, err)
		}
	}
}

// selfSigned makes a self-signed certificate for key with the given key usage.
func selfSigned(t *testing.T, key crypto.Signer, usage x509.KeyUsage) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(0x01F20A5D352AE590), Subject: pkix.Name{CommonName: "P-384 offline"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(1, 0, 0), KeyUsage: usage}
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

func TestCheckOfflineCertificateRefuses(t *testing.T) {
	now := time.Now()
	good := validOffline(t, kcert.KeyEC)
	if err := CheckOfflineCertificate(asWebsiteCert(good, store.CertOffline), now); err != nil {
		t.Fatal(err)
	}
	auth, err := kcert.NewTestCertificate(kcert.TestCertOptions{Kind: kcert.KindPersonal, NIP: docNIP})
	if err != nil {
		t.Fatal(err)
	}
	authIssued := issued(t, kcert.KeyEC, docNIP, x509.KeyUsageDigitalSignature, now.Add(-time.Hour), now.AddDate(1, 0, 0))
	expired := offlineCert(t, kcert.KeyRSA, docNIP, now.AddDate(-1, 0, 0), now.Add(-time.Minute))
	future := offlineCert(t, kcert.KeyEC, docNIP, now.Add(time.Hour), now.AddDate(1, 0, 0))
	p384key, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	p384 := &kcert.Material{Cert: selfSigned(t, p384key, x509.KeyUsageContentCommitment), Key: p384key}
	noKey := asWebsiteCert(good, store.CertOffline)
	noKey.Material, noKey.Err = nil, &website.KeyDecryptError{Serial: "certificate " + noKey.Serial, Err: errors.New("cipher: message authentication failed")}
	noKeyAtAll := asWebsiteCert(good, store.CertOffline)
	noKeyAtAll.Material, noKeyAtAll.Err = nil, config.ErrNoKey
	mismatch := asWebsiteCert(&kcert.Material{Cert: good.Cert, Key: validOffline(t, kcert.KeyEC).Key}, store.CertOffline)
	for _, c := range []struct {
		name    string
		cert    *website.Cert
		problem CertificateProblem
		hint    string
	}{
		{"missing", nil, CertMissing, "ksefpl certificate:enroll --type offline --website shop2"},
		{"authentication certificate", asWebsiteCert(auth, store.CertAuthentication), CertNotOffline, "Authentication certificate"},
		{"authentication key usage stored as offline", asWebsiteCert(authIssued, store.CertOffline), CertNotOffline, "certificate:import --type offline --file CERT.p12 --website shop2"},
		{"offline key usage stored for authentication", asWebsiteCert(good, store.CertAuthentication), CertNotOffline, "type Offline"},
		{"expired", asWebsiteCert(expired, store.CertOffline), CertExpired, "expired on " + expired.Cert.NotAfter.UTC().Format(time.DateOnly)},
		{"not yet valid", asWebsiteCert(future, store.CertOffline), CertNotYetValid, "valid only from"},
		{"P-384", asWebsiteCert(p384, store.CertOffline), CertUnsupportedKey, "its key is ECDSA P-384"},
		{"undecryptable key", noKey, CertNoKey, "cannot be decrypted with the deployment keys"},
		{"no deployment key", noKeyAtAll, CertNoKey, "certificate:import --type offline"},
		{"key of another certificate", mismatch, CertKeyMismatch, "does not belong"},
	} {
		err := CheckOfflineCertificate(c.cert, now)
		var oe *OfflineCertificateError
		if !errors.As(err, &oe) || oe.Problem != c.problem || !failure.Is(err, failure.Invalid) {
			t.Errorf("%s: got %v, want problem %s", c.name, err, c.problem)
			continue
		}
		oe.Website = "shop2"
		if !strings.Contains(err.Error(), c.hint) || !strings.Contains(err.Error(), "KOD II") {
			t.Errorf("%s: message %q does not say %q", c.name, err, c.hint)
		}
		// NewCertificateCode refuses with the same error and signs nothing.
		if code, err := NewCertificateCode(qrTest, docParams, c.cert, now); code != nil || !errors.As(err, &oe) || oe.Problem != c.problem {
			t.Errorf("%s: NewCertificateCode %+v %v", c.name, code, err)
		}
	}
	// The base website's hint has no --website flag.
	msg := (&OfflineCertificateError{Problem: CertMissing, Website: "base"}).Error()
	if strings.Contains(msg, "--website") || !strings.Contains(msg, `website "base" has no KSeF certificate of type Offline`) {
		t.Errorf("base: %s", msg)
	}
	// A serial that is not the certificate's is refused.
	p := docParams
	p.Serial = "0000000000000001"
	var ie *InputError
	if _, err := NewCertificateCode(qrTest, p, asWebsiteCert(good, store.CertOffline), now); !errors.As(err, &ie) || ie.Field != "certificate serial" {
		t.Errorf("wrong serial: %v", err)
	}
}

// opensslPath finds openssl, the independent verifier of KOD II signatures. Without it
// the test fails with a clear message (skipped only with KSEFPL_SKIP_SHARED=1).
func opensslPath(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("openssl")
	if err != nil {
		msg := "openssl not installed: KOD II signatures are checked with it independently (apt-get install -y openssl)"
		if os.Getenv("KSEFPL_SKIP_SHARED") == "1" {
			t.Skip("SKIPPED (KSEFPL_SKIP_SHARED=1): " + msg)
		}
		t.Fatal(msg + " — set KSEFPL_SKIP_SHARED=1 to skip tests that need it")
	}
	return p
}

// opensslVerify runs openssl dgst -sha256 [opts] -verify pub.pem -signature sig data
// and reports whether openssl says "Verified OK" (false on "Verification failure";
// anything else fails the test).
func opensslVerify(t *testing.T, pub crypto.PublicKey, data string, sig []byte, opts ...string) bool {
	t.Helper()
	dir := t.TempDir()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{
		"pub.pem":  pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}),
		"sig.bin":  sig,
		"data.txt": []byte(data),
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	args := append(append([]string{"dgst", "-sha256"}, opts...), "-verify", filepath.Join(dir, "pub.pem"),
		"-signature", filepath.Join(dir, "sig.bin"), filepath.Join(dir, "data.txt"))
	out, err := exec.Command(opensslPath(t), args...).CombinedOutput()
	switch {
	case err == nil && strings.Contains(string(out), "Verified OK"):
		return true
	case strings.Contains(string(out), "Verification failure"):
		return false
	}
	t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
	return false
}

// pssOpts are openssl's options for RSASSA-PSS with SHA-256, MGF1-SHA-256 and salt n.
func pssOpts(saltLen string) []string {
	return []string{"-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:" + saltLen, "-sigopt", "rsa_mgf1_md:sha256"}
}

// TestCertificateSignatureWithOpenSSL checks the signatures with an independent
// implementation: the ECDSA P1363 signature converted to DER, and the RSA-PSS signature
// with salt length 32 exactly.
func TestCertificateSignatureWithOpenSSL(t *testing.T) {
	opensslPath(t)
	t.Run("ecdsa", func(t *testing.T) {
		m := validOffline(t, kcert.KeyEC)
		p := docParams
		p.Serial = kcert.SerialHex(m.Cert)
		link, err := SignCertificateLink(qrTest, p, m.Key)
		if err != nil {
			t.Fatal(err)
		}
		data, sig := splitLink(t, link)
		if data != strings.Replace(docSignedData, docSerial, p.Serial, 1) || len(sig) != 64 {
			t.Fatalf("data %s, signature of %d bytes", data, len(sig))
		}
		// P1363 R||S to DER SEQUENCE { INTEGER r, INTEGER s }, by hand.
		der, err := asn1.Marshal(struct{ R, S *big.Int }{new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])})
		if err != nil {
			t.Fatal(err)
		}
		if !opensslVerify(t, m.Cert.PublicKey, data, der) {
			t.Fatal("openssl does not verify the ECDSA signature")
		}
		if opensslVerify(t, m.Cert.PublicKey, data+"x", der) {
			t.Fatal("openssl verifies the ECDSA signature over other data")
		}
	})
	t.Run("rsa-pss", func(t *testing.T) {
		m := validOffline(t, kcert.KeyRSA)
		p := docParams
		p.Serial = kcert.SerialHex(m.Cert)
		link, err := SignCertificateLink(qrTest, p, m.Key)
		if err != nil {
			t.Fatal(err)
		}
		data, sig := splitLink(t, link)
		if !opensslVerify(t, m.Cert.PublicKey, data, sig, pssOpts("32")...) {
			t.Fatal("openssl does not verify the RSA-PSS signature with salt length 32")
		}
		if opensslVerify(t, m.Cert.PublicKey, data, sig, pssOpts("20")...) {
			t.Fatal("openssl verifies the RSA-PSS signature with salt length 20: the salt is not 32 bytes")
		}
		if opensslVerify(t, m.Cert.PublicKey, data, sig, "-sigopt", "rsa_padding_mode:pkcs1") {
			t.Fatal("the signature verifies as PKCS#1 v1.5: it is not PSS")
		}
		// A PSS signature with another salt length (here the maximum, Go's default) is
		// refused with salt length 32, by openssl and by VerifyCertificateLink, while it
		// does verify with its own salt length: the salt length is really checked.
		h := sha256.Sum256([]byte(data))
		maxSalt, err := rsa.SignPSS(rand.Reader, m.Key.(*rsa.PrivateKey), crypto.SHA256, h[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto})
		if err != nil {
			t.Fatal(err)
		}
		if !opensslVerify(t, m.Cert.PublicKey, data, maxSalt, pssOpts("max")...) {
			t.Fatal("openssl does not verify the maximum-salt signature with its own salt length")
		}
		if opensslVerify(t, m.Cert.PublicKey, data, maxSalt, pssOpts("32")...) {
			t.Fatal("openssl verifies a maximum-salt signature with salt length 32")
		}
		bad, err := CertificateLink(qrTest, p, maxSalt)
		if err != nil {
			t.Fatal(err)
		}
		var se *SignatureError
		if err := VerifyCertificateLink(bad, m.Cert); !errors.As(err, &se) {
			t.Fatalf("VerifyCertificateLink accepts a maximum-salt signature: %v", err)
		}
		salt20, err := rsa.SignPSS(rand.Reader, m.Key.(*rsa.PrivateKey), crypto.SHA256, h[:], &rsa.PSSOptions{SaltLength: 20})
		if err != nil {
			t.Fatal(err)
		}
		if !opensslVerify(t, m.Cert.PublicKey, data, salt20, pssOpts("20")...) || opensslVerify(t, m.Cert.PublicKey, data, salt20, pssOpts("32")...) {
			t.Fatal("openssl: a salt-20 signature should verify with 20 only")
		}
		if bad, _ = CertificateLink(qrTest, p, salt20); VerifyCertificateLink(bad, m.Cert) == nil {
			t.Fatal("VerifyCertificateLink accepts a salt-20 signature")
		}
	})
}
