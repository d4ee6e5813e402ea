package xades

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
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
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beevik/etree"
)

// sampleDoc is the AuthTokenRequest of the KSeF documentation
// (auth/subject-identifier-type-certificate-subject.md).
const sampleDoc = `<?xml version="1.0" encoding="utf-8"?>
<AuthTokenRequest xmlns="http://ksef.mf.gov.pl/auth/token/2.0">
  <Challenge>20250604-CR-461EA5B000-537A6BA15D-D7</Challenge>
  <ContextIdentifier>
    <Nip>5265877635</Nip>
  </ContextIdentifier>
  <SubjectIdentifierType>certificateSubject</SubjectIdentifierType>
</AuthTokenRequest>
`

// richDoc exercises canonicalisation corner cases: processing instructions
// and comments outside and inside the root, xml:lang, attributes in several
// namespaces (whose C14N order differs from their prefix order), literal
// newlines and tabs in attribute values, character references, non-ASCII
// text and an unused prefix declaration.
const richDoc = `<?xml version="1.0" encoding="UTF-8"?>
<?xml-stylesheet type="text/xsl" href="style.xsl"?>
<!-- leading comment -->
<AuthTokenRequest xmlns="http://ksef.mf.gov.pl/auth/token/2.0" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:z="urn:a-last" xmlns:unused="urn:unused"
    xml:lang="pl" z:attr="1" xsi:schemaLocation="http://ksef.mf.gov.pl/auth/token/2.0
      authv2.xsd" xsi:nil="false">
  <!-- comment inside -->
  <Challenge>20250604-CR-461EA5B000-537A6BA15D-D7</Challenge>
  <ContextIdentifier>
    <Nip>5265877635</Nip>
  </ContextIdentifier>
  <SubjectIdentifierType>certificateSubject</SubjectIdentifierType>
  <?app some data?>
  <z:Note b="x&#10;y	tab" a='single "quoted"' z:b="2"   >Tekst &amp; &lt;więcej&gt; "cudzysłów" 'apostrof' &#x141;ódź<![CDATA[ <cdata> & ]]><Empty/></z:Note>
</AuthTokenRequest>
<?trailing pi?>
`

// docVariants are the documents every signature direction is tested on.
func docVariants() map[string][]byte {
	return map[string][]byte{
		"sample":       []byte(sampleDoc),
		"rich":         []byte(richDoc),
		"rich-crlf":    []byte(strings.ReplaceAll(richDoc, "\n", "\r\n")),
		"bom":          append([]byte{0xEF, 0xBB, 0xBF}, sampleDoc...),
		"no-decl":      []byte(sampleDoc[strings.Index(sampleDoc, "<Auth"):]),
		"self-closing": []byte(`<AuthTokenRequest xmlns="http://ksef.mf.gov.pl/auth/token/2.0" a="1"  />`),
		"prefixed":     []byte(`<?xml version="1.0"?><k:AuthTokenRequest xmlns:k="http://ksef.mf.gov.pl/auth/token/2.0"><k:Challenge>20250604-CR-461EA5B000-537A6BA15D-D7</k:Challenge></k:AuthTokenRequest>`),
	}
}

// testKey is a key with a self-signed certificate.
type testKey struct {
	name string
	key  crypto.Signer
	cert *x509.Certificate
}

func (k testKey) certPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: k.cert.Raw})
}

