package ksefsim

import (
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"
	"time"
)

// fa3WrongSchema is fa3 in the FA (2) namespace: in an FA (3) session it is rejected
// as not matching the schema (450), a technical reason.
func fa3WrongSchema(nip, number string, issued time.Time) []byte {
	return []byte(strings.Replace(string(fa3(nip, number, issued)),
		"http://crd.gov.pl/wzor/2025/06/25/13775/", "http://crd.gov.pl/wzor/2023/06/29/12648/", 1))
}

// sendCorrection sends doc as a technical correction of the invoice whose Base64
// SHA-256 is corrected.
func (cs *csession) sendCorrection(doc []byte, corrected string, offline bool) reply {
	cs.e.t.Helper()
	body := cs.sendBody(doc)
	body["offlineMode"] = offline
	body["hashOfCorrectedInvoice"] = corrected
	return cs.sendRaw(body)
}

// qrInvoicePath is the KOD I path of doc under the simulator's /qr base.
func qrInvoicePath(nip string, issued time.Time, doc []byte) string {
	h := sha256.Sum256(doc)
	return "/qr/invoice/" + nip + "/" + issued.Format("02-01-2006") + "/" + base64.RawURLEncoding.EncodeToString(h[:])
}

type cQRInvoice struct {
	Status, Message, SellerNip, IssueDate, InvoiceHash, KsefNumber string
	Invoice                                                        *struct {
		KsefNumber, InvoiceNumber, InvoicingMode, InvoiceHash string
		HashOfCorrectedInvoice                                string
	}
	TechnicalCorrection *struct{ KsefNumber, InvoiceHash, HashOfCorrectedInvoice string }
}

func (e *env) qrInvoice(path string) cQRInvoice {
	e.t.Helper()
	r := e.call("GET", path, nil)
	if r.status != 200 {
		e.t.Fatalf("GET %s: %d %s", path, r.status, r.body)
	}
	var out cQRInvoice
	r.decode(e.t, &out)
	return out
}

func correctionCode(t *testing.T, r reply) (int, string) {
	t.Helper()
	if r.status != 400 {
		t.Fatalf("want 400, got %d %s", r.status, r.body)
	}
	code, d := exceptionCode(t, r)
	return code, strings.Join(d, " ")
}

