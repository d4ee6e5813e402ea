package ksefsim

import (
	"bytes"
	"encoding/xml"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ksefpl/ksefpl/pkg/ksef"
	"github.com/ksefpl/ksefpl/pkg/testenv"
)

// upoDocs reads the KSeF numbers and hashes listed in a UPO.
func upoDocs(t *testing.T, body []byte) (sessionRef string, docs map[string]string) {
	t.Helper()
	var u struct {
		XMLName    xml.Name `xml:"http://upo.schematy.mf.gov.pl/KSeF/v4-3 Potwierdzenie"`
		SessionRef string   `xml:"NumerReferencyjnySesji"`
		Docs       []struct {
			Number string `xml:"NumerKSeFDokumentu"`
			Hash   string `xml:"SkrotDokumentu"`
		} `xml:"Dokument"`
	}
	if err := xml.Unmarshal(body, &u); err != nil {
		t.Fatalf("UPO is not UPO v4-3 XML: %v\n%s", err, body)
	}
	docs = map[string]string{}
	for _, d := range u.Docs {
		docs[d.Number] = d.Hash
	}
	return u.SessionRef, docs
}

func TestOnlineSessionFullFlowWithUPO(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{})
	// The official example's seller becomes the context.
	example, err := os.ReadFile(testenv.SharedPath(t, "examples", "fa3", "podstawowa__FA_3_Przyklad_1.xml"))
	if err != nil {
		t.Fatal(err)
	}
	const seller = "6891152920"
	access := e.loggedIn(seller)
	cs := e.openSession(access)
	if !validRefNumber(cs.ref) || cs.ref[9:11] != infixOnline {
		t.Fatalf("session reference %q is not an SO reference number", cs.ref)
	}
	if st := cs.status(); st.Status.Code != 100 || st.Status.Description != descSessionOpen || st.InvoiceCount != 0 {
		t.Fatalf("fresh session status %+v", st)
	}

	docs := [][]byte{example, fa3(seller, "FV/1/2026", e.today()), fa3(seller, "FV/2/2026", e.today())}
	var refs []string
	for _, d := range docs {
		refs = append(refs, cs.send(d))
	}
	byRef := map[string]cInvoice{}
	for i, ref := range refs {
		v, seen := cs.waitInvoice(ref)
		if !slices.Equal(seen, []int{100, 150, 200}) {
			t.Fatalf("invoice %d went through %v, want [100 150 200]", i, seen)
		}
		if err := ksef.ValidateKSeFNumber(v.KsefNumber); err != nil {
			t.Fatalf("KSeF number: %v", err)
		}
		if want := seller + "-" + e.today().Format("20060102") + "-"; !strings.HasPrefix(v.KsefNumber, want) {
			t.Fatalf("KSeF number %s does not start with %s", v.KsefNumber, want)
		}
		if v.InvoiceHash != b64sha(docs[i]) || v.OrdinalNumber != i+1 || v.ReferenceNumber != ref || v.Status.Description != "Sukces" {
			t.Fatalf("invoice %d status %+v", i, v)
		}
		if v.AcquisitionDate == "" || v.UpoDownloadURL == "" || v.UpoDownloadURLExpirationDate == "" {
			t.Fatalf("invoice %d lacks acquisition date or UPO link: %+v", i, v)
		}
		byRef[ref] = v
	}
	// The example was issued on 2025-11-13, before the acceptance date: KSeF calls it Offline.
	if byRef[refs[0]].InvoicingMode != "Offline" || byRef[refs[1]].InvoicingMode != "Online" {
		t.Fatalf("invoicing modes %q, %q; want Offline (P_1 earlier) and Online (P_1 today)", byRef[refs[0]].InvoicingMode, byRef[refs[1]].InvoicingMode)
	}
	if byRef[refs[0]].InvoiceNumber != "llcdpk88gk-2025-06-24" {
		t.Fatalf("invoiceNumber %q, want the example's P_2", byRef[refs[0]].InvoiceNumber)
	}

	// Invoice UPO: by reference, by KSeF number and through the pre-signed link, all the same bytes.
	first := byRef[refs[1]]
	r1 := e.call("GET", "/v2/sessions/"+cs.ref+"/invoices/"+first.ReferenceNumber+"/upo", nil, bearer(access)...)
	r2 := e.call("GET", "/v2/sessions/"+cs.ref+"/invoices/ksef/"+first.KsefNumber+"/upo", nil, bearer(access)...)
	r3 := e.download(first.UpoDownloadURL)
	for _, r := range []reply{r1, r2, r3} {
		if r.status != 200 {
			t.Fatalf("invoice UPO: %d %s", r.status, r.body)
		}
		assertMetaHash(t, r)
	}
	if !bytes.Equal(r1.body, r2.body) || !bytes.Equal(r1.body, r3.body) {
		t.Fatal("the three ways to the invoice UPO gave different documents")
	}
	validateUPO(t, r1.body)
	if ref, got := upoDocs(t, r1.body); ref != cs.ref || len(got) != 1 || got[first.KsefNumber] != first.InvoiceHash {
		t.Fatalf("invoice UPO lists %v for session %s", got, ref)
	}

	// The invoice comes back as sent.
	r := e.call("GET", "/v2/invoices/ksef/"+first.KsefNumber, nil, bearer(access)...)
	if r.status != 200 || !bytes.Equal(r.body, docs[1]) {
		t.Fatalf("GET /invoices/ksef: %d %s", r.status, r.body)
	}
	assertMetaHash(t, r)

	// Close: 170 first, then 200 with the collective UPO.
	cs.close()
	st, seen := cs.waitSession()
	if seen[0] != 170 || st.Status.Code != 200 || st.Status.Description != descSessionSucceeded {
		t.Fatalf("session went through %v ending %+v", seen, st.Status)
	}
	if st.InvoiceCount != 3 || st.SuccessfulInvoiceCount != 3 || st.FailedInvoiceCount != 0 {
		t.Fatalf("counts %+v", st)
	}
	if st.UPO == nil || len(st.UPO.Pages) != 1 {
		t.Fatalf("no UPO pages: %+v", st)
	}
	pg := st.UPO.Pages[0]
	if !validRefNumber(pg.ReferenceNumber) || pg.ReferenceNumber[9:11] != infixUPO {
		t.Fatalf("UPO reference %q is not an EU reference number", pg.ReferenceNumber)
	}
	viaAPI := e.call("GET", "/v2/sessions/"+cs.ref+"/upo/"+pg.ReferenceNumber, nil, bearer(access)...)
	viaLink := e.download(pg.DownloadURL)
	for _, r := range []reply{viaAPI, viaLink} {
		if r.status != 200 {
			t.Fatalf("session UPO: %d %s", r.status, r.body)
		}
		assertMetaHash(t, r)
	}
	if !bytes.Equal(viaAPI.body, viaLink.body) {
		t.Fatal("session UPO differs between the API and the pre-signed link")
	}
	validateUPO(t, viaAPI.body)
	_, listed := upoDocs(t, viaAPI.body)
	if len(listed) != 3 {
		t.Fatalf("session UPO lists %d documents, want 3", len(listed))
	}
	for _, v := range byRef {
		if listed[v.KsefNumber] != v.InvoiceHash {
			t.Fatalf("session UPO lacks %s with hash %s: %v", v.KsefNumber, v.InvoiceHash, listed)
		}
	}

	// A closed session takes no more invoices.
	r = cs.sendRaw(cs.sendBody(fa3(seller, "FV/3/2026", e.today())))
	if code, det := exceptionCode(t, r); r.status != 400 || code != codeSessionStatus || !strings.Contains(det[0], "200") {
		t.Fatalf("send after close: %d %d %v", r.status, code, det)
	}
	e.noViolations()
}

