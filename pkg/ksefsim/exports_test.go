package ksefsim

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"
)

// cExportStatus is InvoiceExportStatusResponse.
type cExportStatus struct {
	Status struct {
		Code        int
		Description string
		Details     []string
	}
	CompletedDate, PackageExpirationDate string
	Package                              *struct {
		InvoiceCount, Size                                int64
		IsTruncated                                       bool
		LastPermanentStorageDate, PermanentStorageHwmDate string
		CompressionType                                   string
		Parts                                             []struct {
			OrdinalNumber                               int
			PartName, Method                            string
			URL                                         string `json:"url"`
			PartSize, EncryptedPartSize                 int64
			PartHash, EncryptedPartHash, ExpirationDate string
		}
	}
}

// cExport is a client's export: the AES key it chose and the reference number.
type cExport struct {
	e       *env
	access  string
	key, iv []byte
	ref     string
}

// startExport posts an export of filters with a fresh AES key wrapped for the MF key.
func (e *env) startExport(access string, extra map[string]any) (*cExport, reply) {
	e.t.Helper()
	cert, pub := e.cert(usageSymmetricEncryption)
	x := &cExport{e: e, access: access, key: make([]byte, 32), iv: make([]byte, 16)}
	_, _ = rand.Read(x.key)
	_, _ = rand.Read(x.iv)
	body := map[string]any{"encryption": map[string]string{
		"encryptedSymmetricKey": encryptToken(e.t, pub, string(x.key)),
		"initializationVector":  base64.StdEncoding.EncodeToString(x.iv), "publicKeyId": cert.PublicKeyID,
	}}
	for k, v := range extra {
		body[k] = v
	}
	r := e.call("POST", "/v2/invoices/exports", body, bearer(access)...)
	if r.status == 201 {
		var out struct{ ReferenceNumber string }
		r.decode(e.t, &out)
		x.ref = out.ReferenceNumber
	}
	return x, r
}

func (x *cExport) status() cExportStatus {
	x.e.t.Helper()
	r := x.e.call("GET", "/v2/invoices/exports/"+x.ref, nil, bearer(x.access)...)
	if r.status != 200 {
		x.e.t.Fatalf("export status: %d %s", r.status, r.body)
	}
	var st cExportStatus
	r.decode(x.e.t, &st)
	return st
}

// download fetches every part without a bearer, checks its size and hashes,
// decrypts it and returns the reassembled archive.
func (x *cExport) download(st cExportStatus) []byte {
	x.e.t.Helper()
	var archive []byte
	for i, p := range st.Package.Parts {
		r := x.e.download(p.URL)
		if r.status != 200 || p.Method != "GET" || p.OrdinalNumber != i+1 || int64(len(r.body)) != p.EncryptedPartSize ||
			b64sha(r.body) != p.EncryptedPartHash || r.header.Get("x-ms-meta-hash") != p.EncryptedPartHash {
			x.e.t.Fatalf("part %d: %d %d B, %+v", i+1, r.status, len(r.body), p)
		}
		block, _ := aes.NewCipher(x.key)
		plain := make([]byte, len(r.body))
		cipher.NewCBCDecrypter(block, x.iv).CryptBlocks(plain, r.body)
		plain = plain[:len(plain)-int(plain[len(plain)-1])]
		if int64(len(plain)) != p.PartSize || b64sha(plain) != p.PartHash {
			x.e.t.Fatalf("part %d decrypts to %d B, declared %d", i+1, len(plain), p.PartSize)
		}
		archive = append(archive, plain...)
	}
	if int64(len(archive)) != st.Package.Size {
		x.e.t.Fatalf("package %d B, declared %d", len(archive), st.Package.Size)
	}
	return archive
}

// unpack reads a ZIP or tar.gz archive into name -> content.
func unpack(t *testing.T, compression string, archive []byte) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	if compression == "TarGz" {
		gz, err := gzip.NewReader(bytes.NewReader(archive))
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(gz)
		for {
			h, err := tr.Next()
			if err == io.EOF {
				return out
			}
			if err != nil {
				t.Fatal(err)
			}
			out[h.Name], _ = io.ReadAll(tr)
		}
	}
	zr, err := zip.NewReader(bytes.NewReader(archive), int64(len(archive)))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		out[f.Name], _ = io.ReadAll(rc)
		rc.Close()
	}
	return out
}

