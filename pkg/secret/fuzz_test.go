package secret_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/ksefpl/ksefpl/pkg/secret"
)

func FuzzDecrypt(f *testing.F) {
	k, err := secret.ParseKeys(magentoKey + "\nbase64" + "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{
		magentoCiphertext, "abc", "0:3:!!!", "5:3:", "0:2:", "0:3:iv:data", "", ":", ":::",
		"1:3:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==", "3:" + strings.TrimPrefix(magentoCiphertext, "0:3:"),
		"0000000001:3:AAAA", "0:03:AAAA",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		pt, err := k.Decrypt(s)
		if err != nil {
			if pt != "" {
				t.Fatalf("Decrypt returned plaintext %q with an error", pt)
			}
			var de *secret.DecryptError
			if !errors.As(err, &de) || !errors.Is(err, secret.ErrCannotDecrypt) {
				t.Fatalf("Decrypt(%q) error %T is not a *DecryptError", s, err)
			}
			if strings.Contains(err.Error(), magentoKey) {
				t.Fatal("error reveals the key")
			}
		}
		v, verr := k.KeyVersion(s)
		if err == nil {
			if verr != nil || v < 0 || v >= k.Versions() {
				t.Fatalf("decryptable %q but KeyVersion = %d, %v", s, v, verr)
			}
			// A value that decrypts re-encrypts to one that decrypts the same.
			re, rerr := k.Reencrypt(s)
			if rerr != nil {
				t.Fatalf("Reencrypt: %v", rerr)
			}
			if back, derr := k.Decrypt(re); derr != nil || back != pt {
				t.Fatalf("Reencrypt round trip: %q, %v; want %q", back, derr, pt)
			}
		}
	})
}
