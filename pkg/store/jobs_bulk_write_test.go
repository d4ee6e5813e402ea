package store

import (
	"context"
	"fmt"
	"testing"
)

// UpdateJobsEach writes jobs whose changes are the same with one UPDATE and the others
// one by one, appends the audit rows many per INSERT and numbers the events of one
// transaction on from the website's last: every row must still come out as if each job
// had been written on its own, in order.
func TestBulkChangesWriteEveryJobAsChanged(t *testing.T) {
	ctx := context.Background()
	db := openTemp(t)
	// More jobs than one audit INSERT takes, so that the INSERTs split; an event before
	// the bulk change gives its sequence a start.
	const n = auditRows*2 + 7
	first := queueJob(t, db, 1, "BW-0", JobSubmitted)
	if _, err := db.UpdateJob(ctx, first.ID, nil, func(j *Job) error {
		j.Status, j.KSeFNumber = JobAccepted, "K-0"
		return nil
	}, AuditEntry{Event: EventTransition, Actor: "test", Reason: "ACCEPTED"}); err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for i := 1; i <= n; i++ {
		ids = append(ids, queueJob(t, db, 1, fmt.Sprintf("BW-%d", i), JobPending).ID)
	}
	// Most jobs get the same change (one group); every fifth a session of its own,
	// every seventh is accepted with its own number (an event each).
	jobs, err := db.UpdateJobsEach(ctx, ids, []string{JobPending}, func(j *Job) (AuditEntry, error) {
		k := j.ID - ids[0] + 1
		j.Status, j.SessionReference, j.Attempts = JobSending, "S-common", j.Attempts+1
		switch {
		case k%7 == 0:
			j.Status, j.KSeFNumber = JobAccepted, fmt.Sprintf("K-%d", k)
		case k%5 == 0:
			j.SessionReference = fmt.Sprintf("S-%d", k)
		}
		return AuditEntry{Event: EventTransition, Actor: "test", Reason: fmt.Sprintf("R-%d", k)}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != n {
		t.Fatalf("%d jobs back, want %d", len(jobs), n)
	}
	for i, id := range ids {
		k := int64(i + 1)
		j, err := db.JobByID(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		wantStatus, wantSession, wantNumber := JobSending, "S-common", ""
		switch {
		case k%7 == 0:
			wantStatus, wantNumber = JobAccepted, fmt.Sprintf("K-%d", k)
		case k%5 == 0:
			wantSession = fmt.Sprintf("S-%d", k)
		}
		if j.Status != wantStatus || j.SessionReference != wantSession || j.KSeFNumber != wantNumber || j.Attempts != 1 {
			t.Fatalf("job %d: %s/%s/%q/%d, want %s/%s/%q/1", k, j.Status, j.SessionReference, j.KSeFNumber, j.Attempts,
				wantStatus, wantSession, wantNumber)
		}
		if !j.UpdatedAt.Equal(jobs[i].UpdatedAt) {
			t.Fatalf("job %d: updated_at %v, returned %v", k, j.UpdatedAt, jobs[i].UpdatedAt)
		}
		trail, err := db.Audit(ctx, AuditFilter{JobID: id})
		if err != nil {
			t.Fatal(err)
		}
		last := trail[len(trail)-1]
		if len(trail) != 2 || last.Reason != fmt.Sprintf("R-%d", k) || last.FromStatus != JobPending || last.ToStatus != wantStatus ||
			last.SessionReference != wantSession {
			t.Fatalf("job %d: audit trail %+v", k, trail)
		}
	}
	// The audit rows are in the jobs' order.
	all, err := db.Audit(ctx, AuditFilter{WebsiteID: 1})
	if err != nil {
		t.Fatal(err)
	}
	var order []int64
	for _, e := range all {
		if e.FromStatus == JobPending && e.ToStatus != JobPending {
			order = append(order, e.JobID)
		}
	}
	if fmt.Sprint(order) != fmt.Sprint(ids) {
		t.Fatalf("audit rows in order %v, want %v", order, ids)
	}
	// One event per accepted job, numbered on from the first job's.
	evs, err := db.Events(ctx, EventFilter{WebsiteID: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1+n/7 {
		t.Fatalf("%d events, want %d", len(evs), 1+n/7)
	}
	for i, ev := range evs {
		p := payloadOf(t, ev)
		if ev.Seq != int64(i+1) || p.Seq != ev.Seq {
			t.Fatalf("event %d: seq %d (payload %d), want %d", i, ev.Seq, p.Seq, i+1)
		}
		if i > 0 && (p.KSeFNumber != fmt.Sprintf("K-%d", 7*i) || p.Website == "" || p.JobID != ids[7*i-1]) {
			t.Fatalf("event %d: %+v", i, p)
		}
	}
	// The counts moved with the rows.
	counts, err := db.JobCounts(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if counts[JobSending] != n-n/7 || counts[JobAccepted] != 1+n/7 || counts[JobPending] != 0 {
		t.Fatalf("counts %v", counts)
	}
}
