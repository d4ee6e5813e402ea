package submit

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ksefpl/ksefpl/internal/ksefpltest"
	"github.com/ksefpl/ksefpl/pkg/config"
	"github.com/ksefpl/ksefpl/pkg/ksef"
	"github.com/ksefpl/ksefpl/pkg/ksefsim"
	"github.com/ksefpl/ksefpl/pkg/offline"
	"github.com/ksefpl/ksefpl/pkg/queue"
	"github.com/ksefpl/ksefpl/pkg/store"
)

func (h *harness) issueOffline(inc, mode string, issued time.Time) *store.Job {
	h.t.Helper()
	res, err := queue.Enqueue(context.Background(), h.Deps, queue.Request{Scope: h.Scope("base"), Kind: queue.KindInvoice,
		Data: []byte(ksefpltest.InvoiceJSONAt(inc, issued)), Offline: mode, Actor: "shop"})
	if err != nil {
		h.t.Fatal(err)
	}
	return res.Job
}

// Offline documents go first, the nearest deadline first, with offlineMode, and reach
// ACCEPTED with KSeF's offline flag; ordinary jobs follow.
func TestOfflineJobsGoFirstAndAreAcceptedAsOffline(t *testing.T) {
	for _, mode := range []string{ModeOnline, ModeBatch} {
		t.Run(mode, func(t *testing.T) {
			h := newHarness(t, ksefsim.Config{})
			h.ImportOfflineCertificate("base", ksefpltest.NIP, "ec")
			h.enqueue(1, "invoice", "ON-1", invoiceJSON("ON-1"))
			today := time.Now()
			late := h.issueOffline("OFF-LATE", "offline24", today)
			early := h.issueOffline("OFF-EARLY", "offline24", today.AddDate(0, 0, -3))
			if early.Deadline >= late.Deadline {
				t.Fatalf("deadlines %s and %s: the earlier issue should be due first", early.Deadline, late.Deadline)
			}
			o := opts()
			o.Mode = mode
			h.run(o)
			h.assertAllAccepted()
			var order []string
			for _, inv := range h.sim.Invoices() {
				order = append(order, inv.InvoiceNumber)
				if strings.HasPrefix(inv.InvoiceNumber, "OFF-") != inv.OfflineMode {
					t.Errorf("%s reached KSeF with offlineMode %v", inv.InvoiceNumber, inv.OfflineMode)
				}
			}
			if mode == ModeOnline && strings.Join(order, ",") != "OFF-EARLY,OFF-LATE,ON-1" {
				t.Errorf("sending order %v, want the offline ones first, the nearest deadline first", order)
			}
			for _, id := range []int64{early.ID, late.ID} {
				j, _ := h.db.JobByID(context.Background(), id)
				if j.InvoicingMode != "Offline" || !strings.EqualFold(j.InvoicingMode, "offline") {
					t.Errorf("job %d: KSeF's invoicing mode %q", j.ID, j.InvoicingMode)
				}
			}
		})
	}
}

