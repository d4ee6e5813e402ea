package ksefsim

import (
	"encoding/xml"
	"fmt"
	"slices"
	"testing"
	"time"
)

// Set moves the test clock to t.
func (c *testClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// warsawMidnight is 2026-03-03 00:00 in Warsaw (CET, UTC+1): 2026-03-02 23:00 UTC.
var warsawMidnight = time.Date(2026, 3, 2, 23, 0, 0, 0, time.UTC)

// march2 and march3 are P_1 values on either side of warsawMidnight.
var (
	march2 = time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	march3 = time.Date(2026, 3, 3, 12, 0, 0, 0, time.UTC)
)

// upoModes reads NumerKSeFDokumentu -> TrybWysylki from a UPO.
func upoModes(t *testing.T, body []byte) map[string]string {
	t.Helper()
	var u struct {
		Docs []struct {
			Number string `xml:"NumerKSeFDokumentu"`
			Mode   string `xml:"TrybWysylki"`
		} `xml:"Dokument"`
	}
	if err := xml.Unmarshal(body, &u); err != nil {
		t.Fatalf("UPO: %v\n%s", err, body)
	}
	out := map[string]string{}
	for _, d := range u.Docs {
		out[d.Number] = d.Mode
	}
	return out
}

// sendMode sends doc with offlineMode and returns the invoice reference number.
func (cs *csession) sendMode(doc []byte, offline bool) string {
	cs.e.t.Helper()
	body := cs.sendBody(doc)
	body["offlineMode"] = offline
	r := cs.sendRaw(body)
	if r.status != 202 {
		cs.e.t.Fatalf("send invoice (offlineMode %v): %d %s", offline, r.status, r.body)
	}
	var out struct{ ReferenceNumber string }
	r.decode(cs.e.t, &out)
	return out.ReferenceNumber
}

// metadataModes runs a Subject1 metadata query by invoicing date around the test
// clock and returns invoiceNumber -> (invoicingMode, invoicingDate); filter may add
// filters.
func (e *env) metadataModes(access string, filter map[string]any) map[string][2]string {
	e.t.Helper()
	from := warsawMidnight.Add(-24 * time.Hour)
	to := warsawMidnight.Add(24 * time.Hour)
	f := map[string]any{"subjectType": "Subject1", "dateRange": dateRange("Invoicing", from, &to)}
	for k, v := range filter {
		f[k] = v
	}
	out := map[string][2]string{}
	for _, m := range e.queryMetadata(access, "?pageSize=100", f).Invoices {
		out[m.InvoiceNumber] = [2]string{m.InvoicingMode, m.InvoicingDate}
	}
	return out
}

// TestOfflineModeOnlineSessionAroundMidnight: offlineMode is recorded per invoice and
// an online invoice whose P_1 day is earlier than the day it is sent (Warsaw time)
// becomes Offline; the mode shows in the status, the UPO and the metadata.
func TestOfflineModeOnlineSessionAroundMidnight(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{InvoiceStepPolls: -1})
	e.clock.Set(warsawMidnight.Add(-30 * time.Second)) // 23:59:30 on 2 March in Warsaw
	access := e.loggedIn(testNIP)
	cs := e.openSession(access)

	before := e.clock.Now()
	online := cs.sendMode(fa3(testNIP, "OFF/1", march2), false)  // P_1 = the day it is sent
	declared := cs.sendMode(fa3(testNIP, "OFF/2", march2), true) // declared offline
	e.clock.Set(warsawMidnight.Add(10 * time.Second))            // 00:00:10 on 3 March
	after := e.clock.Now()
	auto := cs.sendMode(fa3(testNIP, "OFF/3", march2), false)  // P_1 the day before: Offline
	today := cs.sendMode(fa3(testNIP, "OFF/4", march3), false) // P_1 = the day it is sent

	want := map[string]struct {
		mode string
		at   time.Time
	}{online: {"Online", before}, declared: {"Offline", before}, auto: {"Offline", after}, today: {"Online", after}}
	ksefNums := map[string]string{}
	for _, ref := range []string{online, declared, auto, today} {
		v, _ := cs.waitInvoice(ref)
		if v.Status.Code != 200 || v.InvoicingMode != want[ref].mode || v.InvoicingDate != formatTime(want[ref].at) {
			t.Errorf("invoice %s: code %d mode %q invoicingDate %s, want %s at %s", v.InvoiceNumber, v.Status.Code, v.InvoicingMode,
				v.InvoicingDate, want[ref].mode, formatTime(want[ref].at))
		}
		ksefNums[ref] = v.KsefNumber
		// The invoice UPO carries the mode as TrybWysylki.
		r := e.call("GET", "/v2/sessions/"+cs.ref+"/invoices/"+ref+"/upo", nil, bearer(access)...)
		if r.status != 200 {
			t.Fatalf("invoice UPO: %d %s", r.status, r.body)
		}
		if m := upoModes(t, r.body)[v.KsefNumber]; m != want[ref].mode {
			t.Errorf("invoice UPO of %s: TrybWysylki %q, want %q", v.InvoiceNumber, m, want[ref].mode)
		}
	}

	// The collective UPO, valid against UPO v4-3.
	cs.close()
	st, _ := cs.waitSession()
	if st.Status.Code != 200 || st.UPO == nil || len(st.UPO.Pages) != 1 {
		t.Fatalf("session: %+v", st)
	}
	r := e.download(st.UPO.Pages[0].DownloadURL)
	validateUPO(t, r.body)
	modes := upoModes(t, r.body)
	for ref, w := range want {
		if modes[ksefNums[ref]] != w.mode {
			t.Errorf("session UPO: %s has TrybWysylki %q, want %q", ksefNums[ref], modes[ksefNums[ref]], w.mode)
		}
	}

	// The metadata: invoicingMode per invoice, and the invoicingMode filter.
	meta := e.metadataModes(access, nil)
	for n, w := range map[string]string{"OFF/1": "Online", "OFF/2": "Offline", "OFF/3": "Offline", "OFF/4": "Online"} {
		if meta[n][0] != w {
			t.Errorf("metadata of %s: invoicingMode %q, want %q (%v)", n, meta[n][0], w, meta)
		}
	}
	off := e.metadataModes(access, map[string]any{"invoicingMode": "Offline"})
	if len(off) != 2 || off["OFF/2"][0] != "Offline" || off["OFF/3"][0] != "Offline" {
		t.Errorf("invoicingMode Offline filter: %v", off)
	}
	var judged []string
	for _, ri := range e.sim.Invoices() {
		judged = append(judged, fmt.Sprintf("%s:%v:%s", ri.InvoiceNumber, ri.OfflineMode, ri.InvoicingMode))
	}
	if !slices.Equal(judged, []string{"OFF/1:false:Online", "OFF/2:true:Offline", "OFF/3:false:Offline", "OFF/4:false:Online"}) {
		t.Errorf("judge: %v", judged)
	}
	e.noViolations()
}

