package kcert

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"
)

// Kinds of test certificate.
const (
	// KindSeal is a company seal: O, organizationIdentifier VATPL-<NIP>, CN,
	// C=PL, like the official clients' GetCompanySeal.
	KindSeal = "seal"
	// KindPersonal is a natural person's certificate: givenName, surname,
	// serialNumber TINPL-<NIP> or PNOPL-<PESEL>, CN, C=PL, like
	// GetPersonalCertificate.
	KindPersonal = "personal"
	// KindCA is a test certification authority (CN, O, C=PL; basic
	// constraints CA, keyCertSign) to pass as TestCertOptions.Issuer or
	// IssueOptions.Issuer.
	KindCA = "ca"
)

// Key types of test certificates.
const (
	KeyEC  = "ec"  // ECDSA P-256
	KeyRSA = "rsa" // RSA 2048
)

// TestCertOptions describes a test certificate. KSeF's TEST environment
// accepts self-signed certificates shaped like qualified ones.
type TestCertOptions struct {
	// Kind is KindSeal, KindPersonal or KindCA.
	Kind string
	// NIP (10 digits): required for a seal (organizationIdentifier
	// VATPL-<NIP>); for a personal certificate it gives serialNumber
	// TINPL-<NIP> unless PESEL is set.
	NIP string
	// PESEL (11 digits): a personal certificate's serialNumber PNOPL-<PESEL>.
	PESEL string
	// KeyType is KeyEC (ECDSA P-256, the default) or KeyRSA (RSA 2048).
	KeyType string
	// NotBefore and NotAfter default to now-1h and now+2 years.
	NotBefore, NotAfter time.Time
	// Name is the organisation (seal, CA) or person (personal) name, used
	// for CN and O. Defaults: "Test Company <NIP>", "Jan Kowalski",
	// "ksefpl Test CA".
	Name string
	// GivenName and Surname override, for a personal certificate, the split
	// of Name (all words but the last, and the last word).
	GivenName, Surname string
	// Issuer signs the certificate; nil makes it self-signed. It should be a
	// KindCA certificate.
	Issuer *Material
}

// NewTestCertificate creates a test certificate and its key: keyUsage
// digitalSignature (plus nonRepudiation for a seal, keyCertSign and cRLSign
// for a CA), a random 64-bit serial number, the subject described at
// KindSeal/KindPersonal/KindCA. Chain holds the issuer's certificate and
// chain when Issuer is set.
func NewTestCertificate(o TestCertOptions) (*Material, error) {
	tmpl := &x509.Certificate{}
	var attrs []attr
	switch o.Kind {
	case KindSeal:
		if !isDigits(o.NIP, 10) {
			return nil, errors.New("kcert: a seal test certificate needs a 10-digit NIP")
		}
		name := o.Name
		if name == "" {
			name = "Test Company " + o.NIP
		}
		attrs = []attr{
			{OIDOrganizationName, name},
			{OIDOrganizationIdentifier, "VATPL-" + o.NIP},
			{OIDCommonName, name},
			{OIDCountryName, "PL"},
		}
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment
	case KindPersonal:
		var serial string
		switch {
		case o.PESEL != "":
			if !isDigits(o.PESEL, 11) {
				return nil, errors.New("kcert: PESEL must have 11 digits")
			}
			serial = "PNOPL-" + o.PESEL
		case o.NIP != "":
			if !isDigits(o.NIP, 10) {
				return nil, errors.New("kcert: NIP must have 10 digits")
			}
			serial = "TINPL-" + o.NIP
		default:
			return nil, errors.New("kcert: a personal test certificate needs a NIP or a PESEL")
		}
		name := strings.TrimSpace(o.Name)
		if name == "" {
			name = "Jan Kowalski"
		}
		given, surname := splitPersonName(name)
		if o.GivenName != "" {
			given = o.GivenName
		}
		if o.Surname != "" {
			surname = o.Surname
		}
		attrs = []attr{
			{OIDGivenName, given},
			{OIDSurname, surname},
			{OIDSerialNumber, serial},
			{OIDCommonName, name},
			{OIDCountryName, "PL"},
		}
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	case KindCA:
		name := o.Name
		if name == "" {
			name = "ksefpl Test CA"
		}
		attrs = []attr{{OIDCommonName, name}, {OIDOrganizationName, name}, {OIDCountryName, "PL"}}
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign | x509.KeyUsageCRLSign
		tmpl.BasicConstraintsValid = true
		tmpl.IsCA = true
	default:
		return nil, fmt.Errorf("kcert: unknown test certificate kind %q (want %q, %q or %q)", o.Kind, KindSeal, KindPersonal, KindCA)
	}

	key, err := newTestKey(o.KeyType)
	if err != nil {
		return nil, err
	}
	raw, err := encodeName(attrs)
	if err != nil {
		return nil, err
	}
	tmpl.RawSubject = raw
	if tmpl.SerialNumber, err = randomSerial(); err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl.NotBefore, tmpl.NotAfter = o.NotBefore, o.NotAfter
	if tmpl.NotBefore.IsZero() {
		tmpl.NotBefore = now.Add(-time.Hour)
	}
	if tmpl.NotAfter.IsZero() {
		tmpl.NotAfter = now.AddDate(2, 0, 0)
	}
	if !tmpl.NotAfter.After(tmpl.NotBefore) {
		return nil, errors.New("kcert: NotAfter must be after NotBefore")
	}

	parent, signer, chain := tmpl, crypto.Signer(key), []*x509.Certificate(nil)
	if o.Issuer != nil {
		if err := o.Issuer.KeyMatches(); err != nil {
			return nil, fmt.Errorf("kcert: issuer: %w", err)
		}
		parent, signer = o.Issuer.Cert, o.Issuer.Key
		chain = append([]*x509.Certificate{o.Issuer.Cert}, o.Issuer.Chain...)
	}
	tmpl.SignatureAlgorithm = signatureAlgorithm(signer)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), signer)
	if err != nil {
		return nil, fmt.Errorf("kcert: creating the test certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("kcert: reading back the test certificate: %w", err)
	}
	return &Material{Cert: cert, Chain: chain, Key: key}, nil
}

