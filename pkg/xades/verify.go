package xades

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/beevik/etree"
)

// Verify checks the one enveloped XAdES signature of a signed document and
// returns what it proves. Every error is a *VerifyError.
//
// The document must hold exactly one ds:Signature, inside (not being) the
// root element. Verify canonicalises ds:SignedInfo, verifies SignatureValue
// with the key of the first ds:X509Certificate in ds:KeyInfo, then every
// Reference digest; a Reference with URI="" (the document) is required.
// Last it checks XAdES-BES: a xades:SignedProperties inside the signature's
// ds:Object, covered by a Reference, whose xades:SigningCertificate (or
// SigningCertificateV2) has a CertDigest of the KeyInfo certificate. A
// signature that passes everything but this last step fails with
// KindInvalidSignature wrapping ErrNotXAdES.
//
// Verify does not judge the certificate (validity period, chain,
// revocation) nor the document's content.
func Verify(signed []byte) (*Verified, error) {
	v, e := verify(signed)
	if e != nil {
		return nil, e
	}
	return v, nil
}

func verify(data []byte) (*Verified, *VerifyError) {
	p, e := parseDocument(data)
	if e != nil {
		return nil, e
	}
	sigs := descendants(p.root, NamespaceDSig, "Signature")
	switch {
	case len(sigs) == 0:
		return nil, verr(KindNoSignature, nil, "the document holds no ds:Signature")
	case len(sigs) > 1:
		return nil, verr(KindTooManySignatures, nil, "the document holds %d ds:Signature elements, only one is allowed", len(sigs))
	}
	sig := sigs[0]
	if sig == p.root {
		return nil, verr(KindUnsupported, nil, "enveloping signatures (ds:Signature as the root element) are not supported")
	}
	parts, e := signatureParts(sig)
	if e != nil {
		return nil, e
	}

	// SignedInfo: canonicalise it in place, then read everything from the
	// canonical bytes — exactly what the signature value covers.
	cm := parts.signedInfo.ChildElements()
	if len(cm) == 0 || !is(cm[0], NamespaceDSig, "CanonicalizationMethod") {
		return nil, verr(KindInvalidSignature, nil, "SignedInfo must start with CanonicalizationMethod")
	}
	c14nAlg := cm[0].SelectAttrValue("Algorithm", "")
	if !isC14N(c14nAlg) {
		return nil, verr(KindUnsupported, nil, "CanonicalizationMethod %q is not supported", c14nAlg)
	}
	prefixList, e := inclusivePrefixes(cm[0], c14nAlg)
	if e != nil {
		return nil, e
	}
	canonSI, err := canonicalize(detach(parts.signedInfo, c14nAlg), c14nAlg, prefixList)
	if err != nil {
		return nil, verr(KindMalformed, err, "cannot canonicalise SignedInfo")
	}
	si, e := parseSignedInfo(canonSI)
	if e != nil {
		return nil, e
	}
	if si.c14nAlg != c14nAlg || si.prefixList != prefixList {
		return nil, verr(KindInvalidSignature, nil, "SignedInfo changed under canonicalisation")
	}

	cert, e := keyInfoCertificate(parts.keyInfo)
	if e != nil {
		return nil, e
	}
	if e := checkKey(cert.PublicKey, si.method, si.methodURI); e != nil {
		return nil, e
	}
	sv, err := decodeBase64(textOf(parts.signatureValue))
	if err != nil {
		return nil, verr(KindInvalidSignature, err, "bad SignatureValue")
	}
	if err := verifySignatureValue(cert.PublicKey, si.method, canonSI, sv); err != nil {
		return nil, verr(KindInvalidSignature, err, "SignatureValue does not verify with the KeyInfo certificate")
	}

	sp, e := signedPropertiesElement(parts.objects)
	if e != nil {
		return nil, e
	}
	ctx := newDocContext(p, sig)
	var document, spData []byte
	for i, ref := range si.refs {
		data, target, e := ctx.dereference(ref)
		if e != nil {
			return nil, e
		}
		if !bytes.Equal(digestOf(ref.hash, data), ref.digestValue) {
			return nil, verr(KindInvalidSignature, nil, "digest of Reference %d (URI=%q) does not match", i+1, ref.uri)
		}
		if ref.uri == "" && document == nil {
			document = data
		}
		if sp != nil && target == sp && spData == nil {
			spData = data
		}
	}
	if document == nil {
		return nil, verr(KindInvalidSignature, nil, "no Reference with URI=\"\": the document itself is not signed")
	}

	// XAdES-BES.
	if sp == nil {
		return nil, verr(KindInvalidSignature, ErrNotXAdES, "no xades:SignedProperties")
	}
	if spData == nil {
		return nil, verr(KindInvalidSignature, nil, "xades:SignedProperties is not covered by any Reference")
	}
	signingTime, e := checkSignedProperties(spData, cert)
	if e != nil {
		return nil, e
	}
	return &Verified{Certificate: cert, SigningTime: signingTime, Document: document}, nil
}

