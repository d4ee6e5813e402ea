package nip_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/ksefpl/ksefpl/pkg/nip"
	"github.com/ksefpl/ksefpl/pkg/testenv"
)

// TestPatternMatchesSchema reads etd:TNrNIP's pattern from the official XSD and
// checks that ValidatePattern accepts exactly the 10-digit strings it accepts.
func TestPatternMatchesSchema(t *testing.T) {
	xsd, err := os.ReadFile(testenv.SharedPath(t, "schemas", "bazowe", "ElementarneTypyDanych_v10-0E.xsd"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?s)<xsd:simpleType name="TNrNIP">.*?<xsd:pattern value="([^"]+)"`).FindSubmatch(xsd)
	if m == nil {
		t.Fatal("TNrNIP pattern not found in ElementarneTypyDanych_v10-0E.xsd")
	}
	re := regexp.MustCompile(`^(?:` + string(m[1]) + `)$`)
	check := func(s string) {
		t.Helper()
		schemaOK := re.MatchString(s)
		err := nip.ValidatePattern(s)
		if schemaOK != (err == nil) {
			t.Fatalf("%s: schema says %v, ValidatePattern says %v", s, schemaOK, err)
		}
		if !schemaOK && !errors.Is(nip.Validate(s), nip.ReasonPattern) && !errors.Is(nip.Validate(s), nip.ReasonChecksum) {
			t.Fatalf("%s fails the schema but Validate says %v", s, nip.Validate(s))
		}
	}
	// Every prefix of three digits (which decides the pattern) with a few tails.
	for p := range 1000 {
		for _, tail := range []string{"0000000", "1234567", "9999999"} {
			check(fmt.Sprintf("%03d%s", p, tail))
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		check(fmt.Sprintf("%010d", rng.Int64N(10_000_000_000)))
	}
}

// TestSampleInvoiceNIPsPassSchema checks that every NIP in the Ministry's sample
// invoices passes ValidatePattern (they are schema-valid documents), and logs
// which of them have an invalid check digit.
func TestSampleInvoiceNIPsPassSchema(t *testing.T) {
	dir := testenv.SharedPath(t, "examples")
	re := regexp.MustCompile(`<NIP>([^<]*)</NIP>`)
	seen := map[string]bool{}
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(path) != ".xml" {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range re.FindAllSubmatch(b, -1) {
			s := string(m[1])
			if seen[s] {
				continue
			}
			seen[s] = true
			if err := nip.ValidatePattern(s); err != nil {
				t.Errorf("%s: %v", filepath.Base(path), err)
			}
			if err := nip.Validate(s); err != nil {
				t.Logf("sample NIP with a bad check digit (schema-valid): %v", err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) == 0 {
		t.Fatalf("no <NIP> elements found under %s", dir)
	}
}
