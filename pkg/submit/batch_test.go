package submit

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/ksefpl/ksefpl/pkg/ksef"
	"github.com/ksefpl/ksefpl/pkg/ksefsim"
	"github.com/ksefpl/ksefpl/pkg/store"
)

// batchOpts sends in batch sessions of at most 12 invoices, in parts of ~8 KB.
func batchOpts() Options {
	o := opts()
	o.Mode = ModeBatch
	o.BatchLimits = ksef.BatchLimits{MaxPartSize: 8 << 10, MaxInvoices: 12}
	return o
}

func TestBatchModeAllAccepted(t *testing.T) {
	h := newHarness(t, ksefsim.Config{})
	for i := 1; i <= 30; i++ {
		inc := fmt.Sprintf("B-%03d", i)
		h.enqueue(1, "invoice", inc, invoiceJSON(inc))
	}
	res := h.run(batchOpts())
	if res.Sent != 30 {
		t.Fatalf("sent = %d", res.Sent)
	}
	h.assertAllAccepted()
	h.assertOneNumberPerDocument()
	ss, _ := h.db.Sessions(context.Background(), 1)
	if len(ss) != 3 {
		t.Fatalf("%d sessions for 30 invoices at 12 per session, want 3", len(ss))
	}
	for _, s := range ss {
		if s.Kind != store.SessionBatch || s.Status != store.SessionClosed {
			t.Errorf("session %s: %s %s", s.Reference, s.Kind, s.Status)
		}
		if u, _ := h.db.UPOs(context.Background(), store.UPOFilter{Kind: store.UPOSession, SessionReference: s.Reference}); len(u) == 0 {
			t.Errorf("batch session %s has no UPO", s.Reference)
		}
	}
}

func TestAutoModeSwitchesToBatchAboveThreshold(t *testing.T) {
	h := newHarness(t, ksefsim.Config{})
	if _, err := h.cfg.Set(context.Background(), "ksefpl/submit/batch_threshold", "5", h.mustScope("base")); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		h.enqueue(1, "invoice", fmt.Sprintf("A-%d", i), invoiceJSON(fmt.Sprintf("A-%d", i)))
	}
	o := opts() // auto
	h.run(o)
	for i := 4; i <= 11; i++ {
		h.enqueue(1, "invoice", fmt.Sprintf("A-%d", i), invoiceJSON(fmt.Sprintf("A-%d", i)))
	}
	h.run(o)
	h.assertAllAccepted()
	ss, _ := h.db.Sessions(context.Background(), 1)
	var kinds []string
	for _, s := range ss {
		kinds = append(kinds, s.Kind)
	}
	if !reflect.DeepEqual(kinds, []string{store.SessionOnline, store.SessionBatch}) {
		t.Fatalf("session kinds %v: 3 invoices go online, a backlog of 8 > 5 goes batch", kinds)
	}
}

// TestBatchAndOnlineGiveIdenticalResults sends the same documents once online and once in
// batch sessions (each to its own simulator) and compares job states, audit trails and
// UPOs: each invoice's UPO is asked for as upo:download does (stored by submit for an
// online invoice, fetched on demand for a batch one).
func TestBatchAndOnlineGiveIdenticalResults(t *testing.T) {
	type outcome struct {
		states map[string]string
		trails map[string][]string
		upos   map[string]int
	}
	do := func(o Options) outcome {
		h := newHarness(t, ksefsim.Config{})
		for i := 1; i <= 14; i++ {
			inc := fmt.Sprintf("X-%02d", i)
			h.enqueue(1, "invoice", inc, invoiceJSON(inc))
		}
		h.enqueue(1, "creditmemo", "XCM-1", creditMemoJSON("XCM-1", "X-01"))
		for i := 0; i < 3 && len(h.jobs(store.JobAccepted)) < 15; i++ {
			h.run(o)
		}
		h.assertAllAccepted()
		h.assertOneNumberPerDocument()
		out := outcome{states: map[string]string{}, trails: map[string][]string{}, upos: map[string]int{}}
		for _, j := range h.jobs() {
			if _, err := GetUPO(context.Background(), h.deps(), UPOSelector{JobID: j.ID, Actor: "ksefpl"}); err != nil {
				t.Fatalf("job %d: UPO: %v", j.ID, err)
			}
		}
		for _, j := range h.jobs() {
			out.states[j.IncrementID] = j.Status + "/" + j.Reason
			trail, _ := h.db.Audit(context.Background(), store.AuditFilter{JobID: j.ID})
			for _, e := range trail {
				out.trails[j.IncrementID] = append(out.trails[j.IncrementID], strings.Join([]string{e.Event, e.FromStatus, e.ToStatus, e.Reason}, ":"))
			}
			u, _ := h.db.UPOs(context.Background(), store.UPOFilter{Kind: store.UPOInvoice, JobID: j.ID})
			for _, x := range u {
				if x.HashVerified && strings.Contains(string(x.XML), j.KSeFNumber) {
					out.upos[j.IncrementID]++
				}
			}
		}
		return out
	}
	online := do(opts())
	batch := do(batchOpts())
	if !reflect.DeepEqual(online.states, batch.states) {
		t.Errorf("job states differ:\nonline %v\nbatch  %v", online.states, batch.states)
	}
	if !reflect.DeepEqual(online.trails, batch.trails) {
		for k := range online.trails {
			if !reflect.DeepEqual(online.trails[k], batch.trails[k]) {
				t.Errorf("%s audit trail differs:\nonline %v\nbatch  %v", k, online.trails[k], batch.trails[k])
			}
		}
	}
	if !reflect.DeepEqual(online.upos, batch.upos) || len(online.upos) != 15 {
		t.Errorf("verified UPOs differ:\nonline %v\nbatch  %v", online.upos, batch.upos)
	}
}