// TestOfflineModeBatchSessionAroundMidnight: in a batch session invoicingDate is the
// moment the session was opened, whatever the time of upload and close.
func TestOfflineModeBatchSessionAroundMidnight(t *testing.T) {
	t.Parallel()
	e := newBatchEnv(t, Config{InvoiceStepPolls: -1})
	e.clock.Set(warsawMidnight.Add(-time.Second)) // 23:59:59 on 2 March in Warsaw
	access := e.loggedIn(testNIP)

	run := func(prefix string, offline bool, p1 time.Time) (cSessionStatus, []cInvoiceWithFile) {
		t.Helper()
		files := []pkgFile{{name: "a.xml", data: fa3(testNIP, prefix+"/1", p1)}, {name: "b.xml", data: fa3(testNIP, prefix+"/2", p1)}}
		b := e.newBatch(access, buildZip(t, files), 1, "")
		b.openBody["offlineMode"] = offline
		b.open()
		opened := b.session().status().DateCreated
		e.clock.Advance(2 * time.Minute) // upload and close after midnight
		b.uploadAll()
		b.close()
		st, _ := b.waitBatch()
		if st.Status.Code != 200 || st.SuccessfulInvoiceCount != 2 || st.DateCreated != opened {
			t.Fatalf("batch %s: %+v", prefix, st)
		}
		list, _ := b.listAll(false)
		return st, list
	}

	// Opened at 23:59:59 on 2 March, closed after midnight: P_1 2 March stays Online.
	st, list := run("B1", false, march2)
	for _, v := range list {
		if v.InvoicingMode != "Online" || v.InvoicingDate != st.DateCreated {
			t.Errorf("batch opened before midnight: %s mode %q invoicingDate %s (session opened %s)", v.InvoiceNumber, v.InvoicingMode, v.InvoicingDate, st.DateCreated)
		}
	}
	r := e.download(st.UPO.Pages[0].DownloadURL)
	validateUPO(t, r.body)
	for n, m := range upoModes(t, r.body) {
		if m != "Online" {
			t.Errorf("batch UPO: %s TrybWysylki %q", n, m)
		}
	}

	// Opened after midnight (00:01:59 on 3 March): P_1 2 March becomes Offline.
	st2, list2 := run("B2", false, march2)
	for _, v := range list2 {
		if v.InvoicingMode != "Offline" || v.InvoicingDate != st2.DateCreated {
			t.Errorf("batch opened after midnight: %s mode %q", v.InvoiceNumber, v.InvoicingMode)
		}
	}
	r = e.download(st2.UPO.Pages[0].DownloadURL)
	for n, m := range upoModes(t, r.body) {
		if m != "Offline" {
			t.Errorf("batch UPO: %s TrybWysylki %q, want Offline", n, m)
		}
	}

	// offlineMode declared at open: every invoice is Offline, P_1 the same day or not.
	_, list3 := run("B3", true, march3)
	for _, v := range list3 {
		if v.InvoicingMode != "Offline" {
			t.Errorf("batch with offlineMode true: %s mode %q", v.InvoiceNumber, v.InvoicingMode)
		}
	}

	meta := e.metadataModes(access, nil)
	for n, w := range map[string]string{"B1/1": "Online", "B1/2": "Online", "B2/1": "Offline", "B3/2": "Offline"} {
		if meta[n][0] != w {
			t.Errorf("metadata of %s: invoicingMode %q, want %q", n, meta[n][0], w)
		}
	}
	if meta["B1/1"][1] != st.DateCreated {
		t.Errorf("metadata invoicingDate of a batch invoice %s, want the session's dateCreated %s", meta["B1/1"][1], st.DateCreated)
	}
	e.noViolations()
}