// IssueOptions describes a certificate issued from a request by IssueFromCSR.
type IssueOptions struct {
	// Issuer signs the certificate (required; normally a KindCA test CA).
	Issuer *Material
	// KeyUsage defaults to digitalSignature (a KSeF Authentication
	// certificate); a KSeF Offline certificate has contentCommitment
	// (nonRepudiation) only.
	KeyUsage x509.KeyUsage
	// NotBefore and NotAfter default to now and NotBefore+2 years.
	NotBefore, NotAfter time.Time
	// SerialNumber defaults to a random 64-bit one.
	SerialNumber *big.Int
}

// IssueFromCSR issues a certificate for a PKCS#10 request (DER), as KSeF
// does for an enrolment: the request is checked with CheckCSR, and its
// subject is copied byte for byte and its public key is certified.
func IssueFromCSR(csrDER []byte, o IssueOptions) (*x509.Certificate, error) {
	if o.Issuer == nil {
		return nil, errors.New("kcert: no issuer for the certificate")
	}
	if err := o.Issuer.KeyMatches(); err != nil {
		return nil, fmt.Errorf("kcert: issuer: %w", err)
	}
	csr, err := CheckCSR(csrDER)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		RawSubject:   csr.RawSubject,
		SerialNumber: o.SerialNumber,
		NotBefore:    o.NotBefore,
		NotAfter:     o.NotAfter,
		KeyUsage:     o.KeyUsage,
	}
	if tmpl.SerialNumber == nil {
		if tmpl.SerialNumber, err = randomSerial(); err != nil {
			return nil, err
		}
	}
	if tmpl.NotBefore.IsZero() {
		tmpl.NotBefore = time.Now()
	}
	if tmpl.NotAfter.IsZero() {
		tmpl.NotAfter = tmpl.NotBefore.AddDate(2, 0, 0)
	}
	if !tmpl.NotAfter.After(tmpl.NotBefore) {
		return nil, errors.New("kcert: NotAfter must be after NotBefore")
	}
	if tmpl.KeyUsage == 0 {
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	}
	tmpl.SignatureAlgorithm = signatureAlgorithm(o.Issuer.Key)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, o.Issuer.Cert, csr.PublicKey, o.Issuer.Key)
	if err != nil {
		return nil, fmt.Errorf("kcert: issuing the certificate: %w", err)
	}
	return x509.ParseCertificate(der)
}

func newTestKey(keyType string) (crypto.Signer, error) {
	switch strings.ToLower(keyType) {
	case "", KeyEC:
		return NewKey()
	case KeyRSA:
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, fmt.Errorf("kcert: generating an RSA 2048 key: %w", err)
		}
		return k, nil
	default:
		return nil, fmt.Errorf("kcert: unknown key type %q (want %q or %q)", keyType, KeyEC, KeyRSA)
	}
}

// signatureAlgorithm picks SHA-256 (SHA-384 for P-384) with the signer's
// algorithm.
func signatureAlgorithm(s crypto.Signer) x509.SignatureAlgorithm {
	switch k := s.Public().(type) {
	case *ecdsa.PublicKey:
		if k.Curve == elliptic.P384() {
			return x509.ECDSAWithSHA384
		}
		return x509.ECDSAWithSHA256
	case *rsa.PublicKey:
		return x509.SHA256WithRSA
	}
	return x509.UnknownSignatureAlgorithm
}

// randomSerial returns a random serial number in [1, 2^64).
func randomSerial() (*big.Int, error) {
	limit := new(big.Int).Lsh(big.NewInt(1), 64)
	for {
		n, err := rand.Int(rand.Reader, limit)
		if err != nil {
			return nil, fmt.Errorf("kcert: generating a serial number: %w", err)
		}
		if n.Sign() > 0 {
			return n, nil
		}
	}
}

// splitPersonName splits "Jan Maria Kowalski" into "Jan Maria" and
// "Kowalski"; a single word is both.
func splitPersonName(name string) (given, surname string) {
	f := strings.Fields(name)
	if len(f) < 2 {
		return name, name
	}
	return strings.Join(f[:len(f)-1], " "), f[len(f)-1]
}

func isDigits(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
