package qr

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"strings"
	"time"

	"github.com/ksefpl/ksefpl/internal/lazyre"
	"github.com/ksefpl/ksefpl/pkg/certificate"
	"github.com/ksefpl/ksefpl/pkg/kcert"
	"github.com/ksefpl/ksefpl/pkg/nip"
	"github.com/ksefpl/ksefpl/pkg/store"
	"github.com/ksefpl/ksefpl/pkg/website"
)

// LabelCertificate is printed under KOD II, the certificate verification code.
const LabelCertificate = "CERTYFIKAT"

// The context identifier types a KOD II link may carry (ContextIdentifier of the
// authentication the invoice is issued under).
const (
	ContextNip        = "Nip"
	ContextInternalID = "InternalId"
	ContextNipVatUE   = "NipVatUe"
	ContextPeppolID   = "PeppolId"
)

// Signature parameters of KOD II.
const (
	// PSSSaltLength is the RSASSA-PSS salt length KSeF expects, in bytes (not the
	// maximum the key allows).
	PSSSaltLength = 32
	// MinRSABits is the smallest RSA key KSeF accepts for KOD II.
	MinRSABits = 2048
	// p256Size is the length of r and of s in an IEEE P1363 P-256 signature.
	p256Size = 32
)

// pathCertificate is the path segment that starts the KOD II part of the link.
const pathCertificate = "certificate"

var (
	reInternalID = lazyre.New(`^([0-9]{10})-[0-9]{5}$`)
	reNipVatUE   = lazyre.New(`^([0-9]{10})-[A-Z]{2}[A-Z0-9+*]{2,13}$`)
	rePeppolID   = lazyre.New(`^P[A-Z]{2}[0-9]{6}$`)
	reSerial     = lazyre.New(`^[0-9A-F]{1,40}$`)
)

// CertificateLinkParams are the parts of a KOD II link before its signature.
type CertificateLinkParams struct {
	// ContextType is ContextNip, ContextInternalID, ContextNipVatUE or ContextPeppolID
	// (matched without regard to case, written as listed).
	ContextType string
	// ContextValue identifies the context the invoice is issued in (for ContextNip:
	// the NIP authenticated as, normally the seller's).
	ContextValue string
	// SellerNIP is the invoice's Podmiot1 NIP.
	SellerNIP string
	// Serial is the KSeF certificate's serial number in upper-case hex, as KSeF writes
	// it (kcert.SerialHex, e.g. 01F20A5D352AE590).
	Serial string
	// Hash is the Base64URL SHA-256 of the exact invoice bytes (HashBase64URL).
	Hash string
}

// CertificateSignedData returns the string a KOD II signature covers: the link without
// its scheme (https://, or http:// for the local simulator) and without the signature,
// {host[/path]}/certificate/{type}/{value}/{seller NIP}/{serial}/{hash}, e.g.
// qr-test.ksef.mf.gov.pl/certificate/Nip/1111111111/1111111111/01F20A5D352AE590/UtQp9Gpc51y-u3xApZjIjgkpZ01js-J8KflSPW8WzIE.
// base is the environment's QR address (ksef.Endpoints.QR). Bad values give an
// *InputError.
func CertificateSignedData(base string, p CertificateLinkParams) (string, error) {
	b, err := checkBase(base)
	if err != nil {
		return "", err
	}
	if p, err = checkCertificateParams(p); err != nil {
		return "", err
	}
	_, rest, _ := strings.Cut(b, "://")
	return rest + "/" + pathCertificate + "/" + p.ContextType + "/" + p.ContextValue + "/" + p.SellerNIP + "/" + p.Serial + "/" + p.Hash, nil
}

