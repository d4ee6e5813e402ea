package store

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// benchInput is a shop JSON of about the size of a real order (~1 KB).
var benchInput = `{"type":"invoice","increment_id":"X","items":[` + strings.Repeat(`{"sku":"SKU-1","name":"Koszulka bawełniana M","qty":"2","price":"100.00","tax_percent":"23"},`, 10) + `{}]}`

func openBench(b *testing.B) *DB {
	b.Helper()
	db, err := Open(context.Background(), filepath.Join(b.TempDir(), "ksefpl.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db
}

func benchJob(i int) Job {
	return Job{WebsiteID: 1, EntityType: "invoice", IncrementID: fmt.Sprintf("INV-%09d", i), InputFormat: "json",
		Input: benchInput, Status: JobPending}
}

// BenchmarkEnqueueSingle queues one new job per operation, each in its own transaction
// (what `queue invoice` does).
func BenchmarkEnqueueSingle(b *testing.B) {
	ctx := context.Background()
	db := openBench(b)
	a := AuditEntry{Event: EventTransition, Actor: "bench"}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, res, err := db.Enqueue(ctx, benchJob(i), false, a); err != nil || res != Enqueued {
			b.Fatalf("enqueue %d: %v %v", i, res, err)
		}
	}
}

// BenchmarkEnqueueMany queues the same kind of jobs 100 per transaction; one operation
// is one job, so ns/op compares directly with BenchmarkEnqueueSingle.
func BenchmarkEnqueueMany(b *testing.B) {
	const batch = 100
	ctx := context.Background()
	db := openBench(b)
	a := AuditEntry{Event: EventTransition, Actor: "bench"}
	items := make([]EnqueueItem, 0, batch)
	b.ResetTimer()
	for i := 0; i < b.N; {
		items = items[:0]
		for ; len(items) < batch && i < b.N; i++ {
			items = append(items, EnqueueItem{Job: benchJob(i), Audit: a})
		}
		outs, err := db.EnqueueMany(ctx, items, false)
		if err != nil || len(outs) != len(items) {
			b.Fatalf("enqueue batch: %d outcomes, %v", len(outs), err)
		}
	}
}

// BenchmarkAppendAudit appends one audit row per operation in its own transaction.
func BenchmarkAppendAudit(b *testing.B) {
	ctx := context.Background()
	db := openBench(b)
	e := AuditEntry{WebsiteID: 1, JobID: 1, Event: EventTransition, FromStatus: JobSending, ToStatus: JobSubmitted,
		Reason: "SENT", Actor: "bench", Message: "invoice reference 20261127-EE-0000000000-0000000000-00"}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := db.AppendAudit(ctx, e); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBatchLifecycle moves one job per operation through the store writes of a
// batch session, 1,000 jobs per transaction as submit makes them: frozen (its 2 KB of
// XML stored), SENDING, SUBMITTED, ACCEPTED (with its outbox event), each with its audit
// row and the kept counts. It is the store's share of submit's cost per invoice.
func BenchmarkBatchLifecycle(b *testing.B) {
	ctx := context.Background()
	db := openBench(b)
	xml := []byte(strings.Repeat("<P_7>Koszulka bawełniana M</P_7>", 64))
	var items []EnqueueItem
	for i := range b.N {
		items = append(items, EnqueueItem{Job: benchJob(i), Audit: AuditEntry{Event: EventTransition, Actor: "bench", Reason: "QUEUED"}})
	}
	for start := 0; start < len(items); start += 1000 {
		if _, err := db.EnqueueMany(ctx, items[start:min(len(items), start+1000)], false); err != nil {
			b.Fatal(err)
		}
	}
	ids, err := db.JobIDs(ctx, JobFilter{WebsiteID: 1})
	if err != nil || len(ids) != b.N {
		b.Fatal(len(ids), err)
	}
	steps := []struct {
		from   string
		change func(x *Job) (AuditEntry, error)
	}{
		{JobPending, func(x *Job) (AuditEntry, error) {
			x.XML, x.InvoiceHash = xml, "hash"
			return AuditEntry{Event: EventTransition, Actor: "bench", Reason: "FROZEN"}, nil
		}},
		{JobPending, func(x *Job) (AuditEntry, error) {
			x.Status, x.SessionReference, x.Attempts = JobSending, "S-1", x.Attempts+1
			return AuditEntry{Event: EventTransition, Actor: "bench", Reason: "SEND"}, nil
		}},
		{JobSending, func(x *Job) (AuditEntry, error) {
			x.Status = JobSubmitted
			return AuditEntry{Event: EventTransition, Actor: "bench", Reason: "SUBMITTED"}, nil
		}},
		{JobSubmitted, func(x *Job) (AuditEntry, error) {
			x.Status, x.KSeFNumber, x.InvoiceReference = JobAccepted, "5261040828-20261202-"+x.IncrementID, "R-"+x.IncrementID
			return AuditEntry{Event: EventTransition, Actor: "bench", Reason: "ACCEPTED"}, nil
		}},
	}
	b.ResetTimer()
	for _, st := range steps {
		for start := 0; start < len(ids); start += 1000 {
			if _, err := db.UpdateJobsEach(ctx, ids[start:min(len(ids), start+1000)], []string{st.from}, st.change); err != nil {
				b.Fatal(err)
			}
		}
	}
}
