package secret_test

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/ksefpl/ksefpl/pkg/secret"
)

// Magento's own fixture (lib/internal/Magento/Framework/Encryption/Test/Unit/
// Crypt/_files/_sodium_chachaieft_fixtures.php).
const (
	magentoKey        = "6wRADHwwCBGgdxbcHhovGB0upmg0mbsN"
	magentoCiphertext = "0:3:146BhsQ3grT0VgkYuY3ii3gpClXHkFqlIcNpAD4+bAMBP+ToCHZHiJID"
	magentoPlaintext  = "Hello World!!!"
)

func mustKeys(t *testing.T, s string) *secret.Keyring {
	t.Helper()
	k, err := secret.ParseKeys(s)
	if err != nil {
		t.Fatalf("ParseKeys: %v", err)
	}
	return k
}

func mustGenerate(t *testing.T) string {
	t.Helper()
	key, err := secret.GenerateKey()
	if err != nil {
		t.Fatalf("GenerateKey: %v", err)
	}
	return key
}

func TestMagentoVector(t *testing.T) {
	k := mustKeys(t, magentoKey)
	got, err := k.Decrypt(magentoCiphertext)
	if err != nil {
		t.Fatalf("Decrypt: %v", err)
	}
	if got != magentoPlaintext {
		t.Fatalf("Decrypt = %q, want %q", got, magentoPlaintext)
	}
	if v, err := k.KeyVersion(magentoCiphertext); err != nil || v != 0 {
		t.Fatalf("KeyVersion = %d, %v; want 0", v, err)
	}
	// Magento's two-part form "<cipher>:<data>" means key version 0.
	if got, err := k.Decrypt(strings.TrimPrefix(magentoCiphertext, "0:")); err != nil || got != magentoPlaintext {
		t.Fatalf("Decrypt(3:…) = %q, %v; want %q", got, err, magentoPlaintext)
	}
}

// TestEncryptFormat opens Encrypt's output by hand, following Magento's
// SodiumChachaIetf adapter, so the format is checked independently of Decrypt.
func TestEncryptFormat(t *testing.T) {
	k := mustKeys(t, magentoKey)
	const pt = "token-value 123"
	ct, err := k.Encrypt(pt)
	if err != nil {
		t.Fatal(err)
	}
	rest, ok := strings.CutPrefix(ct, "0:3:")
	if !ok {
		t.Fatalf("Encrypt = %q, want prefix 0:3:", ct)
	}
	raw, err := base64.StdEncoding.DecodeString(rest)
	if err != nil {
		t.Fatalf("payload is not standard base64: %v", err)
	}
	if len(raw) != 12+len(pt)+16 {
		t.Fatalf("payload is %d bytes, want nonce 12 + %d + tag 16", len(raw), len(pt))
	}
	aead, err := chacha20poly1305.New([]byte(magentoKey))
	if err != nil {
		t.Fatal(err)
	}
	nonce := raw[:12]
	opened, err := aead.Open(nil, nonce, raw[12:], nonce)
	if err != nil {
		t.Fatalf("open with nonce as additional data: %v", err)
	}
	if string(opened) != pt {
		t.Fatalf("opened %q, want %q", opened, pt)
	}
	again, err := k.Encrypt(pt)
	if err != nil {
		t.Fatal(err)
	}
	if again == ct {
		t.Fatal("two encryptions of the same plaintext are identical; the nonce must be random")
	}
}

func TestRoundTrip(t *testing.T) {
	k := mustKeys(t, mustGenerate(t))
	for _, pt := range []string{"", "a", "Hello World!!!", "zażółć gęślą jaźń", strings.Repeat("x", 10000), "a:b:c:d"} {
		ct, err := k.Encrypt(pt)
		if err != nil {
			t.Fatalf("Encrypt(%q): %v", pt, err)
		}
		if strings.Contains(ct, pt) && pt != "" && pt != "a" {
			t.Fatalf("ciphertext contains the plaintext")
		}
		got, err := k.Decrypt(ct)
		if err != nil {
			t.Fatalf("Decrypt: %v", err)
		}
		if got != pt {
			t.Fatalf("round trip of %q gave %q", pt, got)
		}
	}
}

func TestDecryptTrimsLikePHP(t *testing.T) {
	k := mustKeys(t, mustGenerate(t))
	ct, err := k.Encrypt(" \t\x00 token \n\r\x0b")
	if err != nil {
		t.Fatal(err)
	}
	got, err := k.Decrypt(ct)
	if err != nil {
		t.Fatal(err)
	}
	if got != "token" {
		t.Fatalf("Decrypt = %q, want %q (PHP trim)", got, "token")
	}
}

