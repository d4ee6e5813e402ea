package queue

import (
	"strings"
	"testing"

	"github.com/ksefpl/ksefpl/pkg/store"
)

func (f *fixture) outcome(websiteID int64, success bool, reason string) {
	f.t.Helper()
	if _, err := f.db.RecordAuthOutcome(f.ctx, store.AuthOutcome{WebsiteID: websiteID, Source: "test-connection",
		Environment: "local", TokenFingerprint: "fp", Success: success, Reason: reason}); err != nil {
		f.t.Fatal(err)
	}
}

func TestPreflightHoldsJobsWhileTheTokenIsRejected(t *testing.T) {
	f := newFixture(t)
	shop2 := f.website("shop2", "7740001454")

	// A network failure does not hold jobs: submit will retry.
	f.outcome(f.base.WebsiteID, false, "UNAVAILABLE")
	if j := f.mustEnqueue(f.base, KindInvoice, invoiceJSON(t, "consumer")); j.Status != store.JobPending {
		t.Fatalf("after UNAVAILABLE: %s", j.Status)
	}

	f.outcome(f.base.WebsiteID, false, reasonTokenRejected)
	r, err := f.enqueue(f.base, KindInvoice, invoiceJSON(t, "domestic_b2b"), false)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Held() || r.Job.Reason != ReasonAuthError || !strings.Contains(r.Job.ReasonDetail, "ksefpl test-connection") ||
		len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "AUTH_ERROR") {
		t.Fatalf("held job = %+v warnings %v", r.Job, r.Warnings)
	}
	held := r.Job
	tr := f.trail(held.ID)
	if tr[0].ToStatus != store.JobAuthError || tr[0].Reason != ReasonQueued || !strings.Contains(tr[0].Message, "AUTH_ERROR") {
		t.Fatalf("held audit = %+v", tr[0])
	}
	// The rejection is the base website's only.
	x := buildXML(t, invoiceJSON(t, "consumer"), "7740001454")
	other := f.mustEnqueue(shop2, KindXML, x)
	if other.Status != store.JobPending {
		t.Fatalf("shop2 job held: %s", other.Status)
	}
	f.outcome(shop2.WebsiteID, false, reasonTokenRejected)
	x2 := buildXML(t, invoiceJSON(t, "zw_np"), "7740001454")
	otherHeld := f.mustEnqueue(shop2, KindXML, x2)
	if otherHeld.Status != store.JobAuthError {
		t.Fatalf("shop2 second job = %s", otherHeld.Status)
	}

	// A successful test-connection releases the website's held jobs, each audited.
	f.outcome(f.base.WebsiteID, true, "")
	n, err := ReleaseAuthErrors(f.ctx, f.db, f.base.WebsiteID, "test-connection")
	if err != nil || n != 1 {
		t.Fatalf("released %d, %v", n, err)
	}
	j, _ := f.db.JobByID(f.ctx, held.ID)
	if j.Status != store.JobPending || j.Reason != ReasonAuthReleased || j.ReasonDetail != "" {
		t.Fatalf("released job = %+v", j)
	}
	tr = f.trail(held.ID)
	last := tr[len(tr)-1]
	if last.FromStatus != store.JobAuthError || last.ToStatus != store.JobPending || last.Reason != ReasonAuthReleased || last.Actor != "test-connection" {
		t.Fatalf("release audit = %+v", last)
	}
	if j, _ := f.db.JobByID(f.ctx, otherHeld.ID); j.Status != store.JobAuthError {
		t.Fatalf("another website's job was released: %s", j.Status)
	}
	// Nothing left to release: idempotent.
	if n, err := ReleaseAuthErrors(f.ctx, f.db, f.base.WebsiteID, "test-connection"); err != nil || n != 0 {
		t.Fatalf("second release = %d, %v", n, err)
	}
	// New jobs are no longer held.
	if j := f.mustEnqueue(f.base, KindInvoice, invoiceJSON(t, "export_ex")); j.Status != store.JobPending {
		t.Fatalf("after success: %s", j.Status)
	}
}
