package queue

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/ksefpl/ksefpl/pkg/config"
	"github.com/ksefpl/ksefpl/pkg/fa"
	"github.com/ksefpl/ksefpl/pkg/failure"
	"github.com/ksefpl/ksefpl/pkg/store"
)

func TestEnqueueInvoiceStoresPendingJobWithAuditRow(t *testing.T) {
	f := newFixture(t)
	data := invoiceJSON(t, "domestic_b2b")
	r, err := f.enqueue(f.base, KindInvoice, data, false)
	if err != nil {
		t.Fatal(err)
	}
	j := r.Job
	if r.Outcome != store.Enqueued || len(r.Warnings) != 0 {
		t.Fatalf("outcome %v warnings %v", r.Outcome, r.Warnings)
	}
	if j.ID == 0 || j.WebsiteID != f.base.WebsiteID || j.EntityType != "invoice" || j.IncrementID != "INV-000123" ||
		j.InputFormat != "json" || j.Input != string(data) || j.Status != store.JobPending || j.IssueDate != "2026-11-20" || j.Frozen() {
		t.Fatalf("job = %+v", j)
	}
	tr := f.trail(j.ID)
	if len(tr) != 1 || tr[0].Event != store.EventTransition || tr[0].FromStatus != "" || tr[0].ToStatus != store.JobPending ||
		tr[0].Reason != ReasonQueued || tr[0].Actor != "test" || !strings.Contains(tr[0].Message, "INV-000123") {
		t.Fatalf("audit = %+v", tr)
	}
}

func TestEnqueueSameDocumentAgainChangesNothing(t *testing.T) {
	f := newFixture(t)
	data := invoiceJSON(t, "domestic_b2b")
	first := f.mustEnqueue(f.base, KindInvoice, data)
	r, err := f.enqueue(f.base, KindInvoice, data, false)
	if err != nil {
		t.Fatal(err)
	}
	if r.Outcome != store.Existed || r.Job.ID != first.ID || len(r.Warnings) != 0 {
		t.Fatalf("second enqueue = %v %+v %v", r.Outcome, r.Job, r.Warnings)
	}
	// A changed file is not taken without --replace, and the operator is told.
	changed := bytes.Replace(data, []byte(`"order_increment_id": "000000456"`), []byte(`"order_increment_id": "000000457"`), 1)
	r, err = f.enqueue(f.base, KindInvoice, changed, false)
	if err != nil {
		t.Fatal(err)
	}
	if r.Outcome != store.Existed || r.Job.Input != string(data) || len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "--replace") {
		t.Fatalf("changed enqueue = %v input changed=%v warnings %v", r.Outcome, r.Job.Input != string(data), r.Warnings)
	}
	if n := len(f.trail(first.ID)); n != 1 {
		t.Fatalf("no-op enqueues wrote audit rows: %d", n)
	}
}

func TestReplaceUnsentJobButNotASentOne(t *testing.T) {
	f := newFixture(t)
	data := invoiceJSON(t, "domestic_b2b")
	first := f.mustEnqueue(f.base, KindInvoice, data)
	changed := bytes.Replace(data, []byte(`"order_increment_id": "000000456"`), []byte(`"order_increment_id": "000000457"`), 1)
	r, err := f.enqueue(f.base, KindInvoice, changed, true)
	if err != nil {
		t.Fatal(err)
	}
	if r.Outcome != store.Replaced || r.Job.ID != first.ID || r.Job.Input != string(changed) {
		t.Fatalf("replace = %v %+v", r.Outcome, r.Job)
	}
	tr := f.trail(first.ID)
	if last := tr[len(tr)-1]; last.Reason != ReasonReplaced || last.FromStatus != store.JobPending || last.ToStatus != store.JobPending {
		t.Fatalf("replace audit = %+v", last)
	}

	f.setStatus(first.ID, store.JobAccepted, "5261040828-20261120-0100001AF629-47")
	_, err = f.enqueue(f.base, KindInvoice, data, true)
	var se *StateError
	if !errors.As(err, &se) || !failure.Is(err, failure.Invalid) || se.JobID != first.ID || !strings.Contains(err.Error(), "cannot be replaced") ||
		!strings.Contains(err.Error(), "was already sent") || !strings.Contains(err.Error(), "credit memo") {
		t.Fatalf("replace of a sent job: %v", err)
	}
	j, _ := f.db.JobByID(f.ctx, first.ID)
	if j.Input != string(changed) || j.Status != store.JobAccepted {
		t.Fatalf("refused replace changed the job: %+v", j)
	}
	// A replace on a new document simply queues it, audited as QUEUED.
	r, err = f.enqueue(f.base, KindInvoice, invoiceJSON(t, "consumer"), true)
	if err != nil || r.Outcome != store.Enqueued || f.trail(r.Job.ID)[0].Reason != ReasonQueued {
		t.Fatalf("replace of a new document = %v, %v", r, err)
	}
}