// TestTechnicalCorrectionAccepted: an offline invoice rejected for a schema error is
// sent again, corrected, with hashOfCorrectedInvoice: it gets a KSeF number, it is
// linked to the original (metadata, KOD I of the original) and a second correction
// of the same original is refused with 21166.
func TestTechnicalCorrectionAccepted(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{InvoiceStepPolls: -1})
	access := e.loggedIn(testNIP)
	cs := e.openSession(access)
	day := e.today()

	bad := fa3WrongSchema(testNIP, "TK/1", day)
	orig := cs.sendMode(bad, true)
	if v, _ := cs.waitInvoice(orig); v.Status.Code != 450 {
		t.Fatalf("original: %+v", v.Status)
	}
	// Before the correction, KOD I of the original finds nothing in KSeF.
	if q := e.qrInvoice(qrInvoicePath(testNIP, day, bad)); q.Status != "NotFound" || q.KsefNumber != "" {
		t.Fatalf("KOD I of the rejected original: %+v", q)
	}

	good := fa3(testNIP, "TK/1", day)
	r := cs.sendCorrection(good, b64sha(bad), true)
	if r.status != 202 {
		t.Fatalf("correction: %d %s", r.status, r.body)
	}
	var sent struct{ ReferenceNumber string }
	r.decode(t, &sent)
	corr, _ := cs.waitInvoice(sent.ReferenceNumber)
	if corr.Status.Code != 200 || corr.InvoicingMode != "Offline" {
		t.Fatalf("correction: %+v", corr)
	}

	// The metadata of the correction carry the original's hash.
	mr := e.call("POST", "/v2/invoices/query/metadata?pageSize=10", map[string]any{
		"subjectType": "Subject1", "dateRange": dateRange("Invoicing", day.Add(-time.Hour), nil)}, bearer(access)...)
	var meta struct {
		Invoices []struct{ KsefNumber, InvoiceNumber, InvoicingMode, HashOfCorrectedInvoice string }
	}
	mr.decode(t, &meta)
	if len(meta.Invoices) != 1 || meta.Invoices[0].KsefNumber != corr.KsefNumber || meta.Invoices[0].HashOfCorrectedInvoice != b64sha(bad) ||
		meta.Invoices[0].InvoicingMode != "Offline" {
		t.Fatalf("metadata: %s", mr.body)
	}

	// KOD I of the original: technically corrected, pointing to the new invoice.
	q := e.qrInvoice(qrInvoicePath(testNIP, day, bad))
	if q.Status != "TechnicallyCorrected" || q.KsefNumber != corr.KsefNumber || q.Invoice == nil || q.Invoice.KsefNumber != corr.KsefNumber ||
		q.TechnicalCorrection == nil || q.TechnicalCorrection.HashOfCorrectedInvoice != b64sha(bad) || q.TechnicalCorrection.InvoiceHash != b64sha(good) ||
		!strings.Contains(q.Message, "technicznie poprawiona") {
		t.Fatalf("KOD I of the original: %+v", q)
	}
	page := e.call("GET", qrInvoicePath(testNIP, day, bad), nil, "Accept", "text/html")
	if page.status != 200 || !strings.HasPrefix(page.header.Get("Content-Type"), "text/html") ||
		!strings.Contains(string(page.body), "technicznie poprawiona") || !strings.Contains(string(page.body), corr.KsefNumber) {
		t.Fatalf("KOD I page of the original: %d %s", page.status, page.body)
	}
	// KOD I of the correction itself: in KSeF.
	if q := e.qrInvoice(qrInvoicePath(testNIP, day, good)); q.Status != "Accepted" || q.KsefNumber != corr.KsefNumber {
		t.Fatalf("KOD I of the correction: %+v", q)
	}
	// A wrong issue date in the link does not find it; a malformed link is 400.
	if q := e.qrInvoice(qrInvoicePath(testNIP, day.AddDate(0, 0, -1), good)); q.Status != "NotFound" {
		t.Fatalf("KOD I with another date: %+v", q)
	}
	if r := e.call("GET", "/qr/invoice/"+testNIP+"/2026-03-02/abc", nil); r.status != 400 {
		t.Fatalf("malformed KOD I link: %d %s", r.status, r.body)
	}

	// The judge links them.
	inv := e.sim.Invoices()
	if len(inv) != 2 || inv[0].TechnicallyCorrectedBy != corr.KsefNumber || inv[1].HashOfCorrectedInvoice != b64sha(bad) || !inv[1].OfflineMode {
		t.Fatalf("judge: %+v", inv)
	}

	// A second correction of the same original: 21166.
	code, d := correctionCode(t, cs.sendCorrection(fa3(testNIP, "TK/1-bis", day), b64sha(bad), true))
	if code != codeCorrectionUnavailable || d != detCorrectionUnavailable {
		t.Fatalf("second correction: %d %s", code, d)
	}
	// A correction of the accepted correction: 21167.
	code, d = correctionCode(t, cs.sendCorrection(fa3(testNIP, "TK/1-ter", day), b64sha(good), true))
	if code != codeCorrectionStatus || d != detCorrectionStatus {
		t.Fatalf("correction of an accepted invoice: %d %s", code, d)
	}
	e.noViolations()
}

