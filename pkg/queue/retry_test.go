package queue

import (
	"errors"
	"strings"
	"testing"

	"github.com/ksefpl/ksefpl/pkg/failure"
	"github.com/ksefpl/ksefpl/pkg/store"
)

func TestRetryMovesFailedJobsBackKeepingFrozenBytes(t *testing.T) {
	f := newFixture(t)
	shop2 := f.website("shop2", "7740001454")
	a := f.mustEnqueue(f.base, KindInvoice, invoiceJSON(t, "consumer"))
	b := f.mustEnqueue(f.base, KindInvoice, invoiceJSON(t, "domestic_b2b"))
	c := f.mustEnqueue(shop2, KindXML, buildXML(t, invoiceJSON(t, "consumer"), "7740001454"))
	failedA := f.setStatus(a.ID, store.JobFailed, "")
	f.setStatus(c.ID, store.JobFailed, "")

	// A request naming a job that is not FAILED changes nothing, not even the FAILED one.
	_, err := Retry(f.ctx, f.db, RetrySelection{IDs: []int64{a.ID, b.ID}}, "ops")
	var se *StateError
	if !errors.As(err, &se) || !failure.Is(err, failure.Invalid) || se.JobID != b.ID || !strings.Contains(err.Error(), "only FAILED jobs can be retried") ||
		!strings.Contains(err.Error(), "is PENDING") || !strings.Contains(err.Error(), "nothing was retried") {
		t.Fatalf("retry of a pending job: %v", err)
	}
	if j, _ := f.db.JobByID(f.ctx, a.ID); j.Status != store.JobFailed {
		t.Fatalf("half-done retry: job %d is %s", a.ID, j.Status)
	}
	_, err = Retry(f.ctx, f.db, RetrySelection{IDs: []int64{a.ID, 999}}, "ops")
	var nf *NotFoundError
	if !errors.As(err, &nf) || nf.Query != "999" {
		t.Fatalf("retry of an unknown job: %v", err)
	}
	if _, err := Retry(f.ctx, f.db, RetrySelection{}, "ops"); err == nil {
		t.Fatal("empty selection accepted")
	}

	got, err := Retry(f.ctx, f.db, RetrySelection{IDs: []int64{a.ID, a.ID}}, "ops")
	if err != nil || len(got) != 1 {
		t.Fatalf("retry = %v, %v", got, err)
	}
	j := got[0]
	if j.Status != store.JobPending || j.Reason != ReasonRetry || string(j.XML) != string(failedA.XML) ||
		j.InvoiceHash != failedA.InvoiceHash || j.Attempts != failedA.Attempts {
		t.Fatalf("retried job = %+v", j)
	}
	tr := f.trail(a.ID)
	last := tr[len(tr)-1]
	if last.FromStatus != store.JobFailed || last.ToStatus != store.JobPending || last.Reason != ReasonRetry || last.Actor != "ops" {
		t.Fatalf("retry audit = %+v", last)
	}

	// --failed selects only FAILED jobs (of one website when given).
	f.setStatus(a.ID, store.JobFailed, "")
	got, err = Retry(f.ctx, f.db, RetrySelection{Failed: true, WebsiteID: shop2.WebsiteID}, "ops")
	if err != nil || len(got) != 1 || got[0].ID != c.ID {
		t.Fatalf("--failed --website shop2 = %v, %v", got, err)
	}
	if j, _ := f.db.JobByID(f.ctx, a.ID); j.Status != store.JobFailed {
		t.Fatalf("base job retried by a shop2 selection: %s", j.Status)
	}
	got, err = Retry(f.ctx, f.db, RetrySelection{Failed: true}, "ops")
	if err != nil || len(got) != 1 || got[0].ID != a.ID {
		t.Fatalf("--failed = %v, %v", got, err)
	}
	if j, _ := f.db.JobByID(f.ctx, b.ID); j.Status != store.JobPending || j.Reason == ReasonRetry {
		t.Fatalf("--failed touched a PENDING job: %+v", j)
	}
	// Nothing failed: an empty result, no error.
	if got, err := Retry(f.ctx, f.db, RetrySelection{Failed: true}, "ops"); err != nil || len(got) != 0 {
		t.Fatalf("nothing to retry = %v, %v", got, err)
	}
}
