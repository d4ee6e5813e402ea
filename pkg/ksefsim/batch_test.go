package ksefsim

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ksefpl/ksefpl/pkg/ksef"
)

func TestBatchSessionFullFlow(t *testing.T) {
	t.Parallel()
	e := newBatchEnv(t, Config{UPOPageSize: 10})
	access := e.loggedIn(testNIP)
	files := e.invoicesPkg(testNIP, "FB/2026", 25)
	b := e.newBatch(access, buildZip(t, files), 3, "")
	b.open()
	if !validRefNumber(b.ref) || b.ref[9:11] != infixBatch {
		t.Fatalf("batch reference %q is not an SB reference number", b.ref)
	}
	if len(b.uploads) != 3 {
		t.Fatalf("%d part upload requests, want 3", len(b.uploads))
	}
	for i, u := range b.uploads {
		pu, err := url.Parse(u.URL)
		if err != nil || u.Method != "PUT" || u.OrdinalNumber != i+1 || u.Headers["x-ms-blob-type"] != "BlockBlob" ||
			!strings.HasPrefix(u.URL, e.url+"/storage/") || pu.Query().Get("sig") == "" {
			t.Fatalf("upload request %d: %+v", i+1, u)
		}
	}
	if st := b.session().status(); st.Status.Code != 100 || st.Status.Description != descBatchStarted {
		t.Fatalf("fresh batch status %+v", st.Status)
	}
	b.uploadAll() // no bearer: e.put sends only the instructed headers
	b.close()
	st, seen := b.waitBatch()
	if seen[0] != 150 || st.Status.Code != 200 || st.Status.Description != descBatchSucceeded {
		t.Fatalf("batch went through %v ending %+v", seen, st.Status)
	}
	if st.InvoiceCount != 25 || st.SuccessfulInvoiceCount != 25 || st.FailedInvoiceCount != 0 {
		t.Fatalf("counts %+v", st)
	}

	// Every invoice numbered, listed over three pages with its file name.
	list, pages := b.listAll(false)
	if pages != 3 || len(list) != 25 {
		t.Fatalf("%d invoices over %d pages, want 25 over 3", len(list), pages)
	}
	for i, v := range list {
		if err := ksef.ValidateKSeFNumber(v.KsefNumber); err != nil {
			t.Fatalf("invoice %d KSeF number: %v", i, err)
		}
		if v.OrdinalNumber != i+1 || v.InvoiceFileName != files[i].name || v.InvoiceHash != b64sha(files[i].data) ||
			v.Status.Code != 200 || v.InvoicingMode != "Online" || !strings.HasPrefix(v.KsefNumber, testNIP+"-") {
			t.Fatalf("invoice %d: %+v", i, v)
		}
	}
	if failed, _ := b.listAll(true); len(failed) != 0 {
		t.Fatalf("failed listing %+v", failed)
	}

	// The session UPO comes in pages of UPOPageSize; together they list every invoice once.
	if st.UPO == nil || len(st.UPO.Pages) != 3 {
		t.Fatalf("UPO pages %+v, want 3 (25 invoices, 10 per page)", st.UPO)
	}
	listed := map[string]string{}
	for _, p := range st.UPO.Pages {
		viaLink := e.download(p.DownloadURL)
		viaAPI := e.call("GET", "/v2/sessions/"+b.ref+"/upo/"+p.ReferenceNumber, nil, bearer(access)...)
		if viaLink.status != 200 || viaAPI.status != 200 || !bytes.Equal(viaLink.body, viaAPI.body) {
			t.Fatalf("UPO page %s: link %d, API %d", p.ReferenceNumber, viaLink.status, viaAPI.status)
		}
		assertMetaHash(t, viaLink)
		validateUPO(t, viaLink.body)
		ref, docs := upoDocs(t, viaLink.body)
		if ref != b.ref {
			t.Fatalf("UPO page names session %s", ref)
		}
		for k, h := range docs {
			if _, dup := listed[k]; dup {
				t.Fatalf("%s on two UPO pages", k)
			}
			listed[k] = h
		}
	}
	for _, v := range list {
		if listed[v.KsefNumber] != v.InvoiceHash {
			t.Fatalf("UPO pages do not list %s with its hash", v.KsefNumber)
		}
	}
	// Per-invoice UPO as in online sessions.
	r := e.call("GET", "/v2/sessions/"+b.ref+"/invoices/"+list[0].ReferenceNumber+"/upo", nil, bearer(access)...)
	if r.status != 200 {
		t.Fatalf("invoice UPO: %d %s", r.status, r.body)
	}
	validateUPO(t, r.body)
	if dl := e.download(list[0].UpoDownloadURL); dl.status != 200 || !bytes.Equal(dl.body, r.body) {
		t.Fatalf("invoice UPO link: %d", dl.status)
	}

	// The judge sees the batch invoices; the session list shows the batch as Succeeded.
	var judged int
	for _, inv := range e.sim.Invoices() {
		if inv.SessionReferenceNumber == b.ref && inv.StatusCode == 200 && inv.KSeFNumber != "" {
			judged++
		}
	}
	if judged != 25 {
		t.Fatalf("judge lists %d numbered batch invoices, want 25", judged)
	}
	assertOneNumberPerDocument(t, e.sim.Invoices())
	r = e.call("GET", "/v2/sessions?sessionType=Batch&statuses=Succeeded", nil, bearer(access)...)
	if r.status != 200 || !strings.Contains(string(r.body), b.ref) {
		t.Fatalf("batch session list: %d %s", r.status, r.body)
	}
	if r = e.call("GET", "/v2/sessions?sessionType=Online", nil, bearer(access)...); strings.Contains(string(r.body), b.ref) {
		t.Fatalf("the batch session is listed as online: %s", r.body)
	}
	// A second close is refused by the session status.
	if code, d := exceptionCode(t, b.closeRaw()); code != codeSessionStatus || !strings.Contains(d[0], "200") {
		t.Fatalf("second close: %d %v", code, d)
	}
	e.noViolations()
}