// TestInvoiceExportPackage exports a seller's invoices: status 100 then 200, the
// package split into encrypted parts downloadable without a bearer, every invoice as
// {ksefNumber}.xml with the metadata in _metadata.json, and truncation at the limit.
func TestInvoiceExportPackage(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{InvoiceStepPolls: -1, ExportPolls: 2, ExportPartSize: 2000, QueryResultLimit: 5})
	start := e.clock.Now()
	access := e.loggedIn(testNIP)
	cs := e.openSession(access)
	docs := map[string][]byte{} // KSeF number -> document
	for i := 1; i <= 6; i++ {
		cs.send(fa3Amounts(testNIP, otherNIP, fmt.Sprintf("FE/%d", i), e.today()))
		e.clock.Advance(time.Minute)
	}
	e.clock.Advance(time.Minute)
	for _, inv := range e.sim.Invoices() {
		docs[inv.KSeFNumber] = nil
	}
	e.clock.Advance(2 * time.Second) // past the permanent storage of the last one
	filters := map[string]any{"subjectType": "Subject1", "dateRange": dateRange("PermanentStorage", start, nil)}
	x, r := e.startExport(access, map[string]any{"filters": filters})
	if r.status != 201 || !validRefNumber(x.ref) {
		t.Fatalf("POST /invoices/exports: %d %s", r.status, r.body)
	}
	for i := range 2 {
		if st := x.status(); st.Status.Code != 100 || st.Package != nil {
			t.Fatalf("read %d: %+v", i+1, st)
		}
	}
	st := x.status()
	if st.Status.Code != 200 || st.Status.Description != "Eksport faktur zakończony sukcesem" || st.Package == nil ||
		st.Package.InvoiceCount != 5 || !st.Package.IsTruncated || st.Package.CompressionType != "Zip" ||
		len(st.Package.Parts) < 2 || st.Package.LastPermanentStorageDate == "" || st.Package.PermanentStorageHwmDate == "" {
		t.Fatalf("finished export: %+v %+v", st, st.Package)
	}
	if !strings.HasPrefix(st.Package.Parts[0].PartName, x.ref+"-001.zip") {
		t.Errorf("part name %q", st.Package.Parts[0].PartName)
	}
	files := unpack(t, "Zip", x.download(st))
	var meta struct{ Invoices []cMetadata }
	if err := json.Unmarshal(files["_metadata.json"], &meta); err != nil || len(meta.Invoices) != 5 || len(files) != 6 {
		t.Fatalf("package files %d, metadata %d: %v", len(files), len(meta.Invoices), err)
	}
	for i, m := range meta.Invoices {
		doc, ok := files[m.KsefNumber+".xml"]
		if _, known := docs[m.KsefNumber]; !ok || !known || b64sha(doc) != m.InvoiceHash || m.InvoiceNumber != fmt.Sprintf("FE/%d", i+1) {
			t.Fatalf("metadata %d: %+v (file present %v)", i, m, ok)
		}
	}
	if st.Package.LastPermanentStorageDate != meta.Invoices[4].PermanentStorageDate {
		t.Errorf("lastPermanentStorageDate %s, last invoice %s", st.Package.LastPermanentStorageDate, meta.Invoices[4].PermanentStorageDate)
	}
	// The next export starts at lastPermanentStorageDate and gets the rest: only the
	// metadata, as a tar.gz.
	filters["dateRange"] = map[string]any{"dateType": "PermanentStorage", "from": st.Package.LastPermanentStorageDate}
	x2, r := e.startExport(access, map[string]any{"filters": filters, "onlyMetadata": true, "compressionType": "TarGz"})
	if r.status != 201 {
		t.Fatalf("second export: %d %s", r.status, r.body)
	}
	x2.status()
	x2.status()
	st2 := x2.status()
	if st2.Status.Code != 200 || st2.Package.IsTruncated || st2.Package.InvoiceCount != 2 || st2.Package.CompressionType != "TarGz" {
		t.Fatalf("second export: %+v", st2)
	}
	files = unpack(t, "TarGz", x2.download(st2))
	if len(files) != 1 || files["_metadata.json"] == nil {
		t.Fatalf("onlyMetadata package has %d files", len(files))
	}
	// Links are checked; the package expires after 72 h (210), the status after 7 days (410).
	if r := e.download(strings.Replace(st.Package.Parts[0].URL, "sig=", "sig=x", 1)); r.status != 403 {
		t.Fatalf("tampered link: %d", r.status)
	}
	e.clock.Advance(73 * time.Hour)
	x.access = e.loggedIn(testNIP) // the access token has expired meanwhile
	if st := x.status(); st.Status.Code != 210 || st.Package != nil {
		t.Fatalf("after 73 h: %+v", st)
	}
	e.clock.Advance(7 * 24 * time.Hour)
	if r := e.call("GET", "/v2/invoices/exports/"+x.ref, nil, bearer(e.loggedIn(testNIP))...); r.status != 410 {
		t.Fatalf("after 7 days: %d %s", r.status, r.body)
	}
	e.noViolations()
}

func TestInvoiceExportErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{ExportPolls: -1})
	access := e.loggedIn(testNIP)
	filters := map[string]any{"subjectType": "Subject1", "dateRange": dateRange("Invoicing", e.clock.Now().Add(-time.Hour), nil)}
	_, r := e.startExport(access, map[string]any{})
	if code, _ := exceptionCode(t, r); r.status != 400 || code != 21405 {
		t.Fatalf("no filters: %d %s", r.status, r.body)
	}
	_, r = e.startExport(access, map[string]any{"filters": filters, "compressionType": "Rar"})
	if code, _ := exceptionCode(t, r); r.status != 400 || code != 21405 {
		t.Fatalf("bad compression: %d %s", r.status, r.body)
	}
	// A key id that is not the current key: 21470.
	_, r = e.startExport(access, map[string]any{"filters": filters, "encryption": map[string]string{
		"encryptedSymmetricKey": base64.StdEncoding.EncodeToString(make([]byte, 256)),
		"initializationVector":  base64.StdEncoding.EncodeToString(make([]byte, 16)),
		"publicKeyId":           base64.StdEncoding.EncodeToString(make([]byte, 32)),
	}})
	if code, _ := exceptionCode(t, r); r.status != 400 || code != 21470 {
		t.Fatalf("unknown key: %d %s", r.status, r.body)
	}
	// A key that cannot be unwrapped ends the export with 415.
	x, r := e.startExport(access, map[string]any{"filters": filters, "encryption": map[string]string{
		"encryptedSymmetricKey": base64.StdEncoding.EncodeToString(make([]byte, 256)),
		"initializationVector":  base64.StdEncoding.EncodeToString(make([]byte, 16)),
	}})
	if r.status != 201 {
		t.Fatalf("undecryptable key: %d %s", r.status, r.body)
	}
	if st := x.status(); st.Status.Code != 415 || st.Package != nil {
		t.Fatalf("undecryptable key status: %+v", st)
	}
	// A range past the HWM with restrictToPermanentStorageHwmDate: 420.
	x, _ = e.startExport(access, map[string]any{"filters": map[string]any{"subjectType": "Subject1", "dateRange": map[string]any{
		"dateType": "PermanentStorage", "from": e.clock.Now().Add(time.Hour).Format(time.RFC3339), "restrictToPermanentStorageHwmDate": true}}})
	if st := x.status(); st.Status.Code != 420 || len(st.Status.Details) != 1 {
		t.Fatalf("range after the HWM: %+v", st)
	}
	// An empty result is a package with _metadata.json only.
	x, _ = e.startExport(access, map[string]any{"filters": filters})
	if st := x.status(); st.Status.Code != 200 || st.Package.InvoiceCount != 0 || len(st.Package.Parts) != 1 {
		t.Fatalf("empty export: %+v", st)
	}
	// Another context cannot read the export: 21175.
	if r := e.call("GET", "/v2/invoices/exports/"+x.ref, nil, bearer(e.loggedIn(otherNIP))...); r.status != 400 {
		t.Fatalf("foreign export: %d %s", r.status, r.body)
	} else if code, _ := exceptionCode(t, r); code != 21175 {
		t.Fatalf("foreign export code %d", code)
	}
	e.noResponseViolations()
}

func TestRunningExportsAreLimitedTo10(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{ExportPolls: 5})
	access := e.loggedIn(testNIP)
	filters := map[string]any{"subjectType": "Subject1", "dateRange": dateRange("Invoicing", e.clock.Now().Add(-time.Hour), nil)}
	for i := range 10 {
		if _, r := e.startExport(access, map[string]any{"filters": filters}); r.status != 201 {
			t.Fatalf("export %d: %d %s", i+1, r.status, r.body)
		}
	}
	_, r := e.startExport(access, map[string]any{"filters": filters})
	if code, d := exceptionCode(t, r); r.status != 400 || code != 21182 || !strings.Contains(d[0], "10") {
		t.Fatalf("11th running export: %d %s", r.status, r.body)
	}
	e.noViolations()
}
