package xades

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"strings"
	"testing"

	"github.com/beevik/etree"
)

// These tests build cryptographically valid signatures that Sign never
// makes (with resign) to check Verify's other algorithms and its rules
// beyond digest and signature value.

func setAlg(t testing.TB, sig *etree.Element, local, alg string) {
	t.Helper()
	for _, el := range descendants(find(t, sig, NamespaceDSig, "SignedInfo"), NamespaceDSig, local) {
		el.CreateAttr("Algorithm", alg)
	}
}

func TestVerifyOtherAlgorithms(t *testing.T) {
	keys := testKeys(t)
	cases := []struct {
		key, method, digest string
	}{
		{"rsa2048", "http://www.w3.org/2007/05/xmldsig-more#sha256-rsa-MGF1", "http://www.w3.org/2001/04/xmlenc#sha256"},
		{"rsa2048", "http://www.w3.org/2007/05/xmldsig-more#sha384-rsa-MGF1", "http://www.w3.org/2001/04/xmldsig-more#sha384"},
		{"rsa2048", "http://www.w3.org/2007/05/xmldsig-more#sha512-rsa-MGF1", "http://www.w3.org/2001/04/xmlenc#sha512"},
		{"rsa2048", "http://www.w3.org/2007/05/xmldsig-more#sha3-256-rsa-MGF1", "http://www.w3.org/2007/05/xmldsig-more#sha3-256"},
		{"rsa2048", "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384", "http://www.w3.org/2007/05/xmldsig-more#sha3-512"},
		{"p256", "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha1", "http://www.w3.org/2000/09/xmldsig#sha1"},
		{"p256", "http://www.w3.org/2021/04/xmldsig-more#ecdsa-sha3-256", "http://www.w3.org/2007/05/xmldsig-more#sha3-384"},
		{"p384", "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512", "http://www.w3.org/2001/04/xmlenc#sha512"},
	}
	for _, c := range cases {
		t.Run(c.key+"/"+c.method[strings.Index(c.method, "#")+1:], func(t *testing.T) {
			k := keys[c.key]
			signed := resign(t, mustSign(t, []byte(sampleDoc), k), k.key, func(_, sig *etree.Element) {
				setAlg(t, sig, "SignatureMethod", c.method)
				setAlg(t, sig, "DigestMethod", c.digest)
			})
			v, err := Verify(signed)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if !v.Certificate.Equal(k.cert) {
				t.Error("wrong certificate")
			}
		})
	}
}

func TestVerifyRules(t *testing.T) {
	keys := testKeys(t)
	rsaKey, ecKey := keys["rsa2048"], keys["p256"]
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	smallKey := newTestKey(t, "rsa1024", small)
	p224, _ := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	p224Key := newTestKey(t, "p224", p224)

	cases := []struct {
		name     string
		base     testKey // the key Sign uses
		signer   testKey // the key resign signs with (default base)
		mutate   func(root, sig *etree.Element)
		noResign bool // the mutation leaves the signature as it was
		kind     Kind
		notXAdES bool
		msg      string
	}{
		{name: "only the SignedProperties is referenced", base: rsaKey, kind: KindInvalidSignature, msg: "document itself is not signed",
			mutate: func(_, sig *etree.Element) {
				si := find(t, sig, NamespaceDSig, "SignedInfo")
				si.RemoveChild(childElements(si, NamespaceDSig, "Reference")[0])
			}},
		{name: "the root referenced by Id instead of URI=\"\"", base: ecKey, kind: KindInvalidSignature, msg: "document itself is not signed",
			mutate: func(root, sig *etree.Element) {
				root.CreateAttr("Id", "root")
				childElements(find(t, sig, NamespaceDSig, "SignedInfo"), NamespaceDSig, "Reference")[0].CreateAttr("URI", "#root")
			}},
		{name: "SignedProperties not referenced", base: ecKey, kind: KindInvalidSignature, msg: "not covered by any Reference",
			mutate: func(_, sig *etree.Element) {
				si := find(t, sig, NamespaceDSig, "SignedInfo")
				si.RemoveChild(childElements(si, NamespaceDSig, "Reference")[1])
			}},
		{name: "SigningCertificate of another certificate", base: rsaKey, kind: KindInvalidSignature, msg: "does not match the KeyInfo certificate",
			mutate: func(_, sig *etree.Element) {
				cd := find(t, sig, NamespaceXAdES, "CertDigest")
				find(t, cd, NamespaceDSig, "DigestValue").SetText("q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq80=")
			}},
		{name: "SigningCertificate with unsupported digest", base: rsaKey, kind: KindUnsupported,
			mutate: func(_, sig *etree.Element) {
				find(t, find(t, sig, NamespaceXAdES, "CertDigest"), NamespaceDSig, "DigestMethod").CreateAttr("Algorithm", "http://www.w3.org/2001/04/xmldsig-more#md5")
			}},
		{name: "no SigningCertificate", base: ecKey, kind: KindInvalidSignature, notXAdES: true,
			mutate: func(_, sig *etree.Element) {
				sc := find(t, sig, NamespaceXAdES, "SigningCertificate")
				sc.Parent().RemoveChild(sc)
			}},
		{name: "no SigningTime", base: ecKey,
			mutate: func(_, sig *etree.Element) {
				st := find(t, sig, NamespaceXAdES, "SigningTime")
				st.Parent().RemoveChild(st)
			}},
		{name: "bad SigningTime", base: ecKey, kind: KindInvalidSignature, msg: "SigningTime",
			mutate: func(_, sig *etree.Element) { find(t, sig, NamespaceXAdES, "SigningTime").SetText("yesterday") }},
		{name: "RSA key under 2048 bits", base: rsaKey, signer: smallKey, kind: KindUnsupported, msg: "1024 bits",
			mutate: func(_, sig *etree.Element) { setCertificate(t, sig, smallKey.cert) }},
		{name: "EC curve under 256 bits", base: ecKey, signer: p224Key, kind: KindUnsupported, msg: "224 bits",
			mutate: func(_, sig *etree.Element) {
				setCertificate(t, sig, p224Key.cert)
				setAlg(t, sig, "SignatureMethod", "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256")
			}},
		{name: "SignatureMethod does not fit the key", base: ecKey, signer: rsaKey, kind: KindInvalidSignature, msg: "does not fit",
			mutate: func(_, sig *etree.Element) {
				setAlg(t, sig, "SignatureMethod", "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256")
			}},
		{name: "another certificate, consistently swapped", base: rsaKey, signer: keys["rsa-b"],
			mutate: func(_, sig *etree.Element) { setCertificate(t, sig, keys["rsa-b"].cert) }},
		{name: "transform after canonicalisation", base: rsaKey, noResign: true, kind: KindUnsupported, msg: "after a canonicalisation",
			mutate: func(_, sig *etree.Element) {
				ts := descendants(find(t, sig, NamespaceDSig, "SignedInfo"), NamespaceDSig, "Transforms")[1]
				ts.CreateElement("ds:Transform").CreateAttr("Algorithm", algEnvelopedSignature)
			}},
		{name: "XPath transform", base: rsaKey, noResign: true, kind: KindUnsupported, msg: "REC-xpath",
			mutate: func(_, sig *etree.Element) {
				ts := descendants(find(t, sig, NamespaceDSig, "SignedInfo"), NamespaceDSig, "Transforms")[0]
				ts.Child = nil
				x := ts.CreateElement("ds:Transform")
				x.CreateAttr("Algorithm", "http://www.w3.org/TR/1999/REC-xpath-19991116")
				x.CreateElement("ds:XPath").SetText("not(ancestor-or-self::ds:Signature)")
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			signer := c.signer
			if signer.key == nil {
				signer = c.base
			}
			signed := mustSign(t, []byte(sampleDoc), c.base)
			if c.noResign {
				p, sig := parseForTest(t, signed)
				c.mutate(p.root, sig)
				signed = serialize(t, p.doc)
			} else {
				signed = resign(t, signed, signer.key, c.mutate)
			}
			v, err := Verify(signed)
			if c.kind == 0 {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if !v.Certificate.Equal(signer.cert) {
					t.Error("wrong certificate")
				}
				if got := v.SigningTime; got.IsZero() != (c.name == "no SigningTime") {
					t.Errorf("SigningTime %v", got)
				}
				return
			}
			ve := wantKind(t, err, c.kind)
			if c.notXAdES != errors.Is(err, ErrNotXAdES) {
				t.Errorf("errors.Is(err, ErrNotXAdES) = %v: %v", !c.notXAdES, err)
			}
			if !strings.Contains(ve.Error(), c.msg) {
				t.Errorf("error %q does not mention %q", ve, c.msg)
			}
		})
	}
}

