package fa

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/ksefpl/ksefpl/pkg/testenv"
)

// benchJSON reads the domestic B2B shop invoice (three lines, shipping, three rates).
func benchJSON(b *testing.B) []byte {
	b.Helper()
	data, err := os.ReadFile(filepath.Join(testenv.ModuleRoot(b), "testdata", "invoices", "domestic_b2b.json"))
	if err != nil {
		b.Fatal(err)
	}
	return data
}

func benchOptions() BuildOptions {
	return BuildOptions{Seller: testSeller, Now: fixedNow, SystemInfo: "ksefpl bench"}
}

// BenchmarkBuildMarshal is one invoice's FA(3) build from parsed shop input plus its XML
// marshalling: the per-invoice cost of freezing.
func BenchmarkBuildMarshal(b *testing.B) {
	in, err := ParseInput(bytes.NewReader(benchJSON(b)))
	if err != nil {
		b.Fatal(err)
	}
	ctx, opts := context.Background(), benchOptions()
	b.ReportAllocs()
	b.ResetTimer()
	var size int
	for i := 0; i < b.N; i++ {
		d, err := Build(ctx, in, opts)
		if err != nil {
			b.Fatal(err)
		}
		x, err := Marshal(d)
		if err != nil {
			b.Fatal(err)
		}
		size = len(x)
	}
	b.ReportMetric(float64(size), "xml-bytes")
}

// BenchmarkParseBuildMarshal adds decoding the shop JSON: the whole path from a queued
// document to frozen bytes.
func BenchmarkParseBuildMarshal(b *testing.B) {
	data := benchJSON(b)
	ctx, opts := context.Background(), benchOptions()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		in, err := ParseInput(bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		d, err := Build(ctx, in, opts)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Marshal(d); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCheck is the structural check of one built invoice's XML (queue admission
// and invoice:validate without the XSD).
func BenchmarkCheck(b *testing.B) {
	in, err := ParseInput(bytes.NewReader(benchJSON(b)))
	if err != nil {
		b.Fatal(err)
	}
	d, err := Build(context.Background(), in, benchOptions())
	if err != nil {
		b.Fatal(err)
	}
	x, err := Marshal(d)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if p := Check(x); len(p) != 0 {
			b.Fatalf("problems: %v", p)
		}
	}
}