// A failure Latarnia announces during the sending period moves the deadline (open while
// it lasts, then 7 business days after it ends); a total failure lifts the duty. Each
// change is audited. The token is revoked so that nothing is sent meanwhile.
func TestOfflineDeadlinesFollowLatarnia(t *testing.T) {
	h := newHarness(t, ksefsim.Config{})
	h.ImportOfflineCertificate("base", ksefpltest.NIP, "ec")
	j := h.issueOffline("OFF-1", "offline24", time.Now().AddDate(0, 0, -1))
	yesterday := offline.Day(time.Now().AddDate(0, 0, -1))
	if want := offline.NextBusinessDay(yesterday).Format(time.DateOnly); j.Deadline != want {
		t.Fatalf("deadline %s, want %s", j.Deadline, want)
	}
	if err := h.sim.RevokeToken(h.Token); err != nil {
		t.Fatal(err)
	}
	deadline := func() *store.Job {
		t.Helper()
		Run(context.Background(), h.deps(), opts()) //nolint:errcheck // the run fails to authenticate by design
		nj, err := h.db.JobByID(context.Background(), j.ID)
		if err != nil {
			t.Fatal(err)
		}
		if nj.Status != store.JobPending {
			t.Fatalf("the job was sent: %s", nj.Status)
		}
		return nj
	}
	ev, err := h.sim.PublishLatarnia(ksefsim.LatarniaEvent{Category: "FAILURE", Start: time.Now().Add(-time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	if nj := deadline(); nj.Deadline != "" || nj.DeadlineLifted {
		t.Fatalf("during the failure: deadline %q, lifted %v; want open", nj.Deadline, nj.DeadlineLifted)
	}
	if _, err := h.sim.EndLatarniaFailure(ev.EventID, time.Now()); err != nil {
		t.Fatal(err)
	}
	want := offline.AddBusinessDays(offline.Day(time.Now()), 7).Format(time.DateOnly)
	if nj := deadline(); nj.Deadline != want {
		t.Fatalf("after the failure: deadline %q, want %s", nj.Deadline, want)
	}
	if _, err := h.sim.PublishLatarnia(ksefsim.LatarniaEvent{Category: "TOTAL_FAILURE", Start: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if nj := deadline(); !nj.DeadlineLifted {
		t.Fatalf("after a total failure: deadline %q, lifted %v", nj.Deadline, nj.DeadlineLifted)
	}
	n := 0
	for _, e := range h.Trail(j.ID) {
		if e.Reason == "OFFLINE_DEADLINE" {
			n++
		}
	}
	if n != 3 {
		t.Errorf("%d deadline audit rows, want 3 (open, moved, lifted)", n)
	}
	// The shop heard of each change: one offline.deadline event per audit row, the last
	// one without a deadline (lifted).
	evs, err := h.db.Events(context.Background(), store.EventFilter{JobID: j.ID, Type: store.EventDeadline})
	if err != nil || len(evs) != 3 {
		t.Fatalf("deadline events: %d, %v; want 3", len(evs), err)
	}
	if strings.Contains(string(evs[2].Payload), `"deadline"`) || !strings.Contains(string(evs[1].Payload), `"deadline":"`+want+`"`) {
		t.Errorf("deadline events: %s / %s", evs[1].Payload, evs[2].Payload)
	}
}

// An offline document less than offline.DueSoon from its deadline raises one
// offline.deadline_near event, however many runs see it.
func TestNearDeadlineTellsTheShopOnce(t *testing.T) {
	h := newHarness(t, ksefsim.Config{})
	h.ImportOfflineCertificate("base", ksefpltest.NIP, "ec")
	j := h.issueOffline("OFF-NEAR", "offline24", time.Now())
	if err := h.sim.RevokeToken(h.Token); err != nil { // nothing is sent: the job stays open
		t.Fatal(err)
	}
	day, err := offline.ParseDay(j.Deadline)
	if err != nil {
		t.Fatal(err)
	}
	d := *h.deps()
	for i, at := range []time.Time{day.Add(12 * time.Hour), day.Add(21 * time.Hour), day.Add(23 * time.Hour)} {
		d.Now = func() time.Time { return at }
		Run(context.Background(), &d, opts()) //nolint:errcheck // the run fails to authenticate by design
		evs, err := h.db.Events(context.Background(), store.EventFilter{JobID: j.ID, Type: store.EventDeadlineNear})
		if err != nil {
			t.Fatal(err)
		}
		if want := min(i, 1); len(evs) != want {
			t.Fatalf("at %s: %d deadline_near events, want %d", at.Format(time.RFC3339), len(evs), want)
		}
		if len(evs) == 1 && !strings.Contains(string(evs[0].Payload), `"deadline":"`+j.Deadline+`"`) {
			t.Errorf("payload %s", evs[0].Payload)
		}
	}
}

// A technical correction end to end: an offline invoice KSeF rejects (here: a buyer NIP
// its subject-identifier validation refuses, in bytes an older tool froze) gets its
// corrected document; submit sends it with hashOfCorrectedInvoice; KSeF accepts it and
// links it to the rejected one; the job keeps the rejected bytes in its history.
func TestTechnicalCorrectionEndToEnd(t *testing.T) {
	h := newHarness(t, ksefsim.Config{})
	h.ImportOfflineCertificate("base", ksefpltest.NIP, "ec")
	h.Set(config.PathValidateSubjectIdentifiers, "1", config.Default)
	golden := ksefpltest.Testdata(t, "invoices", "domestic_b2b.golden.xml")
	bad := []byte(strings.Replace(string(golden), "<NIP>8567346215</NIP>", "<NIP>8567346216</NIP>", 1))
	j := h.EnqueueRaw(store.Job{WebsiteID: 1, EntityType: "invoice", IncrementID: "INV-000123", InputFormat: "xml", Input: string(bad)})
	ctx := context.Background()
	if _, err := h.db.UpdateJob(ctx, j.ID, nil, func(x *store.Job) error {
		x.XML, x.InvoiceHash, x.FrozenAt, x.IssueDate = bad, ksef.SHA256Base64(bad), time.Now(), "2026-11-20"
		x.OfflineMode, x.Deadline = "offline24", "2026-11-21"
		return nil
	}, store.AuditEntry{}); err != nil {
		t.Fatal(err)
	}
	h.run(opts())
	rejected, _ := h.db.JobByID(ctx, j.ID)
	if rejected.Status != store.JobFailed {
		t.Fatalf("the bad document was %s (%s)", rejected.Status, rejected.ReasonDetail)
	}
	if _, err := queue.CorrectTechnically(ctx, h.Deps, queue.CorrectionRequest{JobID: j.ID, Data: bad, Actor: "ops"}); err == nil {
		t.Fatal("the same bytes were taken as a correction")
	}
	fixed, err := queue.CorrectTechnically(ctx, h.Deps, queue.CorrectionRequest{JobID: j.ID, Data: golden, Actor: "ops"})
	if err != nil {
		t.Fatal(err)
	}
	if fixed.Status != store.JobPending || fixed.CorrectedHash != rejected.InvoiceHash || fixed.Reason != queue.ReasonTechnicalCorrection {
		t.Fatalf("corrected job %+v", fixed)
	}
	o := opts()
	o.Mode = ModeBatch // a correction still goes through an online session
	h.run(o)
	done, _ := h.db.JobByID(ctx, j.ID)
	if done.Status != store.JobAccepted || done.InvoicingMode != "Offline" {
		t.Fatalf("correction: %s %s %s", done.Status, done.InvoicingMode, done.ReasonDetail)
	}
	var sent *ksefsim.ReceivedInvoice
	for _, inv := range h.sim.Invoices() {
		if inv.KSeFNumber == done.KSeFNumber {
			sent = &inv
		}
	}
	if sent == nil || sent.HashOfCorrectedInvoice != rejected.InvoiceHash || !sent.OfflineMode {
		t.Fatalf("KSeF received %+v", sent)
	}
	docs, err := h.db.JobDocuments(ctx, j.ID)
	if err != nil || len(docs) != 1 || docs[0].InvoiceHash != rejected.InvoiceHash || string(docs[0].XML) != string(bad) {
		t.Fatalf("history %+v, %v", docs, err)
	}
}
