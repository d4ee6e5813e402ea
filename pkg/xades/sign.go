package xades

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/beevik/etree"
)

// Sign appends an enveloped XAdES-BES signature as the last child of doc's
// root element and returns the signed document bytes.
//
// key must be an RSA key of at least 2048 bits (signed with rsa-sha256,
// PKCS#1 v1.5) or an ECDSA key on P-256, P-384 or P-521 (ecdsa-sha256,
// -sha384, -sha512; SignatureValue is R‖S), and cert must carry its public
// key. doc must be well-formed UTF-8 XML without a DOCTYPE and without a
// ds:Signature, at most MaxDocumentSize bytes. The bytes of doc are kept as
// they are (XML declaration, formatting, comments): the signature is
// inserted just before the root's end tag. Before returning, Sign checks
// its result with Verify.
func Sign(doc []byte, key crypto.Signer, cert *x509.Certificate, o SignOptions) ([]byte, error) {
	if key == nil || cert == nil {
		return nil, errors.New("xades: Sign needs a key and a certificate")
	}
	method, hash, ecSize, err := signingMethod(key.Public())
	if err != nil {
		return nil, err
	}
	if pk, ok := cert.PublicKey.(interface{ Equal(crypto.PublicKey) bool }); !ok || !pk.Equal(key.Public()) {
		return nil, errors.New("xades: the certificate does not carry the signing key's public key")
	}
	p, e := parseDocument(doc)
	if e != nil {
		return nil, fmt.Errorf("xades: cannot sign the document: %w", e)
	}
	if len(descendants(p.root, NamespaceDSig, "Signature")) > 0 {
		return nil, errors.New("xades: the document already holds a ds:Signature")
	}
	signingTime := o.SigningTime
	if signingTime.IsZero() {
		signingTime = time.Now()
	}
	sigID, spID := "Signature-"+randomID(), "SignedProperties-"+randomID()

	s := buildSignature(sigID, spID, method, cert, o.Chain, signingTime)
	p.root.AddChild(s.sig)

	// Digest the references as a verifier will: in place, in the final tree.
	ctx := newDocContext(p, s.sig)
	for _, r := range s.refs {
		ref, e := parseReference(r.el)
		if e != nil {
			return nil, fmt.Errorf("xades: internal error: %w", e)
		}
		data, _, e := ctx.dereference(ref)
		if e != nil {
			return nil, fmt.Errorf("xades: cannot digest the document: %w", e)
		}
		r.digestValue.SetText(base64.StdEncoding.EncodeToString(digestOf(ref.hash, data)))
	}
	canonSI, err := canonicalize(detach(s.signedInfo, algExcC14N), algExcC14N, "")
	if err != nil {
		return nil, fmt.Errorf("xades: cannot canonicalise SignedInfo: %w", err)
	}
	sv, err := key.Sign(rand.Reader, digestOf(hash, canonSI), hash)
	if err != nil {
		return nil, fmt.Errorf("xades: signing failed: %w", err)
	}
	if ecSize > 0 {
		if sv, err = ecdsaRawSignature(sv, ecSize); err != nil {
			return nil, err
		}
	}
	s.signatureValue.SetText(base64.StdEncoding.EncodeToString(sv))

	out, err := splice(doc, p, s.sig)
	if err != nil {
		return nil, err
	}
	v, err := Verify(out)
	if err != nil {
		return nil, fmt.Errorf("xades: internal error: the signature made does not verify: %w", err)
	}
	if !v.Certificate.Equal(cert) {
		return nil, errors.New("xades: internal error: the signature made verifies with another certificate")
	}
	return out, nil
}

// signingMethod picks the SignatureMethod for a public key.
func signingMethod(pub crypto.PublicKey) (method string, hash crypto.Hash, ecSize int, err error) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < minRSABits {
			return "", 0, 0, fmt.Errorf("xades: RSA key of %d bits, KSeF requires at least %d", k.N.BitLen(), minRSABits)
		}
		return algSignatureRSASHA256, crypto.SHA256, 0, nil
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return algSignatureECDSASHA256, crypto.SHA256, 32, nil
		case elliptic.P384():
			return algSignatureECDSASHA384, crypto.SHA384, 48, nil
		case elliptic.P521():
			return algSignatureECDSASHA512, crypto.SHA512, 66, nil
		}
		return "", 0, 0, fmt.Errorf("xades: ECDSA curve %s is not supported (use P-256 or P-384)", k.Curve.Params().Name)
	}
	return "", 0, 0, fmt.Errorf("xades: key type %T is not supported (use RSA ≥ 2048 bits or ECDSA P-256/P-384)", pub)
}