func TestKeyRotation(t *testing.T) {
	k0 := mustKeys(t, magentoKey)
	old, err := k0.Encrypt("old secret")
	if err != nil {
		t.Fatal(err)
	}
	k1, err := k0.WithKey(mustGenerate(t))
	if err != nil {
		t.Fatal(err)
	}
	if k0.Versions() != 1 || k0.Current() != 0 {
		t.Fatalf("WithKey changed the original keyring: %v", k0)
	}
	if k1.Versions() != 2 || k1.Current() != 1 {
		t.Fatalf("after WithKey: %v, want 2 versions, current 1", k1)
	}
	if got, err := k1.Decrypt(old); err != nil || got != "old secret" {
		t.Fatalf("old value after rotation: %q, %v", got, err)
	}
	if got, err := k1.Decrypt(magentoCiphertext); err != nil || got != magentoPlaintext {
		t.Fatalf("Magento vector after rotation: %q, %v", got, err)
	}
	fresh, err := k1.Encrypt("new secret")
	if err != nil {
		t.Fatal(err)
	}
	if v, err := k1.KeyVersion(fresh); err != nil || v != 1 {
		t.Fatalf("KeyVersion(new) = %d, %v; want 1", v, err)
	}
	if !strings.HasPrefix(fresh, "1:3:") {
		t.Fatalf("new value %q does not start with 1:3:", fresh)
	}
	// The old keyring does not know version 1.
	_, err = k0.Decrypt(fresh)
	var de *secret.DecryptError
	if !errors.As(err, &de) || de.Reason != secret.ReasonUnknownKeyVersion || de.KeyVersion != 1 {
		t.Fatalf("old keyring on new value: %v, want unknown key version 1", err)
	}
	// Reencrypt moves an old value to the current version.
	re, err := k1.Reencrypt(old)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := k1.KeyVersion(re); v != 1 {
		t.Fatalf("re-encrypted value has version %d, want 1", v)
	}
	if got, err := k1.Decrypt(re); err != nil || got != "old secret" {
		t.Fatalf("re-encrypted value decrypts to %q, %v", got, err)
	}
	// Export and ParseKeys round-trip the keyring.
	k2 := mustKeys(t, k1.Export())
	if k2.Versions() != 2 || k2.Export() != k1.Export() {
		t.Fatalf("Export/ParseKeys round trip lost keys")
	}
	if got, err := k2.Decrypt(fresh); err != nil || got != "new secret" {
		t.Fatalf("re-parsed keyring: %q, %v", got, err)
	}
	if strings.Count(k1.Export(), "\n") != 1 {
		t.Fatalf("Export should put one key per line")
	}
}

func TestParseKeysSeparators(t *testing.T) {
	a, b := mustGenerate(t), magentoKey
	k := mustKeys(t, "\n  "+a+" \t\r\n"+b+"\n")
	if k.Versions() != 2 {
		t.Fatalf("Versions = %d, want 2", k.Versions())
	}
	if k.Export() != a+"\n"+b {
		t.Fatal("Export does not return the keys in order, one per line")
	}
}

func TestWrongKey(t *testing.T) {
	a := mustKeys(t, mustGenerate(t))
	b := mustKeys(t, mustGenerate(t))
	const pt = "very secret token"
	ct, err := a.Encrypt(pt)
	if err != nil {
		t.Fatal(err)
	}
	got, err := b.Decrypt(ct)
	if got != "" {
		t.Fatalf("Decrypt with wrong key returned %q", got)
	}
	var de *secret.DecryptError
	if !errors.As(err, &de) || de.Reason != secret.ReasonAuthFailed {
		t.Fatalf("wrong key: %v, want auth failure", err)
	}
	if !errors.Is(err, secret.ErrCannotDecrypt) {
		t.Fatal("errors.Is(err, ErrCannotDecrypt) = false")
	}
	assertNoLeak(t, err.Error(), pt, ct, a.Export(), b.Export())
}

