package kcert

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"

	"github.com/youmark/pkcs8"
	"software.sslmate.com/src/go-pkcs12"
)

// Material is a certificate with its private key.
//
// Cert is the end-entity certificate (the one whose public key belongs to
// Key); Chain holds the other certificates that came with it (intermediates,
// root), in the order they were found. Its String form names the certificate
// and the key type, never the key.
type Material struct {
	Cert  *x509.Certificate
	Chain []*x509.Certificate
	Key   crypto.Signer
}

// String describes the material without any secret: common name, the
// identity KSeF reads from it, fingerprint and key type.
func (m *Material) String() string {
	if m == nil {
		return "kcert.Material(nil)"
	}
	var cn, id, fp string
	if m.Cert != nil {
		cn = m.Cert.Subject.CommonName
		fp = Fingerprint(m.Cert)
		if i := IdentityOf(m.Cert); i.Kind != IdentityFingerprint {
			id = i.String()
		} else {
			id = string(IdentityFingerprint)
		}
	}
	key := "none"
	if m.Key != nil {
		key = describeKey(m.Key.Public())
	}
	return fmt.Sprintf("kcert.Material{cn=%q identity=%q fingerprint=%s key=%s chain=%d}", cn, id, fp, key, len(m.Chain))
}

// GoString is String, so that %#v never prints the private key either.
func (m *Material) GoString() string { return m.String() }

// ErrKeyMismatch means the private key is not the key of the certificate.
var ErrKeyMismatch = errors.New("kcert: the private key does not belong to the certificate")

// ErrLegacyPEMEncryption is returned for a key in the legacy OpenSSL PEM
// encryption (Proc-Type: 4,ENCRYPTED with DEK-Info), which is weak and not
// supported; convert the key to encrypted PKCS#8 first.
var ErrLegacyPEMEncryption = errors.New("kcert: the private key uses legacy PEM encryption (Proc-Type: 4,ENCRYPTED), which is not supported; " +
	"convert it to encrypted PKCS#8 with: openssl pkcs8 -topk8 -v2 aes-256-cbc -in old.key -out new.key")

// PasswordError reports a missing or wrong password. Its message names what
// needed the password, never the password.
type PasswordError struct {
	// What is the protected item: "PKCS#12 file" or "PKCS#8 private key".
	What string
	// Missing is true when no password was given.
	Missing bool
}

func (e *PasswordError) Error() string {
	if e.Missing {
		return "kcert: the " + e.What + " is password-protected and no password was given"
	}
	return "kcert: wrong password for the " + e.What
}

// KeyMatches reports whether m.Key is the private key of m.Cert: nil when it
// is, ErrKeyMismatch (or an error naming the missing part) when not.
func (m *Material) KeyMatches() error {
	switch {
	case m == nil:
		return errors.New("kcert: no certificate material")
	case m.Cert == nil:
		return errors.New("kcert: no certificate")
	case m.Key == nil:
		return errors.New("kcert: no private key")
	}
	if !publicKeysEqual(m.Key.Public(), m.Cert.PublicKey) {
		return ErrKeyMismatch
	}
	return nil
}

// ParsePKCS12 reads a PKCS#12 (PFX) file holding one private key and its
// certificate, with any chain. The modern encoding (PBES2/AES-256 with an
// HMAC-SHA-256 MAC, the OpenSSL 3 default) and the legacy ones (3DES, RC2-40,
// SHA-1 MAC) are accepted. A missing or wrong password is a *PasswordError.
// The certificate whose public key matches the key becomes Cert, whatever its
// position in the file; the others become Chain.
func ParsePKCS12(data []byte, password string) (*Material, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errors.New("kcert: empty PKCS#12 data")
	}
	if bytes.Contains(data, []byte("-----BEGIN ")) {
		return nil, errors.New("kcert: the data is PEM, not PKCS#12 (use the PEM certificate and key import instead)")
	}
	key, cert, chain, err := pkcs12.DecodeChain(data, password)
	if err != nil {
		if errors.Is(err, pkcs12.ErrIncorrectPassword) || errors.Is(err, pkcs12.ErrDecryption) {
			return nil, &PasswordError{What: "PKCS#12 file", Missing: password == ""}
		}
		return nil, fmt.Errorf("kcert: reading PKCS#12: %w", err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("kcert: the PKCS#12 private key (%T) cannot sign", key)
	}
	return assemble(append([]*x509.Certificate{cert}, chain...), signer)
}