// CertificateLink assembles the KOD II link
// {base}/certificate/{type}/{value}/{seller NIP}/{serial}/{hash}/{signature} from its
// parts and a signature already made over CertificateSignedData (Base64URL-encoded
// here, without padding). It does not check the signature; SignCertificateLink signs.
func CertificateLink(base string, p CertificateLinkParams, signature []byte) (string, error) {
	data, err := CertificateSignedData(base, p)
	if err != nil {
		return "", err
	}
	if len(signature) == 0 {
		return "", &InputError{Field: "signature", Msg: "empty: KOD II needs the signature of its link"}
	}
	b, _ := checkBase(base)
	scheme, _, _ := strings.Cut(b, "://")
	return scheme + "://" + data + "/" + base64.RawURLEncoding.EncodeToString(signature), nil
}

// SignCertificateLink builds the KOD II link of p signed with key (see
// SignCertificateData). It checks only the parameters and the key type: whether the
// key belongs to a KSeF certificate of type Offline is the caller's business
// (NewCertificateCode checks it).
func SignCertificateLink(base string, p CertificateLinkParams, key crypto.Signer) (string, error) {
	data, err := CertificateSignedData(base, p)
	if err != nil {
		return "", err
	}
	sig, err := SignCertificateData(key, data)
	if err != nil {
		return "", err
	}
	return CertificateLink(base, p, sig)
}

// SignCertificateData signs data (CertificateSignedData) as KOD II requires: SHA-256 of
// data, then for ECDSA P-256 a signature in IEEE P1363 form (R‖S, 32 bytes each,
// big-endian) and for RSA (2048 bits or more) RSASSA-PSS with MGF1-SHA-256 and a
// 32-byte salt. Any other key gives an *UnsupportedKeyError.
func SignCertificateData(key crypto.Signer, data string) ([]byte, error) {
	if key == nil {
		return nil, &UnsupportedKeyError{Key: "none"}
	}
	if err := checkSigningKey(key.Public()); err != nil {
		return nil, err
	}
	digest := sha256.Sum256([]byte(data))
	switch key.Public().(type) {
	case *ecdsa.PublicKey:
		der, err := key.Sign(rand.Reader, digest[:], crypto.SHA256)
		if err != nil {
			return nil, fmt.Errorf("qr: ECDSA signature of KOD II: %w", err)
		}
		sig, err := p1363FromDER(der)
		if err != nil {
			return nil, fmt.Errorf("qr: ECDSA signature of KOD II: %w", err)
		}
		return sig, nil
	default: // *rsa.PublicKey, checked above
		sig, err := key.Sign(rand.Reader, digest[:], &rsa.PSSOptions{SaltLength: PSSSaltLength, Hash: crypto.SHA256})
		if err != nil {
			return nil, fmt.Errorf("qr: RSA-PSS signature of KOD II: %w", err)
		}
		return sig, nil
	}
}

// checkSigningKey accepts the public keys KOD II can be signed with: ECDSA P-256 and
// RSA of at least MinRSABits bits.
func checkSigningKey(pub crypto.PublicKey) error {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			name := "unknown curve"
			if k.Curve != nil && k.Curve.Params() != nil {
				name = k.Curve.Params().Name
			}
			return &UnsupportedKeyError{Key: "ECDSA " + name}
		}
		return nil
	case *rsa.PublicKey:
		if k.N == nil || k.N.BitLen() < MinRSABits {
			bits := 0
			if k.N != nil {
				bits = k.N.BitLen()
			}
			return &UnsupportedKeyError{Key: fmt.Sprintf("RSA %d-bit", bits)}
		}
		return nil
	case nil:
		return &UnsupportedKeyError{Key: "none"}
	default:
		return &UnsupportedKeyError{Key: fmt.Sprintf("%T", pub)}
	}
}

// ecdsaSig is the ASN.1 DER form of an ECDSA signature (RFC 3279).
type ecdsaSig struct{ R, S *big.Int }

