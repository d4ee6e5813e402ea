package secret

import (
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"strings"
	"unicode"

	"golang.org/x/crypto/chacha20poly1305"
)

// KeySize is the size in bytes of a ChaCha20-Poly1305 key, and the length in
// characters of a legacy Magento key string.
const KeySize = chacha20poly1305.KeySize

// Base64Prefix marks a key string whose remainder is the base64 encoding of the
// 32 key bytes (Magento 2.4.7+, ConfigOptionsListConstants::
// STORE_KEY_ENCODED_RANDOM_STRING_PREFIX).
const Base64Prefix = "base64"

// Keyring holds the encryption keys of an installation. The key version is the
// key's index; the last key (version Current) encrypts and any key decrypts.
// A Keyring is immutable and safe for concurrent use; WithKey returns a new one.
// Its String and fmt output never reveal keys; Export does.
type Keyring struct {
	keys []keyEntry
}

// keyEntry is one key: the string as written in env.json and its cipher.
type keyEntry struct {
	text string
	aead cipher.AEAD
}

// ParseKeys reads Magento's crypt/key format: one or more keys separated by
// white space or newlines, the first being version 0. Each key is either a
// 32-character string used as the raw key, or "base64" followed by the
// standard base64 encoding of 32 bytes. Errors are *KeyError and never
// contain key material.
func ParseKeys(s string) (*Keyring, error) {
	fields := strings.Fields(s)
	if len(fields) == 0 {
		return nil, &KeyError{Version: -1,
			detail: "no key found; generate one (ksefpl encryption:key:change) or copy crypt/key from Magento's app/etc/env.php"}
	}
	k := &Keyring{keys: make([]keyEntry, 0, len(fields))}
	for i, f := range fields {
		e, err := newKeyEntry(i, f)
		if err != nil {
			return nil, err
		}
		k.keys = append(k.keys, e)
	}
	return k, nil
}

// newKeyEntry validates one key string that would become version v.
func newKeyEntry(v int, text string) (keyEntry, error) {
	if strings.IndexFunc(text, unicode.IsSpace) >= 0 {
		return keyEntry{}, &KeyError{Version: v, detail: "a key must not contain white space"}
	}
	var raw []byte
	if rest, ok := strings.CutPrefix(text, Base64Prefix); ok {
		b, err := base64.StdEncoding.Strict().DecodeString(rest)
		if err != nil {
			// The decoder's error names a byte offset only, but it is not
			// wrapped anyway so nothing of the key can leak through it.
			return keyEntry{}, &KeyError{Version: v,
				detail: `it starts with "base64" but the rest is not valid standard base64; copy the whole key again`}
		}
		if len(b) != KeySize {
			return keyEntry{}, &KeyError{Version: v,
				detail: fmt.Sprintf(`it starts with "base64" but decodes to %d bytes, not %d; copy the whole key again`, len(b), KeySize)}
		}
		raw = b
	} else {
		if len(text) != KeySize {
			return keyEntry{}, &KeyError{Version: v,
				detail: fmt.Sprintf(`it has %d characters; a key is exactly %d characters, or "base64" followed by the base64 of %d bytes`, len(text), KeySize, KeySize)}
		}
		raw = []byte(text)
	}
	aead, err := chacha20poly1305.New(raw)
	if err != nil {
		return keyEntry{}, &KeyError{Version: v, detail: "the key cannot be used for ChaCha20-Poly1305"}
	}
	return keyEntry{text: text, aead: aead}, nil
}

// GenerateKey returns a new random key in the Magento 2.4.7+ form: "base64"
// followed by the standard base64 encoding of 32 bytes from crypto/rand.
func GenerateKey() (string, error) {
	b := make([]byte, KeySize)
	if _, err := io.ReadFull(rand.Reader, b); err != nil {
		return "", fmt.Errorf("generate encryption key: reading random bytes: %w", err)
	}
	return Base64Prefix + base64.StdEncoding.EncodeToString(b), nil
}

// WithKey returns a new Keyring with key appended as the new current version;
// k is unchanged. A nil k yields a keyring holding only key (version 0).
// Errors are *KeyError.
func (k *Keyring) WithKey(key string) (*Keyring, error) {
	n := k.Versions()
	e, err := newKeyEntry(n, key)
	if err != nil {
		return nil, err
	}
	keys := make([]keyEntry, 0, n+1)
	if k != nil {
		keys = append(keys, k.keys...)
	}
	return &Keyring{keys: append(keys, e)}, nil
}

// Versions returns the number of keys (versions 0 to Versions()-1); 0 for a
// nil Keyring.
func (k *Keyring) Versions() int {
	if k == nil {
		return 0
	}
	return len(k.keys)
}

// Current returns the version that Encrypt uses: the last key's index, or -1
// for an empty Keyring.
func (k *Keyring) Current() int {
	return k.Versions() - 1
}

// Export returns the keys in Magento's crypt/key format, one per line, oldest
// first, ready to be written to env.json. It reveals every key: never log or
// print its result.
func (k *Keyring) Export() string {
	if k == nil {
		return ""
	}
	texts := make([]string, len(k.keys))
	for i, e := range k.keys {
		texts[i] = e.text
	}
	return strings.Join(texts, "\n")
}

// String describes the keyring without revealing keys, e.g.
// "secret.Keyring{versions: 2, current: 1}".
func (k *Keyring) String() string {
	return fmt.Sprintf("secret.Keyring{versions: %d, current: %d}", k.Versions(), k.Current())
}

// Format makes every fmt verb (including %#v, %+v and %d) print String, so a
// Keyring cannot leak keys through formatting.
func (k *Keyring) Format(f fmt.State, _ rune) {
	_, _ = io.WriteString(f, k.String())
}
