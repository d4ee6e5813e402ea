package fa

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/ksefpl/ksefpl/pkg/testenv"
)

// TestInputsMatchJSONSchema keeps testdata/invoice.schema.json honest: every input
// fixture satisfies it, and a document with an unknown tax code does not.
func TestInputsMatchJSONSchema(t *testing.T) {
	root := testenv.ModuleRoot(t)
	c := jsonschema.NewCompiler()
	sch, err := c.Compile(filepath.Join(root, "testdata", "invoice.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(root, "testdata", "invoices", "*.json"))
	if len(files) < 10 {
		t.Fatalf("found %d input fixtures, want at least 10", len(files))
	}
	for _, f := range files {
		r, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		v, err := jsonschema.UnmarshalJSON(r)
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
		if err := sch.Validate(v); err != nil {
			t.Errorf("%s: %v", filepath.Base(f), err)
		}
	}
	bad, _ := jsonschema.UnmarshalJSON(strings.NewReader(strings.Replace(validInput, `"tax_percent":"23"`, `"tax_code":"0 XX"`, 1)))
	if sch.Validate(bad) == nil {
		t.Error("schema accepted tax_code \"0 XX\"")
	}
}
