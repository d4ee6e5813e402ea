package ksefsim

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"
)

// Client-side wire types for batch sessions, written for the tests from open-api.json.
type (
	cPartUpload struct {
		OrdinalNumber int
		Method        string
		URL           string `json:"url"`
		Headers       map[string]string
	}
	cOpenBatch struct {
		ReferenceNumber    string
		PartUploadRequests []cPartUpload
	}
	cInvoiceWithFile struct {
		cInvoice
		InvoiceFileName string
	}
	cInvoicesWithFile struct {
		ContinuationToken string
		Invoices          []cInvoiceWithFile
	}
)

// pkgFile is one file of a batch package.
type pkgFile struct {
	name string
	data []byte
}

func buildZip(t *testing.T, files []pkgFile) []byte {
	t.Helper()
	return buildZipMethod(t, files, zip.Deflate)
}

// buildZipMethod builds a ZIP with the given method (zip.Store keeps big test
// packages cheap to build under -race).
func buildZipMethod(t *testing.T, files []pkgFile, method uint16) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range files {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: f.name, Method: method})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(f.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func buildTarGz(t *testing.T, files []pkgFile) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, f := range files {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.data)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(f.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// invoicesPkg builds n FA (3) invoices of nip numbered prefix/1.. as package files.
func (e *env) invoicesPkg(nip, prefix string, n int) []pkgFile {
	var files []pkgFile
	for i := 1; i <= n; i++ {
		files = append(files, pkgFile{name: fmt.Sprintf("faktura-%05d.xml", i), data: fa3(nip, fmt.Sprintf("%s/%d", prefix, i), e.today())})
	}
	return files
}

// cbatch is a client's view of a batch session: the package, its encrypted parts and
// the upload instructions.
type cbatch struct {
	e        *env
	access   string
	ref      string
	key, iv  []byte
	pkg      []byte
	parts    [][]byte // encrypted
	uploads  []cPartUpload
	openBody map[string]any
	openHdr  []string // extra headers of the open (e.g. X-KSeF-Feature)
}

// newBatch splits pkg binary-wise into n parts, encrypts each with a fresh AES key and
// builds the OpenBatchSessionRequest (the key wrapped with the SymmetricKeyEncryption
// certificate). Nothing is sent yet.
func (e *env) newBatch(access string, pkg []byte, n int, compression string) *cbatch {
	e.t.Helper()
	cert, pub := e.cert(usageSymmetricEncryption)
	b := &cbatch{e: e, access: access, pkg: pkg, key: make([]byte, 32), iv: make([]byte, 16)}
	_, _ = rand.Read(b.key)
	_, _ = rand.Read(b.iv)
	size := (len(pkg) + n - 1) / n
	var parts []map[string]any
	for i := 0; i < n; i++ {
		plain := pkg[i*size : min((i+1)*size, len(pkg))]
		ct := encryptCBC(e.t, b.key, b.iv, plain)
		b.parts = append(b.parts, ct)
		parts = append(parts, map[string]any{"ordinalNumber": i + 1, "fileSize": len(ct), "fileHash": b64sha(ct)})
	}
	file := map[string]any{"fileSize": len(pkg), "fileHash": b64sha(pkg), "fileParts": parts}
	if compression != "" {
		file["compressionType"] = compression
	}
	b.openBody = map[string]any{
		"formCode":  fa3Form(),
		"batchFile": file,
		"encryption": map[string]string{
			"encryptedSymmetricKey": encryptToken(e.t, pub, string(b.key)),
			"initializationVector":  base64.StdEncoding.EncodeToString(b.iv), "publicKeyId": cert.PublicKeyID,
		},
		"offlineMode": false,
	}
	return b
}

// open sends POST /sessions/batch and fails on anything but 201.
func (b *cbatch) open() {
	b.e.t.Helper()
	r := b.e.call("POST", "/v2/sessions/batch", b.openBody, append(bearer(b.access), b.openHdr...)...)
	if r.status != 201 {
		b.e.t.Fatalf("open batch: %d %s", r.status, r.body)
	}
	var o cOpenBatch
	r.decode(b.e.t, &o)
	b.ref, b.uploads = o.ReferenceNumber, o.PartUploadRequests
}

// put performs one raw upload request without any Authorization header.
func (e *env) put(method, rawURL string, headers map[string]string, body []byte) reply {
	e.t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, rawURL, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, rawURL, err)
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: rb}
}