// TestTechnicalCorrectionRefusals covers the synchronous refusals of a technical
// correction: online originals, accepted originals, unknown hashes, offlineMode
// false, and batch sessions.
func TestTechnicalCorrectionRefusals(t *testing.T) {
	t.Parallel()
	e := newBatchEnv(t, Config{InvoiceStepPolls: -1})
	access := e.loggedIn(testNIP)
	cs := e.openSession(access)
	day := e.today()

	// An accepted offline invoice cannot be corrected (21167, the contract's detail).
	ok := fa3(testNIP, "TR/1", day)
	if v, _ := cs.waitInvoice(cs.sendMode(ok, true)); v.Status.Code != 200 || v.InvoicingMode != "Offline" {
		t.Fatalf("offline invoice: %+v", v)
	}
	code, d := correctionCode(t, cs.sendCorrection(fa3(testNIP, "TR/1-k", day), b64sha(ok), true))
	if code != codeCorrectionStatus || d != detCorrectionStatus {
		t.Fatalf("correction of an accepted invoice: %d %s", code, d)
	}

	// offlineMode false: 21405.
	code, d = correctionCode(t, cs.sendCorrection(fa3(testNIP, "TR/2", day), b64sha(ok), false))
	if code != codeValidation || d != detCorrectionOnlyOffline {
		t.Fatalf("correction with offlineMode false: %d %s", code, d)
	}

	// A hash KSeF never rejected: 21167.
	code, d = correctionCode(t, cs.sendCorrection(fa3(testNIP, "TR/3", day), b64sha([]byte("never sent")), true))
	if code != codeCorrectionStatus || !strings.Contains(d, "Nie odnaleziono") {
		t.Fatalf("correction of an unknown invoice: %d %s", code, d)
	}

	// An online invoice (offlineMode false, P_1 the day it was sent) rejected: not an
	// offline invoice, 21167.
	badOnline := fa3WrongSchema(testNIP, "TR/4", day)
	if v, _ := cs.waitInvoice(cs.sendMode(badOnline, false)); v.Status.Code != 450 {
		t.Fatalf("rejected online invoice: %+v", v.Status)
	}
	code, d = correctionCode(t, cs.sendCorrection(fa3(testNIP, "TR/4", day), b64sha(badOnline), true))
	if code != codeCorrectionStatus || !strings.Contains(d, "nie jest fakturą offline") {
		t.Fatalf("correction of an online invoice: %d %s", code, d)
	}

	// Another context's rejected offline invoice is not found.
	other := e.openSession(e.loggedIn(otherNIP))
	badOther := fa3WrongSchema(otherNIP, "TR/5", day)
	if v, _ := other.waitInvoice(other.sendMode(badOther, true)); v.Status.Code != 450 {
		t.Fatalf("other context: %+v", v.Status)
	}
	if code, _ := correctionCode(t, cs.sendCorrection(fa3(testNIP, "TR/5", day), b64sha(badOther), true)); code != codeCorrectionStatus {
		t.Fatalf("correction across contexts: %d", code)
	}

	// Batch sessions: the open refuses hashOfCorrectedInvoice (21405), and a batch
	// session is no online session for the send endpoint (21173).
	b := e.newBatch(access, buildZip(t, []pkgFile{{name: "a.xml", data: fa3(testNIP, "TR/6", day)}}), 1, "")
	b.openBody["offlineMode"] = true
	b.openBody["hashOfCorrectedInvoice"] = b64sha(badOnline)
	r := e.call("POST", "/v2/sessions/batch", b.openBody, bearer(access)...)
	code, d = correctionCode(t, r)
	if code != codeValidation || !strings.Contains(d, detCorrectionNotInBatch) {
		t.Fatalf("batch open with hashOfCorrectedInvoice: %d %s", code, d)
	}
	delete(b.openBody, "hashOfCorrectedInvoice")
	b.open()
	inBatch := &csession{e: e, access: access, ref: b.ref, key: b.key, iv: b.iv}
	if code, _ := correctionCode(t, inBatch.sendCorrection(fa3(testNIP, "TR/7", day), b64sha(badOnline), true)); code != codeSessionNotFound {
		t.Fatalf("correction sent to a batch session: %d", code)
	}
	e.noResponseViolations()
}

// TestTechnicalCorrectionOfBatchRejection: an offline invoice rejected in a batch
// session (a duplicate number) is corrected in an interactive session.
func TestTechnicalCorrectionOfBatchRejection(t *testing.T) {
	t.Parallel()
	e := newBatchEnv(t, Config{InvoiceStepPolls: -1})
	access := e.loggedIn(testNIP)
	day := e.today()
	first := fa3(testNIP, "TB/1", day)
	dup := []byte(strings.Replace(string(fa3(testNIP, "TB/1", day)), "<P_15>123.00</P_15>", "<P_15>246.00</P_15>", 1))
	b := e.newBatch(access, buildZip(t, []pkgFile{{name: "a.xml", data: first}, {name: "b.xml", data: dup}}), 1, "")
	b.openBody["offlineMode"] = true
	b.open()
	b.uploadAll()
	b.close()
	if st, _ := b.waitBatch(); st.Status.Code != 200 || st.FailedInvoiceCount != 1 {
		t.Fatalf("batch: %+v", st)
	}
	failed, _ := b.listAll(true)
	if len(failed) != 1 || failed[0].Status.Code != 440 || failed[0].InvoiceHash != b64sha(dup) {
		t.Fatalf("rejected: %+v", failed)
	}

	cs := e.openSession(access)
	fixed := []byte(strings.Replace(string(dup), "<P_2>TB/1</P_2>", "<P_2>TB/2</P_2>", 1))
	r := cs.sendCorrection(fixed, b64sha(dup), true)
	if r.status != 202 {
		t.Fatalf("correction: %d %s", r.status, r.body)
	}
	var sent struct{ ReferenceNumber string }
	r.decode(t, &sent)
	corr, _ := cs.waitInvoice(sent.ReferenceNumber)
	if corr.Status.Code != 200 || corr.InvoicingMode != "Offline" {
		t.Fatalf("correction: %+v", corr)
	}
	if q := e.qrInvoice(qrInvoicePath(testNIP, day, dup)); q.Status != "TechnicallyCorrected" || q.KsefNumber != corr.KsefNumber {
		t.Fatalf("KOD I of the batch original: %+v", q)
	}
	e.noViolations()
}
