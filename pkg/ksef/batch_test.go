package ksef

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ksefpl/ksefpl/pkg/failure"
)

// invoicesOf yields n small distinct invoice XMLs named FV-<i>.xml; pad adds
// random (incompressible) text so that the ZIP has a predictable minimum size.
func invoicesOf(n, pad int) iter.Seq2[string, []byte] {
	return func(yield func(string, []byte) bool) {
		for i := 1; i <= n; i++ {
			junk := make([]byte, pad)
			_, _ = rand.Read(junk)
			xml := fmt.Appendf(nil, `<?xml version="1.0" encoding="UTF-8"?><Faktura><P_2>FV/%d</P_2><Uwagi>%x</Uwagi></Faktura>`, i, junk)
			if !yield(fmt.Sprintf("FV-%03d.xml", i), xml) {
				return
			}
		}
	}
}

// decryptJoin decrypts every part file and joins the plaintexts.
func decryptJoin(t *testing.T, p *BatchPackage) []byte {
	t.Helper()
	var whole []byte
	for i, part := range p.Parts {
		if part.OrdinalNumber != i+1 {
			t.Fatalf("part %d has ordinal number %d", i+1, part.OrdinalNumber)
		}
		enc, err := os.ReadFile(part.Path)
		if err != nil {
			t.Fatal(err)
		}
		if int64(len(enc)) != part.FileSize || SHA256Base64(enc) != part.FileHash {
			t.Fatalf("part %d: file has %d bytes %s, declared %d %s", part.OrdinalNumber, len(enc), SHA256Base64(enc), part.FileSize, part.FileHash)
		}
		plain, err := AESDecryptCBC(p.key, p.iv, enc)
		if err != nil {
			t.Fatalf("part %d does not decrypt: %v", part.OrdinalNumber, err)
		}
		if int64(len(plain)) != part.PlainSize {
			t.Fatalf("part %d: %d plaintext bytes, declared %d", part.OrdinalNumber, len(plain), part.PlainSize)
		}
		whole = append(whole, plain...)
	}
	return whole
}

func TestBuildBatchPackageSplitsAndEncryptsParts(t *testing.T) {
	dir := t.TempDir()
	const maxPart = 4096
	p, err := BuildBatchPackage(context.Background(), invoicesOf(25, 400), BatchPackageOptions{Dir: dir, Limits: BatchLimits{MaxPartSize: maxPart}})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Parts) < 3 {
		t.Fatalf("25 invoices with 800 random hex characters each in parts of %d bytes gave %d parts", maxPart, len(p.Parts))
	}
	for _, part := range p.Parts[:len(p.Parts)-1] {
		if part.PlainSize != maxPart {
			t.Errorf("part %d has %d plaintext bytes; every part but the last must be full (%d)", part.OrdinalNumber, part.PlainSize, maxPart)
		}
	}
	whole := decryptJoin(t, p)
	if int64(len(whole)) != p.FileSize || SHA256Base64(whole) != p.FileHash {
		t.Fatalf("joined plaintext: %d bytes %s; package declares %d %s", len(whole), SHA256Base64(whole), p.FileSize, p.FileHash)
	}
	zr, err := zip.NewReader(bytes.NewReader(whole), int64(len(whole)))
	if err != nil {
		t.Fatal(err)
	}
	if len(zr.File) != 25 || len(p.Entries) != 25 {
		t.Fatalf("ZIP has %d files, entries %d; want 25", len(zr.File), len(p.Entries))
	}
	for i, zf := range zr.File {
		rc, _ := zf.Open()
		b, _ := io.ReadAll(rc)
		rc.Close()
		e := p.Entries[i]
		if zf.Name != e.FileName || SHA256Base64(b) != e.Hash || len(b) != e.Size {
			t.Errorf("entry %d: zip %s (%d bytes %s), recorded %s (%d bytes %s)", i, zf.Name, len(b), SHA256Base64(b), e.FileName, e.Size, e.Hash)
		}
	}
	if s := p.String() + fmt.Sprintf("%#v %v", p, p); bytes.Contains([]byte(s), []byte(fmt.Sprintf("%x", p.key))) {
		t.Error("the package's String shows the key")
	}
	if err := p.Remove(); err != nil {
		t.Fatal(err)
	}
	left, _ := filepath.Glob(filepath.Join(dir, "*"))
	if len(left) != 0 {
		t.Errorf("Remove left %v", left)
	}
}

func TestBuildBatchPackageOwnTempDirRemoved(t *testing.T) {
	p, err := BuildBatchPackage(context.Background(), invoicesOf(2, 10), BatchPackageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Parts) != 1 {
		t.Fatalf("%d parts for two tiny invoices", len(p.Parts))
	}
	if _, err := os.Stat(p.Dir); err != nil {
		t.Fatal(err)
	}
	if err := p.Remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p.Dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the temporary directory %s is still there: %v", p.Dir, err)
	}
}

