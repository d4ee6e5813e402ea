// Package xades owns the XAdES-BES enveloped signatures that KSeF 2.0 uses to
// authenticate: it signs an XML document (in practice an AuthTokenRequest,
// namespace http://ksef.mf.gov.pl/auth/token/2.0) with a certificate and its
// private key, and it verifies such a signature made by any client.
//
// Sign produces exactly one profile, the one KSeF documents and every KSeF
// client library uses: an enveloped ds:Signature appended as the last child of
// the root element, exclusive canonicalisation, SHA-256 digests, RSA
// PKCS#1 v1.5 (rsa-sha256) or ECDSA (ecdsa-sha256 for P-256, ecdsa-sha384 for
// P-384, ecdsa-sha512 for P-521, SignatureValue as the fixed-width R‖S
// concatenation) and xades:SignedProperties with SigningTime and
// SigningCertificate (SHA-256 CertDigest and IssuerSerial). Apart from the
// inserted signature the document is returned byte for byte as given.
//
// Verify accepts what KSeF accepts (see auth/podpis-xades.md of the KSeF
// documentation) as far as this package implements it:
//
//   - signature methods rsa-sha1/256/384/512, RSASSA-PSS
//     sha1/sha256/sha384/sha512/sha3-*-rsa-MGF1 (any salt length) and
//     ecdsa-sha1/256/384/512 and ecdsa-sha3-* (R‖S); RSA keys of at least
//     2048 bits, EC curves of at least 256 bits;
//   - digest methods sha1, sha256, sha384, sha512, sha3-256/384/512;
//   - transforms and canonicalisation enveloped-signature, exclusive C14N
//     (with or without comments, with an InclusiveNamespaces PrefixList),
//     C14N 1.0 and C14N 1.1 (with or without comments);
//   - references URI="" (the whole document) and URI="#id" (the element whose
//     Id, ID or id attribute is id, which must be unique in the document).
//
// Everything else is refused with KindUnsupported, in particular: enveloping
// signatures (ds:Signature as the root element, the signed data inside
// ds:Object), detached or external references, XPointer URIs, the XPath,
// XPath Filter 2.0, base64 and XSLT transforms, a transform after a
// canonicalisation, and the "#default" token in an InclusiveNamespaces
// PrefixList.
//
// Other limits of Verify: the signing certificate is the first
// ds:X509Certificate of ds:KeyInfo; xades:SigningCertificate is matched by
// CertDigest only (IssuerSerial is not compared); any ds:Signature counts
// towards KindTooManySignatures, counter-signatures included; the xml:base
// fix-up of C14N 1.1 is not implemented; input is bounded (MaxDocumentSize,
// 64 levels of nesting, 10000 elements, 64 attributes per element, 256
// namespace declarations, 8 References) and beyond that KindMalformed or
// KindUnsupported.
//
// Verify checks the signature's cryptography and its XAdES-BES binding to the
// certificate in ds:KeyInfo; it does not decide whether that certificate is
// trusted (chain, validity period, revocation, qualified status): that is the
// caller's job, with Verified.Certificate.
//
// Canonicalisation is done with goxmldsig's canonicalisers on etree trees,
// with three corrections applied around them so that the digests agree with
// other implementations (libxml2/xmlsec1, .NET, Java): attribute values are
// normalised as the XML specification requires (encoding/xml does not), the
// in-scope namespace declarations of a referenced element are carried into
// the canonicalised subtree, and attributes in different namespaces are
// ordered by namespace URI.
package xades

import (
	"crypto/x509"
	"errors"
	"fmt"
	"time"
)

// Namespaces and algorithm identifiers used by the signatures this package makes.
const (
	// NamespaceDSig is the XML Signature namespace (prefix "ds").
	NamespaceDSig = "http://www.w3.org/2000/09/xmldsig#"
	// NamespaceXAdES is the XAdES 1.3.2 namespace (prefix "xades").
	NamespaceXAdES = "http://uri.etsi.org/01903/v1.3.2#"
	// TypeSignedProperties is the Reference Type of the SignedProperties reference.
	TypeSignedProperties = "http://uri.etsi.org/01903#SignedProperties"
)

