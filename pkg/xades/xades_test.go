package xades

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
)

func TestSignVerifyRoundTrip(t *testing.T) {
	keys := testKeys(t)
	for _, name := range signingKeys {
		k := keys[name]
		for docName, doc := range docVariants() {
			t.Run(name+"/"+docName, func(t *testing.T) {
				signed := mustSign(t, doc, k)
				v, err := Verify(signed)
				if err != nil {
					t.Fatalf("Verify: %v\n%s", err, signed)
				}
				if !v.Certificate.Equal(k.cert) {
					t.Error("Verified.Certificate is not the signing certificate")
				}
				if !v.SigningTime.Equal(fixedTime) {
					t.Errorf("SigningTime = %v, want %v", v.SigningTime, fixedTime)
				}
				if bytes.Contains(v.Document, []byte("Signature")) {
					t.Errorf("Verified.Document still holds the signature:\n%s", v.Document)
				}
				if docName != "self-closing" {
					mustContain(t, v.Document, "Challenge>20250604-CR-461EA5B000-537A6BA15D-D7</")
				}
				// The original bytes are kept: signed = doc[:i] + signature + doc[i:].
				p, _ := parseDocument(doc)
				if docName != "self-closing" {
					if !bytes.HasPrefix(signed, doc[:p.rootEnd]) || !bytes.HasSuffix(signed, doc[p.rootEnd:]) {
						t.Errorf("the document's bytes were altered:\n%s", signed)
					}
				}
			})
		}
	}
}

func TestSignOutputShape(t *testing.T) {
	keys := testKeys(t)
	wantMethod := map[string]string{
		"rsa2048": "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
		"p256":    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
		"p384":    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384",
	}
	for _, name := range signingKeys {
		t.Run(name, func(t *testing.T) {
			k := keys[name]
			signed := mustSign(t, []byte(sampleDoc), k)
			if !bytes.HasPrefix(signed, []byte(`<?xml version="1.0" encoding="utf-8"?>`)) {
				t.Error("XML declaration lost")
			}
			p, sig := parseForTest(t, signed)
			kids := p.root.ChildElements()
			if kids[len(kids)-1] != sig || sig.Space != "ds" || sig.SelectAttrValue("xmlns:ds", "") != NamespaceDSig {
				t.Fatal("ds:Signature is not the last child of the root")
			}
			sigID := sig.SelectAttrValue("Id", "")
			if !regexp.MustCompile(`^Signature-[0-9a-f]{20}$`).MatchString(sigID) {
				t.Errorf("signature Id %q", sigID)
			}
			si := find(t, sig, NamespaceDSig, "SignedInfo")
			if got := find(t, si, NamespaceDSig, "CanonicalizationMethod").SelectAttrValue("Algorithm", ""); got != "http://www.w3.org/2001/10/xml-exc-c14n#" {
				t.Errorf("CanonicalizationMethod %q", got)
			}
			if got := find(t, si, NamespaceDSig, "SignatureMethod").SelectAttrValue("Algorithm", ""); got != wantMethod[name] {
				t.Errorf("SignatureMethod %q, want %q", got, wantMethod[name])
			}
			refs := childElements(si, NamespaceDSig, "Reference")
			if len(refs) != 2 {
				t.Fatalf("%d references", len(refs))
			}
			transforms := func(r *etree.Element) (algs []string) {
				for _, tr := range descendants(r, NamespaceDSig, "Transform") {
					algs = append(algs, tr.SelectAttrValue("Algorithm", ""))
				}
				return algs
			}
			if got := transforms(refs[0]); refs[0].SelectAttrValue("URI", "x") != "" || strings.Join(got, " ") !=
				"http://www.w3.org/2000/09/xmldsig#enveloped-signature http://www.w3.org/2001/10/xml-exc-c14n#" {
				t.Errorf("document reference: URI %q transforms %v", refs[0].SelectAttrValue("URI", "x"), got)
			}
			sp := find(t, sig, NamespaceXAdES, "SignedProperties")
			if refs[1].SelectAttrValue("URI", "") != "#"+sp.SelectAttrValue("Id", "") ||
				refs[1].SelectAttrValue("Type", "") != "http://uri.etsi.org/01903#SignedProperties" ||
				strings.Join(transforms(refs[1]), " ") != "http://www.w3.org/2001/10/xml-exc-c14n#" {
				t.Errorf("SignedProperties reference: %v", refs[1].Attr)
			}
			for _, dm := range descendants(sig, NamespaceDSig, "DigestMethod") {
				if dm.SelectAttrValue("Algorithm", "") != "http://www.w3.org/2001/04/xmlenc#sha256" {
					t.Errorf("DigestMethod %v", dm.Attr)
				}
			}
			qp := find(t, sig, NamespaceXAdES, "QualifyingProperties")
			if qp.Space != "xades" || qp.SelectAttrValue("Target", "") != "#"+sigID || qp.Parent().Tag != "Object" {
				t.Errorf("QualifyingProperties %v", qp.Attr)
			}
			if got := textOf(find(t, sp, NamespaceXAdES, "SigningTime")); got != "2026-12-01T10:00:00Z" {
				t.Errorf("SigningTime %q", got)
			}
			if got := textOf(find(t, sp, NamespaceDSig, "X509IssuerName")); got != k.cert.Issuer.String() {
				t.Errorf("X509IssuerName %q, want %q", got, k.cert.Issuer.String())
			}
			if got := textOf(find(t, sp, NamespaceDSig, "X509SerialNumber")); got != k.cert.SerialNumber.String() {
				t.Errorf("X509SerialNumber %q", got)
			}
			if got := textOf(find(t, sig, NamespaceDSig, "X509Certificate")); got != base64.StdEncoding.EncodeToString(k.cert.Raw) {
				t.Error("X509Certificate is not the signing certificate")
			}
		})
	}
}

