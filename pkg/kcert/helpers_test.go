package kcert

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// openssl runs the openssl binary as an independent implementation. A
// missing openssl fails the test: these checks are not optional.
func openssl(t *testing.T, args ...string) string {
	t.Helper()
	out, err := opensslErr(t, args...)
	if err != nil {
		t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func opensslErr(t *testing.T, args ...string) (string, error) {
	t.Helper()
	path, err := exec.LookPath("openssl")
	if err != nil {
		t.Fatalf("openssl is required for the independent checks of package kcert but was not found in PATH: %v", err)
	}
	cmd := exec.Command(path, args...)
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	err = cmd.Run()
	return buf.String(), err
}

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func readFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Shared fixtures: key generation under -race is slow, so each is made once.
var (
	fixtureOnce sync.Once
	fxCA        *Material
	fxSeal      *Material // EC, issued by fxCA
	fxPersonal  *Material // RSA, self-signed, TINPL
	fxErr       error
)

func fixtures(t *testing.T) (ca, seal, personal *Material) {
	t.Helper()
	fixtureOnce.Do(func() {
		if fxCA, fxErr = NewTestCertificate(TestCertOptions{Kind: KindCA, Name: "Test CA"}); fxErr != nil {
			return
		}
		if fxSeal, fxErr = NewTestCertificate(TestCertOptions{Kind: KindSeal, NIP: "1234567890", Name: "Kowalski sp. z o.o.", Issuer: fxCA}); fxErr != nil {
			return
		}
		fxPersonal, fxErr = NewTestCertificate(TestCertOptions{Kind: KindPersonal, NIP: "5260250274", KeyType: KeyRSA, Name: "Jan Kowalski"})
	})
	if fxErr != nil {
		t.Fatal(fxErr)
	}
	return fxCA, fxSeal, fxPersonal
}
