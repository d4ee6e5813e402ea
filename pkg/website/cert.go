package website

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ksefpl/ksefpl/pkg/config"
	"github.com/ksefpl/ksefpl/pkg/failure"
	"github.com/ksefpl/ksefpl/pkg/kcert"
	"github.com/ksefpl/ksefpl/pkg/ksef"
	"github.com/ksefpl/ksefpl/pkg/store"
	"github.com/ksefpl/ksefpl/pkg/xades"
)

// Cert is one of a website's certificates with its private key. Its String form never
// shows the key.
type Cert struct {
	// ID is the store row (0 for a certificate from the environment).
	ID    int64
	Usage string
	// Certificate is the X.509 certificate; Material holds it with its private key and
	// is nil when the key cannot be had (Err).
	Certificate *x509.Certificate
	Material    *kcert.Material
	Serial      string
	Fingerprint string
	// Source is "stored" or the environment variable it came from.
	Source  string
	FromEnv bool
	// Origin is store.CertImported or store.CertEnrolled ("" from the environment).
	Origin string
	// Err says why the private key is unusable (a *config.DecryptError for a stored key
	// the deployment keys cannot decrypt, or an unreadable environment bundle).
	Err error
}

// String names the certificate without its key.
func (c *Cert) String() string {
	return fmt.Sprintf("%s certificate %s (%s, from %s)", c.Usage, c.Serial, c.Certificate.Subject.CommonName, c.Source)
}

// DaysLeft is how many whole days the certificate is still valid at now (negative once
// expired).
func (c *Cert) DaysLeft(now time.Time) int {
	return int(c.Certificate.NotAfter.Sub(now).Hours() / 24)
}

// Authenticator is XAdES authentication with this certificate: the AuthTokenRequest is
// signed here (xades.Sign), so the key never leaves this package. now is the clock of
// the validity check (nil: time.Now).
func (c *Cert) Authenticator(now func() time.Time) ksef.XAdESAuth {
	m := c.Material
	return ksef.XAdESAuth{
		Certificate:           c.Certificate,
		SubjectIdentifierType: kcert.SubjectIdentifierType(c.Certificate),
		Now:                   now,
		Sign: func(doc []byte) ([]byte, error) {
			if m == nil {
				return nil, c.Err
			}
			return xades.Sign(doc, m.Key, m.Cert, xades.SignOptions{Chain: m.Chain})
		},
	}
}

// KeyDecryptError means the deployment keys cannot decrypt a stored private key. Its
// class is auth (the credential cannot be used).
type KeyDecryptError struct {
	Serial string
	Err    error
}

// Error says what to do; it never contains the key.
func (e *KeyDecryptError) Error() string {
	return "the private key of " + e.Serial + " cannot be decrypted with the deployment keys: " +
		"restore the key in env.json (or KSEFPL_CRYPT_KEY) it was saved with, or import the certificate again"
}

// Unwrap returns the decryption error.
func (e *KeyDecryptError) Unwrap() error { return e.Err }

// Class is failure.Auth.
func (e *KeyDecryptError) Class() failure.Class { return failure.Auth }

// EncryptKey is the stored form of a private key: the PKCS#8 DER, base64, encrypted with
// the deployment keys.
func EncryptKey(keys interface{ Encrypt(string) (string, error) }, key crypto.Signer) (string, error) {
	der, err := kcert.MarshalPKCS8(key)
	if err != nil {
		return "", err
	}
	return keys.Encrypt(base64.StdEncoding.EncodeToString(der))
}

// DecryptKey is the way back from EncryptKey; serial names the key in errors.
func DecryptKey(keys interface{ Decrypt(string) (string, error) }, enc, serial string) (crypto.Signer, error) {
	plain, err := keys.Decrypt(enc)
	if err != nil {
		return nil, &KeyDecryptError{Serial: serial, Err: err}
	}
	der, err := base64.StdEncoding.DecodeString(plain)
	if err != nil {
		return nil, fmt.Errorf("the stored private key of %s is unreadable: %w", serial, err)
	}
	key, err := kcert.ParsePKCS8(der)
	if err != nil {
		return nil, fmt.Errorf("the stored private key of %s is unreadable: %w", serial, err)
	}
	return key, nil
}

// CertEnvVar is the environment variable that overrides the website's authentication
// certificate: KSEFPL_API_CERT_<CODE>, else KSEFPL_API_CERT.
func CertEnvVar(getenv func(string) string, websiteCode string) (string, string) {
	if getenv == nil {
		return "", ""
	}
	for _, name := range []string{config.EnvAPICert + "_" + strings.ToUpper(websiteCode), config.EnvAPICert} {
		if v := getenv(name); v != "" {
			return name, v
		}
	}
	return "", ""
}

// loadCert reads the website's certificate of a usage: for authentication the
// environment override first, then the stored certificate in use.
func loadCert(ctx context.Context, src Source, sc config.Scope, usage string) (*Cert, error) {
	if usage == store.CertAuthentication {
		if name, v := CertEnvVar(src.Getenv, sc.WebsiteCode); name != "" {
			c := &Cert{Usage: usage, Source: name, FromEnv: true}
			m, err := kcert.ParseBundle([]byte(v))
			if err != nil {
				// Without a certificate there is nothing to describe: report it as unusable.
				return &Cert{Usage: usage, Source: name, FromEnv: true, Certificate: &x509.Certificate{},
					Err: fmt.Errorf("%s: %w", name, err)}, nil
			}
			c.Material, c.Certificate = m, m.Cert
			c.Serial, c.Fingerprint = kcert.SerialHex(m.Cert), kcert.Fingerprint(m.Cert)
			return c, nil
		}
	}
	if src.DB == nil {
		return nil, nil
	}
	row, err := src.DB.CertificateInUse(ctx, sc.WebsiteID, usage)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return FromStore(row, src.Keys)
}

// FromStore turns a stored certificate into a Cert, decrypting its key with keys.
func FromStore(row *store.Certificate, keys interface {
	Decrypt(string) (string, error)
}) (*Cert, error) {
	block, rest := pem.Decode([]byte(row.CertPEM))
	if block == nil {
		return nil, fmt.Errorf("stored certificate %s: not PEM", row.Serial)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("stored certificate %s: %w", row.Serial, err)
	}
	c := &Cert{ID: row.ID, Usage: row.Usage, Certificate: cert, Serial: row.Serial, Fingerprint: row.Fingerprint,
		Source: "stored", Origin: row.Origin}
	if keys == nil {
		c.Err = config.ErrNoKey
		return c, nil
	}
	key, err := DecryptKey(keys, row.KeyEnc, "certificate "+row.Serial)
	if err != nil {
		c.Err = err
		return c, nil
	}
	var chain []*x509.Certificate
	for {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		if extra, err := x509.ParseCertificate(b.Bytes); err == nil {
			chain = append(chain, extra)
		}
	}
	c.Material = &kcert.Material{Cert: cert, Chain: chain, Key: key}
	return c, nil
}