func TestPresignedLinksAreCheckedAndExpire(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{InvoiceStepPolls: -1, AccessTokenTTL: 7 * 24 * time.Hour})
	access := e.loggedIn(testNIP)
	cs := e.openSession(access)
	v, _ := cs.waitInvoice(cs.send(fa3(testNIP, "FV/L/1", e.today())))
	if r := e.download(v.UpoDownloadURL); r.status != 200 {
		t.Fatalf("fresh link: %d %s", r.status, r.body)
	}
	tampered := strings.Replace(v.UpoDownloadURL, "upo_", "upo_X", 1)
	if r := e.download(tampered); r.status != 403 || !strings.Contains(string(r.body), "AuthenticationFailed") {
		t.Fatalf("tampered link: %d %s", r.status, r.body)
	}
	e.clock.Advance(storageURLTTL)
	if r := e.download(v.UpoDownloadURL); r.status != 403 {
		t.Fatalf("expired link: %d %s", r.status, r.body)
	}
	// A new status read hands out a new, working link.
	if r := e.download(cs.invoice(v.ReferenceNumber).UpoDownloadURL); r.status != 200 {
		t.Fatalf("renewed link: %d %s", r.status, r.body)
	}
	e.noViolations()
}

func TestSizeAndHashMismatchesAreRejected(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{})
	access := e.loggedIn(testNIP)
	cs := e.openSession(access)
	doc := fa3(testNIP, "FV/S/1", e.today())
	cases := []struct {
		name  string
		field string
		value any
		code  int
	}{
		{"encrypted size", "encryptedInvoiceSize", 17, codeBadSize},
		{"plain size", "invoiceSize", 5, codeBadSize},
		{"encrypted hash", "encryptedInvoiceHash", b64sha([]byte("x")), codeBadHash},
		{"plain hash", "invoiceHash", b64sha([]byte("y")), codeBadHash},
	}
	for _, c := range cases {
		body := cs.sendBody(doc)
		body[c.field] = c.value
		r := cs.sendRaw(body)
		if code, _ := exceptionCode(t, r); r.status != 400 || code != c.code {
			t.Errorf("%s: %d %s, want 400 with %d", c.name, r.status, r.body, c.code)
		}
	}
	// Unknown session, and a session of another context, are 21173.
	other := e.openSession(e.loggedIn(otherNIP))
	for _, ref := range []string{newRefNumber(e.clock.Now(), infixOnline), other.ref} {
		r := e.call("POST", "/v2/sessions/online/"+ref+"/invoices", cs.sendBody(doc), bearer(access)...)
		if code, _ := exceptionCode(t, r); r.status != 400 || code != codeSessionNotFound {
			t.Errorf("session %s: %d %s, want 21173", ref, r.status, r.body)
		}
	}
	if got := len(e.sim.Invoices()); got != 0 {
		t.Fatalf("rejected sends were recorded: %d invoices", got)
	}
	e.noViolations()
}