// ParsePEM reads a certificate PEM and a private key PEM.
//
// certPEM holds the certificate first, then any chain (every CERTIFICATE block
// is read, other blocks are skipped; DER without PEM armour is accepted too).
// keyPEM holds one private key: PKCS#8 "PRIVATE KEY", encrypted PKCS#8
// "ENCRYPTED PRIVATE KEY" (PBES2 with PBKDF2 or scrypt and AES or 3DES; needs
// password, else a *PasswordError), PKCS#1 "RSA PRIVATE KEY" or SEC1
// "EC PRIVATE KEY". Keys in the legacy OpenSSL PEM encryption are refused with
// ErrLegacyPEMEncryption. When keyPEM is empty the key is looked for in
// certPEM. password is ignored for unencrypted keys. The certificate matching
// the key becomes Cert; a key matching no certificate is ErrKeyMismatch.
func ParsePEM(certPEM, keyPEM []byte, password string) (*Material, error) {
	certs, err := readCertificates(certPEM)
	if err != nil {
		return nil, err
	}
	keySource := keyPEM
	if len(bytes.TrimSpace(keyPEM)) == 0 {
		keySource = certPEM
	}
	key, err := readPrivateKey(keySource, password, true)
	if err != nil {
		return nil, err
	}
	return assemble(certs, key)
}

// ParseBundle reads one PEM holding the certificate, an optional chain and an
// unencrypted private key — the format of the KSEFPL_API_CERT environment
// override. The key is expected as PKCS#8 "PRIVATE KEY"; PKCS#1 and SEC1 keys
// are accepted as well. An encrypted key is refused (the bundle carries no
// password). A value whose line breaks were escaped as the two characters
// `\n` (common in environment variables) is unescaped first.
func ParseBundle(pemBundle []byte) (*Material, error) {
	data := pemBundle
	if !bytes.Contains(data, []byte("-----BEGIN")) {
		return nil, errors.New("kcert: the bundle holds no PEM block")
	}
	if !bytes.Contains(data, []byte("\n")) && bytes.Contains(data, []byte(`\n`)) {
		data = bytes.ReplaceAll(data, []byte(`\r\n`), []byte("\n"))
		data = bytes.ReplaceAll(data, []byte(`\n`), []byte("\n"))
	}
	certs, err := readCertificates(data)
	if err != nil {
		return nil, err
	}
	key, err := readPrivateKey(data, "", false)
	if err != nil {
		return nil, err
	}
	return assemble(certs, key)
}

// MarshalPKCS8 encodes a private key as unencrypted PKCS#8 DER.
func MarshalPKCS8(key crypto.Signer) ([]byte, error) {
	if key == nil {
		return nil, errors.New("kcert: no private key")
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("kcert: encoding the %s private key as PKCS#8: %w", describeKey(key.Public()), err)
	}
	return der, nil
}

// ParsePKCS8 decodes an unencrypted PKCS#8 DER private key (RSA, ECDSA or
// Ed25519).
func ParsePKCS8(der []byte) (crypto.Signer, error) {
	key, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("kcert: reading the PKCS#8 private key: %w", err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("kcert: the PKCS#8 private key (%T) cannot sign", key)
	}
	return signer, nil
}

// EncodePEM encodes the material as PEM: certPEM holds Cert then Chain,
// keyPEM the unencrypted PKCS#8 "PRIVATE KEY". The key must match the
// certificate.
func EncodePEM(m *Material) (certPEM, keyPEM []byte, err error) {
	if err := m.KeyMatches(); err != nil {
		return nil, nil, err
	}
	var cb bytes.Buffer
	for _, c := range append([]*x509.Certificate{m.Cert}, m.Chain...) {
		if err := pem.Encode(&cb, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}); err != nil {
			return nil, nil, fmt.Errorf("kcert: encoding a certificate as PEM: %w", err)
		}
	}
	der, err := MarshalPKCS8(m.Key)
	if err != nil {
		return nil, nil, err
	}
	return cb.Bytes(), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// EncodePKCS12 encodes the material as a PKCS#12 file with go-pkcs12's Modern
// encoder (PBES2 with PBKDF2-HMAC-SHA-256 and AES-256-CBC, HMAC-SHA-256 MAC),
// readable by OpenSSL 1.1.1+, Java 12+ and Windows Server 2019+. The key must
// match the certificate. Use a high-entropy password: the encoder's KDF
// iteration count is low.
func EncodePKCS12(m *Material, password string) ([]byte, error) {
	if err := m.KeyMatches(); err != nil {
		return nil, err
	}
	pfx, err := pkcs12.Modern.Encode(m.Key, m.Cert, m.Chain, password)
	if err != nil {
		return nil, fmt.Errorf("kcert: encoding PKCS#12: %w", err)
	}
	return pfx, nil
}

// readCertificates returns every CERTIFICATE block of data, or the DER
// certificates data holds when it has no PEM armour.
func readCertificates(data []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	rest := data
	sawPEM := false
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		sawPEM = true
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("kcert: reading certificate %d: %w", len(certs)+1, err)
		}
		certs = append(certs, c)
	}
	if !sawPEM && len(bytes.TrimSpace(data)) > 0 {
		der, err := x509.ParseCertificates(data)
		if err != nil {
			return nil, fmt.Errorf("kcert: the certificate is neither PEM nor DER: %w", err)
		}
		certs = der
	}
	if len(certs) == 0 {
		return nil, errors.New("kcert: no certificate found (expected a PEM CERTIFICATE block)")
	}
	return certs, nil
}

