package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// latencyRuns is how many times each fresh-process latency is measured (the median is
// reported).
const latencyRuns = 15

// Latencies are the medians of fresh ksefpl processes on the observer paths: what a shop
// (or an operator at a shell) waits for while the store holds a backlog.
type Latencies struct {
	// QueueInvoice is `ksefpl queue invoice --file -`: a new invoice queued.
	QueueInvoice time.Duration `json:"queue_invoice_ns"`
	// QueueList is `ksefpl queue list --limit 50`.
	QueueList time.Duration `json:"queue_list_ns"`
	// Status is `ksefpl status`.
	Status time.Duration `json:"status_ns"`
	// AuditJob is `ksefpl audit --job ID` of a job in the middle of the backlog.
	AuditJob time.Duration `json:"audit_job_ns"`
}

// measureLatencies runs each observer command latencyRuns times as a fresh process on
// home and returns the medians. tag names the invoices queued (unique per call).
func measureLatencies(ctx context.Context, bin, home string, env []string, tag string, auditJob int64) (Latencies, error) {
	var l Latencies
	run := func(stdin string, args ...string) (time.Duration, error) {
		c := exec.CommandContext(ctx, bin, append([]string{"--home", home, "--no-color"}, args...)...)
		c.Env = env
		c.Stdin = strings.NewReader(stdin)
		start := time.Now()
		out, err := c.CombinedOutput()
		d := time.Since(start)
		if err != nil {
			return 0, fmt.Errorf("ksefpl %s: %v: %s", strings.Join(args, " "), err, out)
		}
		return d, nil
	}
	median := func(f func(i int) (time.Duration, error)) (time.Duration, error) {
		ds := make([]time.Duration, 0, latencyRuns)
		for i := range latencyRuns {
			d, err := f(i)
			if err != nil {
				return 0, err
			}
			ds = append(ds, d)
		}
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		return ds[len(ds)/2], nil
	}
	issued := time.Now().Format(time.RFC3339)
	var err error
	if l.QueueInvoice, err = median(func(i int) (time.Duration, error) {
		inc := fmt.Sprintf("LAT-%s-%02d", tag, i+1)
		return run(invoiceJSON(inc, issued), "queue", "invoice", "--file", "-")
	}); err != nil {
		return l, err
	}
	if l.QueueList, err = median(func(int) (time.Duration, error) { return run("", "queue", "list", "--limit", "50", "-o", "json") }); err != nil {
		return l, err
	}
	if l.Status, err = median(func(int) (time.Duration, error) { return run("", "status", "-o", "json") }); err != nil {
		return l, err
	}
	if auditJob > 0 {
		if l.AuditJob, err = median(func(int) (time.Duration, error) {
			return run("", "audit", "--job", fmt.Sprint(auditJob), "-o", "json")
		}); err != nil {
			return l, err
		}
	}
	return l, nil
}

// sqliteBytes is the size of a home's SQLite store (the database and its WAL); 0 when
// the store is elsewhere.
func sqliteBytes(home string) int64 {
	var n int64
	for _, name := range []string{"ksefpl.db", "ksefpl.db-wal"} {
		if fi, err := os.Stat(filepath.Join(home, name)); err == nil {
			n += fi.Size()
		}
	}
	return n
}
