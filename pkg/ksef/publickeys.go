package ksef

import (
	"context"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ksefpl/ksefpl/pkg/failure"
)

// KeyUsage is the usage of a KSeF public-key certificate.
type KeyUsage string

// The two usages KSeF publishes keys for.
const (
	UsageKSeFTokenEncryption    KeyUsage = "KsefTokenEncryption"
	UsageSymmetricKeyEncryption KeyUsage = "SymmetricKeyEncryption"
)

// ErrCodePublicKeyUnknown is the KSeF exception code for an unknown or revoked
// publicKeyId; the client re-fetches the keys and retries once.
const ErrCodePublicKeyUnknown = 21470

// PublicKeyCertificate is one entry of GET /security/public-key-certificates.
type PublicKeyCertificate struct {
	// Certificate is the Base64 DER X.509 certificate.
	Certificate   string    `json:"certificate"`
	CertificateID string    `json:"certificateId"`
	PublicKeyID   string    `json:"publicKeyId"`
	ValidFrom     time.Time `json:"validFrom"`
	ValidTo       time.Time `json:"validTo"`
	Usage         []string  `json:"usage"`
}

// PublicKey is a parsed, selected KSeF public key.
type PublicKey struct {
	// ID is the publicKeyId to send with requests encrypted under this key.
	ID            string
	CertificateID string
	Usage         KeyUsage
	Key           *rsa.PublicKey
	ValidFrom     time.Time
	ValidTo       time.Time
}

// KeyError reports that no usable public key was found.
type KeyError struct {
	Usage  KeyUsage
	Reason string
}

// Class is failure.Unavailable: KSeF did not publish a usable key.
func (e *KeyError) Class() failure.Class { return failure.Unavailable }

// Error describes the failure and what to do about it.
func (e *KeyError) Error() string {
	return fmt.Sprintf("no usable KSeF public key for %s: %s; retry later or check the environment URL", e.Usage, e.Reason)
}

// PublicKeyCertificates fetches the raw certificate list (public endpoint).
func (c *Client) PublicKeyCertificates(ctx context.Context) ([]PublicKeyCertificate, error) {
	var out []PublicKeyCertificate
	if _, err := c.do(ctx, call{method: "GET", path: "/security/public-key-certificates", idempotent: true, out: &out}); err != nil {
		return nil, err
	}
	return out, nil
}

// PublicKeys fetches the certificates and selects the current key for each
// usage, replacing the client's cache.
func (c *Client) PublicKeys(ctx context.Context) (map[KeyUsage]*PublicKey, error) {
	certs, err := c.PublicKeyCertificates(ctx)
	if err != nil {
		return nil, err
	}
	now := c.now()
	out := map[KeyUsage]*PublicKey{}
	var firstErr error
	for _, u := range []KeyUsage{UsageKSeFTokenEncryption, UsageSymmetricKeyEncryption} {
		k, err := SelectPublicKey(certs, u, now)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		out[u] = k
	}
	if len(out) == 0 {
		return nil, firstErr
	}
	c.keysMu.Lock()
	c.keys = out
	c.keysMu.Unlock()
	return out, nil
}

// PublicKey returns the cached key for usage, fetching the certificates when
// the cache is empty or the cached key has expired.
func (c *Client) PublicKey(ctx context.Context, usage KeyUsage) (*PublicKey, error) {
	c.keysMu.Lock()
	k := c.keys[usage]
	c.keysMu.Unlock()
	if k != nil && c.now().Before(k.ValidTo) {
		return k, nil
	}
	keys, err := c.PublicKeys(ctx)
	if err != nil {
		return nil, err
	}
	if k := keys[usage]; k != nil {
		return k, nil
	}
	return nil, &KeyError{Usage: usage, Reason: "KSeF lists no currently valid certificate with this usage"}
}

// ForgetPublicKeys empties the key cache so the next use re-fetches.
func (c *Client) ForgetPublicKeys() {
	c.keysMu.Lock()
	c.keys = map[KeyUsage]*PublicKey{}
	c.keysMu.Unlock()
}

// SelectPublicKey picks, among certificates with the usage that are valid at
// now (validFrom <= now < validTo), the one with the latest validFrom, and
// parses its RSA key. publicKeyId is taken from the list, or computed as
// Base64(SHA-256(SubjectPublicKeyInfo DER)) when absent.
func SelectPublicKey(certs []PublicKeyCertificate, usage KeyUsage, now time.Time) (*PublicKey, error) {
	var best *PublicKeyCertificate
	for i := range certs {
		pc := &certs[i]
		if !slices.ContainsFunc(pc.Usage, func(s string) bool { return strings.EqualFold(s, string(usage)) }) {
			continue
		}
		if now.Before(pc.ValidFrom) || !now.Before(pc.ValidTo) {
			continue
		}
		if best == nil || pc.ValidFrom.After(best.ValidFrom) {
			best = pc
		}
	}
	if best == nil {
		return nil, &KeyError{Usage: usage, Reason: fmt.Sprintf("none of the %d certificates has this usage and is valid now", len(certs))}
	}
	der, err := base64.StdEncoding.DecodeString(best.Certificate)
	if err != nil {
		return nil, &KeyError{Usage: usage, Reason: fmt.Sprintf("the certificate is not Base64: %v", err)}
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, &KeyError{Usage: usage, Reason: fmt.Sprintf("the certificate cannot be parsed: %v", err)}
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return nil, &KeyError{Usage: usage, Reason: fmt.Sprintf("the certificate key is %T, not RSA", cert.PublicKey)}
	}
	id := best.PublicKeyID
	if id == "" {
		h := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
		id = base64.StdEncoding.EncodeToString(h[:])
	}
	return &PublicKey{ID: id, CertificateID: best.CertificateID, Usage: usage, Key: pub, ValidFrom: best.ValidFrom, ValidTo: best.ValidTo}, nil
}