type sigParts struct {
	signedInfo, signatureValue, keyInfo *etree.Element
	objects                             []*etree.Element
}

// signatureParts checks the shape of ds:Signature:
// SignedInfo, SignatureValue, KeyInfo?, Object*.
func signatureParts(sig *etree.Element) (*sigParts, *VerifyError) {
	for _, t := range sig.Child {
		if cd, ok := t.(*etree.CharData); ok && strings.TrimSpace(cd.Data) != "" {
			return nil, verr(KindInvalidSignature, nil, "text inside ds:Signature")
		}
	}
	kids := sig.ChildElements()
	if len(kids) < 2 || !is(kids[0], NamespaceDSig, "SignedInfo") || !is(kids[1], NamespaceDSig, "SignatureValue") {
		return nil, verr(KindInvalidSignature, nil, "ds:Signature must start with SignedInfo and SignatureValue")
	}
	parts := &sigParts{signedInfo: kids[0], signatureValue: kids[1]}
	kids = kids[2:]
	if len(kids) > 0 && is(kids[0], NamespaceDSig, "KeyInfo") {
		parts.keyInfo = kids[0]
		kids = kids[1:]
	}
	for _, k := range kids {
		if !is(k, NamespaceDSig, "Object") {
			return nil, verr(KindInvalidSignature, nil, "unexpected <%s> in ds:Signature", k.FullTag())
		}
		parts.objects = append(parts.objects, k)
	}
	return parts, nil
}

type signedInfo struct {
	c14nAlg, prefixList string
	methodURI           string
	method              signatureAlgorithm
	refs                []*reference
}

// parseSignedInfo reads canonical SignedInfo bytes.
func parseSignedInfo(canonical []byte) (*signedInfo, *VerifyError) {
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(canonical); err != nil {
		return nil, verr(KindMalformed, err, "cannot re-read canonical SignedInfo")
	}
	kids := doc.Root().ChildElements()
	if len(kids) < 3 || !is(kids[0], NamespaceDSig, "CanonicalizationMethod") || !is(kids[1], NamespaceDSig, "SignatureMethod") {
		return nil, verr(KindInvalidSignature, nil, "SignedInfo must hold CanonicalizationMethod, SignatureMethod, Reference+")
	}
	si := &signedInfo{c14nAlg: kids[0].SelectAttrValue("Algorithm", "")}
	pl, e := inclusivePrefixes(kids[0], si.c14nAlg)
	if e != nil {
		return nil, e
	}
	si.prefixList = pl
	si.methodURI = kids[1].SelectAttrValue("Algorithm", "")
	m, ok := signatureAlgorithms[si.methodURI]
	if !ok || !m.hash.Available() {
		return nil, verr(KindUnsupported, nil, "SignatureMethod %q is not supported", si.methodURI)
	}
	for _, param := range kids[1].ChildElements() {
		// RSASSA-PSS parameters are tolerated: any salt length is accepted
		// and MGF1 uses the signature's hash.
		if m.key != keyRSAPSS || param.Tag != "RSAPSSParams" {
			return nil, verr(KindUnsupported, nil, "unsupported SignatureMethod parameter <%s>", param.FullTag())
		}
	}
	si.method = m
	refs := kids[2:]
	if len(refs) > maxReferences {
		return nil, verr(KindUnsupported, nil, "more than %d References", maxReferences)
	}
	for _, r := range refs {
		if !is(r, NamespaceDSig, "Reference") {
			return nil, verr(KindInvalidSignature, nil, "unexpected <%s> in SignedInfo", r.FullTag())
		}
		ref, e := parseReference(r)
		if e != nil {
			return nil, e
		}
		si.refs = append(si.refs, ref)
	}
	return si, nil
}