func TestEnqueueRefusesWrongTypeAndInvalidInputStoringNothing(t *testing.T) {
	f := newFixture(t)
	_, err := f.enqueue(f.base, KindInvoice, invoiceJSON(t, "creditmemo_ksef"), false)
	var ie *InvalidError
	if !errors.As(err, &ie) || !failure.Is(err, failure.Invalid) || !strings.Contains(err.Error(), "queue creditmemo") {
		t.Fatalf("credit memo as invoice: %v", err)
	}
	_, err = f.enqueue(f.base, KindCreditMemo, invoiceJSON(t, "consumer"), false)
	if !errors.As(err, &ie) || !strings.Contains(err.Error(), "queue invoice") {
		t.Fatalf("invoice as credit memo: %v", err)
	}
	bad := bytes.Replace(invoiceJSON(t, "domestic_b2b"), []byte(`"grand_total": "342.44"`), []byte(`"grand_total": "300.00"`), 1)
	_, err = f.enqueue(f.base, KindInvoice, bad, false)
	var tm *fa.TotalsMismatchError
	if !errors.As(err, &ie) || !errors.As(err, &tm) || !failure.Is(err, failure.Invalid) {
		t.Fatalf("totals mismatch: %v", err)
	}
	_, err = f.enqueue(f.base, KindInvoice, []byte(`{"type":"invoice","increment_id":"X","colour":"red"}`), false)
	if !errors.As(err, &ie) || len(ie.Problems) != 1 || !strings.Contains(err.Error(), "colour: unknown field") {
		t.Fatalf("unknown field: %v", err)
	}
	if js := f.jobs(); len(js) != 0 {
		t.Fatalf("invalid input stored %d jobs", len(js))
	}
	if es, _ := f.db.Audit(f.ctx, store.AuditFilter{}); len(es) != 0 {
		t.Fatalf("invalid input wrote audit rows: %+v", es)
	}
}

func TestEnqueueNeedsTheSellerConfigured(t *testing.T) {
	f := newFixture(t)
	if err := f.svc.Delete(f.ctx, config.PathSellerNIP, config.Default); err != nil {
		t.Fatal(err)
	}
	_, err := f.enqueue(f.base, KindInvoice, invoiceJSON(t, "consumer"), false)
	if !failure.Is(err, failure.Invalid) || !strings.Contains(err.Error(), "no seller NIP configured") ||
		!strings.Contains(err.Error(), "ksefpl config:set ksefpl/seller/nip") {
		t.Fatalf("no NIP: %v", err)
	}
	f.set(config.PathSellerNIP, "5261040828", config.Default)
	if err := f.svc.Delete(f.ctx, config.PathSellerName, config.Default); err != nil {
		t.Fatal(err)
	}
	_, err = f.enqueue(f.base, KindInvoice, invoiceJSON(t, "consumer"), false)
	if !failure.Is(err, failure.Invalid) || !strings.Contains(err.Error(), "seller.name") || !strings.Contains(err.Error(), "config:set ksefpl/seller/name") {
		t.Fatalf("no seller name: %v", err)
	}
	if len(f.jobs()) != 0 {
		t.Fatal("stored a job without a seller")
	}
}

func TestEnqueueForeignCurrencyNeedsNoNetwork(t *testing.T) {
	f := newFixture(t)
	// The NBP URL points nowhere: queuing must not try it.
	f.set(config.PathNBPBaseURL, "http://127.0.0.1:9/api", config.Default)
	data := invoiceJSON(t, "eur_nbp")
	r, err := f.enqueue(f.base, KindInvoice, data, false)
	if err != nil {
		t.Fatal(err)
	}
	if j := r.Job; j.Status != store.JobPending || j.Input != string(data) || j.IncrementID != "INV-000128" {
		t.Fatalf("job = %+v", j)
	}
	// It is dated 2026-12-29, after the fixture's today (2026-11-30): KSeF would refuse it today.
	if len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "the issue date (P_1) 2026-12-29 is after today (2026-11-30)") {
		t.Fatalf("warnings = %v", r.Warnings)
	}
}