func TestBatchTarGzPackage(t *testing.T) {
	t.Parallel()
	e := newBatchEnv(t, Config{InvoiceStepPolls: -1})
	access := e.loggedIn(testNIP)
	files := e.invoicesPkg(testNIP, "FT/2026", 4)
	files[0].name = "./" + files[0].name // tar members often carry ./
	b := e.newBatch(access, buildTarGz(t, files), 2, "TarGz")
	b.openBody["offlineMode"] = true
	b.open()
	b.uploadAll()
	b.close()
	if st, _ := b.waitBatch(); st.Status.Code != 200 || st.SuccessfulInvoiceCount != 4 {
		t.Fatalf("TarGz batch: %+v", st)
	}
	list, _ := b.listAll(false)
	if list[0].InvoiceFileName != strings.TrimPrefix(files[0].name, "./") || list[0].InvoicingMode != "Offline" {
		t.Fatalf("first invoice %+v (offlineMode declared at open)", list[0])
	}
	e.noViolations()
}

func TestBatchPartSizeAndHashErrors(t *testing.T) {
	t.Parallel()
	e := newBatchEnv(t, Config{InvoiceStepPolls: -1})
	access := e.loggedIn(testNIP)

	// A part shorter than declared: the upload is stored (blob storage does not
	// check), the close answers 21157 naming the part; a corrected upload replaces it.
	b := e.newBatch(access, buildZip(t, e.invoicesPkg(testNIP, "FS/2026", 6)), 3, "")
	b.open()
	b.uploadAll()
	if r := b.upload(2, b.parts[1][:len(b.parts[1])-16]); r.status != 201 {
		t.Fatalf("short upload: %d %s", r.status, r.body)
	}
	r := b.closeRaw()
	if code, d := exceptionCode(t, r); r.status != 400 || code != codeBadPartSize ||
		d[0] != "Zadeklarowany rozmiar części '2' nie zgadza się z rzeczywistym." {
		t.Fatalf("close with a short part: %d %s", r.status, r.body)
	}
	if r := b.upload(2, b.parts[1]); r.status != 201 {
		t.Fatalf("re-upload: %d %s", r.status, r.body)
	}
	b.close()
	if st, _ := b.waitBatch(); st.Status.Code != 200 || st.SuccessfulInvoiceCount != 6 {
		t.Fatalf("after re-upload: %+v", st)
	}

	// A part with the declared size but other bytes: the close is accepted, the
	// package fails verification (405) and no invoice is numbered.
	b = e.newBatch(access, buildZip(t, e.invoicesPkg(testNIP, "FH/2026", 6)), 3, "")
	b.open()
	b.uploadAll()
	bad := bytes.Clone(b.parts[1])
	bad[0] ^= 0xFF
	if r := b.upload(2, bad); r.status != 201 {
		t.Fatalf("tampered upload: %d %s", r.status, r.body)
	}
	b.close()
	st, seen := b.waitBatch()
	if st.Status.Code != 405 || st.Status.Description != descBatchElements ||
		len(st.Status.Details) != 1 || !strings.Contains(st.Status.Details[0], "'2'") || st.InvoiceCount != 0 {
		t.Fatalf("tampered part: %v %+v", seen, st)
	}
	if st.UPO != nil {
		t.Fatalf("a failed batch has a UPO: %+v", st.UPO)
	}

	// A declared part never uploaded: 21205.
	b = e.newBatch(access, buildZip(t, e.invoicesPkg(testNIP, "FM/2026", 6)), 3, "")
	b.open()
	for _, n := range []int{1, 3} {
		if r := b.upload(n, b.parts[n-1]); r.status != 201 {
			t.Fatalf("upload %d: %d", n, r.status)
		}
	}
	r = b.closeRaw()
	if code, d := exceptionCode(t, r); code != codePartMissing || d[0] != "Nie przesłano zadeklarowanej '2' części pliku." {
		t.Fatalf("close with a missing part: %d %s", r.status, r.body)
	}
	e.noViolations()
}