func TestTampered(t *testing.T) {
	k := mustKeys(t, magentoKey)
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(magentoCiphertext, "0:3:"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range raw { // flip one bit in every position: nonce, body and tag
		mod := append([]byte(nil), raw...)
		mod[i] ^= 0x01
		_, err := k.Decrypt("0:3:" + base64.StdEncoding.EncodeToString(mod))
		var de *secret.DecryptError
		if !errors.As(err, &de) || de.Reason != secret.ReasonAuthFailed {
			t.Fatalf("bit flip at byte %d: %v, want auth failure", i, err)
		}
	}
}

func TestMalformed(t *testing.T) {
	k := mustKeys(t, magentoKey)
	body := strings.TrimPrefix(magentoCiphertext, "0:3:")
	short := base64.StdEncoding.EncodeToString(make([]byte, 27))
	tests := []struct {
		in     string
		reason secret.DecryptReason
	}{
		{"", secret.ReasonMalformed},
		{"abc", secret.ReasonMalformed},
		{"0:3:!!!", secret.ReasonMalformed},
		{"0:3:" + short, secret.ReasonMalformed},
		{"x:3:" + body, secret.ReasonMalformed},
		{"-1:3:" + body, secret.ReasonMalformed},
		{" 0:3:" + body, secret.ReasonMalformed},
		{"0:x:" + body, secret.ReasonMalformed},
		{"99999999999999999999:3:" + body, secret.ReasonMalformed},
		{"5:3:" + body, secret.ReasonUnknownKeyVersion},
		{"0:2:" + body, secret.ReasonUnsupportedCipher},
		{"0:0:" + body, secret.ReasonUnsupportedCipher},
		{"0:2:iv:" + body, secret.ReasonUnsupportedCipher},
	}
	for _, tt := range tests {
		_, err := k.Decrypt(tt.in)
		var de *secret.DecryptError
		if !errors.As(err, &de) {
			t.Errorf("Decrypt(%q) = %v, want *DecryptError", tt.in, err)
			continue
		}
		if de.Reason != tt.reason {
			t.Errorf("Decrypt(%q) reason %v, want %v (%v)", tt.in, de.Reason, tt.reason, err)
		}
		if !errors.Is(err, secret.ErrCannotDecrypt) {
			t.Errorf("Decrypt(%q): errors.Is(ErrCannotDecrypt) = false", tt.in)
		}
		if !strings.HasPrefix(err.Error(), "cannot decrypt stored value: ") {
			t.Errorf("message %q lacks the common prefix", err)
		}
		assertNoLeak(t, err.Error(), magentoKey, body)
		if tt.reason != secret.ReasonUnknownKeyVersion {
			if _, err := k.KeyVersion(tt.in); !errors.Is(err, secret.ErrCannotDecrypt) {
				t.Errorf("KeyVersion(%q) = %v, want a DecryptError", tt.in, err)
			}
		}
	}
	// KeyVersion reads the version without requiring the key.
	if v, err := k.KeyVersion("5:3:" + body); err != nil || v != 5 {
		t.Errorf("KeyVersion(5:3:…) = %d, %v; want 5", v, err)
	}
}

func TestBase64Keys(t *testing.T) {
	key := mustGenerate(t)
	rest, ok := strings.CutPrefix(key, "base64")
	if !ok {
		t.Fatalf("GenerateKey = %q…, want the base64 prefix", key[:6])
	}
	raw, err := base64.StdEncoding.DecodeString(rest)
	if err != nil || len(raw) != 32 {
		t.Fatalf("GenerateKey payload: %d bytes, %v; want 32", len(raw), err)
	}
	if other := mustGenerate(t); other == key {
		t.Fatal("GenerateKey returned the same key twice")
	}
	// A base64 key encrypts with its decoded bytes.
	k := mustKeys(t, key)
	ct, err := k.Encrypt("pt")
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(ct, "0:3:"))
	aead, _ := chacha20poly1305.New(raw)
	if _, err := aead.Open(nil, payload[:12], payload[12:], payload[:12]); err != nil {
		t.Fatalf("value does not open with the decoded key bytes: %v", err)
	}
	// The base64 form of the Magento fixture key is the same key.
	enc := mustKeys(t, "base64"+base64.StdEncoding.EncodeToString([]byte(magentoKey)))
	if got, err := enc.Decrypt(magentoCiphertext); err != nil || got != magentoPlaintext {
		t.Fatalf("base64 form of the fixture key: %q, %v", got, err)
	}
}