func TestCreditMemoMayReferToAQueuedInvoice(t *testing.T) {
	f := newFixture(t)
	memo := invoiceJSON(t, "creditmemo_lookup") // refers to INV-000124 without its issue date
	_, err := f.enqueue(f.base, KindCreditMemo, memo, false)
	if !failure.Is(err, failure.Invalid) || !strings.Contains(err.Error(), "original_issue_date") {
		t.Fatalf("memo of an unknown invoice without its date: %v", err)
	}
	f.mustEnqueue(f.base, KindInvoice, invoiceJSON(t, "consumer")) // INV-000124
	j := f.mustEnqueue(f.base, KindCreditMemo, memo)
	if j.EntityType != "creditmemo" || j.IncrementID != "CM-000011" || j.Status != store.JobPending {
		t.Fatalf("memo job = %+v", j)
	}
	// A memo with its own original data needs no lookup.
	j = f.mustEnqueue(f.base, KindCreditMemo, invoiceJSON(t, "creditmemo_no_ksef"))
	if j.IncrementID != "CM-000012" {
		t.Fatalf("memo job = %+v", j)
	}
}

func TestEnqueueXMLChecksSellerAndKeepsBytes(t *testing.T) {
	f := newFixture(t)
	x := buildXML(t, invoiceJSON(t, "domestic_b2b"), "5261040828")
	r, err := f.enqueue(f.base, KindXML, x, false)
	if err != nil {
		t.Fatal(err)
	}
	j := r.Job
	if j.EntityType != "invoice" || j.InputFormat != "xml" || j.Input != string(x) || j.IncrementID != "INV-000123" || j.IssueDate != "2026-11-20" {
		t.Fatalf("xml job = %+v", j)
	}
	memo := buildXML(t, invoiceJSON(t, "creditmemo_ksef"), "5261040828")
	j = f.mustEnqueue(f.base, KindXML, memo)
	if j.EntityType != "creditmemo" || j.IncrementID != "CM-000010" {
		t.Fatalf("KOR xml job = %+v", j)
	}

	other := buildXML(t, invoiceJSON(t, "consumer"), "7740001454")
	_, err = f.enqueue(f.base, KindXML, other, false)
	if !failure.Is(err, failure.Invalid) || !strings.Contains(err.Error(), "seller NIP 7740001454 is not website \"base\"'s NIP 5261040828") {
		t.Fatalf("wrong seller: %v", err)
	}
	// The same XML belongs on the website of that seller.
	shop2 := f.website("shop2", "7740001454")
	if j := f.mustEnqueue(shop2, KindXML, other); j.WebsiteID != shop2.WebsiteID {
		t.Fatalf("shop2 job = %+v", j)
	}

	_, err = f.enqueue(f.base, KindXML, append([]byte("\xef\xbb\xbf"), x...), false)
	if !failure.Is(err, failure.Invalid) || !strings.Contains(err.Error(), "byte-order mark") {
		t.Fatalf("BOM: %v", err)
	}
	_, err = f.enqueue(f.base, KindXML, []byte("<Faktura><oops></Faktura>"), false)
	if !failure.Is(err, failure.Invalid) {
		t.Fatalf("malformed XML: %v", err)
	}
	if n := len(f.jobs()); n != 3 {
		t.Fatalf("jobs = %d, want 3", n)
	}
}

func TestCreditMemoOfAFailedInvoiceNeedsItsDate(t *testing.T) {
	f := newFixture(t)
	inv := f.mustEnqueue(f.base, KindInvoice, invoiceJSON(t, "consumer")) // INV-000124
	f.setStatus(inv.ID, store.JobFailed, "")
	_, err := f.enqueue(f.base, KindCreditMemo, invoiceJSON(t, "creditmemo_lookup"), false)
	if !failure.Is(err, failure.Invalid) || !strings.Contains(err.Error(), "original_issue_date") {
		t.Fatalf("memo of a FAILED invoice without its date: %v", err)
	}
}

func TestConcurrentEnqueueOfOneDocumentStoresOneJob(t *testing.T) {
	f := newFixture(t)
	data := invoiceJSON(t, "domestic_b2b")
	const n = 6
	results := make(chan store.EnqueueResult, n)
	errs := make(chan error, n)
	for range n {
		go func() {
			r, err := f.enqueue(f.base, KindInvoice, data, false)
			if err != nil {
				errs <- err
				return
			}
			results <- r.Outcome
		}()
	}
	enqueued := 0
	for range n {
		select {
		case err := <-errs:
			t.Fatal(err)
		case o := <-results:
			if o == store.Enqueued {
				enqueued++
			} else if o != store.Existed {
				t.Fatalf("outcome %v", o)
			}
		}
	}
	if enqueued != 1 || len(f.jobs()) != 1 {
		t.Fatalf("%d enqueued, %d jobs; want exactly one", enqueued, len(f.jobs()))
	}
	if es, _ := f.db.Audit(f.ctx, store.AuditFilter{}); len(es) != 1 {
		t.Fatalf("%d audit rows, want 1", len(es))
	}
}
