package qr

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/ksefpl/ksefpl/pkg/testenv"
)

// BenchmarkInvoiceLink reads seller NIP and P_1 from a ~3 KB invoice, hashes it and
// builds the link.
func BenchmarkInvoiceLink(b *testing.B) {
	x, err := os.ReadFile(filepath.Join(testenv.ModuleRoot(b), "testdata", "invoices", "domestic_b2b.golden.xml"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		inv, err := ReadInvoice(x)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := inv.Link("https://qr-test.ksef.mf.gov.pl"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRender is one labelled PNG at the default 5 px per module.
func BenchmarkRender(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := Render(docLink, Options{Label: ksefNumber}); err != nil {
			b.Fatal(err)
		}
	}
}