func TestMalformedSendBodyGives21405(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{})
	cs := e.openSession(e.loggedIn(testNIP))
	body := cs.sendBody(fa3(testNIP, "FV/M/1", e.today()))
	body["encryptedInvoiceContent"] = "%%% not base64"
	delete(body, "invoiceHash")
	r := cs.sendRaw(body)
	code, det := exceptionCode(t, r)
	if r.status != 400 || code != codeValidation || len(det) != 2 {
		t.Fatalf("malformed body: %d %d %v", r.status, code, det)
	}
	e.noResponseViolations()
}

func TestDuplicateAcrossSessionsGets440WithOriginal(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{})
	access := e.loggedIn(testNIP)
	doc := fa3(testNIP, "FV/D/1", e.today())
	a := e.openSession(access)
	orig, _ := a.waitInvoice(a.send(doc))
	a.close()
	if st, _ := a.waitSession(); st.Status.Code != 200 {
		t.Fatalf("first session %+v", st.Status)
	}

	b := e.openSession(access)
	dupRef := b.send(doc)
	dup, _ := b.waitInvoice(dupRef)
	if dup.Status.Code != 440 || dup.Status.Description != "Duplikat faktury" || dup.KsefNumber != "" {
		t.Fatalf("duplicate status %+v", dup)
	}
	if dup.Status.Extensions["originalKsefNumber"] != orig.KsefNumber || dup.Status.Extensions["originalSessionReferenceNumber"] != a.ref {
		t.Fatalf("extensions %v, want the original %s from %s", dup.Status.Extensions, orig.KsefNumber, a.ref)
	}
	r := e.call("GET", "/v2/sessions/"+b.ref+"/invoices/failed", nil, bearer(access)...)
	var failed cInvoices
	r.decode(t, &failed)
	if r.status != 200 || len(failed.Invoices) != 1 || failed.Invoices[0].ReferenceNumber != dupRef {
		t.Fatalf("failed list: %d %s", r.status, r.body)
	}
	b.close()
	if st, _ := b.waitSession(); st.Status.Code != 445 || st.Status.Description != descSessionNoValid || st.FailedInvoiceCount != 1 || st.UPO != nil {
		t.Fatalf("session with only a duplicate: %+v", st)
	}
	var judged []ReceivedInvoice
	r = e.call("GET", "/sim/invoices", nil)
	r.decode(t, &judged)
	if r.status != 200 || !slices.Equal(judged, e.sim.Invoices()) || len(judged) != 2 {
		t.Fatalf("GET /sim/invoices: %d %s", r.status, r.body)
	}
	if judged[1].InvoiceNumber != "FV/D/1" || judged[1].InvoiceType != "VAT" || judged[1].SellerNIP != testNIP || judged[1].StatusCode != 440 || judged[1].InvoiceHash != b64sha(doc) {
		t.Fatalf("judge record of the duplicate: %+v", judged[1])
	}
	assertOneNumberPerDocument(t, judged)
	e.noViolations()
}