// readPrivateKey finds the single private key block of data and decodes it.
// allowEncrypted says whether an ENCRYPTED PRIVATE KEY may be decrypted with
// password; when false such a key is refused.
func readPrivateKey(data []byte, password string, allowEncrypted bool) (crypto.Signer, error) {
	var found *pem.Block
	rest := data
	sawPEM := false
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		sawPEM = true
		switch block.Type {
		case "PRIVATE KEY", "ENCRYPTED PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY":
			if found != nil {
				return nil, errors.New("kcert: more than one private key found; give exactly one")
			}
			found = block
		case "OPENSSH PRIVATE KEY", "DSA PRIVATE KEY":
			return nil, fmt.Errorf("kcert: unsupported private key format %q (use PKCS#8, PKCS#1 or SEC1)", block.Type)
		}
	}
	if found == nil {
		if !sawPEM && len(bytes.TrimSpace(data)) > 0 {
			// DER without armour: unencrypted PKCS#8 only.
			return ParsePKCS8(data)
		}
		return nil, errors.New("kcert: no private key found (expected a PEM PRIVATE KEY block)")
	}
	if strings.Contains(found.Headers["Proc-Type"], "ENCRYPTED") || found.Headers["DEK-Info"] != "" {
		return nil, ErrLegacyPEMEncryption
	}
	switch found.Type {
	case "PRIVATE KEY":
		return ParsePKCS8(found.Bytes)
	case "RSA PRIVATE KEY":
		k, err := x509.ParsePKCS1PrivateKey(found.Bytes)
		if err != nil {
			return nil, fmt.Errorf("kcert: reading the PKCS#1 RSA private key: %w", err)
		}
		return k, nil
	case "EC PRIVATE KEY":
		k, err := x509.ParseECPrivateKey(found.Bytes)
		if err != nil {
			return nil, fmt.Errorf("kcert: reading the SEC1 EC private key: %w", err)
		}
		return k, nil
	}
	// ENCRYPTED PRIVATE KEY
	if !allowEncrypted {
		return nil, errors.New("kcert: the private key is encrypted, but this input takes no password; use an unencrypted PKCS#8 key")
	}
	return decryptPKCS8(found.Bytes, password)
}

var (
	oidPBES2 = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 13}
)

// decryptPKCS8 decrypts an EncryptedPrivateKeyInfo (PBES2) with password.
func decryptPKCS8(der []byte, password string) (key crypto.Signer, err error) {
	var info struct {
		Algo pkix.AlgorithmIdentifier
		Data []byte
	}
	if _, err := asn1.Unmarshal(der, &info); err != nil {
		return nil, fmt.Errorf("kcert: malformed encrypted PKCS#8 private key: %w", err)
	}
	if !info.Algo.Algorithm.Equal(oidPBES2) {
		return nil, fmt.Errorf("kcert: the encrypted PKCS#8 key uses encryption %s, not PBES2; re-encrypt it with: "+
			"openssl pkcs8 -topk8 -v2 aes-256-cbc -in old.key -out new.key", info.Algo.Algorithm)
	}
	if password == "" {
		return nil, &PasswordError{What: "PKCS#8 private key", Missing: true}
	}
	// youmark/pkcs8 decrypts CBC without checking the ciphertext length and
	// panics on a malformed one; keep that a plain error.
	defer func() {
		if r := recover(); r != nil {
			key, err = nil, errors.New("kcert: malformed encrypted PKCS#8 private key")
		}
	}()
	k, err := pkcs8.ParsePKCS8PrivateKey(der, []byte(password))
	if err != nil {
		msg := err.Error()
		if strings.Contains(msg, "incorrect password") || strings.Contains(msg, "authentication failed") {
			return nil, &PasswordError{What: "PKCS#8 private key"}
		}
		return nil, fmt.Errorf("kcert: decrypting the PKCS#8 private key: %w", err)
	}
	signer, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("kcert: the PKCS#8 private key (%T) cannot sign", k)
	}
	return signer, nil
}

// assemble picks the certificate matching key as Cert, the rest as Chain.
func assemble(certs []*x509.Certificate, key crypto.Signer) (*Material, error) {
	pub := key.Public()
	for i, c := range certs {
		if !publicKeysEqual(pub, c.PublicKey) {
			continue
		}
		chain := make([]*x509.Certificate, 0, len(certs)-1)
		chain = append(chain, certs[:i]...)
		chain = append(chain, certs[i+1:]...)
		if len(chain) == 0 {
			chain = nil
		}
		return &Material{Cert: c, Chain: chain, Key: key}, nil
	}
	return nil, ErrKeyMismatch
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	eq, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && b != nil && eq.Equal(b)
}