// upload sends part n (1-based) as the instructions say, with the given bytes.
func (b *cbatch) upload(n int, data []byte) reply {
	b.e.t.Helper()
	u := b.uploads[n-1]
	if u.OrdinalNumber != n {
		b.e.t.Fatalf("upload request %d has ordinal %d", n, u.OrdinalNumber)
	}
	return b.e.put(u.Method, u.URL, u.Headers, data)
}

// uploadAll uploads every part and fails on anything but 201.
func (b *cbatch) uploadAll() {
	b.e.t.Helper()
	for i, p := range b.parts {
		if r := b.upload(i+1, p); r.status != 201 {
			b.e.t.Fatalf("upload part %d: %d %s", i+1, r.status, r.body)
		}
	}
}

func (b *cbatch) closeRaw() reply {
	b.e.t.Helper()
	return b.e.call("POST", "/v2/sessions/batch/"+b.ref+"/close", nil, bearer(b.access)...)
}

func (b *cbatch) close() {
	b.e.t.Helper()
	if r := b.closeRaw(); r.status != 204 {
		b.e.t.Fatalf("close batch: %d %s", r.status, r.body)
	}
}

// session is the online-session client view of the same reference number (the
// status, listing and UPO endpoints are shared).
func (b *cbatch) session() *csession {
	return &csession{e: b.e, access: b.access, ref: b.ref}
}

// waitBatch polls GET /sessions/{ref} until the status is final.
func (b *cbatch) waitBatch() (cSessionStatus, []int) {
	b.e.t.Helper()
	var seen []int
	for range 20 {
		v := b.session().status()
		seen = append(seen, v.Status.Code)
		if v.Status.Code != 100 && v.Status.Code != 150 {
			return v, seen
		}
	}
	b.e.t.Fatalf("batch session never became final: %v", seen)
	return cSessionStatus{}, nil
}

// listAll reads every page of /invoices (or /invoices/failed) with pageSize 10 and
// returns the invoices and the number of pages.
func (b *cbatch) listAll(failed bool) ([]cInvoiceWithFile, int) {
	b.e.t.Helper()
	path := "/v2/sessions/" + b.ref + "/invoices"
	if failed {
		path += "/failed"
	}
	path += "?pageSize=10"
	var all []cInvoiceWithFile
	token := ""
	for pages := 1; pages < 1000; pages++ {
		h := bearer(b.access)
		if token != "" {
			h = append(h, "x-continuation-token", token)
		}
		r := b.e.call("GET", path, nil, h...)
		if r.status != 200 {
			b.e.t.Fatalf("list invoices: %d %s", r.status, r.body)
		}
		var p cInvoicesWithFile
		r.decode(b.e.t, &p)
		all = append(all, p.Invoices...)
		if p.ContinuationToken == "" {
			return all, pages
		}
		token = p.ContinuationToken
	}
	b.e.t.Fatal("listing never ended")
	return nil, 0
}

// storageCode reads the Code of a blob-storage XML error.
func storageCode(r reply) string {
	_, after, ok := bytes.Cut(r.body, []byte("<Code>"))
	if !ok {
		return ""
	}
	code, _, _ := bytes.Cut(after, []byte("</Code>"))
	return string(code)
}

// batchEnv is an env whose tokens outlive the long clock jumps of batch tests.
func newBatchEnv(t *testing.T, cfg Config) *env {
	if cfg.AccessTokenTTL == 0 {
		cfg.AccessTokenTTL = 48 * time.Hour
	}
	return newEnv(t, cfg)
}