// assertOneNumberPerDocument is the judge: every (seller, kind, P_2) has exactly one
// KSeF number over all sessions.
func assertOneNumberPerDocument(t *testing.T, invs []ReceivedInvoice) {
	t.Helper()
	numbers := map[string][]string{}
	for _, inv := range invs {
		k := inv.SellerNIP + "|" + inv.InvoiceType + "|" + inv.InvoiceNumber
		if _, ok := numbers[k]; !ok {
			numbers[k] = nil
		}
		if inv.KSeFNumber != "" {
			numbers[k] = append(numbers[k], inv.KSeFNumber)
		}
	}
	for k, n := range numbers {
		if len(n) != 1 {
			t.Errorf("document %s has KSeF numbers %v, want exactly one", k, n)
		}
	}
}

func TestDocumentChecksGive450WithDetails(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{InvoiceStepPolls: -1})
	cs := e.openSession(e.loggedIn(testNIP))
	today := e.today()
	fa2 := bytes.Replace(fa3(testNIP, "FV/X/5", today), []byte(nsFA3), []byte(nsFA2), 1)
	cases := []struct {
		name, detail string
		doc          []byte
	}{
		{"wrong seller", "nie jest zgodny z kontekstem", fa3(otherNIP, "FV/X/1", today)},
		{"future issue date", "jest późniejsza", fa3(testNIP, "FV/X/2", today.AddDate(0, 0, 1))},
		{"BOM", "BOM", append([]byte{0xEF, 0xBB, 0xBF}, fa3(testNIP, "FV/X/3", today)...)},
		{"not well-formed", "nie jest poprawnym dokumentem XML", []byte(`<Faktura xmlns="` + nsFA3 + `"><Fa>`)},
		{"FA (2) document in an FA (3) session", "nie jest zgodny ze schematem", fa2},
		{"processing instruction", "instrukcję przetwarzania", append([]byte(`<?xml-stylesheet href="a.xsl"?>`), fa3(testNIP, "FV/X/6", today)[38:]...)},
		{"non-UTF-8 prolog", "UTF-8", bytes.Replace(fa3(testNIP, "FV/X/7", today), []byte(`encoding="UTF-8"`), []byte(`encoding="ISO-8859-2"`), 1)},
	}
	for _, c := range cases {
		v, _ := cs.waitInvoice(cs.send(c.doc))
		if v.Status.Code != 450 || v.Status.Description != descInvSemantic || v.KsefNumber != "" {
			t.Errorf("%s: status %+v, want 450 without a number", c.name, v.Status)
			continue
		}
		if len(v.Status.Details) == 0 || !strings.Contains(strings.Join(v.Status.Details, " "), c.detail) {
			t.Errorf("%s: details %q lack %q", c.name, v.Status.Details, c.detail)
		}
	}
	e.noViolations()
}

func TestTerminateSessionFailsPendingInvoices(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{})
	access := e.loggedIn(testNIP)
	cs := e.openSession(access)
	done, _ := cs.waitInvoice(cs.send(fa3(testNIP, "FV/T/1", e.today())))
	pending := cs.send(fa3(testNIP, "FV/T/2", e.today()))
	if r := e.call("POST", "/sim/sessions/"+cs.ref+"/terminate", nil); r.status != 204 {
		t.Fatalf("terminate: %d %s", r.status, r.body)
	}
	v, _ := cs.waitInvoice(pending)
	if v.Status.Code != 405 || v.KsefNumber != "" {
		t.Fatalf("pending invoice after termination: %+v", v)
	}
	if again := cs.invoice(done.ReferenceNumber); again.Status.Code != 200 || again.KsefNumber != done.KsefNumber {
		t.Fatalf("numbered invoice changed after termination: %+v", again)
	}
	st := cs.status()
	if st.Status.Code != 440 || st.SuccessfulInvoiceCount != 1 || st.FailedInvoiceCount != 1 {
		t.Fatalf("terminated session: %+v", st)
	}
	r := cs.sendRaw(cs.sendBody(fa3(testNIP, "FV/T/3", e.today())))
	if code, _ := exceptionCode(t, r); code != codeSessionStatus {
		t.Fatalf("send to a terminated session: %d %s", r.status, r.body)
	}
	if r := e.call("POST", "/sim/sessions/"+newRefNumber(e.clock.Now(), infixOnline)+"/terminate", nil); r.status != 404 {
		t.Fatalf("terminate unknown: %d %s", r.status, r.body)
	}
	e.noViolations()
}