// keyInfoCertificate returns the first ds:X509Certificate of ds:KeyInfo.
func keyInfoCertificate(ki *etree.Element) (*x509.Certificate, *VerifyError) {
	if ki == nil {
		return nil, verr(KindInvalidSignature, nil, "no ds:KeyInfo: the signing certificate is missing")
	}
	for _, xd := range childElements(ki, NamespaceDSig, "X509Data") {
		for _, xc := range childElements(xd, NamespaceDSig, "X509Certificate") {
			der, err := decodeBase64(textOf(xc))
			if err != nil {
				return nil, verr(KindInvalidSignature, err, "bad X509Certificate encoding")
			}
			cert, err := x509.ParseCertificate(der)
			if err != nil {
				if strings.Contains(err.Error(), "unsupported elliptic curve") {
					return nil, verr(KindUnsupported, err, "the signing certificate's elliptic curve is not supported")
				}
				return nil, verr(KindInvalidSignature, err, "cannot parse the KeyInfo certificate")
			}
			return cert, nil
		}
	}
	return nil, verr(KindInvalidSignature, nil, "no ds:X509Certificate in ds:KeyInfo: the signing certificate is missing")
}

// checkKey checks that the certificate's key fits the signature method and
// is strong enough.
func checkKey(pub any, m signatureAlgorithm, uri string) *VerifyError {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if m.key != keyRSA && m.key != keyRSAPSS {
			return verr(KindInvalidSignature, nil, "SignatureMethod %q does not fit the certificate's RSA key", uri)
		}
		if k.N.BitLen() < minRSABits {
			return verr(KindUnsupported, nil, "RSA key of %d bits, at least %d required", k.N.BitLen(), minRSABits)
		}
	case *ecdsa.PublicKey:
		if m.key != keyECDSA {
			return verr(KindInvalidSignature, nil, "SignatureMethod %q does not fit the certificate's EC key", uri)
		}
		if bits := k.Curve.Params().BitSize; bits < minCurveBits {
			return verr(KindUnsupported, nil, "EC curve of %d bits, at least %d required", bits, minCurveBits)
		}
	default:
		return verr(KindUnsupported, nil, "certificate key type %T is not supported", pub)
	}
	return nil
}

// verifySignatureValue verifies sig over signed. ECDSA values are R‖S.
func verifySignatureValue(pub any, m signatureAlgorithm, signed, sig []byte) error {
	digest := digestOf(m.hash, signed)
	switch m.key {
	case keyRSA:
		return rsa.VerifyPKCS1v15(pub.(*rsa.PublicKey), m.hash, digest, sig)
	case keyRSAPSS:
		return rsa.VerifyPSS(pub.(*rsa.PublicKey), m.hash, digest, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto})
	case keyECDSA:
		k := pub.(*ecdsa.PublicKey)
		n := (k.Curve.Params().BitSize + 7) / 8
		if len(sig) != 2*n {
			return fmt.Errorf("ECDSA SignatureValue must be R‖S of %d bytes, got %d", 2*n, len(sig))
		}
		r := new(big.Int).SetBytes(sig[:n])
		s := new(big.Int).SetBytes(sig[n:])
		if !ecdsa.Verify(k, digest, r, s) {
			return errors.New("ECDSA verification failed")
		}
		return nil
	}
	return errors.New("unknown key algorithm")
}