func (k testKey) keyPEM(t testing.TB) []byte {
	der, err := x509.MarshalPKCS8PrivateKey(k.key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

var oidSerialNumber = asn1.ObjectIdentifier{2, 5, 4, 5}

// newTestKey makes a self-signed certificate shaped like KSeF's test
// certificates of a natural person (serialNumber TINPL-…), with an
// organisation name that needs escaping in XML and in RFC 4514.
func newTestKey(t testing.TB, name string, key crypto.Signer) testKey {
	t.Helper()
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		t.Fatal(err)
	}
	subject := pkix.Name{
		Country:      []string{"PL"},
		Organization: []string{`Firma "Łódź" & <Syn>, sp. z o.o.`},
		CommonName:   "Jan Kowalski " + name,
		ExtraNames:   []pkix.AttributeTypeAndValue{{Type: oidSerialNumber, Value: "TINPL-5265877635"}},
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      subject,
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return testKey{name: name, key: key, cert: cert}
}

var (
	keysOnce sync.Once
	keysErr  error
	keys     map[string]crypto.Signer
)

// testKeys returns RSA 2048, EC P-256 and EC P-384 keys (generated once)
// with fresh certificates, plus "rsa-b" and "ec-b", second keys for swap tests.
func testKeys(t testing.TB) map[string]testKey {
	t.Helper()
	keysOnce.Do(func() {
		keys = map[string]crypto.Signer{}
		gen := map[string]func() (crypto.Signer, error){
			"rsa2048": func() (crypto.Signer, error) { return rsa.GenerateKey(rand.Reader, 2048) },
			"rsa-b":   func() (crypto.Signer, error) { return rsa.GenerateKey(rand.Reader, 2048) },
			"p256":    func() (crypto.Signer, error) { return ecdsa.GenerateKey(elliptic.P256(), rand.Reader) },
			"ec-b":    func() (crypto.Signer, error) { return ecdsa.GenerateKey(elliptic.P256(), rand.Reader) },
			"p384":    func() (crypto.Signer, error) { return ecdsa.GenerateKey(elliptic.P384(), rand.Reader) },
		}
		for name, g := range gen {
			k, err := g()
			if err != nil {
				keysErr = err
				return
			}
			keys[name] = k
		}
	})
	if keysErr != nil {
		t.Fatal(keysErr)
	}
	out := map[string]testKey{}
	for name, k := range keys {
		out[name] = newTestKey(t, name, k)
	}
	return out
}

// signingKeys are the keys Sign must support.
var signingKeys = []string{"rsa2048", "p256", "p384"}

var fixedTime = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

func mustSign(t testing.TB, doc []byte, k testKey) []byte {
	t.Helper()
	out, err := Sign(doc, k.key, k.cert, SignOptions{SigningTime: fixedTime})
	if err != nil {
		t.Fatalf("Sign(%s): %v", k.name, err)
	}
	return out
}

// wantKind asserts that err is a *VerifyError of kind k.
func wantKind(t testing.TB, err error, k Kind) *VerifyError {
	t.Helper()
	var ve *VerifyError
	if !errors.As(err, &ve) {
		t.Fatalf("want *VerifyError of kind %v, got %T: %v", k, err, err)
	}
	if ve.Kind != k {
		t.Fatalf("want kind %v, got %v: %v", k, ve.Kind, err)
	}
	return ve
}

// xmlsec1 locates the xmlsec1 binary; a missing one fails the test unless
// KSEFPL_SKIP_SHARED=1 (mirrors pkg/testenv).
func xmlsec1(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("xmlsec1")
	if err != nil {
		msg := "xmlsec1 not installed: apt-get install -y xmlsec1"
		if os.Getenv("KSEFPL_SKIP_SHARED") == "1" {
			t.Skip("SKIPPED (KSEFPL_SKIP_SHARED=1): " + msg)
		}
		t.Fatal(msg + " — set KSEFPL_SKIP_SHARED=1 to skip tests that need it")
	}
	return p
}

// xmlsecIDAttr registers xades:SignedProperties/@Id as an ID for xmlsec1.
var xmlsecIDAttr = []string{"--id-attr:Id", NamespaceXAdES + ":SignedProperties"}

// xmlsecVerify runs
//
//	xmlsec1 --verify --enabled-reference-uris empty,same-doc --trusted-pem cert.pem \
//	    --id-attr:Id http://uri.etsi.org/01903/v1.3.2#:SignedProperties signed.xml
//
// (the key is taken from the KeyInfo certificate, which must be the trusted
// one) and returns its output and error.
func xmlsecVerify(t testing.TB, signed []byte, cert []byte) (string, error) {
	t.Helper()
	bin := xmlsec1(t)
	dir := t.TempDir()
	doc, certFile := filepath.Join(dir, "signed.xml"), filepath.Join(dir, "cert.pem")
	writeFile(t, doc, signed)
	writeFile(t, certFile, cert)
	args := append([]string{"--verify", "--enabled-reference-uris", "empty,same-doc", "--trusted-pem", certFile}, xmlsecIDAttr...)
	out, err := exec.Command(bin, append(args, doc)...).CombinedOutput()
	return string(out), err
}

// xmlsecSign signs a template with xmlsec1 and returns the signed document.
func xmlsecSign(t testing.TB, template []byte, k testKey) []byte {
	t.Helper()
	bin := xmlsec1(t)
	dir := t.TempDir()
	tmpl, keyFile, certFile, out := filepath.Join(dir, "tmpl.xml"), filepath.Join(dir, "key.pem"), filepath.Join(dir, "cert.pem"), filepath.Join(dir, "out.xml")
	writeFile(t, tmpl, template)
	writeFile(t, keyFile, k.keyPEM(t))
	writeFile(t, certFile, k.certPEM())
	args := append([]string{"--sign", "--privkey-pem", keyFile + "," + certFile}, xmlsecIDAttr...)
	args = append(args, "--output", out, tmpl)
	if msg, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
		t.Fatalf("xmlsec1 --sign failed: %v\n%s\ntemplate:\n%s", err, msg, template)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeFile(t testing.TB, name string, data []byte) {
	t.Helper()
	if err := os.WriteFile(name, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// parseForTest parses a document with the package's parser.
func parseForTest(t testing.TB, doc []byte) (*parsedDoc, *etree.Element) {
	t.Helper()
	p, e := parseDocument(doc)
	if e != nil {
		t.Fatal(e)
	}
	sigs := descendants(p.root, NamespaceDSig, "Signature")
	if len(sigs) != 1 {
		t.Fatalf("want one signature, found %d", len(sigs))
	}
	return p, sigs[0]
}

// find returns the only descendant {ns}local of el.
func find(t testing.TB, el *etree.Element, ns, local string) *etree.Element {
	t.Helper()
	found := descendants(el, ns, local)
	if len(found) != 1 {
		t.Fatalf("want one %s, found %d", local, len(found))
	}
	return found[0]
}

func serialize(t testing.TB, doc *etree.Document) []byte {
	t.Helper()
	b, err := doc.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// resign lets mutate change a signed document's tree (SignedInfo,
// SignedProperties, KeyInfo, the document…), then recomputes every
// Reference digest and the SignatureValue with key, using the
// SignatureMethod written in SignedInfo (RSA PKCS#1 v1.5, RSASSA-PSS or
// ECDSA R‖S). It builds cryptographically valid signatures that Sign never
// makes, to test Verify's other rules and algorithms.
func resign(t testing.TB, signed []byte, key crypto.Signer, mutate func(root, sig *etree.Element)) []byte {
	t.Helper()
	p, sig := parseForTest(t, signed)
	mutate(p.root, sig)
	ctx := newDocContext(p, sig)
	si := find(t, sig, NamespaceDSig, "SignedInfo")
	for _, r := range childElements(si, NamespaceDSig, "Reference") {
		ref, e := parseReference(r)
		if e != nil {
			t.Fatal(e)
		}
		data, _, e := ctx.dereference(ref)
		if e != nil {
			t.Fatal(e)
		}
		find(t, r, NamespaceDSig, "DigestValue").SetText(base64.StdEncoding.EncodeToString(digestOf(ref.hash, data)))
	}
	cm := find(t, si, NamespaceDSig, "CanonicalizationMethod")
	alg := cm.SelectAttrValue("Algorithm", "")
	pl, e := inclusivePrefixes(cm, alg)
	if e != nil {
		t.Fatal(e)
	}
	canon, err := canonicalize(detach(si, alg), alg, pl)
	if err != nil {
		t.Fatal(err)
	}
	method := signatureAlgorithms[find(t, si, NamespaceDSig, "SignatureMethod").SelectAttrValue("Algorithm", "")]
	digest := digestOf(method.hash, canon)
	var sv []byte
	switch method.key {
	case keyRSA:
		sv, err = rsa.SignPKCS1v15(rand.Reader, key.(*rsa.PrivateKey), method.hash, digest)
	case keyRSAPSS:
		sv, err = rsa.SignPSS(rand.Reader, key.(*rsa.PrivateKey), method.hash, digest, nil)
	case keyECDSA:
		k := key.(*ecdsa.PrivateKey)
		var r, s *big.Int
		r, s, err = ecdsa.Sign(rand.Reader, k, digest)
		if err == nil {
			n := (k.Curve.Params().BitSize + 7) / 8
			sv = make([]byte, 2*n)
			r.FillBytes(sv[:n])
			s.FillBytes(sv[n:])
		}
	default:
		t.Fatal("resign: unknown SignatureMethod")
	}
	if err != nil {
		t.Fatal(err)
	}
	find(t, sig, NamespaceDSig, "SignatureValue").SetText(base64.StdEncoding.EncodeToString(sv))
	return serialize(t, p.doc)
}

// setCertificate replaces the KeyInfo certificate and the
// SigningCertificate digest (SHA-256) by cert's.
func setCertificate(t testing.TB, sig *etree.Element, cert *x509.Certificate) {
	t.Helper()
	find(t, sig, NamespaceDSig, "X509Certificate").SetText(base64.StdEncoding.EncodeToString(cert.Raw))
	cd := find(t, sig, NamespaceXAdES, "CertDigest")
	find(t, cd, NamespaceDSig, "DigestValue").SetText(base64.StdEncoding.EncodeToString(digestOf(crypto.SHA256, cert.Raw)))
}

func mustContain(t testing.TB, b []byte, sub string) {
	t.Helper()
	if !bytes.Contains(b, []byte(sub)) {
		t.Fatalf("%q not found in:\n%s", sub, b)
	}
}
