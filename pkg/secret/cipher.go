package secret

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"strconv"
	"strings"

	"golang.org/x/crypto/chacha20poly1305"
)

// CipherChaCha20Poly1305 is Magento's cipher version for ChaCha20-Poly1305 IETF
// (Encryptor::CIPHER_AEAD_CHACHA20POLY1305), the only one this package reads
// and writes.
const CipherChaCha20Poly1305 = 3

// phpTrimSet is the set of characters PHP's trim() removes by default.
const phpTrimSet = " \t\n\r\x00\x0b"

const (
	nonceSize = chacha20poly1305.NonceSize
	tagSize   = chacha20poly1305.Overhead
)

// Encrypt encrypts plaintext with the current key and returns
// "<Current()>:3:<base64(nonce ‖ ciphertext ‖ tag)>", with a fresh random
// 12-byte nonce that is also the additional data, exactly as Magento does.
func (k *Keyring) Encrypt(plaintext string) (string, error) {
	if k.Versions() == 0 {
		return "", &KeyError{Version: -1, detail: "the keyring is empty; configure an encryption key before storing secrets"}
	}
	aead := k.keys[k.Current()].aead
	buf := make([]byte, nonceSize, nonceSize+len(plaintext)+tagSize)
	if _, err := io.ReadFull(rand.Reader, buf); err != nil {
		return "", fmt.Errorf("encrypt: reading random nonce: %w", err)
	}
	nonce := buf[:nonceSize]
	out := aead.Seal(buf, nonce, []byte(plaintext), nonce)
	return strconv.Itoa(k.Current()) + ":" + strconv.Itoa(CipherChaCha20Poly1305) + ":" +
		base64.StdEncoding.EncodeToString(out), nil
}

// Decrypt reverses Encrypt using the key version named in the value. Like
// Magento's Encryptor::decrypt it trims the plaintext (PHP trim: spaces, tabs,
// newlines, carriage returns, NUL and vertical tabs at both ends), so a value
// encrypted with surrounding white space comes back without it. Failures are
// *DecryptError (errors.Is(err, ErrCannotDecrypt)); Magento instead returns "".
func (k *Keyring) Decrypt(ciphertext string) (string, error) {
	p, err := parse(ciphertext)
	if err != nil {
		return "", err
	}
	if p.version >= k.Versions() {
		return "", &DecryptError{Reason: ReasonUnknownKeyVersion, KeyVersion: p.version, Versions: k.Versions(),
			detail: fmt.Sprintf("it was encrypted with key version %d but %s; restore the missing key in env.json or re-enter the value",
				p.version, describeVersions(k.Versions()))}
	}
	nonce := p.payload[:nonceSize]
	pt, err := k.keys[p.version].aead.Open(nil, nonce, p.payload[nonceSize:], nonce)
	if err != nil {
		return "", &DecryptError{Reason: ReasonAuthFailed, KeyVersion: p.version, Versions: k.Versions(),
			detail: fmt.Sprintf("key version %d does not match it (a different key, or the value was altered); check env.json's keys or re-enter the value",
				p.version)}
	}
	return strings.Trim(string(pt), phpTrimSet), nil
}

// KeyVersion returns the key version a stored value was encrypted with,
// checking the value's structure but not whether that version exists in k or
// whether the value decrypts. Use it to count values per version during key
// rotation. Failures are *DecryptError.
func (k *Keyring) KeyVersion(ciphertext string) (int, error) {
	p, err := parse(ciphertext)
	if err != nil {
		return -1, err
	}
	return p.version, nil
}

// Reencrypt decrypts a stored value with whichever key it names and encrypts
// the (trimmed) plaintext with the current key: one step of key rotation.
func (k *Keyring) Reencrypt(ciphertext string) (string, error) {
	pt, err := k.Decrypt(ciphertext)
	if err != nil {
		return "", err
	}
	return k.Encrypt(pt)
}

// parsed is the structure of a stored value.
type parsed struct {
	version int
	payload []byte // nonce ‖ ciphertext ‖ tag
}

// parse splits "<key>:<cipher>:<base64>" (or Magento's "<cipher>:<base64>",
// meaning key 0) and checks everything that does not need a key.
func parse(s string) (parsed, error) {
	malformed := func(detail string) error {
		return &DecryptError{Reason: ReasonMalformed, KeyVersion: -1, detail: detail}
	}
	if s == "" {
		return parsed{}, malformed("the stored value is empty; enter the secret again")
	}
	parts := strings.SplitN(s, ":", 4)
	var keyPart, cipherPart, data string
	switch len(parts) {
	case 3:
		keyPart, cipherPart, data = parts[0], parts[1], parts[2]
	case 2:
		keyPart, cipherPart, data = "0", parts[0], parts[1]
	case 4:
		return parsed{}, &DecryptError{Reason: ReasonUnsupportedCipher, KeyVersion: -1,
			detail: "it uses Magento's legacy Rijndael-256 CBC format (key:cipher:iv:data), which is not supported; re-enter the value"}
	default:
		return parsed{}, malformed(`it is not an encrypted value ("<key version>:3:<base64>"); re-enter the secret`)
	}
	cipherVersion, err := strictUint(cipherPart)
	if err != nil {
		return parsed{}, malformed("its cipher version is not a number; re-enter the secret")
	}
	if cipherVersion != CipherChaCha20Poly1305 {
		return parsed{}, &DecryptError{Reason: ReasonUnsupportedCipher, KeyVersion: -1,
			detail: fmt.Sprintf("cipher version %d is not supported (only %d, ChaCha20-Poly1305; 0–2 are Magento's legacy Blowfish/Rijndael); re-enter the value",
				cipherVersion, CipherChaCha20Poly1305)}
	}
	version, err := strictUint(keyPart)
	if err != nil {
		return parsed{}, malformed("its key version is not a number; re-enter the secret")
	}
	payload, err := base64.StdEncoding.DecodeString(data)
	if err != nil {
		return parsed{}, &DecryptError{Reason: ReasonMalformed, KeyVersion: version,
			detail: "its data is not valid base64; re-enter the secret"}
	}
	if len(payload) < nonceSize+tagSize {
		return parsed{}, &DecryptError{Reason: ReasonMalformed, KeyVersion: version,
			detail: fmt.Sprintf("its data is %d bytes, shorter than nonce and tag (%d); re-enter the secret", len(payload), nonceSize+tagSize)}
	}
	return parsed{version: version, payload: payload}, nil
}

// strictUint parses a non-negative decimal without sign, spaces or overflow.
func strictUint(s string) (int, error) {
	if s == "" || len(s) > 9 || strings.Trim(s, "0123456789") != "" {
		return 0, strconv.ErrSyntax
	}
	return strconv.Atoi(s)
}

// describeVersions phrases how many keys a keyring has, for messages.
func describeVersions(n int) string {
	switch n {
	case 0:
		return "no encryption key is configured"
	case 1:
		return "only key version 0 is configured"
	default:
		return fmt.Sprintf("only key versions 0–%d are configured", n-1)
	}
}
