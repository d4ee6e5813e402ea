package xades

import (
	"crypto"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestXmlsec1VerifiesSign: every signature Sign makes, for RSA and EC keys
// and for documents with canonicalisation corner cases, verifies with
// xmlsec1 (libxml2's canonicaliser, OpenSSL's crypto).
func TestXmlsec1VerifiesSign(t *testing.T) {
	xmlsec1(t)
	keys := testKeys(t)
	for _, name := range signingKeys {
		k := keys[name]
		for docName, doc := range docVariants() {
			t.Run(name+"/"+docName, func(t *testing.T) {
				signed := mustSign(t, doc, k)
				out, err := xmlsecVerify(t, signed, k.certPEM())
				if err != nil || !strings.Contains(out, "OK\n") || !strings.Contains(out, "SignedInfo References (ok/all): 2/2") {
					t.Fatalf("xmlsec1 rejects the signature: %v\n%s\ndocument:\n%s", err, out, signed)
				}
			})
		}
	}
	// The check is not vacuous: xmlsec1 does reject a tampered document
	// and a signature checked against another certificate.
	signed := string(mustSign(t, []byte(sampleDoc), keys["p256"]))
	if out, err := xmlsecVerify(t, []byte(strings.Replace(signed, "537A6BA15D", "537A6BA15E", 1)), keys["p256"].certPEM()); err == nil {
		t.Fatalf("xmlsec1 accepted a tampered document:\n%s", out)
	}
	if out, err := xmlsecVerify(t, []byte(signed), keys["ec-b"].certPEM()); err == nil {
		t.Fatalf("xmlsec1 accepted an untrusted certificate:\n%s", out)
	}
}

// xmlsecCase describes a signature template that xmlsec1 signs.
type xmlsecCase struct {
	name       string
	key        string
	doc        string
	siC14N     string // SignedInfo CanonicalizationMethod
	siPrefixes string // its InclusiveNamespaces PrefixList
	refC14N    string // canonicalisation transform of the references ("" = none, C14N 1.0 by default)
	refPrefix  string // its InclusiveNamespaces PrefixList
	digest     string
	method     string
	xades      string // "" (plain XMLDSig), "v1" (SigningCertificate) or "v2" (SigningCertificateV2)
	certDigest string // DigestMethod of CertDigest
	siComment  bool   // a comment inside SignedInfo
}

const (
	uExc      = "http://www.w3.org/2001/10/xml-exc-c14n#"
	uExcCom   = "http://www.w3.org/2001/10/xml-exc-c14n#WithComments"
	uC14N10   = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
	uC14N10C  = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments"
	uC14N11   = "http://www.w3.org/2006/12/xml-c14n11"
	uC14N11C  = "http://www.w3.org/2006/12/xml-c14n11#WithComments"
	uSHA1     = "http://www.w3.org/2000/09/xmldsig#sha1"
	uSHA256   = "http://www.w3.org/2001/04/xmlenc#sha256"
	uSHA384   = "http://www.w3.org/2001/04/xmldsig-more#sha384"
	uSHA512   = "http://www.w3.org/2001/04/xmlenc#sha512"
	uRSA1     = "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
	uRSA256   = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
	uRSA512   = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512"
	uECDSA256 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
	uECDSA384 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384"
	uECDSA512 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512"
)

func c14nElement(tag, alg, prefixes string) string {
	if prefixes == "" {
		return fmt.Sprintf(`<ds:%s Algorithm="%s"/>`, tag, alg)
	}
	return fmt.Sprintf(`<ds:%s Algorithm="%s"><ec:InclusiveNamespaces xmlns:ec="http://www.w3.org/2001/10/xml-exc-c14n#" PrefixList="%s"/></ds:%s>`, tag, alg, prefixes, tag)
}

// template returns the document with an unsigned signature template, as
// an XML signing tool (here xmlsec1) takes it.
func (c xmlsecCase) template(k testKey) []byte {
	var sb strings.Builder
	sb.WriteString(`<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#" Id="Sig-1">
  <ds:SignedInfo>
    ` + c14nElement("CanonicalizationMethod", c.siC14N, c.siPrefixes) + `
    <ds:SignatureMethod Algorithm="` + c.method + `"/>`)
	if c.siComment {
		sb.WriteString("\n    <!-- a signed comment -->")
	}
	refTransform := ""
	if c.refC14N != "" {
		refTransform = c14nElement("Transform", c.refC14N, c.refPrefix)
	}
	sb.WriteString(`
    <ds:Reference URI="">
      <ds:Transforms>
        <ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>
        ` + refTransform + `
      </ds:Transforms>
      <ds:DigestMethod Algorithm="` + c.digest + `"/>
      <ds:DigestValue></ds:DigestValue>
    </ds:Reference>`)
	if c.xades != "" {
		sb.WriteString(`
    <ds:Reference Type="http://uri.etsi.org/01903#SignedProperties" URI="#SP-1">`)
		if refTransform != "" {
			sb.WriteString(`<ds:Transforms>` + refTransform + `</ds:Transforms>`)
		}
		sb.WriteString(`<ds:DigestMethod Algorithm="` + c.digest + `"/><ds:DigestValue/></ds:Reference>`)
	}
	sb.WriteString(`
  </ds:SignedInfo>
  <ds:SignatureValue/>
  <ds:KeyInfo><ds:X509Data><ds:X509Certificate/></ds:X509Data></ds:KeyInfo>`)
	if c.xades != "" {
		h := digestAlgorithms[c.certDigest]
		certDigest := base64.StdEncoding.EncodeToString(digestOf(h, k.cert.Raw))
		signingCertificate := `<xades:SigningCertificate><xades:Cert><xades:CertDigest><ds:DigestMethod Algorithm="` + c.certDigest + `"/><ds:DigestValue>` + certDigest + `</ds:DigestValue></xades:CertDigest><xades:IssuerSerial><ds:X509IssuerName>` + xmlEscape(k.cert.Issuer.String()) + `</ds:X509IssuerName><ds:X509SerialNumber>` + k.cert.SerialNumber.String() + `</ds:X509SerialNumber></xades:IssuerSerial></xades:Cert></xades:SigningCertificate>`
		if c.xades == "v2" {
			signingCertificate = `<xades:SigningCertificateV2><xades:Cert><xades:CertDigest><ds:DigestMethod Algorithm="` + c.certDigest + `"/><ds:DigestValue>` + certDigest + `</ds:DigestValue></xades:CertDigest></xades:Cert></xades:SigningCertificateV2>`
		}
		sb.WriteString(`
  <ds:Object>
    <xades:QualifyingProperties xmlns:xades="http://uri.etsi.org/01903/v1.3.2#" Target="#Sig-1">
      <xades:SignedProperties Id="SP-1">
        <xades:SignedSignatureProperties>
          <xades:SigningTime>2026-12-01T11:00:00.5+01:00</xades:SigningTime>
          ` + signingCertificate + `
        </xades:SignedSignatureProperties>
      </xades:SignedProperties>
    </xades:QualifyingProperties>
  </ds:Object>`)
	}
	sb.WriteString("\n</ds:Signature>\n")
	end := strings.LastIndex(c.doc, "</AuthTokenRequest>")
	return []byte(c.doc[:end] + sb.String() + c.doc[end:])
}

func xmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// TestVerifyAcceptsXmlsec1Signatures: documents signed by xmlsec1 with
// every canonicalisation, the digests and the signature methods it
// supports (RSA and ECDSA) verify with Verify.
func TestVerifyAcceptsXmlsec1Signatures(t *testing.T) {
	xmlsec1(t)
	keys := testKeys(t)
	cases := []xmlsecCase{
		{name: "rsa-exc", key: "rsa2048", doc: richDoc, siC14N: uExc, refC14N: uExc, digest: uSHA256, method: uRSA256, xades: "v1", certDigest: uSHA256},
		{name: "ecdsa256-exc", key: "p256", doc: richDoc, siC14N: uExc, refC14N: uExc, digest: uSHA256, method: uECDSA256, xades: "v1", certDigest: uSHA256},
		{name: "ecdsa384-sample", key: "p384", doc: sampleDoc, siC14N: uExc, refC14N: uExc, digest: uSHA384, method: uECDSA384, xades: "v1", certDigest: uSHA1},
		{name: "rsa1-c14n10", key: "rsa2048", doc: richDoc, siC14N: uC14N10, refC14N: uC14N10, digest: uSHA1, method: uRSA1, xades: "v1", certDigest: uSHA1},
		{name: "rsa512-c14n11", key: "rsa2048", doc: richDoc, siC14N: uC14N11, refC14N: uC14N11, digest: uSHA512, method: uRSA512, xades: "v1", certDigest: uSHA512},
		{name: "c14n11-comments", key: "p256", doc: richDoc, siC14N: uC14N11C, refC14N: uC14N11C, digest: uSHA256, method: uECDSA256, xades: "v2", certDigest: uSHA256, siComment: true},
		{name: "exc-comments", key: "p256", doc: richDoc, siC14N: uExcCom, refC14N: uExcCom, digest: uSHA256, method: uECDSA512, xades: "v1", certDigest: uSHA384, siComment: true},
		{name: "c14n10-comments-default-transform", key: "rsa2048", doc: richDoc, siC14N: uC14N10C, refC14N: "", digest: uSHA256, method: uRSA256, xades: "v1", certDigest: uSHA256, siComment: true},
		{name: "exc-prefixlist", key: "p256", doc: richDoc, siC14N: uExc, siPrefixes: "xsi z", refC14N: uExc, refPrefix: "xsi unused", digest: uSHA256, method: uECDSA256, xades: "v2", certDigest: uSHA256},
		{name: "crlf", key: "rsa2048", doc: strings.ReplaceAll(richDoc, "\n", "\r\n"), siC14N: uExc, refC14N: uExc, digest: uSHA256, method: uRSA256, xades: "v1", certDigest: uSHA256},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			k := keys[c.key]
			signed := xmlsecSign(t, c.template(k), k)
			if out, err := xmlsecVerify(t, signed, k.certPEM()); err != nil {
				t.Fatalf("xmlsec1 does not verify its own signature: %v\n%s", err, out)
			}
			v, err := Verify(signed)
			if err != nil {
				t.Fatalf("Verify: %v\n%s", err, signed)
			}
			if !v.Certificate.Equal(k.cert) {
				t.Error("wrong certificate")
			}
			if want := time.Date(2026, 12, 1, 10, 0, 0, 5e8, time.UTC); !v.SigningTime.Equal(want) {
				t.Errorf("SigningTime %v, want %v", v.SigningTime, want)
			}
			mustContain(t, v.Document, "Challenge>20250604-CR-461EA5B000-537A6BA15D-D7</")
			if strings.Contains(string(v.Document), "Signature") {
				t.Errorf("Document holds the signature:\n%s", v.Document)
			}
			// And the usual tampering is caught on these signatures too.
			_, err = Verify([]byte(strings.Replace(string(signed), "537A6BA15D", "537A6BA15E", 1)))
			wantKind(t, err, KindInvalidSignature)
		})
	}
}