func TestECDSASignatureValueIsRS(t *testing.T) {
	keys := testKeys(t)
	for name, size := range map[string]int{"p256": 64, "p384": 96} {
		_, sig := parseForTest(t, mustSign(t, []byte(sampleDoc), keys[name]))
		sv, err := base64.StdEncoding.DecodeString(textOf(find(t, sig, NamespaceDSig, "SignatureValue")))
		if err != nil {
			t.Fatal(err)
		}
		if len(sv) != size {
			t.Errorf("%s: SignatureValue is %d bytes, want R‖S of %d", name, len(sv), size)
		}
	}
}

func TestSignChainAndDefaults(t *testing.T) {
	keys := testKeys(t)
	k, other := keys["p256"], keys["rsa-b"]
	before := time.Now().Add(-time.Second)
	signed, err := Sign([]byte(sampleDoc), k.key, k.cert, SignOptions{Chain: []*x509.Certificate{other.cert}})
	if err != nil {
		t.Fatal(err)
	}
	_, sig := parseForTest(t, signed)
	if n := len(descendants(sig, NamespaceDSig, "X509Certificate")); n != 2 {
		t.Errorf("%d certificates in KeyInfo, want 2", n)
	}
	v, err := Verify(signed)
	if err != nil {
		t.Fatal(err)
	}
	if !v.Certificate.Equal(k.cert) {
		t.Error("the chain certificate was taken as the signing certificate")
	}
	if v.SigningTime.Before(before.Truncate(time.Second)) || v.SigningTime.After(time.Now()) {
		t.Errorf("default SigningTime %v is not now", v.SigningTime)
	}
	// Sign refuses unusable input.
	if _, err := Sign([]byte(sampleDoc), k.key, other.cert, SignOptions{}); err == nil {
		t.Error("Sign accepted a certificate of another key")
	}
	if _, err := Sign(signed, k.key, k.cert, SignOptions{}); err == nil {
		t.Error("Sign accepted a document that is already signed")
	}
	if _, err := Sign([]byte("<a>"), k.key, k.cert, SignOptions{}); err == nil {
		t.Error("Sign accepted a malformed document")
	}
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	if _, err := Sign([]byte(sampleDoc), edKey, newTestKey(t, "ed", edKey).cert, SignOptions{}); err == nil || !strings.Contains(err.Error(), "not supported") {
		t.Errorf("Sign with Ed25519: %v", err)
	}
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	if _, err := Sign([]byte(sampleDoc), small, newTestKey(t, "small", small).cert, SignOptions{}); err == nil || !strings.Contains(err.Error(), "2048") {
		t.Errorf("Sign with RSA 1024: %v", err)
	}
	p224, _ := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	if _, err := Sign([]byte(sampleDoc), p224, newTestKey(t, "p224", p224).cert, SignOptions{}); err == nil {
		t.Error("Sign accepted P-224")
	}
}