// ecdsaRawSignature converts the ASN.1 DER ECDSA signature a crypto.Signer
// returns into the fixed-width R‖S form XML Signature requires.
func ecdsaRawSignature(der []byte, size int) ([]byte, error) {
	var rs struct{ R, S *big.Int }
	rest, err := asn1.Unmarshal(der, &rs)
	if err != nil || len(rest) > 0 {
		if len(der) == 2*size { // the signer already returned R‖S
			return der, nil
		}
		return nil, fmt.Errorf("xades: the signer returned an ECDSA signature that is not ASN.1 DER")
	}
	if rs.R.Sign() <= 0 || rs.S.Sign() <= 0 || rs.R.BitLen() > 8*size || rs.S.BitLen() > 8*size {
		return nil, errors.New("xades: the signer returned an invalid ECDSA signature")
	}
	out := make([]byte, 2*size)
	rs.R.FillBytes(out[:size])
	rs.S.FillBytes(out[size:])
	return out, nil
}

func randomID() string {
	b := make([]byte, 10)
	rand.Read(b)
	return hex.EncodeToString(b)
}

type builtRef struct {
	el, digestValue *etree.Element
}

type builtSignature struct {
	sig, signedInfo, signatureValue *etree.Element
	refs                            []builtRef
}

// buildSignature builds the ds:Signature element with empty digest and
// signature values.
func buildSignature(sigID, spID, method string, cert *x509.Certificate, chain []*x509.Certificate, signingTime time.Time) *builtSignature {
	b := &builtSignature{}
	sig := etree.NewElement("ds:Signature")
	sig.CreateAttr("xmlns:ds", NamespaceDSig)
	sig.CreateAttr("Id", sigID)
	b.sig = sig

	si := sig.CreateElement("ds:SignedInfo")
	b.signedInfo = si
	si.CreateElement("ds:CanonicalizationMethod").CreateAttr("Algorithm", algExcC14N)
	si.CreateElement("ds:SignatureMethod").CreateAttr("Algorithm", method)
	addRef := func(uri, typ string, transforms ...string) {
		r := si.CreateElement("ds:Reference")
		if typ != "" {
			r.CreateAttr("Type", typ)
		}
		r.CreateAttr("URI", uri)
		ts := r.CreateElement("ds:Transforms")
		for _, t := range transforms {
			ts.CreateElement("ds:Transform").CreateAttr("Algorithm", t)
		}
		r.CreateElement("ds:DigestMethod").CreateAttr("Algorithm", algDigestSHA256)
		b.refs = append(b.refs, builtRef{el: r, digestValue: r.CreateElement("ds:DigestValue")})
	}
	addRef("", "", algEnvelopedSignature, algExcC14N)
	addRef("#"+spID, TypeSignedProperties, algExcC14N)

	b.signatureValue = sig.CreateElement("ds:SignatureValue")

	xd := sig.CreateElement("ds:KeyInfo").CreateElement("ds:X509Data")
	for _, c := range append([]*x509.Certificate{cert}, chain...) {
		if c != nil {
			xd.CreateElement("ds:X509Certificate").SetText(base64.StdEncoding.EncodeToString(c.Raw))
		}
	}

	qp := sig.CreateElement("ds:Object").CreateElement("xades:QualifyingProperties")
	qp.CreateAttr("xmlns:xades", NamespaceXAdES)
	qp.CreateAttr("Target", "#"+sigID)
	sp := qp.CreateElement("xades:SignedProperties")
	sp.CreateAttr("Id", spID)
	ssp := sp.CreateElement("xades:SignedSignatureProperties")
	ssp.CreateElement("xades:SigningTime").SetText(signingTime.UTC().Format("2006-01-02T15:04:05Z"))
	c := ssp.CreateElement("xades:SigningCertificate").CreateElement("xades:Cert")
	cd := c.CreateElement("xades:CertDigest")
	cd.CreateElement("ds:DigestMethod").CreateAttr("Algorithm", algDigestSHA256)
	cd.CreateElement("ds:DigestValue").SetText(base64.StdEncoding.EncodeToString(digestOf(crypto.SHA256, cert.Raw)))
	is := c.CreateElement("xades:IssuerSerial")
	is.CreateElement("ds:X509IssuerName").SetText(cert.Issuer.String())
	is.CreateElement("ds:X509SerialNumber").SetText(cert.SerialNumber.String())
	return b
}

// splice inserts the serialised signature into the original bytes just
// before the root element's end tag (turning "<root/>" into
// "<root>…</root>"), leaving every other byte untouched.
func splice(doc []byte, p *parsedDoc, sig *etree.Element) ([]byte, error) {
	d := etree.NewDocument()
	d.SetRoot(sig.Copy())
	sigBytes, err := d.WriteToBytes()
	if err != nil {
		return nil, fmt.Errorf("xades: cannot serialise the signature: %w", err)
	}
	out := make([]byte, 0, len(doc)+len(sigBytes)+len(p.root.FullTag())+4)
	out = append(out, doc[:p.rootEnd]...)
	if p.selfClosing {
		out = append(out, '>')
		out = append(out, sigBytes...)
		out = append(out, "</"+p.root.FullTag()+">"...)
		return append(out, doc[p.rootEnd+2:]...), nil
	}
	out = append(out, sigBytes...)
	return append(out, doc[p.rootEnd:]...), nil
}