func TestBatchUploadWindowAndStorageChecks(t *testing.T) {
	t.Parallel()
	e := newBatchEnv(t, Config{InvoiceStepPolls: -1})
	access := e.loggedIn(testNIP)
	b := e.newBatch(access, buildZip(t, e.invoicesPkg(testNIP, "FW/2026", 3)), 3, "")
	b.open()

	// The link is the only credential: a changed signature, a missing blob type or a
	// link for another part fail like blob storage does.
	u := b.uploads[0]
	forged := strings.Replace(u.URL, "sig=", "sig=x", 1)
	if r := e.put("PUT", forged, u.Headers, b.parts[0]); r.status != 403 || storageCode(r) != "AuthenticationFailed" {
		t.Fatalf("forged signature: %d %s", r.status, r.body)
	}
	if r := e.put("PUT", u.URL, nil, b.parts[0]); r.status != 400 || storageCode(r) != "MissingRequiredHeader" {
		t.Fatalf("no x-ms-blob-type: %d %s", r.status, r.body)
	}
	if r := e.put("PUT", strings.Replace(u.URL, "/batch-parts/1?", "/batch-parts/2?", 1), u.Headers, b.parts[0]); r.status != 403 {
		t.Fatalf("link of part 1 used for part 2: %d %s", r.status, r.body)
	}
	if r := b.upload(1, b.parts[0]); r.status != 201 {
		t.Fatalf("upload 1: %d %s", r.status, r.body)
	}

	// Three parts: 60 minutes for every part. One second later, uploads are refused.
	e.clock.Advance(3*uploadTimePerPart + time.Second)
	r := b.upload(2, b.parts[1])
	if r.status != 403 || storageCode(r) != "AuthenticationFailed" || !strings.Contains(string(r.body), "expiry") {
		t.Fatalf("upload after the window: %d %s", r.status, r.body)
	}
	if code, _ := exceptionCode(t, b.closeRaw()); code != codePartMissing {
		t.Fatalf("close without part 2: %d", code)
	}
	// Left at 100 for 12 hours, the session is cancelled and the close says so.
	e.clock.Advance(batchSessionTTL)
	st := b.session().status()
	if st.Status.Code != 440 || len(st.Status.Details) != 1 || st.Status.Details[0] != "Przekroczono czas wysyłki" {
		t.Fatalf("abandoned batch: %+v", st.Status)
	}
	r = b.closeRaw()
	if code, d := exceptionCode(t, r); code != codeUploadTimeout || d[0] != "Sesja anulowana, przekroczony czas wysyłki." {
		t.Fatalf("close of an abandoned batch: %d %s", r.status, r.body)
	}
	e.noViolations()
}

