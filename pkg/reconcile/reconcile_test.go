package reconcile_test

import (
	"errors"
	"testing"
	"time"

	"github.com/ksefpl/ksefpl/internal/ksefpltest"
	"github.com/ksefpl/ksefpl/pkg/failure"
	"github.com/ksefpl/ksefpl/pkg/ksef"
	"github.com/ksefpl/ksefpl/pkg/reconcile"
	"github.com/ksefpl/ksefpl/pkg/store"
	"github.com/ksefpl/ksefpl/pkg/submit"
)

// sendAll submits every PENDING job and waits for the results.
func sendAll(t *testing.T, f *ksefpltest.Fixture) {
	t.Helper()
	if _, err := submit.Run(f.Ctx, f.Deps, submit.Options{Wait: 20 * time.Second, PollInterval: 10 * time.Millisecond,
		RunSettings: submit.RunSettings{NoPace: true}}); err != nil {
		t.Fatal(err)
	}
}

func update(t *testing.T, f *ksefpltest.Fixture, id int64, fn func(*store.Job)) {
	t.Helper()
	if _, err := f.DB().UpdateJob(f.Ctx, id, nil, func(x *store.Job) error { fn(x); return nil }, store.AuditEntry{}); err != nil {
		t.Fatal(err)
	}
}

func TestAgreementExitsClean(t *testing.T) {
	f := ksefpltest.NewFixture(t)
	for _, inc := range []string{"R-1", "R-2"} {
		f.EnqueueRaw(store.Job{WebsiteID: 1, EntityType: "invoice", IncrementID: inc, Input: ksefpltest.InvoiceJSON(inc)})
	}
	sendAll(t, f)
	r, err := reconcile.Run(f.Ctx, f.Deps, reconcile.Options{})
	if err != nil {
		t.Fatalf("%v: %+v", err, r)
	}
	if r.KSeFCount != 2 || r.LocalCount != 2 || !r.Agrees() {
		t.Fatalf("report %+v", r)
	}
}