func TestBuildBatchPackageLimits(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	_, err := BuildBatchPackage(ctx, invoicesOf(5, 10), BatchPackageOptions{Dir: dir, Limits: BatchLimits{MaxInvoices: 4}})
	var le *BatchLimitError
	if !errors.As(err, &le) || failure.Of(err) != failure.Invalid {
		t.Fatalf("5 invoices with MaxInvoices 4: %v", err)
	}
	_, err = BuildBatchPackage(ctx, invoicesOf(20, 400), BatchPackageOptions{Dir: dir, Limits: BatchLimits{MaxPartSize: 1024, MaxParts: 3}})
	if !errors.As(err, &le) || !strings.Contains(err.Error(), "more than 3 parts") {
		t.Fatalf("a package over 3 parts of 1 KiB: %v", err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*")); len(left) != 0 {
		t.Errorf("failed builds left %v", left)
	}
	bad := func(yield func(string, []byte) bool) { yield("a.xml", []byte("\xEF\xBB\xBF<Faktura/>")) }
	var ce *InvoiceContentError
	if _, err := BuildBatchPackage(ctx, bad, BatchPackageOptions{Dir: dir}); !errors.As(err, &ce) || !strings.Contains(err.Error(), "a.xml") {
		t.Errorf("an XML with a BOM: %v", err)
	}
	dup := func(yield func(string, []byte) bool) {
		_ = yield("a.xml", []byte("<Faktura/>")) && yield("a.xml", []byte("<Faktura/>"))
	}
	if _, err := BuildBatchPackage(ctx, dup, BatchPackageOptions{Dir: dir}); !errors.As(err, &ce) {
		t.Errorf("a duplicate name: %v", err)
	}
	for _, name := range []string{"../x.xml", "/abs.xml", "", "a/../../b.xml"} {
		one := func(yield func(string, []byte) bool) { yield(name, []byte("<Faktura/>")) }
		if _, err := BuildBatchPackage(ctx, one, BatchPackageOptions{Dir: dir}); !errors.As(err, &ce) {
			t.Errorf("name %q: %v", name, err)
		}
	}
	empty := func(func(string, []byte) bool) {}
	if _, err := BuildBatchPackage(ctx, empty, BatchPackageOptions{Dir: dir}); !errors.As(err, &ce) {
		t.Errorf("no invoices: %v", err)
	}
}

func TestWriteBatchZIPStreamsToWriter(t *testing.T) {
	var buf bytes.Buffer
	entries, size, sha, err := WriteBatchZIP(context.Background(), &buf, invoicesOf(3, 5), 0)
	if err != nil {
		t.Fatal(err)
	}
	if int64(buf.Len()) != size || SHA256Base64(buf.Bytes()) != sha || len(entries) != 3 {
		t.Fatalf("wrote %d bytes %s, reported %d %s, %d entries", buf.Len(), SHA256Base64(buf.Bytes()), size, sha, len(entries))
	}
}

func TestPlanBatchSessions(t *testing.T) {
	sizes := make([]int64, 25)
	for i := range sizes {
		sizes[i] = 1000
	}
	got := PlanBatchSessions(sizes, BatchLimits{MaxInvoices: 10})
	want := [][2]int{{0, 10}, {10, 20}, {20, 25}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("by count: %v, want %v", got, want)
	}
	// 2 parts of 4000 bytes hold at most two invoices of 1000 bytes with the
	// per-entry overhead and a 1 % margin (1000+10+512 each).
	got = PlanBatchSessions(sizes[:5], BatchLimits{MaxPartSize: 4000, MaxParts: 2})
	for _, r := range got {
		var need int64
		for i := r[0]; i < r[1]; i++ {
			need += sizes[i] + sizes[i]/100 + batchEntryOverheadSize
		}
		if need > 8000 {
			t.Errorf("range %v needs %d bytes in the worst case, more than 2 parts of 4000", r, need)
		}
	}
	if len(got) < 2 || got[0][0] != 0 || got[len(got)-1][1] != 5 {
		t.Errorf("by size: %v", got)
	}
	for i := 1; i < len(got); i++ {
		if got[i][0] != got[i-1][1] {
			t.Errorf("ranges %v are not consecutive", got)
		}
	}
	if got := PlanBatchSessions(nil, BatchLimits{}); len(got) != 0 {
		t.Errorf("empty backlog: %v", got)
	}
	// With the official limits a real backlog of 10 001 invoices needs two sessions.
	big := make([]int64, MaxInvoicesPerSession+1)
	for i := range big {
		big[i] = 5000
	}
	if got := PlanBatchSessions(big, BatchLimits{}); len(got) != 2 || got[0][1] != MaxInvoicesPerSession {
		t.Errorf("10 001 invoices: %v", got)
	}
}
