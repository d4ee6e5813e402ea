package ksef

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"testing"
)

func TestEncryptKSeFTokenDecryptsWithPrivateKey(t *testing.T) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tok := "20251010-EC-1DCE3E3000-12ECB5B36E-45|nip-5265877635|" + fmt.Sprintf("%064x", 42)
	enc, err := EncryptKSeFToken(&k.PublicKey, tok, 1752236636015)
	if err != nil {
		t.Fatal(err)
	}
	ct, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		t.Fatal(err)
	}
	if len(ct) != 256 {
		t.Errorf("RSA-2048 ciphertext has %d bytes, want 256", len(ct))
	}
	pt, err := rsa.DecryptOAEP(sha256.New(), nil, k, ct, nil)
	if err != nil {
		t.Fatalf("OAEP-SHA256 decryption failed: %v", err)
	}
	if string(pt) != tok+"|1752236636015" {
		t.Errorf("plaintext = %q", pt)
	}
}

func TestEncryptSymmetricKey(t *testing.T) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	key, iv, err := NewSessionKey()
	if err != nil {
		t.Fatal(err)
	}
	if len(key) != 32 || len(iv) != 16 {
		t.Fatalf("key %d iv %d bytes", len(key), len(iv))
	}
	ct, err := EncryptSymmetricKey(&k.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	pt, err := rsa.DecryptOAEP(sha256.New(), nil, k, ct, nil)
	if err != nil || !bytes.Equal(pt, key) {
		t.Fatalf("unwrapped key differs: %v", err)
	}
	if _, err := EncryptSymmetricKey(&k.PublicKey, key[:16]); err == nil {
		t.Error("a 16-byte key was accepted")
	}
}

func TestAESRoundTripPaddingEdges(t *testing.T) {
	key, iv, err := NewSessionKey()
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{0, 1, 15, 16, 17, 31, 32, 33, 6480} {
		pt := make([]byte, n)
		_, _ = rand.Read(pt)
		ct, err := AESEncryptCBC(key, iv, pt)
		if err != nil {
			t.Fatal(err)
		}
		// PKCS#7 always adds 1..16 bytes: size = n rounded up to the next block, plus a full block when aligned.
		if want := (n/16 + 1) * 16; len(ct) != want {
			t.Errorf("len %d: ciphertext %d bytes, want %d", n, len(ct), want)
		}
		back, err := AESDecryptCBC(key, iv, ct)
		if err != nil {
			t.Fatalf("len %d: %v", n, err)
		}
		if !bytes.Equal(back, pt) {
			t.Errorf("len %d: round trip differs", n)
		}
	}
}

func TestAESDecryptRejectsBadInput(t *testing.T) {
	key, iv, _ := NewSessionKey()
	ct, _ := AESEncryptCBC(key, iv, []byte("faktura"))
	if _, err := AESDecryptCBC(key, iv, ct[:15]); err == nil {
		t.Error("a truncated ciphertext was accepted")
	}
	// Make the last block decrypt to a padding byte of 0x11 (> 16): flip the
	// previous block (here the IV) so the final plaintext byte changes.
	badIV := bytes.Clone(iv)
	badIV[15] ^= 0x07 ^ 0x11 // plaintext "faktura" pads with 0x09; 0x09^0x07^0x11 = 0x1f
	if _, err := AESDecryptCBC(key, badIV, ct); !errors.Is(err, ErrBadPadding) {
		t.Errorf("corrupted padding: got %v, want ErrBadPadding", err)
	}
	if _, err := AESEncryptCBC(key[:16], iv, nil); err == nil {
		t.Error("AES-128 key accepted")
	}
	if _, err := AESEncryptCBC(key, iv[:8], nil); err == nil {
		t.Error("short IV accepted")
	}
}

func TestSHA256Base64(t *testing.T) {
	// FIPS 180-2 test vector: SHA-256("abc").
	if got := SHA256Base64([]byte("abc")); got != "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=" {
		t.Errorf("SHA256Base64(abc) = %s", got)
	}
}
