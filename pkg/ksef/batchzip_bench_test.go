package ksef

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"iter"
	"testing"
)

// BenchmarkWriteBatchZIP is the ZIP of a batch session's package per invoice (the
// checks, the deflate and the hash of what is written), with the compressed bytes per
// invoice; each invoice differs in its number, as in a real package.
func BenchmarkWriteBatchZIP(b *testing.B) {
	xml := benchInvoice(b)
	const perPackage = 1000
	docs := make([][]byte, perPackage)
	for i := range docs {
		docs[i] = bytes.Replace(xml, []byte("<P_2>"), fmt.Appendf(nil, "<P_2>%06d/", i), 1)
	}
	files := func(n int) iter.Seq2[string, []byte] {
		return func(yield func(string, []byte) bool) {
			for i := range n {
				if !yield(fmt.Sprintf("job-%d.xml", i), docs[i%perPackage]) {
					return
				}
			}
		}
	}
	var written int64
	b.ResetTimer()
	for done := 0; done < b.N; done += perPackage {
		n := min(perPackage, b.N-done)
		_, size, _, err := WriteBatchZIP(context.Background(), io.Discard, files(n), 0)
		if err != nil {
			b.Fatal(err)
		}
		written += size
	}
	b.ReportMetric(float64(written)/float64(b.N), "zip-bytes/invoice")
}
