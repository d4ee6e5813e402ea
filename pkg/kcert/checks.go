package kcert

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"strings"
	"time"
)

// KeyError reports a key KSeF does not accept, with the reason.
type KeyError struct {
	// Key describes the refused key, e.g. "RSA 1024" or "ECDSA P-224".
	Key string
	// Reason says what KSeF requires instead.
	Reason string
}

func (e *KeyError) Error() string {
	return "kcert: unsupported key " + e.Key + ": " + e.Reason
}

// CheckKey checks a certificate key against KSeF's XAdES signature rules: RSA
// of at least 2048 bits, or ECDSA on P-256 or P-384. Anything else is a
// *KeyError with the reason. pub may also be a private key (anything with a
// Public method).
func CheckKey(pub crypto.PublicKey) error {
	pub = publicOf(pub)
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if k.N == nil || k.N.BitLen() < 2048 {
			return &KeyError{Key: describeKey(k), Reason: "KSeF requires RSA keys of at least 2048 bits"}
		}
		return nil
	case *ecdsa.PublicKey:
		switch curveName(k) {
		case "P-256", "P-384":
			return nil
		}
		return &KeyError{Key: describeKey(k), Reason: "KSeF accepts ECDSA keys on the P-256 or P-384 curve"}
	case nil:
		return &KeyError{Key: "none", Reason: "no public key"}
	default:
		return &KeyError{Key: describeKey(k), Reason: "KSeF accepts RSA (2048 bits or more) or ECDSA (P-256, P-384) keys only"}
	}
}

// CheckCSRKey checks a key against the stricter rules KSeF sets for the key of
// a KSeF certificate request: RSA of exactly 2048 bits or ECDSA P-256 (the
// recommended choice). Anything else is a *KeyError.
func CheckCSRKey(pub crypto.PublicKey) error {
	pub = publicOf(pub)
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if k.N != nil && k.N.BitLen() == 2048 {
			return nil
		}
		return &KeyError{Key: describeKey(k), Reason: "a KSeF certificate request needs an RSA 2048-bit or ECDSA P-256 key"}
	case *ecdsa.PublicKey:
		if curveName(k) == "P-256" {
			return nil
		}
		return &KeyError{Key: describeKey(k), Reason: "a KSeF certificate request needs an ECDSA P-256 or RSA 2048-bit key"}
	case nil:
		return &KeyError{Key: "none", Reason: "no public key"}
	default:
		return &KeyError{Key: describeKey(k), Reason: "a KSeF certificate request needs an ECDSA P-256 or RSA 2048-bit key"}
	}
}

// NotYetValidError reports a certificate used before its NotBefore date.
type NotYetValidError struct {
	Subject   string
	NotBefore time.Time
	Now       time.Time
}

func (e *NotYetValidError) Error() string {
	return fmt.Sprintf("kcert: certificate %q is not valid until %s (now %s)",
		e.Subject, e.NotBefore.UTC().Format(time.RFC3339), e.Now.UTC().Format(time.RFC3339))
}

// ExpiredError reports a certificate used after its NotAfter date.
type ExpiredError struct {
	Subject  string
	NotAfter time.Time
	Now      time.Time
}

func (e *ExpiredError) Error() string {
	return fmt.Sprintf("kcert: certificate %q expired on %s (now %s)",
		e.Subject, e.NotAfter.UTC().Format(time.RFC3339), e.Now.UTC().Format(time.RFC3339))
}

// CheckValidity checks that now lies within the certificate's validity
// period: a *NotYetValidError before NotBefore, an *ExpiredError after
// NotAfter, nil otherwise.
func CheckValidity(c *x509.Certificate, now time.Time) error {
	if c == nil {
		return fmt.Errorf("kcert: no certificate")
	}
	subject := c.Subject.CommonName
	if subject == "" {
		subject = NameString(c.Subject)
	}
	if now.Before(c.NotBefore) {
		return &NotYetValidError{Subject: subject, NotBefore: c.NotBefore, Now: now}
	}
	if now.After(c.NotAfter) {
		return &ExpiredError{Subject: subject, NotAfter: c.NotAfter, Now: now}
	}
	return nil
}

// Fingerprint returns the SHA-256 of the certificate's DER encoding as 64
// upper-case hex digits — the certificate fingerprint KSeF identifies a
// certificate without a recognised subject identifier by.
func Fingerprint(c *x509.Certificate) string {
	if c == nil {
		return ""
	}
	sum := sha256.Sum256(c.Raw)
	return fmt.Sprintf("%X", sum[:])
}

// SerialHex returns the certificate serial number as upper-case hex,
// zero-padded to at least 16 digits (KSeF certificate serial numbers match
// ^[0-9A-F]{16}$). A (malformed) negative serial gets a leading "-".
func SerialHex(c *x509.Certificate) string {
	if c == nil || c.SerialNumber == nil {
		return ""
	}
	s := c.SerialNumber
	h := strings.ToUpper(s.Text(16))
	sign := ""
	if s.Sign() < 0 {
		sign, h = "-", h[1:]
	}
	if len(h) < 16 {
		h = strings.Repeat("0", 16-len(h)) + h
	}
	return sign + h
}

// publicOf returns k.Public() for private keys, k otherwise.
func publicOf(k crypto.PublicKey) crypto.PublicKey {
	if p, ok := k.(interface{ Public() crypto.PublicKey }); ok {
		return p.Public()
	}
	return k
}

func curveName(k *ecdsa.PublicKey) string {
	if k.Curve == nil || k.Curve.Params() == nil {
		return "unknown curve"
	}
	return k.Curve.Params().Name
}

// describeKey names a public key's type and size, e.g. "RSA 2048".
func describeKey(pub crypto.PublicKey) string {
	switch k := publicOf(pub).(type) {
	case *rsa.PublicKey:
		if k.N == nil {
			return "RSA"
		}
		return fmt.Sprintf("RSA %d", k.N.BitLen())
	case *ecdsa.PublicKey:
		return "ECDSA " + curveName(k)
	case ed25519.PublicKey:
		return "Ed25519"
	case nil:
		return "none"
	default:
		return fmt.Sprintf("%T", k)
	}
}
