package store

import (
	"context"
	"testing"
	"time"
)

// A run's record becomes the website's last run; the totals add up over runs, and the
// last successful run's time survives a failed run after it.
func TestSubmitRunsRecordLastRunAndTotals(t *testing.T) {
	db := openTemp(t)
	ctx := context.Background()
	t0 := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	must(t, db.RecordSubmitRun(ctx, RunRecord{WebsiteID: 1, StartedAt: t0, FinishedAt: t0.Add(1500 * time.Millisecond),
		Success: true, Sent: 3, Accepted: 2, Failed: 1}))
	must(t, db.RecordSubmitRun(ctx, RunRecord{WebsiteID: 1, StartedAt: t0.Add(time.Minute), FinishedAt: t0.Add(time.Minute + 2*time.Second),
		ErrorClass: "auth"}))
	runs, err := db.SubmitRuns(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r, ok := runs[1]
	if !ok || len(runs) != 1 {
		t.Fatalf("runs: %+v", runs)
	}
	if r.Success || r.ErrorClass != "auth" || !r.StartedAt.Equal(t0.Add(time.Minute)) || r.Duration != 2*time.Second {
		t.Errorf("last run: %+v", r)
	}
	if !r.LastSuccessAt.Equal(t0.Add(1500 * time.Millisecond)) {
		t.Errorf("last success at %s, want the first run's end", r.LastSuccessAt)
	}
	if r.Runs != 2 || r.FailedRuns != 1 || r.Sent != 3 || r.Accepted != 2 || r.Failed != 1 {
		t.Errorf("totals: %+v", r)
	}
}

// API call totals add up per rate-limit group.
func TestAPICallTotalsAddUp(t *testing.T) {
	db := openTemp(t)
	ctx := context.Background()
	must(t, db.AddAPICalls(ctx, map[string]APICalls{"invoiceSend": {Calls: 5, TooManyRequests: 1, Retries: 2}, "other": {Calls: 1}}))
	must(t, db.AddAPICalls(ctx, map[string]APICalls{"invoiceSend": {Calls: 3, Retries: 1}}))
	got, err := db.APICallTotals(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got["invoiceSend"] != (APICalls{Calls: 8, TooManyRequests: 1, Retries: 3}) || got["other"] != (APICalls{Calls: 1}) || len(got) != 2 {
		t.Errorf("totals: %+v", got)
	}
}