// p1363FromDER turns an ASN.1 DER ECDSA P-256 signature into R‖S.
func p1363FromDER(der []byte) ([]byte, error) {
	var s ecdsaSig
	rest, err := asn1.Unmarshal(der, &s)
	if err != nil || len(rest) != 0 || s.R == nil || s.S == nil || s.R.Sign() <= 0 || s.S.Sign() <= 0 ||
		s.R.BitLen() > 8*p256Size || s.S.BitLen() > 8*p256Size {
		return nil, errors.New("the signer returned a malformed ECDSA signature")
	}
	out := make([]byte, 2*p256Size)
	s.R.FillBytes(out[:p256Size])
	s.S.FillBytes(out[p256Size:])
	return out, nil
}

// checkCertificateParams validates p and writes its context type as KSeF spells it.
func checkCertificateParams(p CertificateLinkParams) (CertificateLinkParams, error) {
	switch strings.ToLower(strings.TrimSpace(p.ContextType)) {
	case strings.ToLower(ContextNip):
		p.ContextType = ContextNip
		if err := nip.Validate(p.ContextValue); err != nil {
			return p, &InputError{Field: "context identifier", Msg: err.Error(), Err: err}
		}
	case strings.ToLower(ContextInternalID):
		p.ContextType = ContextInternalID
		if err := checkCompound(reInternalID, p.ContextValue, "{NIP}-{5 digits}"); err != nil {
			return p, err
		}
	case strings.ToLower(ContextNipVatUE):
		p.ContextType = ContextNipVatUE
		if err := checkCompound(reNipVatUE, p.ContextValue, "{NIP}-{EU VAT number}"); err != nil {
			return p, err
		}
	case strings.ToLower(ContextPeppolID):
		p.ContextType = ContextPeppolID
		if !rePeppolID.MatchString(p.ContextValue) {
			return p, &InputError{Field: "context identifier", Msg: fmt.Sprintf("%q is not a PeppolId (P, two letters, six digits)", p.ContextValue)}
		}
	default:
		return p, &InputError{Field: "context identifier type", Msg: fmt.Sprintf("%q is not one of %s, %s, %s, %s",
			p.ContextType, ContextNip, ContextInternalID, ContextNipVatUE, ContextPeppolID)}
	}
	if err := nip.Validate(p.SellerNIP); err != nil {
		return p, &InputError{Field: "seller NIP", Msg: err.Error(), Err: err}
	}
	if !reSerial.MatchString(p.Serial) {
		return p, &InputError{Field: "certificate serial", Msg: fmt.Sprintf("%q is not a serial number in upper-case hex (e.g. 01F20A5D352AE590)", p.Serial)}
	}
	if raw, err := base64.RawURLEncoding.Strict().DecodeString(p.Hash); err != nil || len(raw) != sha256.Size {
		return p, &InputError{Field: "invoice hash", Msg: fmt.Sprintf("%q is not a Base64URL SHA-256 without padding (43 characters); compute it with HashBase64URL from the exact XML bytes", p.Hash)}
	}
	return p, nil
}

// checkCompound checks a {NIP}-{suffix} context identifier against re, whose first
// group is the NIP.
func checkCompound(re *lazyre.Regexp, v, form string) error {
	m := re.FindStringSubmatch(v)
	if m == nil {
		return &InputError{Field: "context identifier", Msg: fmt.Sprintf("%q is not of the form %s", v, form)}
	}
	if err := nip.Validate(m[1]); err != nil {
		return &InputError{Field: "context identifier", Msg: err.Error(), Err: err}
	}
	return nil
}

// CertificateLinkParts is a parsed KOD II link.
type CertificateLinkParts struct {
	CertificateLinkParams
	// Base is the QR service address the link points at (scheme, host and any path
	// before /certificate).
	Base string
	// SignedData is the string the signature covers (see CertificateSignedData).
	SignedData string
	// Signature is the decoded signature.
	Signature []byte
}