func TestBatchNeverClosedIsRequeuedAndSentOnce(t *testing.T) {
	h := newHarness(t, ksefsim.Config{})
	for i := 1; i <= 5; i++ {
		h.enqueue(1, "invoice", fmt.Sprintf("N-%d", i), invoiceJSON(fmt.Sprintf("N-%d", i)))
	}
	o := batchOpts()
	crash := errors.New("simulated crash before close")
	o.Hooks.BeforeBatchClose = func(string) error { return crash }
	res, err := Run(context.Background(), h.deps(), o)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(res.Websites[0].Error, "simulated crash") || len(h.jobs(store.JobSending)) != 5 {
		t.Fatalf("after the crash: %q, %d SENDING", res.Websites[0].Error, len(h.jobs(store.JobSending)))
	}
	h.run(batchOpts())
	h.assertAllAccepted()
	h.assertOneNumberPerDocument()
	ss, _ := h.db.Sessions(context.Background(), 1)
	if len(ss) != 2 || ss[0].Status != store.SessionTerminated || ss[1].Status != store.SessionClosed {
		t.Fatalf("sessions: %v", sessionStates(ss))
	}
}

func TestBatchCrashAfterCloseIsRecoveredWithoutResend(t *testing.T) {
	h := newHarness(t, ksefsim.Config{})
	for i := 1; i <= 4; i++ {
		h.enqueue(1, "invoice", fmt.Sprintf("Q-%d", i), invoiceJSON(fmt.Sprintf("Q-%d", i)))
	}
	ctx := context.Background()
	o := batchOpts()
	// Close the session ourselves in the hook, then "crash": KSeF processes the package
	// while the store still says SENDING.
	o.Hooks.BeforeBatchClose = func(ref string) error {
		c, err := h.clientFor(ctx)
		if err != nil {
			return err
		}
		if err := c.close(ctx, ref); err != nil {
			return err
		}
		return errors.New("simulated crash after close")
	}
	if _, err := Run(ctx, h.deps(), o); err != nil {
		t.Fatal(err)
	}
	h.run(batchOpts())
	h.assertAllAccepted()
	h.assertOneNumberPerDocument()
	if n := len(h.sim.Invoices()); n != 4 {
		t.Fatalf("KSeF received %d invoices for 4 documents: the batch must be recovered, not resent", n)
	}
}

func sessionStates(ss []*store.Session) []string {
	var out []string
	for _, s := range ss {
		out = append(out, s.Kind+":"+s.Status)
	}
	return out
}

// A batch session larger than one page of KSeF's invoice listing (1,000) is settled page
// by page, in chunks, and every job gets its own number.
func TestBatchSessionSettledAcrossListingPages(t *testing.T) {
	const n = listPageSize + settleChunk + 7
	h := newHarness(t, ksefsim.Config{})
	items := make([]store.EnqueueItem, n)
	for i := range items {
		inc := fmt.Sprintf("LP-%04d", i)
		items[i] = store.EnqueueItem{Job: store.Job{WebsiteID: 1, EntityType: "invoice", IncrementID: inc, InputFormat: "json",
			Input: invoiceJSON(inc), Status: store.JobPending}, Audit: store.AuditEntry{Event: store.EventTransition, Actor: "test"}}
	}
	if _, err := h.db.EnqueueMany(context.Background(), items, false); err != nil {
		t.Fatal(err)
	}
	o := opts()
	o.Mode = ModeBatch
	res := h.run(o)
	if res.Sent != n || res.Accepted != n {
		t.Fatalf("sent %d, accepted %d, want %d each", res.Sent, res.Accepted, n)
	}
	ss, _ := h.db.Sessions(context.Background(), 1)
	if len(ss) != 1 || ss[0].Status != store.SessionClosed {
		t.Fatalf("sessions %+v, want one closed batch session holding all %d", ss, n)
	}
	h.assertOneNumberPerDocument()
	if got := h.jobs(store.JobAccepted); len(got) != n {
		t.Fatalf("%d jobs ACCEPTED, want %d", len(got), n)
	}
}