func TestBatchDuplicateInsideThePackage(t *testing.T) {
	t.Parallel()
	e := newBatchEnv(t, Config{InvoiceStepPolls: -1})
	access := e.loggedIn(testNIP)
	files := e.invoicesPkg(testNIP, "FD/2026", 3)
	files = append(files, pkgFile{name: "again.xml", data: fa3(testNIP, "FD/2026/2", e.today())})
	files = append(files, pkgFile{name: "other-seller.xml", data: fa3(otherNIP, "FD/X/1", e.today())})
	b := e.newBatch(access, buildZip(t, files), 1, "")
	b.open()
	b.uploadAll()
	b.close()
	st, _ := b.waitBatch()
	if st.Status.Code != 200 || st.InvoiceCount != 5 || st.SuccessfulInvoiceCount != 3 || st.FailedInvoiceCount != 2 {
		t.Fatalf("batch with a duplicate: %+v", st)
	}
	list, _ := b.listAll(false)
	original, dup := list[1], list[3]
	if dup.Status.Code != 440 || dup.Status.Description != descInvDuplicate || dup.KsefNumber != "" ||
		dup.Status.Extensions["originalKsefNumber"] != original.KsefNumber || dup.Status.Extensions["originalSessionReferenceNumber"] != b.ref {
		t.Fatalf("duplicate %+v of %+v", dup, original)
	}
	failed, _ := b.listAll(true)
	var names []string
	for _, f := range failed {
		names = append(names, f.InvoiceFileName)
	}
	if !slices.Equal(names, []string{"again.xml", "other-seller.xml"}) || failed[1].Status.Code != 450 {
		t.Fatalf("failed listing %+v", failed)
	}
	var valid []ReceivedInvoice
	for _, inv := range e.sim.Invoices() {
		if inv.SellerNIP == testNIP {
			valid = append(valid, inv)
		}
	}
	assertOneNumberPerDocument(t, valid)
	e.noViolations()
}

func TestBatchTerminated(t *testing.T) {
	t.Parallel()
	e := newBatchEnv(t, Config{InvoiceStepPolls: 3})
	access := e.loggedIn(testNIP)
	b := e.newBatch(access, buildZip(t, e.invoicesPkg(testNIP, "FX/2026", 5)), 1, "")
	b.open()
	b.uploadAll()
	b.close()
	if st := b.session().status(); st.Status.Code != 150 {
		t.Fatalf("right after close: %+v", st.Status)
	}
	if err := e.sim.TerminateSession(b.ref); err != nil {
		t.Fatal(err)
	}
	st, _ := b.waitBatch()
	if st.Status.Code != 440 || st.Status.Details[0] != detTerminated || st.SuccessfulInvoiceCount != 0 || st.FailedInvoiceCount != 5 {
		t.Fatalf("terminated batch: %+v", st)
	}
	list, _ := b.listAll(false)
	for _, v := range list {
		if v.Status.Code != 405 || v.KsefNumber != "" {
			t.Fatalf("invoice of a terminated batch: %+v", v)
		}
	}
	// Terminated before close: the close is refused and no upload is accepted.
	b2 := e.newBatch(access, buildZip(t, e.invoicesPkg(testNIP, "FY/2026", 2)), 1, "")
	b2.open()
	if err := e.sim.TerminateSession(b2.ref); err != nil {
		t.Fatal(err)
	}
	if r := b2.upload(1, b2.parts[0]); r.status != 403 {
		t.Fatalf("upload into a terminated batch: %d %s", r.status, r.body)
	}
	if code, _ := exceptionCode(t, b2.closeRaw()); code != codeSessionStatus {
		t.Fatalf("close of a terminated batch: %d", code)
	}
	e.noViolations()
}

