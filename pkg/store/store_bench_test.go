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