func TestBadKeys(t *testing.T) {
	thirtyOne := "6wRADHwwCBGgdxbcHhovGB0upmg0mbs"
	b64short := "base64" + base64.StdEncoding.EncodeToString(make([]byte, 16))
	tests := []struct {
		name, in, want string
		version        int
	}{
		{"empty", " \n\t", "no key found", -1},
		{"31 characters", thirtyOne, "it has 31 characters", 0},
		{"33 characters", magentoKey + "X", "it has 33 characters", 0},
		{"second key bad", magentoKey + "\n" + thirtyOne, "it has 31 characters", 1},
		{"base64 of 16 bytes", b64short, "decodes to 16 bytes, not 32", 0},
		{"base64 garbage", "base64!!notbase64!!", "not valid standard base64", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := secret.ParseKeys(tt.in)
			if err == nil {
				t.Fatalf("ParseKeys accepted it: %v", k)
			}
			var ke *secret.KeyError
			if !errors.As(err, &ke) || !errors.Is(err, secret.ErrInvalidKey) {
				t.Fatalf("error %T %v is not a *KeyError", err, err)
			}
			if ke.Version != tt.version {
				t.Errorf("Version = %d, want %d", ke.Version, tt.version)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("message %q does not contain %q", err, tt.want)
			}
			for _, f := range strings.Fields(tt.in) {
				assertNoLeak(t, err.Error(), f, strings.TrimPrefix(f, "base64"))
			}
		})
	}
	if _, err := mustKeys(t, magentoKey).WithKey("has space inside the key 12345678"); !errors.Is(err, secret.ErrInvalidKey) {
		t.Errorf("WithKey with white space: %v, want ErrInvalidKey", err)
	}
	if _, err := mustKeys(t, magentoKey).WithKey(thirtyOne); !errors.Is(err, secret.ErrInvalidKey) {
		t.Errorf("WithKey with 31 characters: %v, want ErrInvalidKey", err)
	}
}

func TestNilKeyring(t *testing.T) {
	var k *secret.Keyring
	if k.Versions() != 0 || k.Current() != -1 || k.Export() != "" {
		t.Fatal("nil keyring should be empty")
	}
	if _, err := k.Encrypt("x"); !errors.Is(err, secret.ErrInvalidKey) {
		t.Fatalf("Encrypt on nil keyring: %v", err)
	}
	if _, err := k.Decrypt(magentoCiphertext); !errors.Is(err, secret.ErrCannotDecrypt) {
		t.Fatalf("Decrypt on nil keyring: %v", err)
	}
	k1, err := k.WithKey(magentoKey)
	if err != nil || k1.Versions() != 1 {
		t.Fatalf("nil.WithKey: %v, %v", k1, err)
	}
}

func TestStringDoesNotRevealKeys(t *testing.T) {
	key := mustGenerate(t)
	k, err := mustKeys(t, magentoKey).WithKey(key)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(key, "base64"))
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d", "%T %v"} {
		out := fmt.Sprintf(verb, k)
		assertNoLeak(t, out, magentoKey, key, string(raw), fmt.Sprintf("%x", raw), fmt.Sprintf("%x", magentoKey))
		if verb != "%T %v" && out != k.String() {
			t.Errorf("Sprintf(%s) = %q, want String() %q", verb, out, k.String())
		}
	}
	if !strings.Contains(k.String(), "versions: 2") {
		t.Errorf("String() = %q, should say how many versions", k.String())
	}
}

func TestConcurrentUse(t *testing.T) {
	k := mustKeys(t, mustGenerate(t))
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			pt := fmt.Sprintf("token-%d", i)
			for range 50 {
				ct, err := k.Encrypt(pt)
				if err != nil {
					t.Error(err)
					return
				}
				if got, err := k.Decrypt(ct); err != nil || got != pt {
					t.Errorf("concurrent round trip: %q, %v", got, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestFingerprint(t *testing.T) {
	// FIPS 180-2 test vector for SHA-256("abc").
	if got := secret.Fingerprint("abc"); got != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Fatalf("Fingerprint(abc) = %s", got)
	}
	tok := make([]byte, 32)
	_, _ = rand.Read(tok)
	fp := secret.Fingerprint(string(tok))
	if len(fp) != 64 || strings.ToLower(fp) != fp {
		t.Fatalf("Fingerprint = %q, want 64 lowercase hex digits", fp)
	}
	if secret.Fingerprint("token-a") == secret.Fingerprint("token-b") {
		t.Fatal("different tokens share a fingerprint")
	}
}

// assertNoLeak fails when msg contains any non-empty secret.
func assertNoLeak(t *testing.T, msg string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if len(s) >= 4 && strings.Contains(msg, s) {
			t.Errorf("message %q reveals secret material", msg)
		}
	}
}
