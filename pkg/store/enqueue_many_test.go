package store

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"
)

// enqueueStep is one document offered to the queue.
type enqueueStep struct {
	inc, kind, input string
}

// summarize reduces outcomes and the audit log to what both paths must agree on.
func summarizeQueue(t *testing.T, db *DB, outs []EnqueueOutcome) []string {
	t.Helper()
	var s []string
	for _, o := range outs {
		s = append(s, fmt.Sprintf("job %d %s/%s %s input=%s result=%d", o.Job.ID, o.Job.EntityType, o.Job.IncrementID,
			o.Job.Status, o.Job.Input, o.Result))
	}
	audit, err := db.Audit(context.Background(), AuditFilter{})
	must(t, err)
	for _, e := range audit {
		s = append(s, fmt.Sprintf("audit job %d %s %q->%q actor=%s", e.JobID, e.Event, e.FromStatus, e.ToStatus, e.Actor))
	}
	jobs, err := db.Jobs(context.Background(), JobFilter{})
	must(t, err)
	for _, j := range jobs {
		s = append(s, fmt.Sprintf("row %d %s/%s %s input=%s frozen=%v", j.ID, j.EntityType, j.IncrementID, j.Status, j.Input, j.Frozen()))
	}
	return s
}

// TestEnqueueManyMatchesEnqueue offers the same documents one by one through Enqueue
// and as one batch through EnqueueMany, with and without replace, including a job that
// was already sent: the outcomes, rows and audit trails must be the same.
func TestEnqueueManyMatchesEnqueue(t *testing.T) {
	ctx := context.Background()
	steps := []enqueueStep{
		{"INV-1", "invoice", `{"v":1}`}, {"INV-2", "invoice", `{"v":1}`}, {"INV-1", "creditmemo", `{"v":1}`},
		{"INV-1", "invoice", `{"v":2}`}, // a later item meets the job an earlier one created
		{"SENT-1", "invoice", `{"v":2}`},
	}
	for _, replace := range []bool{false, true} {
		// prepare: SENT-1 is already frozen and sent in both databases.
		prepare := func(db *DB) {
			j, _, err := db.Enqueue(ctx, Job{WebsiteID: 1, EntityType: "invoice", IncrementID: "SENT-1", InputFormat: "json",
				Input: `{"v":0}`, Status: JobPending}, false, AuditEntry{Event: EventTransition, Actor: "prep"})
			must(t, err)
			_, err = db.UpdateJob(ctx, j.ID, nil, func(x *Job) error {
				x.XML, x.InvoiceHash, x.FrozenAt, x.Status, x.Attempts = []byte("<x/>"), "h", time.Now(), JobSending, 1
				return nil
			}, AuditEntry{})
			must(t, err)
		}
		one, many := openTemp(t), openTemp(t)
		prepare(one)
		prepare(many)
		var singles []EnqueueOutcome
		var items []EnqueueItem
		for _, s := range steps {
			j := Job{WebsiteID: 1, EntityType: s.kind, IncrementID: s.inc, InputFormat: "json", Input: s.input, Status: JobPending}
			a := AuditEntry{Event: EventTransition, Actor: "queue", Message: s.inc}
			got, res, err := one.Enqueue(ctx, j, replace, a)
			must(t, err)
			singles = append(singles, EnqueueOutcome{Job: got, Result: res})
			items = append(items, EnqueueItem{Job: j, Audit: a})
		}
		batch, err := many.EnqueueMany(ctx, items, replace)
		must(t, err)
		a, b := summarizeQueue(t, one, singles), summarizeQueue(t, many, batch)
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("replace=%v:\nEnqueue:     %q\nEnqueueMany: %q", replace, a, b)
		}
		// The expectations themselves: INV-1 again is Existed, or Replaced with replace;
		// the sent job is never replaced.
		want := []EnqueueResult{Enqueued, Enqueued, Enqueued, Existed, Existed}
		if replace {
			want[3] = Replaced
		}
		for i, o := range batch {
			if o.Result != want[i] {
				t.Errorf("replace=%v item %d (%s): result %d, want %d", replace, i, steps[i].inc, o.Result, want[i])
			}
		}
		if batch[4].Job.Status != JobSending || batch[4].Job.Input != `{"v":0}` {
			t.Errorf("sent job changed: %+v", batch[4].Job)
		}
	}
}

// One bad item (an unknown website) rolls the whole batch back.
func TestEnqueueManyIsAllOrNothing(t *testing.T) {
	ctx := context.Background()
	db := openTemp(t)
	items := []EnqueueItem{
		{Job: newJob("OK-1"), Audit: AuditEntry{Event: EventTransition}},
		{Job: Job{WebsiteID: 999, EntityType: "invoice", IncrementID: "BAD", InputFormat: "json", Input: "{}", Status: JobPending},
			Audit: AuditEntry{Event: EventTransition}},
	}
	if _, err := db.EnqueueMany(ctx, items, false); err == nil {
		t.Fatal("a job of an unknown website was accepted")
	}
	jobs, err := db.Jobs(ctx, JobFilter{})
	must(t, err)
	audit, err := db.Audit(ctx, AuditFilter{})
	must(t, err)
	if len(jobs) != 0 || len(audit) != 0 {
		t.Fatalf("after a failed batch: %d jobs, %d audit rows", len(jobs), len(audit))
	}
	outs, err := db.EnqueueMany(ctx, items[:1], false)
	must(t, err)
	if len(outs) != 1 || outs[0].Result != Enqueued || outs[0].Job.IncrementID != "OK-1" {
		t.Fatalf("%+v", outs)
	}
	if outs, err := db.EnqueueMany(ctx, nil, false); err != nil || len(outs) != 0 {
		t.Fatalf("empty batch: %v %v", outs, err)
	}
}
