package ksefpltest

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ksefpl/ksefpl/pkg/store"
	"github.com/ksefpl/ksefpl/pkg/testenv"
)

// InvoiceJSON is a valid PLN shop invoice (23 % and 8 %) issued now.
func InvoiceJSON(inc string) string { return InvoiceJSONAt(inc, time.Now()) }

// InvoiceJSONAt is InvoiceJSON issued at the given time.
func InvoiceJSONAt(inc string, issued time.Time) string {
	return fmt.Sprintf(`{"type":"invoice","increment_id":%q,"created_at":%q,"currency":"PLN",
 "buyer":{"name":"Klient S.A.","vat_id":"PL%s","address":{"street":"ul. Krzywa 2","city":"Kraków","postcode":"30-001","country_id":"PL"}},
 "items":[{"sku":"A","name":"Towar A","qty":"2","unit":"szt.","price":"100.00","tax_percent":"23"},
          {"sku":"B","name":"Towar B","qty":"1","price":"10.00","tax_percent":"8"}],
 "grand_total":"256.80"}`, inc, issued.Format(time.RFC3339), BuyerNIP)
}

// CreditMemoJSON is a shop credit memo of invoice orig (one item A returned), issued now.
func CreditMemoJSON(inc, orig string) string {
	return fmt.Sprintf(`{"type":"creditmemo","increment_id":%q,"created_at":%q,"currency":"PLN",
 "buyer":{"name":"Klient S.A.","vat_id":"PL%s","address":{"street":"ul. Krzywa 2","city":"Kraków","postcode":"30-001","country_id":"PL"}},
 "items":[{"sku":"A","name":"Towar A","qty":"1","unit":"szt.","price":"100.00","tax_percent":"23"}],
 "grand_total":"123.00","invoice_increment_id":%q,"reason":"Zwrot towaru"}`, inc, time.Now().Format(time.RFC3339), BuyerNIP, orig)
}

// Testdata reads a file of the repository's testdata/ folder.
func Testdata(t testing.TB, rel ...string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(append([]string{testenv.ModuleRoot(t), "testdata"}, rel...)...))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// EnqueueRaw stores a job directly in the store, as the queue would after admission,
// with a QUEUED audit row.
func (f *Fixture) EnqueueRaw(j store.Job) *store.Job {
	f.T.Helper()
	if j.InputFormat == "" {
		j.InputFormat = "json"
	}
	if j.Status == "" {
		j.Status = store.JobPending
	}
	out, _, err := f.Deps.DB.Enqueue(f.Ctx, j, false, store.AuditEntry{Event: store.EventTransition, Actor: "test", Reason: "QUEUED"})
	if err != nil {
		f.T.Fatal(err)
	}
	return out
}

// Jobs lists the jobs in the given statuses (all without any).
func (f *Fixture) Jobs(status ...string) []*store.Job {
	f.T.Helper()
	js, err := f.Deps.DB.Jobs(f.Ctx, store.JobFilter{Statuses: status})
	if err != nil {
		f.T.Fatal(err)
	}
	return js
}

// Trail is a job's audit trail (every job's with 0).
func (f *Fixture) Trail(jobID int64) []store.AuditEntry {
	f.T.Helper()
	es, err := f.Deps.DB.Audit(f.Ctx, store.AuditFilter{JobID: jobID})
	if err != nil {
		f.T.Fatal(err)
	}
	return es
}
