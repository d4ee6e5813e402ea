package ksefsim

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"fmt"
	"math/big"
	"net/http"
	"time"
)

// Public-key certificate usages (open-api.json PublicKeyCertificateUsage).
const (
	usageTokenEncryption     = "KsefTokenEncryption"
	usageSymmetricEncryption = "SymmetricKeyEncryption"
)

// simKey is one published encryption key with its certificate.
type simKey struct {
	usage     string
	priv      *rsa.PrivateKey
	certDER   []byte
	certID    string // base64(SHA-256(certificate DER))
	keyID     string // base64(SHA-256(SubjectPublicKeyInfo DER)): the publicKeyId selector
	validFrom time.Time
	validTo   time.Time
}

// keyState holds the current key per usage and the ids of keys withdrawn by rotation.
type keyState struct {
	current map[string]*simKey
	retired map[string]string // publicKeyId -> usage
}

func newKeyState(now time.Time) (keyState, error) {
	ks := keyState{current: map[string]*simKey{}, retired: map[string]string{}}
	for _, u := range []string{usageTokenEncryption, usageSymmetricEncryption} {
		k, err := newSimKey(u, now)
		if err != nil {
			return keyState{}, err
		}
		ks.current[u] = k
	}
	return ks, nil
}

// newSimKey generates an RSA-2048 key and a self-signed certificate for it, valid two
// years from now (the real certificates are issued for two years by a qualified CA).
func newSimKey(usage string, now time.Time) (*simKey, error) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("ksefsim: generate %s key: %w", usage, err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("ksefsim: certificate serial: %w", err)
	}
	from := now.UTC().Add(-time.Hour).Truncate(time.Second)
	to := from.AddDate(2, 0, 0)
	name := pkix.Name{CommonName: "Ministerstwo Finansów (ksefsim " + usage + ")", Organization: []string{"ksefsim"}, Country: []string{"PL"}}
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: name, Issuer: name,
		NotBefore: from, NotAfter: to,
		KeyUsage: x509.KeyUsageKeyEncipherment | x509.KeyUsageDataEncipherment,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		return nil, fmt.Errorf("ksefsim: self-sign %s certificate: %w", usage, err)
	}
	spki, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("ksefsim: encode %s public key: %w", usage, err)
	}
	certSum, keySum := sha256.Sum256(der), sha256.Sum256(spki)
	return &simKey{
		usage: usage, priv: priv, certDER: der,
		certID:    base64.StdEncoding.EncodeToString(certSum[:]),
		keyID:     base64.StdEncoding.EncodeToString(keySum[:]),
		validFrom: from, validTo: to,
	}, nil
}

// RotateKeys performs an emergency rotation (bezpieczenstwo/klucze-publiczne-do-szyfrowania.md
// §3.2.2): new key pairs and certificates for both usages; the old certificates are no
// longer listed and their publicKeyId is answered with 400 / 21470.
func (s *Server) RotateKeys() error {
	now := s.now()
	fresh := map[string]*simKey{}
	for _, u := range []string{usageTokenEncryption, usageSymmetricEncryption} {
		k, err := newSimKey(u, now)
		if err != nil {
			return err
		}
		fresh[u] = k
	}
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	for u, old := range s.st.keys.current {
		s.st.keys.retired[old.keyID] = u
	}
	s.st.keys.current = fresh
	return nil
}

// currentKey returns the current key for a usage. Callers hold no lock.
func (s *Server) currentKey(usage string) *simKey {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	return s.st.keys.current[usage]
}

// publicKeyCertificate is the wire shape of one entry of GET /security/public-key-certificates.
type publicKeyCertificate struct {
	Certificate   string   `json:"certificate"`
	CertificateID string   `json:"certificateId"`
	PublicKeyID   string   `json:"publicKeyId"`
	ValidFrom     string   `json:"validFrom"`
	ValidTo       string   `json:"validTo"`
	Usage         []string `json:"usage"`
}

func (s *Server) handlePublicKeyCertificates(w http.ResponseWriter, r *http.Request) {
	s.st.mu.Lock()
	out := make([]publicKeyCertificate, 0, 2)
	for _, u := range []string{usageTokenEncryption, usageSymmetricEncryption} {
		k := s.st.keys.current[u]
		out = append(out, publicKeyCertificate{
			Certificate:   base64.StdEncoding.EncodeToString(k.certDER),
			CertificateID: k.certID, PublicKeyID: k.keyID,
			ValidFrom: k.validFrom.Format("2006-01-02T15:04:05-07:00"),
			ValidTo:   k.validTo.Format("2006-01-02T15:04:05-07:00"),
			Usage:     []string{u},
		})
	}
	s.st.mu.Unlock()
	writeOK(w, http.StatusOK, out)
}