// ParseCertificateLink splits a KOD II link into its parts and checks each (context
// type and value, seller NIP, serial, hash, Base64URL signature). It does not verify
// the signature (VerifyCertificateLink does). A malformed link gives an *InputError.
func ParseCertificateLink(link string) (*CertificateLinkParts, error) {
	bad := func(msg string) error {
		return &InputError{Field: "certificate link", Msg: msg}
	}
	u, err := url.Parse(link)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, bad(fmt.Sprintf("%q is not an http(s) link without query or fragment", link))
	}
	scheme, rest, _ := strings.Cut(link, "://")
	if strings.HasSuffix(rest, "/") {
		return nil, bad("ends with /: a KOD II link ends with its signature")
	}
	segs := strings.Split(rest, "/")
	n := len(segs)
	if n < 8 || segs[n-7] != pathCertificate {
		return nil, bad(fmt.Sprintf("%q is not of the form {QR service}/certificate/{context type}/{context value}/{seller NIP}/{serial}/{hash}/{signature}", link))
	}
	p := &CertificateLinkParts{
		CertificateLinkParams: CertificateLinkParams{ContextType: segs[n-6], ContextValue: segs[n-5], SellerNIP: segs[n-4],
			Serial: segs[n-3], Hash: segs[n-2]},
		Base:       scheme + "://" + strings.Join(segs[:n-7], "/"),
		SignedData: strings.Join(segs[:n-1], "/"),
	}
	for _, s := range segs[:n-1] {
		if s == "" {
			return nil, bad(fmt.Sprintf("%q has an empty path segment", link))
		}
	}
	if p.ContextType != ContextNip && p.ContextType != ContextInternalID && p.ContextType != ContextNipVatUE && p.ContextType != ContextPeppolID {
		return nil, bad(fmt.Sprintf("context identifier type %q is not one of %s, %s, %s, %s", p.ContextType,
			ContextNip, ContextInternalID, ContextNipVatUE, ContextPeppolID))
	}
	if _, err := checkCertificateParams(p.CertificateLinkParams); err != nil {
		return nil, err
	}
	if p.Signature, err = base64.RawURLEncoding.Strict().DecodeString(segs[n-1]); err != nil || len(p.Signature) == 0 {
		return nil, bad(fmt.Sprintf("the signature %q is not Base64URL without padding", segs[n-1]))
	}
	return p, nil
}

// VerifyCertificateLink checks a KOD II link against the certificate that should have
// signed it: the link's serial must be the certificate's, and the signature must verify
// with its public key — ECDSA P-256 over SHA-256 in IEEE P1363 (R‖S) or ASN.1 DER form,
// or RSASSA-PSS with SHA-256, MGF1-SHA-256 and a 32-byte salt. It does not check the
// certificate's type, validity or revocation (KSeF does when the code is scanned). A
// malformed link gives an *InputError, a failed check a *SignatureError.
func VerifyCertificateLink(link string, cert *x509.Certificate) error {
	if cert == nil {
		return &InputError{Field: "certificate", Msg: "none given to verify the link with"}
	}
	p, err := ParseCertificateLink(link)
	if err != nil {
		return err
	}
	serial, ok := new(big.Int).SetString(p.Serial, 16)
	if !ok || cert.SerialNumber == nil || serial.Cmp(cert.SerialNumber) != 0 {
		return &SignatureError{Reason: fmt.Sprintf("the link names certificate %s, not %s", p.Serial, kcert.SerialHex(cert))}
	}
	digest := sha256.Sum256([]byte(p.SignedData))
	switch pub := cert.PublicKey.(type) {
	case *ecdsa.PublicKey:
		if err := checkSigningKey(pub); err != nil {
			return err
		}
		if len(p.Signature) == 2*p256Size {
			r := new(big.Int).SetBytes(p.Signature[:p256Size])
			s := new(big.Int).SetBytes(p.Signature[p256Size:])
			if ecdsa.Verify(pub, digest[:], r, s) {
				return nil
			}
		}
		if ecdsa.VerifyASN1(pub, digest[:], p.Signature) {
			return nil
		}
		return &SignatureError{Reason: "the ECDSA P-256 signature (P1363 or DER) does not match the link and the certificate's key"}
	case *rsa.PublicKey:
		if err := checkSigningKey(pub); err != nil {
			return err
		}
		if err := rsa.VerifyPSS(pub, crypto.SHA256, digest[:], p.Signature, &rsa.PSSOptions{SaltLength: PSSSaltLength, Hash: crypto.SHA256}); err != nil {
			return &SignatureError{Reason: "the RSASSA-PSS signature (SHA-256, salt 32) does not match the link and the certificate's key", Err: err}
		}
		return nil
	default:
		return checkSigningKey(cert.PublicKey)
	}
}

