package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ksefpl/ksefpl/pkg/testenv"
)

// invoice:validate finds the official schemas relative to the binary (symlinks
// resolved), never relative to the working directory, and says "XSD skipped" in its
// verdict when there are none.
func TestValidateFindsSchemasBesideTheBinary(t *testing.T) {
	schemas := testenv.SharedPath(t, "schemas")
	testenv.Xmllint(t)
	built := buildBinary(t)
	invoice := filepath.Join(testenv.ModuleRoot(t), "testdata", "invoices", "domestic_b2b.golden.xml")

	// A checkout next to shared/: the binary in bin/ as make build puts it.
	root := t.TempDir()
	bin := filepath.Join(root, "checkout", "bin", "ksefpl")
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(built, bin); err != nil {
		t.Skipf("cannot hard-link the binary into the layout: %v", err)
	}
	if err := os.MkdirAll(filepath.Join(root, "shared"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(schemas, filepath.Join(root, "shared", "schemas")); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(root, "elsewhere", "ksefpl")
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(bin, link); err != nil {
		t.Fatal(err)
	}

	validate := func(binary string) string {
		t.Helper()
		cmd := exec.Command(binary, "invoice:validate", invoice)
		cmd.Dir = t.TempDir() // no ../shared here
		cmd.Env = []string{"HOME=" + t.TempDir(), "NO_COLOR=1", "PATH=" + os.Getenv("PATH")}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s invoice:validate: %v\n%s", binary, err, out)
		}
		return string(out)
	}
	for _, b := range []string{bin, link} {
		if out := validate(b); !strings.Contains(out, "is a valid FA3 invoice (structural checks and XSD)") {
			t.Errorf("%s found no schemas:\n%s", b, out)
		}
	}
	// The binary as built, with nothing beside it.
	out := validate(built)
	if !strings.Contains(out, "passes the structural checks (FA3); XSD skipped") || !strings.Contains(out, "beside the ksefpl binary") {
		t.Errorf("without schemas:\n%s", out)
	}
}