// TestTamper changes a signed document in the ways an attacker or a broken
// client would, and checks the kind of error each gives.
func TestTamper(t *testing.T) {
	keys := testKeys(t)
	for _, name := range signingKeys {
		k := keys[name]
		other := keys["rsa-b"]
		if name != "rsa2048" {
			other = keys["ec-b"]
		}
		signed := string(mustSign(t, []byte(sampleDoc), k))
		_, sig := parseForTest(t, []byte(signed))
		sigXML := signed[strings.Index(signed, "<ds:Signature") : strings.Index(signed, "</ds:Signature>")+len("</ds:Signature>")]
		sv := textOf(find(t, sig, NamespaceDSig, "SignatureValue"))
		raw, _ := base64.StdEncoding.DecodeString(sv)
		raw[len(raw)/2] ^= 0x01
		cert := base64.StdEncoding.EncodeToString(k.cert.Raw)
		cases := []struct {
			name string
			doc  string
			kind Kind
		}{
			{"challenge", strings.Replace(signed, "537A6BA15D", "537A6BA15E", 1), KindInvalidSignature},
			{"context NIP", strings.Replace(signed, "<Nip>5265877635", "<Nip>5265877636", 1), KindInvalidSignature},
			{"added element", strings.Replace(signed, "</SubjectIdentifierType>", "</SubjectIdentifierType><Extra/>", 1), KindInvalidSignature},
			{"signing time", strings.Replace(signed, "2026-12-01T10:00:00Z", "2026-12-01T10:00:01Z", 1), KindInvalidSignature},
			{"KeyInfo certificate swapped", strings.Replace(signed, cert, base64.StdEncoding.EncodeToString(other.cert.Raw), 1), KindInvalidSignature},
			{"SignatureValue corrupted", strings.Replace(signed, sv, base64.StdEncoding.EncodeToString(raw), 1), KindInvalidSignature},
			{"SignatureValue truncated", strings.Replace(signed, sv, sv[:len(sv)-8], 1), KindInvalidSignature},
			{"SignatureValue not base64", strings.Replace(signed, sv, "!!"+sv, 1), KindInvalidSignature},
			{"KeyInfo removed", regexp.MustCompile(`<ds:KeyInfo>.*</ds:KeyInfo>`).ReplaceAllString(signed, ""), KindInvalidSignature},
			{"signature removed", strings.Replace(signed, sigXML, "", 1), KindNoSignature},
			{"second signature", strings.Replace(signed, sigXML, sigXML+sigXML, 1), KindTooManySignatures},
			{"nested signature", strings.Replace(signed, "<Nip>", "<Nip>"+`<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"/>`, 1), KindTooManySignatures},
			{"DOCTYPE", strings.Replace(signed, "?>\n", "?>\n<!DOCTYPE AuthTokenRequest [<!ENTITY x \"y\">]>\n", 1), KindMalformed},
			{"not well-formed", signed[:len(signed)-20], KindMalformed},
			{"mismatched tags", strings.Replace(signed, "</Challenge>", "</Challange>", 1), KindMalformed},
			{"second root", signed + "<AuthTokenRequest/>", KindMalformed},
			{"text after root", signed + "junk", KindMalformed},
			{"duplicate attribute", strings.Replace(signed, `<Challenge>`, `<Challenge a="1" a="2">`, 1), KindMalformed},
			{"undeclared prefix", strings.Replace(signed, `<Challenge>`, `<Challenge p:a="1">`, 1), KindMalformed},
			{"latin-2", strings.Replace(signed, `encoding="utf-8"`, `encoding="ISO-8859-2"`, 1), KindMalformed},
			{"too large", strings.Replace(signed, "<Challenge>", "<!--"+strings.Repeat("x", MaxDocumentSize)+"--><Challenge>", 1), KindMalformed},
			{"unsupported digest", strings.Replace(signed, "http://www.w3.org/2001/04/xmlenc#sha256", "http://www.w3.org/2001/04/xmldsig-more#md5", 1), KindUnsupported},
			{"unsupported transform", strings.Replace(signed, "http://www.w3.org/2000/09/xmldsig#enveloped-signature", "http://www.w3.org/TR/1999/REC-xslt-19991116", 1), KindUnsupported},
			{"unsupported c14n", strings.Replace(signed, `<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>`, `<ds:CanonicalizationMethod Algorithm="urn:nope"/>`, 1), KindUnsupported},
			{"unsupported signature method", regexp.MustCompile(`<ds:SignatureMethod Algorithm="[^"]*"/>`).ReplaceAllString(signed, `<ds:SignatureMethod Algorithm="http://www.w3.org/2000/09/xmldsig#hmac-sha1"/>`), KindUnsupported},
			{"external reference", strings.Replace(signed, `URI=""`, `URI="http://example.com/doc.xml"`, 1), KindUnsupported},
			{"xpointer reference", strings.Replace(signed, `URI=""`, `URI="#xpointer(/)"`, 1), KindUnsupported},
			{"enveloping", `<?xml version="1.0"?>` + sigXML, KindUnsupported},
			{"SignedProperties Id not unique", strings.Replace(signed, "</ds:Object>", `</ds:Object><ds:Object><x Id="`+find(t, sig, NamespaceXAdES, "SignedProperties").SelectAttrValue("Id", "")+`"/></ds:Object>`, 1), KindInvalidSignature},
			{"signature without SignedInfo", strings.Replace(signed, sigXML, `<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignatureValue/></ds:Signature>`, 1), KindInvalidSignature},
		}
		for _, c := range cases {
			t.Run(name+"/"+c.name, func(t *testing.T) {
				v, err := Verify([]byte(c.doc))
				if v != nil {
					t.Error("Verify returned a result with an error")
				}
				wantKind(t, err, c.kind)
				t.Log(err)
			})
		}
	}
}