func TestBatchPackageFailures(t *testing.T) {
	t.Parallel()
	e := newBatchEnv(t, Config{InvoiceStepPolls: -1})
	access := e.loggedIn(testNIP)
	run := func(b *cbatch) cSessionStatus {
		t.Helper()
		b.open()
		b.uploadAll()
		b.close()
		st, _ := b.waitBatch()
		return st
	}
	// Not a ZIP archive: 430.
	junk := make([]byte, 4000)
	_, _ = rand.Read(junk)
	if st := run(e.newBatch(access, junk, 2, "")); st.Status.Code != 430 || st.Status.Description != descBatchDecomp {
		t.Fatalf("junk package: %+v", st.Status)
	}
	// A symmetric key KSeF cannot unwrap: 415.
	b := e.newBatch(access, buildZip(t, e.invoicesPkg(testNIP, "FK/2026", 2)), 1, "")
	b.openBody["encryption"].(map[string]string)["encryptedSymmetricKey"] = base64.StdEncoding.EncodeToString(make([]byte, 256))
	if st := run(b); st.Status.Code != 415 || st.Status.Description != descBatchKey {
		t.Fatalf("bad key: %+v", st.Status)
	}
	// A part whose padding does not decrypt (CBC: flipping the previous block turns the
	// last plaintext byte into 0, which is no PKCS#7 padding): 435.
	b = e.newBatch(access, buildZip(t, e.invoicesPkg(testNIP, "FE/2026", 2)), 1, "")
	b.parts[0][len(b.parts[0])-17] ^= byte(16 - len(b.pkg)%16)
	b.openBody["batchFile"].(map[string]any)["fileParts"].([]map[string]any)[0]["fileHash"] = b64sha(b.parts[0])
	if st := run(b); st.Status.Code != 435 || st.Status.Description != descBatchDecrypt {
		t.Fatalf("undecryptable part: %+v", st.Status)
	}
	// An empty archive: 440 "Nie przesłano faktur".
	if st := run(e.newBatch(access, buildZip(t, nil), 1, "")); st.Status.Code != 440 || st.Status.Details[0] != detNoInvoices {
		t.Fatalf("empty package: %+v", st.Status)
	}
	// Only invalid invoices: 445.
	bad := []pkgFile{{name: "a.xml", data: []byte("<nie-xml")}, {name: "b.xml", data: fa3(otherNIP, "FO/1", e.today())}}
	if st := run(e.newBatch(access, buildZip(t, bad), 1, "")); st.Status.Code != 445 {
		t.Fatalf("no valid invoices: %+v", st.Status)
	}
	e.noViolations()
}

func TestOpenBatchValidation(t *testing.T) {
	t.Parallel()
	e := newBatchEnv(t, Config{})
	access := e.loggedIn(testNIP)
	pkg := buildZip(t, e.invoicesPkg(testNIP, "FV/2026", 2))
	openWith := func(mutate func(b *cbatch)) (int, []string) {
		t.Helper()
		b := e.newBatch(access, pkg, 1, "")
		mutate(b)
		r := e.call("POST", "/v2/sessions/batch", b.openBody, bearer(access)...)
		if r.status != 400 {
			t.Fatalf("open: %d %s", r.status, r.body)
		}
		return exceptionCode(t, r)
	}
	parts := func(b *cbatch) []map[string]any {
		return b.openBody["batchFile"].(map[string]any)["fileParts"].([]map[string]any)
	}
	if code, _ := openWith(func(b *cbatch) {
		var many []map[string]any
		for i := 1; i <= 51; i++ {
			many = append(many, map[string]any{"ordinalNumber": i, "fileSize": 16, "fileHash": b64sha(nil)})
		}
		b.openBody["batchFile"].(map[string]any)["fileParts"] = many
	}); code != codeTooManyParts {
		t.Fatalf("51 parts: %d", code)
	}
	if code, _ := openWith(func(b *cbatch) { parts(b)[0]["fileSize"] = maxPartEncrypted + 16 }); code != codeBadPartSize {
		t.Fatalf("part over 100 MB: %d", code)
	}
	if code, _ := openWith(func(b *cbatch) { parts(b)[0]["fileSize"] = 17 }); code != codeBadPartSize {
		t.Fatalf("part size not a multiple of 16: %d", code)
	}
	if code, d := openWith(func(b *cbatch) { b.openBody["batchFile"].(map[string]any)["compressionType"] = "Rar" }); code != codeValidation || !strings.Contains(d[0], "Rar") {
		t.Fatalf("compression Rar: %d %v", code, d)
	}
	if code, _ := openWith(func(b *cbatch) { parts(b)[0]["ordinalNumber"] = 2 }); code != codeValidation {
		t.Fatalf("ordinal 2 of 1: %d", code)
	}
	if code, _ := openWith(func(b *cbatch) {
		b.openBody["encryption"].(map[string]string)["publicKeyId"] = b64sha([]byte("another key"))
	}); code != codeUnknownPublicKey {
		t.Fatalf("unknown key id: %d", code)
	}
	e.noResponseViolations()
}