// Each planted difference is found, in its class, and only --fix changes anything.
func TestEachDifferenceIsFound(t *testing.T) {
	f := ksefpltest.NewFixture(t)
	for _, inc := range []string{"OK-1", "GONE-1", "TAMPERED-1", "INFLIGHT-1"} {
		f.EnqueueRaw(store.Job{WebsiteID: 1, EntityType: "invoice", IncrementID: inc, Input: ksefpltest.InvoiceJSON(inc)})
	}
	sendAll(t, f)
	jobs := map[string]*store.Job{}
	for _, j := range f.Jobs(store.JobAccepted) {
		jobs[j.IncrementID] = j
	}
	if len(jobs) != 4 {
		t.Fatalf("accepted %d jobs, want 4", len(jobs))
	}
	// (a) The queue claims a KSeF number KSeF never issued to this seller.
	fake := ksef.NewKSeFNumber(ksefpltest.NIP, time.Now(), "0123456789AB")
	update(t, f, jobs["GONE-1"].ID, func(x *store.Job) { x.KSeFNumber = fake })
	// (c) The queue's bytes for a number differ from KSeF's.
	update(t, f, jobs["TAMPERED-1"].ID, func(x *store.Job) { x.InvoiceHash = ksef.SHA256Base64([]byte("other bytes")) })
	// (d) The queue still has a job in flight that KSeF has accepted (a crash between
	// KSeF's answer and the record).
	inflight := jobs["INFLIGHT-1"]
	update(t, f, inflight.ID, func(x *store.Job) { x.Status, x.KSeFNumber = store.JobSubmitted, "" })
	// (b) Another system with the same NIP issued an invoice the queue does not know.
	other := f.SendElsewhere(ksefpltest.Testdata(t, "invoices", "domestic_b2b.golden.xml"))

	from := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	r, err := reconcile.Run(f.Ctx, f.Deps, reconcile.Options{From: from})
	var de *reconcile.DifferencesError
	if !errors.As(err, &de) || failure.Of(err) != failure.Partial {
		t.Fatalf("err = %v, want a *DifferencesError (exit 7)", err)
	}
	if r.KSeFCount != 5 || r.LocalCount != 4 {
		t.Errorf("counts: KSeF %d, local %d; want 5 and 4", r.KSeFCount, r.LocalCount)
	}
	if len(r.MissingInKSeF) != 1 || r.MissingInKSeF[0].JobID != jobs["GONE-1"].ID || r.MissingInKSeF[0].KSeFNumber != fake {
		t.Errorf("missing in KSeF: %+v", r.MissingInKSeF)
	}
	// GONE-1's real number is now unknown to the queue too, as is the other system's.
	unknown := map[string]bool{}
	for _, e := range r.UnknownToQueue {
		unknown[e.KSeFNumber] = true
	}
	if len(r.UnknownToQueue) != 2 || !unknown[other] || !unknown[jobs["GONE-1"].KSeFNumber] {
		t.Errorf("unknown to the queue: %+v (other system's %s)", r.UnknownToQueue, other)
	}
	if len(r.HashMismatch) != 1 || r.HashMismatch[0].JobID != jobs["TAMPERED-1"].ID || r.HashMismatch[0].KSeFHash != jobs["TAMPERED-1"].InvoiceHash {
		t.Errorf("hash mismatch: %+v", r.HashMismatch)
	}
	if len(r.Settled) != 1 || r.Settled[0].JobID != inflight.ID || r.Settled[0].KSeFNumber != inflight.KSeFNumber || r.Settled[0].Fixed {
		t.Errorf("settled: %+v", r.Settled)
	}
	if j, _ := f.DB().JobByID(f.Ctx, inflight.ID); j.Status != store.JobSubmitted {
		t.Fatalf("without --fix the job changed to %s", j.Status)
	}

	// --fix settles the in-flight job with KSeF's number, audited; the rest stays reported.
	r, err = reconcile.Run(f.Ctx, f.Deps, reconcile.Options{From: from, Fix: true, Actor: "auditor"})
	if !errors.As(err, &de) || len(r.Settled) != 1 || !r.Settled[0].Fixed {
		t.Fatalf("--fix: %v, %+v", err, r.Settled)
	}
	j, _ := f.DB().JobByID(f.Ctx, inflight.ID)
	if j.Status != store.JobAccepted || j.KSeFNumber != inflight.KSeFNumber || j.Reason != reconcile.ReasonReconciled {
		t.Errorf("settled job %s %s %s", j.Status, j.KSeFNumber, j.Reason)
	}
	trail := f.Trail(inflight.ID)
	if last := trail[len(trail)-1]; last.Reason != reconcile.ReasonReconciled || last.Actor != "auditor" || last.ToStatus != store.JobAccepted {
		t.Errorf("audit row %+v", last)
	}
	// A second --fix has nothing left to settle.
	if r, _ = reconcile.Run(f.Ctx, f.Deps, reconcile.Options{From: from, Fix: true}); len(r.Settled) != 0 {
		t.Errorf("second --fix settled %+v", r.Settled)
	}
}

// A period longer than one KSeF query (100 days) is read in windows, and a period
// that ends before it starts is refused.
func TestPeriods(t *testing.T) {
	f := ksefpltest.NewFixture(t)
	f.EnqueueRaw(store.Job{WebsiteID: 1, EntityType: "invoice", IncrementID: "P-1", Input: ksefpltest.InvoiceJSON("P-1")})
	sendAll(t, f)
	now := time.Now()
	r, err := reconcile.Run(f.Ctx, f.Deps, reconcile.Options{From: now.AddDate(0, -7, 0), To: now})
	if err != nil || r.KSeFCount != 1 || r.LocalCount != 1 {
		t.Fatalf("seven months: %v %+v", err, r)
	}
	if _, err := reconcile.Run(f.Ctx, f.Deps, reconcile.Options{From: now, To: now.AddDate(0, 0, -1)}); failure.Of(err) != failure.Invalid {
		t.Errorf("reversed period: %v (class %s)", err, failure.Of(err))
	}
}