func TestTerminateNextSessionAfterNInvoicesFault(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{})
	if r := e.call("PUT", "/sim/faults", map[string]any{"sessions": map[string]int{"terminateAfterInvoices": 2}}); r.status != 200 {
		t.Fatalf("PUT faults: %d %s", r.status, r.body)
	}
	access := e.loggedIn(testNIP)
	cs := e.openSession(access)
	if f := e.sim.Faults(); f.Sessions.TerminateAfterInvoices != 0 {
		t.Fatalf("fault not consumed by the session: %+v", f.Sessions)
	}
	cs.send(fa3(testNIP, "FV/N/1", e.today()))
	cs.send(fa3(testNIP, "FV/N/2", e.today()))
	if st := cs.status(); st.Status.Code != 440 {
		t.Fatalf("session after 2 invoices: %+v", st.Status)
	}
	for _, inv := range e.sim.Invoices() {
		if inv.StatusCode != 405 || inv.KSeFNumber != "" {
			t.Fatalf("invoice in a terminated session: %+v", inv)
		}
	}
	// The next session is not affected.
	next := e.openSession(access)
	if v, _ := next.waitInvoice(next.send(fa3(testNIP, "FV/N/3", e.today()))); v.Status.Code != 200 {
		t.Fatalf("next session: %+v", v.Status)
	}
	e.noViolations()
}

func TestStalledInvoicesWaitAt150UntilReleased(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{})
	e.sim.SetFaults(Faults{Sessions: SessionFaults{StallInvoices: 1}})
	access := e.loggedIn(testNIP)
	cs := e.openSession(access)
	held := cs.send(fa3(testNIP, "FV/H/1", e.today()))
	free := cs.send(fa3(testNIP, "FV/H/2", e.today()))
	var seen []int
	for range 6 {
		seen = append(seen, cs.invoice(held).Status.Code)
	}
	if !slices.Equal(seen, []int{100, 150, 150, 150, 150, 150}) {
		t.Fatalf("stalled invoice went through %v", seen)
	}
	if v, _ := cs.waitInvoice(free); v.Status.Code != 200 {
		t.Fatalf("unstalled invoice: %+v", v.Status)
	}
	cs.close()
	for range 4 {
		if st := cs.status(); st.Status.Code != 170 {
			t.Fatalf("session with a stalled invoice: %+v", st.Status)
		}
	}
	r := e.call("POST", "/sim/invoices/release", nil)
	if r.status != 200 || !strings.Contains(string(r.body), `"released":1`) {
		t.Fatalf("release: %d %s", r.status, r.body)
	}
	if v, _ := cs.waitInvoice(held); v.Status.Code != 200 {
		t.Fatalf("released invoice: %+v", v.Status)
	}
	if st, _ := cs.waitSession(); st.Status.Code != 200 || st.SuccessfulInvoiceCount != 2 {
		t.Fatalf("session after release: %+v", st)
	}
	e.noViolations()
}

func TestFiveHundredAfterAcceptThenResendIsDuplicate(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{})
	e.sim.SetFaults(Faults{Sessions: SessionFaults{FailAfterAccept: 1}})
	access := e.loggedIn(testNIP)
	cs := e.openSession(access)
	doc := fa3(testNIP, "FV/R/1", e.today())
	if r := cs.sendRaw(cs.sendBody(doc)); r.status != 500 {
		t.Fatalf("first send: %d %s, want 500", r.status, r.body)
	}
	invs := e.sim.Invoices()
	if len(invs) != 1 || invs[0].InvoiceNumber != "FV/R/1" {
		t.Fatalf("the 500 send was not accepted: %+v", invs)
	}
	resend := cs.send(doc) // the client retries with the same document
	// The first one is processed by session reads (the client never learnt its reference).
	cs.close()
	if st, _ := cs.waitSession(); st.Status.Code != 200 || st.SuccessfulInvoiceCount != 1 || st.FailedInvoiceCount != 1 {
		t.Fatalf("session: %+v", st)
	}
	v, _ := cs.waitInvoice(resend)
	invs = e.sim.Invoices()
	if invs[0].StatusCode != 200 || invs[0].KSeFNumber == "" {
		t.Fatalf("accepted-with-500 invoice: %+v", invs[0])
	}
	if v.Status.Code != 440 || v.Status.Extensions["originalKsefNumber"] != invs[0].KSeFNumber {
		t.Fatalf("resend: %+v, want 440 with %s", v.Status, invs[0].KSeFNumber)
	}
	assertOneNumberPerDocument(t, invs)
	// The only answer outside the contract is the injected 500.
	for _, v := range e.check.Violations() {
		if !strings.Contains(v, "/invoices -> 500: response: status is not supported") {
			t.Fatalf("contract violation: %s", v)
		}
	}
}