// signedPropertiesElement finds ds:Object/xades:QualifyingProperties/xades:SignedProperties.
func signedPropertiesElement(objects []*etree.Element) (*etree.Element, *VerifyError) {
	var found []*etree.Element
	for _, o := range objects {
		for _, qp := range childElements(o, NamespaceXAdES, "QualifyingProperties") {
			found = append(found, childElements(qp, NamespaceXAdES, "SignedProperties")...)
		}
	}
	switch len(found) {
	case 0:
		return nil, nil
	case 1:
		return found[0], nil
	}
	return nil, verr(KindInvalidSignature, nil, "more than one xades:SignedProperties")
}

// checkSignedProperties reads the digested SignedProperties and checks
// SigningCertificate against cert. It returns SigningTime.
func checkSignedProperties(data []byte, cert *x509.Certificate) (time.Time, *VerifyError) {
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(data); err != nil || doc.Root() == nil || !is(doc.Root(), NamespaceXAdES, "SignedProperties") {
		return time.Time{}, verr(KindInvalidSignature, err, "the SignedProperties Reference does not yield xades:SignedProperties")
	}
	ssps := childElements(doc.Root(), NamespaceXAdES, "SignedSignatureProperties")
	if len(ssps) != 1 {
		return time.Time{}, verr(KindInvalidSignature, ErrNotXAdES, "xades:SignedProperties must hold one SignedSignatureProperties")
	}
	ssp := ssps[0]
	var signingTime time.Time
	switch sts := childElements(ssp, NamespaceXAdES, "SigningTime"); len(sts) {
	case 0:
	case 1:
		t, err := parseDateTime(textOf(sts[0]))
		if err != nil {
			return time.Time{}, verr(KindInvalidSignature, err, "bad xades:SigningTime")
		}
		signingTime = t
	default:
		return time.Time{}, verr(KindInvalidSignature, nil, "more than one xades:SigningTime")
	}
	scs := append(childElements(ssp, NamespaceXAdES, "SigningCertificate"), childElements(ssp, NamespaceXAdES, "SigningCertificateV2")...)
	if len(scs) == 0 {
		return time.Time{}, verr(KindInvalidSignature, ErrNotXAdES, "no xades:SigningCertificate")
	}
	for _, sc := range scs {
		for _, c := range childElements(sc, NamespaceXAdES, "Cert") {
			cds := childElements(c, NamespaceXAdES, "CertDigest")
			if len(cds) != 1 {
				return time.Time{}, verr(KindInvalidSignature, nil, "xades:Cert must hold one CertDigest")
			}
			dms := childElements(cds[0], NamespaceDSig, "DigestMethod")
			dvs := childElements(cds[0], NamespaceDSig, "DigestValue")
			if len(dms) != 1 || len(dvs) != 1 {
				return time.Time{}, verr(KindInvalidSignature, nil, "xades:CertDigest must hold DigestMethod and DigestValue")
			}
			alg := dms[0].SelectAttrValue("Algorithm", "")
			h, ok := digestAlgorithms[alg]
			if !ok || !h.Available() {
				return time.Time{}, verr(KindUnsupported, nil, "CertDigest DigestMethod %q is not supported", alg)
			}
			want, err := decodeBase64(textOf(dvs[0]))
			if err != nil {
				return time.Time{}, verr(KindInvalidSignature, err, "bad CertDigest DigestValue")
			}
			if bytes.Equal(digestOf(h, cert.Raw), want) {
				return signingTime, nil
			}
		}
	}
	return time.Time{}, verr(KindInvalidSignature, nil, "xades:SigningCertificate does not match the KeyInfo certificate")
}

// parseDateTime parses an xsd:dateTime; one without a time zone is taken as UTC.
func parseDateTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		var err2 error
		if t, err2 = time.Parse("2006-01-02T15:04:05.999999999", s); err2 != nil {
			return time.Time{}, err
		}
	}
	return t.UTC(), nil
}
