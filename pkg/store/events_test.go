package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

func queueJob(t *testing.T, db *DB, websiteID int64, inc, status string) *Job {
	t.Helper()
	j, _, err := db.Enqueue(context.Background(), Job{WebsiteID: websiteID, EntityType: "invoice", IncrementID: inc, InputFormat: "json",
		Input: "{}", Status: status}, false, AuditEntry{Event: EventTransition, Actor: "test", Reason: "QUEUED"})
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func payloadOf(t *testing.T, ev *Event) EventPayload {
	t.Helper()
	var p EventPayload
	if err := json.Unmarshal(ev.Payload, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

// The transitions that matter to the shop write their event in the same transaction:
// ACCEPTED with the KSeF number, FAILED with KSeF's code, AUTH_ERROR hold and release, and
// whatever an audit entry asks for (a deferral); other transitions write none. Sequences
// are per website.
func TestTransitionsWriteEvents(t *testing.T) {
	db := openTemp(t)
	ctx := context.Background()
	shop2, err := db.CreateWebsite(ctx, "shop2", "Shop 2")
	if err != nil {
		t.Fatal(err)
	}
	a := queueJob(t, db, 1, "INV-1", JobPending)
	b := queueJob(t, db, 1, "INV-2", JobAuthError) // held at enqueue
	c := queueJob(t, db, shop2.ID, "INV-3", JobPending)
	move := func(j *Job, from, to string, audit AuditEntry, edit func(*Job)) {
		t.Helper()
		audit.Event, audit.Actor = EventTransition, "test"
		if _, err := db.UpdateJob(ctx, j.ID, []string{from}, func(x *Job) error {
			x.Status = to
			if edit != nil {
				edit(x)
			}
			return nil
		}, audit); err != nil {
			t.Fatal(err)
		}
	}
	move(a, JobPending, JobSending, AuditEntry{Reason: "SEND"}, nil)
	move(a, JobSending, JobSubmitted, AuditEntry{Reason: "SUBMITTED"}, func(x *Job) { x.InvoiceReference = "REF-A" })
	move(a, JobSubmitted, JobAccepted, AuditEntry{Reason: "ACCEPTED", KSeFCode: 200}, func(x *Job) {
		x.KSeFNumber, x.AcquisitionDate = "5261040828-20261201-0100001AF629-47", "2026-12-01T10:00:00Z"
	})
	move(b, JobAuthError, JobPending, AuditEntry{Reason: "AUTH_RELEASED"}, nil)
	if _, err := db.UpdateJob(ctx, b.ID, []string{JobPending}, func(x *Job) error {
		x.Reason, x.ReasonDetail = "NBP_UNAVAILABLE", "NBP did not answer"
		return nil
	}, AuditEntry{Event: EventTransition, Actor: "test", Reason: "NBP_UNAVAILABLE", Notify: EventDeferred}); err != nil {
		t.Fatal(err)
	}
	move(c, JobPending, JobFailed, AuditEntry{Reason: "KSEF_REJECTED", KSeFCode: 450, KSeFDescription: "Błąd weryfikacji semantyki"}, nil)

	evs, err := db.Events(ctx, EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ev := range evs {
		p := payloadOf(t, ev)
		got = append(got, fmt.Sprintf("%s#%d %s %s %s", p.Website, p.Seq, ev.Type, p.IncrementID, p.Status))
		if p.ID != ev.ID || p.Seq != ev.Seq || p.JobID != ev.JobID || !strings.HasPrefix(ev.ID, "evt_") || ev.Delivery != DeliveryPending {
			t.Errorf("event row and payload disagree: %+v %+v", ev, p)
		}
	}
	want := []string{
		"base#1 job.auth_held INV-2 AUTH_ERROR",
		"base#2 job.accepted INV-1 ACCEPTED",
		"base#3 job.auth_released INV-2 PENDING",
		"base#4 job.deferred INV-2 PENDING",
		"shop2#1 job.failed INV-3 FAILED",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	acc := payloadOf(t, evs[1])
	if acc.KSeFNumber != "5261040828-20261201-0100001AF629-47" || acc.AcceptedAt != "2026-12-01T10:00:00Z" || acc.UPOReference != "REF-A" {
		t.Errorf("accepted payload %+v", acc)
	}
	if d := payloadOf(t, evs[3]); d.Reason != "NBP_UNAVAILABLE" || d.Message != "NBP did not answer" {
		t.Errorf("deferred payload %+v", d)
	}
	if f := payloadOf(t, evs[4]); f.KSeFCode != 450 || f.KSeFDescription != "Błąd weryfikacji semantyki" || f.Reason != "KSEF_REJECTED" {
		t.Errorf("failed payload %+v", f)
	}
	if has, err := db.HasEvent(ctx, a.ID, EventAccepted); err != nil || !has {
		t.Errorf("HasEvent: %v %v", has, err)
	}
}

// A transition that is rolled back leaves no event: the event lives and dies with it.
func TestRolledBackTransitionWritesNoEvent(t *testing.T) {
	db := openTemp(t)
	ctx := context.Background()
	j := queueJob(t, db, 1, "INV-1", JobPending)
	// The audit row of an unknown website fails inside the transaction, after the job
	// row was written: nothing of it may remain.
	_, err := db.UpdateJobsEach(ctx, []int64{j.ID, 999}, []string{JobPending}, func(x *Job) (AuditEntry, error) {
		x.Status = JobFailed
		return AuditEntry{Event: EventTransition, Actor: "test", Reason: "X"}, nil
	})
	if err == nil {
		t.Fatal("a batch with an unknown job succeeded")
	}
	if evs, _ := db.Events(ctx, EventFilter{}); len(evs) != 0 {
		t.Fatalf("events after a rolled-back transition: %v", evs)
	}
	if got, _ := db.JobByID(ctx, j.ID); got.Status != JobPending {
		t.Fatalf("job %s after the rollback", got.Status)
	}
}

// StartDelivery counts the attempt and sets the retry time before the call;
// FinishDelivery records the outcome; a delivered event is never started again.
func TestDeliveryBookkeeping(t *testing.T) {
	db := openTemp(t)
	ctx := context.Background()
	j := queueJob(t, db, 1, "INV-1", JobPending)
	if _, err := db.UpdateJob(ctx, j.ID, nil, func(x *Job) error { x.Status = JobFailed; return nil },
		AuditEntry{Event: EventTransition, Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	evs, _ := db.Events(ctx, EventFilter{})
	id := evs[0].ID
	retry := db.now().Add(time.Minute)
	ev, err := db.StartDelivery(ctx, id, retry)
	if err != nil || ev.Attempts != 1 {
		t.Fatalf("start: %+v %v", ev, err)
	}
	if err := db.FinishDelivery(ctx, id, "webhook: 500", false); err != nil {
		t.Fatal(err)
	}
	due, _ := db.Events(ctx, EventFilter{Due: db.now()})
	if len(due) != 0 {
		t.Errorf("an event is due before its retry time: %v", due)
	}
	if due, _ = db.Events(ctx, EventFilter{Due: retry}); len(due) != 1 || due[0].LastError != "webhook: 500" {
		t.Errorf("due at the retry time: %v", due)
	}
	if _, err := db.StartDelivery(ctx, id, retry); err != nil {
		t.Fatal(err)
	}
	if err := db.FinishDelivery(ctx, id, "", false); err != nil {
		t.Fatal(err)
	}
	if _, err := db.StartDelivery(ctx, id, retry); !errors.Is(err, ErrEventNotPending) {
		t.Errorf("a delivered event started again: %v", err)
	}
	if n, _ := db.RetryEvents(ctx, []string{id}, false, 0); n != 0 {
		t.Errorf("a delivered event was made pending again")
	}
	c, _ := db.EventCounts(ctx, 1)
	if c[DeliveryDelivered] != 1 {
		t.Errorf("counts %v", c)
	}
}

// Transitions of one website's jobs from many handles at once (hosts, on MySQL) each get
// their own sequence number: none is lost to a duplicate and the numbers have no gaps.
func TestConcurrentTransitionsGetDistinctSequences(t *testing.T) {
	loc := newLocation(t)
	db := loc.open(t, Options{})
	ctx := context.Background()
	const n = 24
	var ids []int64
	for i := range n {
		ids = append(ids, queueJob(t, db, 1, fmt.Sprintf("INV-%02d", i), JobPending).ID)
	}
	handles := []*DB{db, loc.open(t, Options{}), loc.open(t, Options{})}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := handles[i%len(handles)].UpdateJob(ctx, id, []string{JobPending}, func(x *Job) error { x.Status = JobFailed; return nil },
				AuditEntry{Event: EventTransition, Actor: "test"})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	evs, err := db.Events(ctx, EventFilter{WebsiteID: 1})
	if err != nil || len(evs) != n {
		t.Fatalf("%d events (%v), want %d", len(evs), err, n)
	}
	for i, ev := range evs {
		if ev.Seq != int64(i+1) {
			t.Fatalf("sequence %d at position %d: want 1..%d without gaps", ev.Seq, i, n)
		}
	}
}