// TestEnvelopedSignatureDeeper: an enveloped signature need not be a direct
// child of the root.
func TestEnvelopedSignatureDeeper(t *testing.T) {
	k := testKeys(t)["p256"]
	signed := resign(t, mustSign(t, []byte(sampleDoc), k), k.key, func(root, sig *etree.Element) {
		root.RemoveChild(sig)
		root.SelectElement("ContextIdentifier").AddChild(sig)
	})
	if _, err := Verify(signed); err != nil {
		t.Fatal(err)
	}
}

func TestNormaliseAttributeWhitespace(t *testing.T) {
	in := "<a b=\"1\r\n2\t3\n4&#10;\" c='x\ry'>t\r\nu<!-- \n --><![CDATA[\n]]><?p \n?></a>"
	want := "<a b=\"1 2 3 4&#10;\" c='x y'>t\r\nu<!-- \n --><![CDATA[\n]]><?p \n?></a>"
	if got := string(normaliseAttributeWhitespace([]byte(in))); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

// TestDefaultNamespaceSignature: a signature in the default namespace
// (<Signature xmlns="http://www.w3.org/2000/09/xmldsig#">, as .NET's
// SignedXml writes it) verifies, with Verify and with xmlsec1.
func TestDefaultNamespaceSignature(t *testing.T) {
	for _, name := range []string{"rsa2048", "p256"} {
		t.Run(name, func(t *testing.T) {
			k := testKeys(t)[name]
			signed := resign(t, mustSign(t, []byte(sampleDoc), k), k.key, func(_, sig *etree.Element) {
				var walk func(el *etree.Element)
				walk = func(el *etree.Element) {
					if el.Space == "ds" && el.Parent().Space != "xades" {
						el.Space = ""
					}
					for _, c := range el.ChildElements() {
						walk(c)
					}
				}
				walk(sig)
				sig.RemoveAttr("xmlns:ds")
				sig.CreateAttr("xmlns", NamespaceDSig)
				qp := find(t, sig, NamespaceXAdES, "QualifyingProperties")
				qp.CreateAttr("xmlns:ds", NamespaceDSig) // for ds:DigestMethod etc. under xades elements
			})
			mustContain(t, signed, `xmlns="http://www.w3.org/2000/09/xmldsig#"><SignedInfo>`)
			if _, err := Verify(signed); err != nil {
				t.Fatalf("Verify: %v\n%s", err, signed)
			}
			if out, err := xmlsecVerify(t, signed, k.certPEM()); err != nil {
				t.Fatalf("xmlsec1: %v\n%s", err, out)
			}
		})
	}
}
