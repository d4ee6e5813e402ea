package ksef

import (
	"crypto/rand"
	"crypto/rsa"
	"os"
	"path/filepath"
	"testing"

	"github.com/ksefpl/ksefpl/pkg/testenv"
)

// benchInvoice is a real built FA(3) invoice of about 3 KB.
func benchInvoice(b *testing.B) []byte {
	b.Helper()
	x, err := os.ReadFile(filepath.Join(testenv.ModuleRoot(b), "testdata", "invoices", "domestic_b2b.golden.xml"))
	if err != nil {
		b.Fatal(err)
	}
	return x
}

// BenchmarkEncryptAndHashInvoice is the crypto of one invoice in an online session:
// SHA-256 of the plaintext, AES-256-CBC encryption, SHA-256 of the ciphertext.
func BenchmarkEncryptAndHashInvoice(b *testing.B) {
	x := benchInvoice(b)
	key, iv, err := NewSessionKey()
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(x)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_ = SHA256Base64(x)
		ct, err := AESEncryptCBC(key, iv, x)
		if err != nil {
			b.Fatal(err)
		}
		_ = SHA256Base64(ct)
	}
}

// BenchmarkEncryptInvoicePayload is OnlineSession.EncryptInvoice: the checks, the
// crypto above and the Base64 of the ciphertext, i.e. the request body's content.
func BenchmarkEncryptInvoicePayload(b *testing.B) {
	x := benchInvoice(b)
	key, iv, err := NewSessionKey()
	if err != nil {
		b.Fatal(err)
	}
	s := &OnlineSession{ReferenceNumber: "20261127-SO-0000000000-0000000000-00", Form: FormCodeFA3(), key: key, iv: iv}
	b.SetBytes(int64(len(x)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p, err := s.EncryptInvoice(x, SendOptions{})
		if err != nil {
			b.Fatal(err)
		}
		if p.InvoiceSize != len(x) {
			b.Fatalf("size %d", p.InvoiceSize)
		}
	}
}

// BenchmarkSessionKeyWrap is the once-per-session cost: a fresh AES-256 key and IV
// and the key's RSA-OAEP (SHA-256) encryption with a 2048-bit public key, as KSeF's.
func BenchmarkSessionKeyWrap(b *testing.B) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		key, _, err := NewSessionKey()
		if err != nil {
			b.Fatal(err)
		}
		if _, err := EncryptSymmetricKey(&k.PublicKey, key); err != nil {
			b.Fatal(err)
		}
	}
}