// TestVerifyPlainXMLDSigFromXmlsec1: a plain XMLDSig enveloped signature
// (no XAdES SignedProperties) made by xmlsec1 passes every cryptographic
// check; Verify refuses it only for the missing XAdES part (ErrNotXAdES).
func TestVerifyPlainXMLDSigFromXmlsec1(t *testing.T) {
	xmlsec1(t)
	keys := testKeys(t)
	for _, c := range []xmlsecCase{
		{name: "rsa", key: "rsa2048", doc: sampleDoc, siC14N: uExc, refC14N: uExc, digest: uSHA256, method: uRSA256},
		{name: "ecdsa", key: "p256", doc: richDoc, siC14N: uExc, refC14N: uExc, digest: uSHA256, method: uECDSA256},
	} {
		t.Run(c.name, func(t *testing.T) {
			k := keys[c.key]
			signed := xmlsecSign(t, c.template(k), k)
			_, err := Verify(signed)
			ve := wantKind(t, err, KindInvalidSignature)
			if !errors.Is(err, ErrNotXAdES) {
				t.Fatalf("want ErrNotXAdES (crypto passed, XAdES missing), got %v", ve)
			}
			// Whereas a broken plain signature fails before the XAdES check.
			tampered := []byte(strings.Replace(string(signed), "537A6BA15D", "537A6BA15E", 1))
			_, err = Verify(tampered)
			wantKind(t, err, KindInvalidSignature)
			if errors.Is(err, ErrNotXAdES) {
				t.Fatal("a tampered plain XMLDSig was reported as only lacking XAdES")
			}
		})
	}
}

var _ = crypto.SHA256
