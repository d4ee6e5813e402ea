package xades

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/ksefpl/ksefpl/pkg/testenv"
)

// TestSharedAuthSamples signs every AuthTokenRequest example of the KSeF
// documentation (ksef-docs/auth/*.md) with RSA and EC keys and checks the
// signatures with Verify and with xmlsec1.
func TestSharedAuthSamples(t *testing.T) {
	dir := testenv.SharedPath(t, "ksef-docs", "auth")
	xmlsec1(t)
	files, err := filepath.Glob(filepath.Join(dir, "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	block := regexp.MustCompile("(?s)```xml\\s*\\n(.*?)```")
	keys := testKeys(t)
	n := 0
	for _, f := range files {
		md, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range block.FindAllSubmatch(md, -1) {
			doc := m[1]
			if !regexp.MustCompile(`<AuthTokenRequest\b`).Match(doc) {
				continue
			}
			n++
			for _, name := range []string{"rsa2048", "p256"} {
				t.Run(filepath.Base(f)+"/"+name, func(t *testing.T) {
					signed := mustSign(t, doc, keys[name])
					if _, err := Verify(signed); err != nil {
						t.Fatal(err)
					}
					if out, err := xmlsecVerify(t, signed, keys[name].certPEM()); err != nil {
						t.Fatalf("xmlsec1: %v\n%s", err, out)
					}
				})
			}
		}
	}
	if n == 0 {
		t.Fatalf("no AuthTokenRequest example found in %s", dir)
	}
}