func TestResendWhileOriginalIsProcessingWaitsForIt(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{InvoiceStepPolls: -1})
	e.sim.SetFaults(Faults{Sessions: SessionFaults{StallInvoices: 1}})
	cs := e.openSession(e.loggedIn(testNIP))
	doc := fa3(testNIP, "FV/W/1", e.today())
	first := cs.send(doc)
	second := cs.send(doc)
	for range 3 {
		if v := cs.invoice(second); v.Status.Code != 150 {
			t.Fatalf("resend decided while the original is pending: %+v", v.Status)
		}
	}
	e.sim.ReleaseStalledInvoices()
	a, _ := cs.waitInvoice(first)
	b, _ := cs.waitInvoice(second)
	if a.Status.Code != 200 || b.Status.Code != 440 || b.Status.Extensions["originalKsefNumber"] != a.KsefNumber {
		t.Fatalf("original %+v, resend %+v", a.Status, b.Status)
	}
	assertOneNumberPerDocument(t, e.sim.Invoices())
	e.noViolations()
}

func TestInvoiceListPagesWithContinuationTokens(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{InvoiceStepPolls: -1})
	access := e.loggedIn(testNIP)
	cs := e.openSession(access)
	var refs []string
	for i := range 12 {
		refs = append(refs, cs.send(fa3(testNIP, "FV/P/"+string(rune('A'+i)), e.today())))
	}
	path := "/v2/sessions/" + cs.ref + "/invoices?pageSize=10"
	r := e.call("GET", path, nil, bearer(access)...)
	var p1 cInvoices
	r.decode(t, &p1)
	if r.status != 200 || len(p1.Invoices) != 10 || p1.ContinuationToken == "" {
		t.Fatalf("page 1: %d, %d invoices, token %q", r.status, len(p1.Invoices), p1.ContinuationToken)
	}
	r = e.call("GET", path, nil, append(bearer(access), "x-continuation-token", p1.ContinuationToken)...)
	var p2 cInvoices
	r.decode(t, &p2)
	if r.status != 200 || len(p2.Invoices) != 2 || p2.ContinuationToken != "" {
		t.Fatalf("page 2: %d %s", r.status, r.body)
	}
	var got []string
	for _, v := range append(p1.Invoices, p2.Invoices...) {
		got = append(got, v.ReferenceNumber)
	}
	if !slices.Equal(got, refs) {
		t.Fatalf("paged listing %v, want %v", got, refs)
	}
	r = e.call("GET", path, nil, append(bearer(access), "x-continuation-token", "garbage")...)
	if code, _ := exceptionCode(t, r); r.status != 400 || code != codeBadContinuation {
		t.Fatalf("bad token: %d %s", r.status, r.body)
	}
	// A token from one listing does not work for another.
	r = e.call("GET", "/v2/sessions/"+cs.ref+"/invoices/failed", nil, append(bearer(access), "x-continuation-token", p1.ContinuationToken)...)
	if code, _ := exceptionCode(t, r); code != codeBadContinuation {
		t.Fatalf("foreign token: %d %s", r.status, r.body)
	}
	r = e.call("GET", "/v2/sessions/"+cs.ref+"/invoices/failed", nil, bearer(access)...)
	if r.status != 200 || !strings.Contains(string(r.body), `"invoices":[]`) {
		t.Fatalf("failed list: %d %s", r.status, r.body)
	}
	e.noViolations()
}

func TestSessionClosesItselfAfterValidUntil(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{AccessTokenTTL: 24 * time.Hour})
	access := e.loggedIn(testNIP)
	withInvoice := e.openSession(access)
	empty := e.openSession(access)
	ref := withInvoice.send(fa3(testNIP, "FV/E/1", e.today()))
	e.clock.Advance(onlineSessionTTL)
	st, seen := withInvoice.waitSession()
	if seen[0] != 170 || st.Status.Code != 200 || st.SuccessfulInvoiceCount != 1 {
		t.Fatalf("expired session went through %v to %+v", seen, st)
	}
	if v := withInvoice.invoice(ref); v.Status.Code != 200 {
		t.Fatalf("invoice of the expired session: %+v", v.Status)
	}
	r := withInvoice.sendRaw(withInvoice.sendBody(fa3(testNIP, "FV/E/2", e.today())))
	if code, _ := exceptionCode(t, r); code != codeSessionStatus {
		t.Fatalf("send after expiry: %d %s", r.status, r.body)
	}
	st, _ = empty.waitSession()
	if st.Status.Code != 440 || len(st.Status.Details) != 1 || st.Status.Details[0] != detNoInvoices {
		t.Fatalf("expired empty session: %+v", st.Status)
	}
	r = e.call("POST", "/v2/sessions/online/"+empty.ref+"/close", nil, bearer(access)...)
	if code, _ := exceptionCode(t, r); code != codeSessionStatus {
		t.Fatalf("close after expiry: %d %s", r.status, r.body)
	}
	e.noViolations()
}