// TestHostileInput feeds garbage: Verify must return a *VerifyError, never panic.
func TestHostileInput(t *testing.T) {
	ds := `xmlns:ds="http://www.w3.org/2000/09/xmldsig#"`
	cases := map[string]Kind{
		"":                       KindMalformed,
		"<":                      KindMalformed,
		"<a>":                    KindMalformed,
		"\x00\xff\xfe":           KindMalformed,
		"<a/>":                   KindNoSignature,
		"<p:a/>":                 KindMalformed,
		`<a xmlns:p=""/>`:        KindMalformed,
		`<a xmlns:xml="urn:x"/>`: KindMalformed,
		`<a>&unknown;</a>`:       KindMalformed,
		`<a><!ENTITY x "y"></a>`: KindMalformed,
		strings.Repeat("<a>", maxDepth+1) + strings.Repeat("</a>", maxDepth+1):                KindMalformed,
		"<a>" + strings.Repeat("<b/>", maxElements) + "</a>":                                  KindMalformed,
		`<a><ds:Signature ` + ds + `/></a>`:                                                   KindInvalidSignature,
		`<a><ds:Signature ` + ds + `><ds:SignedInfo/><ds:SignatureValue/></ds:Signature></a>`: KindInvalidSignature,
		`<a><ds:Signature ` + ds + `><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></ds:SignedInfo><ds:SignatureValue/></ds:Signature></a>`:                                                                                                                                                                                                                                                                                                                                                           KindInvalidSignature,
		`<a><ds:Signature ` + ds + `><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/><ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/><ds:Reference URI=""><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue>AA==</ds:DigestValue></ds:Reference></ds:SignedInfo><ds:SignatureValue>AA==</ds:SignatureValue></ds:Signature></a>`:                                                                                                  KindInvalidSignature,
		`<a><ds:Signature ` + ds + `><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/><ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/><ds:Reference URI=""><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue>AA==</ds:DigestValue></ds:Reference></ds:SignedInfo><ds:SignatureValue>AA==</ds:SignatureValue><ds:KeyInfo><ds:X509Data><ds:X509Certificate>AAAA</ds:X509Certificate></ds:X509Data></ds:KeyInfo></ds:Signature></a>`: KindInvalidSignature,
	}
	for doc, kind := range cases {
		_, err := Verify([]byte(doc))
		var ve *VerifyError
		if !errors.As(err, &ve) || ve.Kind != kind {
			name := doc
			if len(name) > 60 {
				name = name[:60] + "…"
			}
			t.Errorf("Verify(%q) = %v, want kind %v", name, err, kind)
		}
	}
}

func TestVerifyErrorFormat(t *testing.T) {
	_, err := Verify([]byte("<a/>"))
	if got := err.Error(); got != "xades: no signature: the document holds no ds:Signature" {
		t.Errorf("Error() = %q", got)
	}
	for k := KindMalformed; k <= KindInvalidSignature; k++ {
		if strings.HasPrefix(k.String(), "Kind(") {
			t.Errorf("Kind %d has no name", int(k))
		}
	}
}

func FuzzVerify(f *testing.F) {
	keys := testKeys(f)
	f.Add(mustSign(f, []byte(sampleDoc), keys["p256"]))
	f.Add(mustSign(f, []byte(richDoc), keys["rsa2048"]))
	f.Add([]byte(sampleDoc))
	f.Add([]byte(`<a xmlns="urn:x"><b xmlns=""/></a>`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		v, err := Verify(doc)
		if err != nil {
			var ve *VerifyError
			if !errors.As(err, &ve) || v != nil {
				t.Fatalf("Verify returned %T %v with result %v", err, err, v)
			}
		} else if v.Certificate == nil || v.Document == nil {
			t.Fatal("Verify succeeded without certificate or document")
		}
	})
}