// CertificateCode is a built KOD II.
type CertificateCode struct {
	Link  string
	Label string // LabelCertificate
	// Serial is the signing certificate's serial number (upper-case hex).
	Serial       string
	Fingerprint  string
	ContextType  string
	ContextValue string
	SellerNIP    string
	// NotAfter is when the certificate expires; the code verifies only until then.
	NotAfter time.Time
}

// CheckOfflineCertificate reports whether c can sign KOD II at now: it must be a KSeF
// certificate of type Offline (stored for offline use, key usage non-repudiation only),
// valid at now, with a usable private key that matches it, of a type KOD II can be
// signed with. Any problem is an *OfflineCertificateError (class invalid) that says
// what to do; its Website is empty (the caller may fill it in for the hint).
func CheckOfflineCertificate(c *website.Cert, now time.Time) error {
	if c == nil || c.Certificate == nil || c.Certificate.Raw == nil {
		return &OfflineCertificateError{Problem: CertMissing}
	}
	e := &OfflineCertificateError{Serial: kcert.SerialHex(c.Certificate), NotAfter: c.Certificate.NotAfter, NotBefore: c.Certificate.NotBefore}
	fail := func(p CertificateProblem, err error) error {
		e.Problem, e.Err = p, err
		return e
	}
	if c.Usage != store.CertOffline || !certificate.IsOfflineCertificate(c.Certificate) {
		return fail(CertNotOffline, nil)
	}
	if err := kcert.CheckValidity(c.Certificate, now); err != nil {
		var nyv *kcert.NotYetValidError
		if errors.As(err, &nyv) {
			return fail(CertNotYetValid, err)
		}
		return fail(CertExpired, err)
	}
	if err := checkSigningKey(c.Certificate.PublicKey); err != nil {
		return fail(CertUnsupportedKey, err)
	}
	if c.Material == nil || c.Material.Key == nil {
		err := c.Err
		if err == nil {
			err = errors.New("no private key is stored with it")
		}
		return fail(CertNoKey, err)
	}
	if err := c.Material.KeyMatches(); err != nil {
		return fail(CertKeyMismatch, err)
	}
	return nil
}

// NewCertificateCode builds KOD II signed with the website's offline certificate c
// (website.Settings.OfflineCert) at now: c is checked with CheckOfflineCertificate
// (a refusal is an *OfflineCertificateError), p.Serial is taken from c (a different
// non-empty p.Serial is an *InputError), and the link is signed with c's key.
func NewCertificateCode(base string, p CertificateLinkParams, c *website.Cert, now time.Time) (*CertificateCode, error) {
	if err := CheckOfflineCertificate(c, now); err != nil {
		return nil, err
	}
	serial := kcert.SerialHex(c.Certificate)
	if p.Serial != "" && !strings.EqualFold(p.Serial, serial) {
		return nil, &InputError{Field: "certificate serial", Msg: fmt.Sprintf("%s is not the serial of the offline certificate %s", p.Serial, serial)}
	}
	p.Serial = serial
	link, err := SignCertificateLink(base, p, c.Material.Key)
	if err != nil {
		return nil, err
	}
	norm, _ := checkCertificateParams(p)
	return &CertificateCode{Link: link, Label: LabelCertificate, Serial: serial, Fingerprint: kcert.Fingerprint(c.Certificate),
		ContextType: norm.ContextType, ContextValue: norm.ContextValue, SellerNIP: norm.SellerNIP, NotAfter: c.Certificate.NotAfter}, nil
}
