// Package testenv locates the read-only reference material that some tests need
// (the official schemas, examples and OpenAPI contract in ../shared) and external
// tools such as xmllint. It is imported only from tests.
//
// A missing prerequisite is never silently ignored: the test fails with a message
// that says what is missing and how to get it, unless KSEFPL_SKIP_SHARED=1 is set,
// in which case it is skipped with the same message.
package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// ModuleRoot returns the repository root (the directory holding go.mod).
func ModuleRoot(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("testenv: cannot locate source file")
	}
	return filepath.Dir(filepath.Dir(filepath.Dir(file)))
}

// SharedDir returns the shared reference directory: $KSEFPL_SHARED when set,
// else ../shared next to the repository root. It fails (or skips with
// KSEFPL_SKIP_SHARED=1) with a clear message when the directory is absent.
func SharedDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("KSEFPL_SHARED")
	if dir == "" {
		dir = filepath.Join(filepath.Dir(ModuleRoot(t)), "shared")
	}
	if _, err := os.Stat(dir); err != nil {
		missing(t, "shared reference material not found at "+dir+
			" (set KSEFPL_SHARED to the folder holding schemas/, examples/ and ksef-docs/)")
	}
	return dir
}

// SharedPath returns a path inside SharedDir and checks that it exists.
func SharedPath(t testing.TB, elem ...string) string {
	t.Helper()
	p := filepath.Join(append([]string{SharedDir(t)}, elem...)...)
	if _, err := os.Stat(p); err != nil {
		missing(t, "shared reference file not found: "+p)
	}
	return p
}

// Xmllint returns the path of xmllint, failing clearly when it is not installed.
func Xmllint(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("xmllint")
	if err != nil {
		missing(t, "xmllint not installed: apt-get install -y libxml2-utils")
	}
	return p
}

func missing(t testing.TB, msg string) {
	t.Helper()
	if os.Getenv("KSEFPL_SKIP_SHARED") == "1" {
		t.Skip("SKIPPED (KSEFPL_SKIP_SHARED=1): " + msg)
	}
	t.Fatal(msg + " — set KSEFPL_SKIP_SHARED=1 to skip tests that need it")
}

// Xmlsec1 returns the path of xmlsec1 (the independent XML-signature verifier), failing
// clearly when it is not installed.
func Xmlsec1(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("xmlsec1")
	if err != nil {
		missing(t, "xmlsec1 not installed: apt-get install -y xmlsec1")
	}
	return p
}