// MaxDocumentSize is the largest document Sign and Verify accept (1 MiB).
// Larger input is refused as KindMalformed.
const MaxDocumentSize = 1 << 20

// SignOptions tunes Sign. The zero value is ready to use.
type SignOptions struct {
	// SigningTime is written to xades:SigningTime (in UTC, whole seconds).
	// Zero means time.Now().
	SigningTime time.Time
	// Chain holds extra certificates (e.g. intermediates) written to
	// ds:KeyInfo after the signing certificate. Optional.
	Chain []*x509.Certificate
}

// Verified is what a successful Verify proves.
type Verified struct {
	// Certificate is the signing certificate: the first ds:X509Certificate in
	// ds:KeyInfo, whose key verified SignatureValue and whose digest matched
	// xades:SigningCertificate. Its trust is not checked.
	Certificate *x509.Certificate
	// SigningTime is xades:SigningTime from the signed SignedProperties, in
	// UTC; zero when the element is absent.
	SigningTime time.Time
	// Document is the signed data: the document without the signature
	// element, canonicalised exactly as it was digested by the URI=""
	// reference. Read the signed content (Challenge etc.) only from here.
	Document []byte
}

// Kind classifies a verification failure so that callers can map it to
// KSeF's exception codes.
type Kind int

const (
	// KindMalformed: the input is not well-formed or not readable XML (too
	// large, a DOCTYPE, a non-UTF-8 encoding, undeclared prefixes, ...).
	// KSeF 21001 / 9101.
	KindMalformed Kind = iota + 1
	// KindNoSignature: the document holds no ds:Signature. KSeF 9102.
	KindNoSignature
	// KindTooManySignatures: the document holds more than one ds:Signature
	// (wherever they are). KSeF 9103.
	KindTooManySignatures
	// KindUnsupported: an algorithm, transform, reference form, signature
	// form (enveloping) or key size outside the accepted lists.
	KindUnsupported
	// KindInvalidSignature: the signature does not prove anything: a digest
	// or signature value mismatch, a missing or mismatching
	// SigningCertificate, a missing certificate, a malformed signature
	// element, no reference to the document. KSeF 9105.
	KindInvalidSignature
)

// String returns the kind's name, e.g. "invalid signature".
func (k Kind) String() string {
	switch k {
	case KindMalformed:
		return "malformed document"
	case KindNoSignature:
		return "no signature"
	case KindTooManySignatures:
		return "too many signatures"
	case KindUnsupported:
		return "unsupported"
	case KindInvalidSignature:
		return "invalid signature"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// VerifyError is the error type of Verify.
type VerifyError struct {
	Kind Kind   // what went wrong, for mapping to KSeF codes
	Msg  string // human-readable detail
	Err  error  // underlying cause, if any (see ErrNotXAdES)
}

// Error implements error.
func (e *VerifyError) Error() string {
	s := "xades: " + e.Kind.String()
	if e.Msg != "" {
		s += ": " + e.Msg
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the underlying cause.
func (e *VerifyError) Unwrap() error { return e.Err }

// ErrNotXAdES is wrapped (with KindInvalidSignature) when a signature is a
// valid XMLDSig signature — its SignatureValue and all reference digests
// verified with the KeyInfo certificate and it signs the document — but it is
// not XAdES-BES: it lacks xades:SignedProperties with a SigningCertificate.
// Verify checks the XAdES part last, so errors.Is(err, ErrNotXAdES) implies
// the cryptographic part passed.
var ErrNotXAdES = errors.New("the XMLDSig signature is valid but has no XAdES SignedProperties with SigningCertificate")

func verr(k Kind, err error, format string, args ...any) *VerifyError {
	return &VerifyError{Kind: k, Msg: fmt.Sprintf(format, args...), Err: err}
}
