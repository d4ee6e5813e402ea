package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestUpdateJobsIsAllOrNothing(t *testing.T) {
	ctx := context.Background()
	db := openTemp(t)
	var ids []int64
	for _, inc := range []string{"A", "B", "C"} {
		j, _, err := db.Enqueue(ctx, newJob(inc), false, AuditEntry{Event: EventTransition})
		must(t, err)
		ids = append(ids, j.ID)
	}
	_, err := db.UpdateJob(ctx, ids[2], nil, func(j *Job) error { j.Status = JobFailed; return nil }, AuditEntry{Event: EventTransition})
	must(t, err)
	_, err = db.UpdateJobs(ctx, ids, []string{JobPending}, func(j *Job) error { j.Status = JobSending; return nil }, AuditEntry{Event: EventTransition, Actor: "t"})
	if !errors.Is(err, ErrConflict) {
		t.Fatalf("err = %v", err)
	}
	for _, id := range ids[:2] {
		j, _ := db.JobByID(ctx, id)
		if j.Status != JobPending {
			t.Fatalf("job %d changed to %s despite the conflict", id, j.Status)
		}
	}
	got, err := db.UpdateJobs(ctx, ids[:2], []string{JobPending}, func(j *Job) error { j.Status, j.SessionReference = JobSending, "SB1"; return nil },
		AuditEntry{Event: EventTransition, Actor: "t", Reason: "SEND"})
	must(t, err)
	if len(got) != 2 || got[1].Status != JobSending {
		t.Fatalf("updated = %+v", got)
	}
	trail, _ := db.Audit(ctx, AuditFilter{SessionReference: "SB1"})
	if len(trail) != 2 || trail[0].FromStatus != JobPending || trail[0].ToStatus != JobSending {
		t.Fatalf("trail = %+v", trail)
	}
	// MoveJobs is the same, all or nothing, without the jobs back.
	if err := db.MoveJobs(ctx, ids, []string{JobSending}, func(j *Job) error { j.Status = JobSubmitted; return nil },
		AuditEntry{Event: EventTransition, Actor: "t", Reason: "SUBMITTED"}); !errors.Is(err, ErrConflict) {
		t.Fatalf("MoveJobs over a FAILED job: err = %v", err)
	}
	must(t, db.MoveJobs(ctx, ids[:2], []string{JobSending}, func(j *Job) error { j.Status = JobSubmitted; return nil },
		AuditEntry{Event: EventTransition, Actor: "t", Reason: "SUBMITTED"}))
	for _, id := range ids[:2] {
		j, _ := db.JobByID(ctx, id)
		trail, _ := db.Audit(ctx, AuditFilter{JobID: id})
		if last := trail[len(trail)-1]; j.Status != JobSubmitted || last.Reason != "SUBMITTED" || last.FromStatus != JobSending {
			t.Fatalf("job %d after MoveJobs: %s, last audit %+v", id, j.Status, last)
		}
	}
}

func TestSessionKindDefaultsToOnline(t *testing.T) {
	ctx := context.Background()
	db := openTemp(t)
	now := time.Now()
	must(t, db.CreateSession(ctx, Session{Reference: "S1", WebsiteID: 1, FormCode: "FA (3)", Status: SessionActive, OpenedAt: now, ValidUntil: now}, AuditEntry{Event: EventSession}))
	must(t, db.CreateSession(ctx, Session{Reference: "B1", WebsiteID: 1, FormCode: "FA (3)", Kind: SessionBatch, Status: SessionActive, OpenedAt: now, ValidUntil: now}, AuditEntry{Event: EventSession}))
	s1, _ := db.SessionByRef(ctx, "S1")
	b1, _ := db.SessionByRef(ctx, "B1")
	if s1.Kind != SessionOnline || b1.Kind != SessionBatch {
		t.Fatalf("kinds = %q %q", s1.Kind, b1.Kind)
	}
}

func TestNewestLimitKeepsTheLatestInOrder(t *testing.T) {
	ctx := context.Background()
	db := openTemp(t)
	for _, inc := range []string{"A", "B", "C", "D"} {
		_, _, err := db.Enqueue(ctx, newJob(inc), false, AuditEntry{Event: EventTransition, Actor: "t", Message: inc})
		must(t, err)
	}
	jobs, err := db.Jobs(ctx, JobFilter{Limit: 2, Newest: true})
	must(t, err)
	if len(jobs) != 2 || jobs[0].IncrementID != "C" || jobs[1].IncrementID != "D" {
		t.Fatalf("newest 2 jobs = %v", jobs)
	}
	oldest, _ := db.Jobs(ctx, JobFilter{Limit: 2})
	if oldest[0].IncrementID != "A" || oldest[1].IncrementID != "B" {
		t.Fatalf("oldest 2 jobs = %v", oldest)
	}
	entries, err := db.Audit(ctx, AuditFilter{Limit: 3, Newest: true})
	must(t, err)
	if len(entries) != 3 || entries[0].Message != "B" || entries[2].Message != "D" {
		t.Fatalf("newest 3 audit entries = %+v", entries)
	}
}
