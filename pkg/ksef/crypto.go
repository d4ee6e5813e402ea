package ksef

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
)

// AESKeySize and AESIVSize are the sizes KSeF requires for the session key
// (AES-256) and the CBC initialisation vector.
const (
	AESKeySize = 32
	AESIVSize  = aes.BlockSize
)

// ErrBadPadding is returned by AESDecryptCBC when the PKCS#7 padding is wrong
// (wrong key or IV, or corrupted ciphertext).
var ErrBadPadding = errors.New("ksef: invalid PKCS#7 padding (wrong key/IV or corrupted data)")

// SHA256Base64 returns the standard Base64 (with padding) of SHA-256(b), the
// form KSeF uses for invoiceHash, fileHash and similar fields.
func SHA256Base64(b []byte) string {
	h := sha256.Sum256(b)
	return base64.StdEncoding.EncodeToString(h[:])
}

// EncryptOAEP encrypts plaintext with RSAES-OAEP, SHA-256 as hash and MGF1
// hash, empty label — the scheme KSeF uses for tokens and session keys.
func EncryptOAEP(pub *rsa.PublicKey, plaintext []byte) ([]byte, error) {
	if pub == nil {
		return nil, errors.New("ksef: RSA-OAEP encryption needs a public key")
	}
	ct, err := rsa.EncryptOAEP(sha256.New(), rand.Reader, pub, plaintext, nil)
	if err != nil {
		return nil, fmt.Errorf("ksef: RSA-OAEP encryption: %w", err)
	}
	return ct, nil
}

// EncryptKSeFToken returns the Base64 encryptedToken for POST /auth/ksef-token:
// RSA-OAEP-SHA256 over the UTF-8 string "<token>|<timestampMs>".
func EncryptKSeFToken(pub *rsa.PublicKey, token string, timestampMs int64) (string, error) {
	ct, err := EncryptOAEP(pub, fmt.Appendf(nil, "%s|%d", token, timestampMs))
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(ct), nil
}

// EncryptSymmetricKey wraps a 32-byte AES session key with RSA-OAEP-SHA256 for
// the encryptedSymmetricKey field of session openings (use the
// SymmetricKeyEncryption public key). The result is raw ciphertext; Base64 it
// for JSON.
func EncryptSymmetricKey(pub *rsa.PublicKey, key []byte) ([]byte, error) {
	if len(key) != AESKeySize {
		return nil, fmt.Errorf("ksef: session key must be %d bytes, got %d", AESKeySize, len(key))
	}
	return EncryptOAEP(pub, key)
}

// NewSessionKey returns a random AES-256 key and a random 16-byte IV.
func NewSessionKey() (key, iv []byte, err error) {
	key = make([]byte, AESKeySize)
	iv = make([]byte, AESIVSize)
	if _, err := rand.Read(key); err != nil {
		return nil, nil, fmt.Errorf("ksef: generating a session key: %w", err)
	}
	if _, err := rand.Read(iv); err != nil {
		return nil, nil, fmt.Errorf("ksef: generating an IV: %w", err)
	}
	return key, iv, nil
}

// AESEncryptCBC encrypts plaintext with AES-256-CBC and PKCS#7 padding. The
// IV is not prepended to the ciphertext (KSeF sends it separately).
func AESEncryptCBC(key, iv, plaintext []byte) ([]byte, error) {
	block, err := newAES(key, iv)
	if err != nil {
		return nil, err
	}
	pad := AESIVSize - len(plaintext)%AESIVSize
	buf := make([]byte, len(plaintext)+pad)
	copy(buf, plaintext)
	for i := len(plaintext); i < len(buf); i++ {
		buf[i] = byte(pad)
	}
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(buf, buf)
	return buf, nil
}

// AESDecryptCBC decrypts AES-256-CBC ciphertext and removes PKCS#7 padding.
func AESDecryptCBC(key, iv, ciphertext []byte) ([]byte, error) {
	block, err := newAES(key, iv)
	if err != nil {
		return nil, err
	}
	if len(ciphertext) == 0 || len(ciphertext)%AESIVSize != 0 {
		return nil, fmt.Errorf("ksef: AES-CBC ciphertext length %d is not a positive multiple of %d", len(ciphertext), AESIVSize)
	}
	buf := make([]byte, len(ciphertext))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(buf, ciphertext)
	pad := int(buf[len(buf)-1])
	if pad == 0 || pad > AESIVSize {
		return nil, ErrBadPadding
	}
	for _, b := range buf[len(buf)-pad:] {
		if int(b) != pad {
			return nil, ErrBadPadding
		}
	}
	return buf[:len(buf)-pad], nil
}

func newAES(key, iv []byte) (cipher.Block, error) {
	if len(key) != AESKeySize {
		return nil, fmt.Errorf("ksef: AES-256 key must be %d bytes, got %d", AESKeySize, len(key))
	}
	if len(iv) != AESIVSize {
		return nil, fmt.Errorf("ksef: AES-CBC IV must be %d bytes, got %d", AESIVSize, len(iv))
	}
	return aes.NewCipher(key)
}