func TestClockDrivesProcessingWhenStepTimeIsSet(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{InvoiceStepTime: 2 * time.Second})
	cs := e.openSession(e.loggedIn(testNIP))
	ref := cs.send(fa3(testNIP, "FV/C/1", e.today()))
	for range 5 {
		if v := cs.invoice(ref); v.Status.Code != 100 {
			t.Fatalf("reads moved a clock-driven invoice: %+v", v.Status)
		}
	}
	e.clock.Advance(2 * time.Second)
	if v := cs.invoice(ref); v.Status.Code != 150 {
		t.Fatalf("after one step: %+v", v.Status)
	}
	e.clock.Advance(2 * time.Second)
	v := cs.invoice(ref)
	if v.Status.Code != 200 || v.PermanentStorageDate != "" {
		t.Fatalf("after two steps: %+v", v)
	}
	e.clock.Advance(permanentStorageDelay)
	if v := cs.invoice(ref); v.PermanentStorageDate == "" {
		t.Fatalf("permanentStorageDate missing once it passed: %+v", v)
	}
	e.noViolations()
}

func TestOpenSessionValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{FormCodes: []FormCode{{SystemCode: "FA (3)", SchemaVersion: "1-0E", Value: "FA"}}})
	access := e.loggedIn(testNIP)
	cert, pub := e.cert(usageSymmetricEncryption)
	iv := "AAAAAAAAAAAAAAAAAAAAAA=="
	body := func(form map[string]string, wrapped, keyID string) map[string]any {
		return map[string]any{"formCode": form, "encryption": map[string]string{
			"encryptedSymmetricKey": wrapped, "initializationVector": iv, "publicKeyId": keyID}}
	}
	goodKey := encryptToken(t, pub, strings.Repeat("k", 32))
	// FA (2) is switched off by this Config.
	r := e.call("POST", "/v2/sessions/online", body(map[string]string{"systemCode": "FA (2)", "schemaVersion": "1-0E", "value": "FA"}, goodKey, cert.PublicKeyID), bearer(access)...)
	if code, det := exceptionCode(t, r); code != codeValidation || !strings.Contains(det[0], "FA (2)") {
		t.Fatalf("unsupported form code: %d %s", r.status, r.body)
	}
	// The token-encryption key is not the symmetric-key key: 21470.
	tokCert, _ := e.cert(usageTokenEncryption)
	r = e.call("POST", "/v2/sessions/online", body(fa3Form(), goodKey, tokCert.PublicKeyID), bearer(access)...)
	if code, _ := exceptionCode(t, r); code != codeUnknownPublicKey {
		t.Fatalf("wrong publicKeyId: %d %s", r.status, r.body)
	}
	// A key that does not decrypt: the session opens and reports 415.
	r = e.call("POST", "/v2/sessions/online", body(fa3Form(), goodKey[:len(goodKey)-8]+"AAAAAAA=", cert.PublicKeyID), bearer(access)...)
	if r.status != 201 {
		t.Fatalf("open with a broken key: %d %s", r.status, r.body)
	}
	var o cOpen
	r.decode(t, &o)
	cs := &csession{e: e, access: access, ref: o.ReferenceNumber, key: make([]byte, 32), iv: make([]byte, 16)}
	if st := cs.status(); st.Status.Code != 415 || st.Status.Description != descSessionKeyError {
		t.Fatalf("broken-key session: %+v", st.Status)
	}
	r = cs.sendRaw(cs.sendBody(fa3(testNIP, "FV/K/1", e.today())))
	if code, _ := exceptionCode(t, r); code != codeSessionStatus {
		t.Fatalf("send to a 415 session: %d %s", r.status, r.body)
	}
	e.noResponseViolations()
}

func TestFA2SessionAcceptsFA2Documents(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{InvoiceStepPolls: -1})
	cs := e.openSessionForm(e.loggedIn(testNIP), map[string]string{"systemCode": "FA (2)", "schemaVersion": "1-0E", "value": "FA"})
	doc := bytes.Replace(fa3(testNIP, "FV/2/1", e.today()), []byte(nsFA3), []byte(nsFA2), 1)
	if v, _ := cs.waitInvoice(cs.send(doc)); v.Status.Code != 200 {
		t.Fatalf("FA (2) invoice: %+v", v.Status)
	}
	cs.close()
	st, _ := cs.waitSession()
	r := e.download(st.UPO.Pages[0].DownloadURL)
	if !strings.Contains(string(r.body), "<KodFormularza>FA (2)</KodFormularza>") || !strings.Contains(string(r.body), "Schemat_FA(2)_v1-0E.xsd") {
		t.Fatalf("UPO of an FA (2) session:\n%s", r.body)
	}
	validateUPO(t, r.body)
	e.noViolations()
}

func TestSessionEndpointsNeedPermissions(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{})
	tok, err := e.sim.IssueTokenWithPermissions(testNIP, "InvoiceRead")
	if err != nil {
		t.Fatal(err)
	}
	_, tk := e.login(tok, testNIP)
	r := e.call("POST", "/v2/sessions/online", map[string]any{"formCode": fa3Form(), "encryption": map[string]string{
		"encryptedSymmetricKey": "AAAA", "initializationVector": "AAAAAAAAAAAAAAAAAAAAAA=="}}, bearer(tk.AccessToken.Token)...)
	var p struct {
		Status     int
		ReasonCode string
		Security   map[string][]string
	}
	r.decode(t, &p)
	if r.status != 403 || p.ReasonCode != "missing-permissions" || !slices.Contains(p.Security["requiredAnyOfPermissions"], "InvoiceWrite") {
		t.Fatalf("open without InvoiceWrite: %d %s", r.status, r.body)
	}
	e.noViolations()
}

func TestListSessionsFiltersAndPages(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{InvoiceStepPolls: -1})
	access := e.loggedIn(testNIP)
	var open []*csession
	for range 11 {
		open = append(open, e.openSession(access))
		e.clock.Advance(time.Second)
	}
	done := open[0]
	done.send(fa3(testNIP, "FV/LS/1", e.today()))
	done.close()
	done.waitSession()
	e.openSession(e.loggedIn(otherNIP)) // another context: never listed

	r := e.call("GET", "/v2/sessions?sessionType=Online&pageSize=10", nil, bearer(access)...)
	var p1 struct {
		ContinuationToken string
		Sessions          []struct {
			ReferenceNumber   string
			Status            struct{ Code int }
			TotalInvoiceCount int
		}
	}
	r.decode(t, &p1)
	if r.status != 200 || len(p1.Sessions) != 10 || p1.ContinuationToken == "" || p1.Sessions[0].ReferenceNumber != open[10].ref {
		t.Fatalf("page 1 (newest first): %d %s", r.status, r.body)
	}
	r = e.call("GET", "/v2/sessions?sessionType=Online&pageSize=10", nil, append(bearer(access), "x-continuation-token", p1.ContinuationToken)...)
	if !strings.Contains(string(r.body), done.ref) || strings.Contains(string(r.body), "continuationToken") {
		t.Fatalf("page 2: %d %s", r.status, r.body)
	}
	r = e.call("GET", "/v2/sessions?sessionType=Online&statuses=Succeeded", nil, bearer(access)...)
	var ok struct {
		Sessions []struct{ ReferenceNumber string }
	}
	r.decode(t, &ok)
	if len(ok.Sessions) != 1 || ok.Sessions[0].ReferenceNumber != done.ref {
		t.Fatalf("Succeeded filter: %s", r.body)
	}
	r = e.call("GET", "/v2/sessions?sessionType=Batch", nil, bearer(access)...)
	if r.status != 200 || !strings.Contains(string(r.body), `"sessions":[]`) {
		t.Fatalf("batch listing: %s", r.body)
	}
	e.noViolations()
}

func TestTokenRevocationThroughAPIStopsNewLogins(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{})
	tok := e.issue(testNIP)
	_, tk := e.login(tok, testNIP)
	ref, _, _ := strings.Cut(tok, "|")
	if r := e.call("DELETE", "/v2/tokens/"+ref, nil, bearer(tk.AccessToken.Token)...); r.status != 204 {
		t.Fatalf("DELETE /tokens: %d %s", r.status, r.body)
	}
	st, _ := e.pollAuth(e.startAuth(tok, testNIP))
	if st.Status.Code != 450 || len(st.Status.Details) != 1 || st.Status.Details[0] != detTokenRevoked {
		t.Fatalf("login with the revoked token: %+v", st.Status)
	}
	e.noViolations()
}
