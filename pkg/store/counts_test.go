package store

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"
	"testing"
	"time"
)

// countedBy counts table's rows per column the slow way, for comparing with the kept counts.
func countedBy(t *testing.T, db *DB, table, column string) map[string]int {
	t.Helper()
	rows, err := db.sql.QueryContext(context.Background(), `SELECT `+column+`, COUNT(*) FROM `+table+` GROUP BY `+column)
	if err != nil {
		t.Fatal(err)
	}
	out, err := scanCounts(rows)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestKeptCountsMatchTheRows moves jobs and events through every kind of change —
// enqueue, replace, single and bulk transitions from several handles at once, a bulk
// change that fails and rolls back, deliveries delivered and parked, dead events retried,
// sessions opened and closed, UPOs stored (once, and for a session the store does not
// know) — and checks that the kept counts (JobCounts, EventCounts, SessionCounts,
// UPOCounts) equal a count of the rows.
func TestKeptCountsMatchTheRows(t *testing.T) {
	ctx := context.Background()
	loc := newLocation(t)
	db := loc.open(t, Options{})
	check := func(when string) {
		t.Helper()
		jobs, err := db.JobCounts(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		if want := countedBy(t, db, "ksefpl_queue", "status"); !maps.Equal(jobs, want) {
			t.Fatalf("%s: job counts %v, rows %v", when, jobs, want)
		}
		events, err := db.EventCounts(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		if want := countedBy(t, db, "ksefpl_event", "delivery"); !maps.Equal(events, want) {
			t.Fatalf("%s: event counts %v, rows %v", when, events, want)
		}
	}
	var items []EnqueueItem
	for i := range 40 {
		items = append(items, EnqueueItem{Job: Job{WebsiteID: 1, EntityType: "invoice", IncrementID: fmt.Sprintf("C-%02d", i), InputFormat: "json",
			Input: `{}`, Status: JobPending}, Audit: AuditEntry{Event: EventTransition, Reason: "QUEUED"}})
	}
	out, err := db.EnqueueMany(ctx, items, false)
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]int64, len(out))
	for i, o := range out {
		ids[i] = o.Job.ID
	}
	check("after enqueue")

	// Four handles (processes, hosts) move ten jobs each to FAILED or ACCEPTED at once.
	var wg sync.WaitGroup
	for h := range 4 {
		hdb := loc.open(t, Options{})
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, id := range ids[h*10 : h*10+10] {
				to := JobAccepted
				if id%3 == 0 {
					to = JobFailed
				}
				if _, err := hdb.UpdateJob(ctx, id, []string{JobPending}, func(x *Job) error { x.Status = to; return nil },
					AuditEntry{Event: EventTransition, Reason: to}); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	check("after concurrent transitions")

	// A failed job replaced by a new version goes back to PENDING.
	var failed *Job
	for _, id := range ids {
		if j, _ := db.JobByID(ctx, id); j.Status == JobFailed {
			failed = j
			break
		}
	}
	if _, res, err := db.Enqueue(ctx, Job{WebsiteID: 1, EntityType: "invoice", IncrementID: failed.IncrementID, InputFormat: "json", Input: `{"v":2}`,
		Status: JobPending}, true, AuditEntry{Event: EventTransition, Reason: "REPLACED"}); err != nil || res != Replaced {
		t.Fatalf("replace: %v %v", res, err)
	}
	check("after a replace")

	// A bulk change that fails halfway changes no count.
	for i := range 5 {
		if _, _, err := db.Enqueue(ctx, Job{WebsiteID: 1, EntityType: "creditmemo", IncrementID: fmt.Sprintf("M-%d", i), InputFormat: "json", Input: `{}`,
			Status: JobPending}, false, AuditEntry{Event: EventTransition, Reason: "QUEUED"}); err != nil {
			t.Fatal(err)
		}
	}
	boom := errors.New("boom")
	pending, err := db.JobIDs(ctx, JobFilter{Statuses: []string{JobPending}})
	if err != nil || len(pending) == 0 {
		t.Fatal(pending, err)
	}
	n := 0
	if _, err := db.UpdateJobs(ctx, pending, []string{JobPending}, func(x *Job) error {
		if n++; n == 2 {
			return boom
		}
		x.Status = JobSending
		return nil
	}, AuditEntry{}); !errors.Is(err, boom) {
		t.Fatalf("the failing change: %v", err)
	}
	check("after a rolled-back bulk change")

	evs, err := db.Events(ctx, EventFilter{WebsiteID: 1})
	if err != nil || len(evs) < 3 {
		t.Fatalf("events: %d %v", len(evs), err)
	}
	if err := db.FinishDelivery(ctx, evs[0].ID, "", false); err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs[1:3] {
		if err := db.FinishDelivery(ctx, ev.ID, "410 Gone", true); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.FinishDelivery(ctx, evs[0].ID, "", false); err != nil { // delivered already: nothing moves
		t.Fatal(err)
	}
	check("after deliveries")
	if n, err := db.RetryEvents(ctx, nil, true, 0); err != nil || n != 2 {
		t.Fatalf("retry dead: %d %v", n, err)
	}
	check("after retrying the dead events")

	// Sessions by status and UPOs by their session's website.
	for _, ref := range []string{"S-1", "S-2"} {
		if err := db.CreateSession(ctx, Session{Reference: ref, WebsiteID: 1, Status: SessionSending, OpenedAt: time.Now(), ValidUntil: time.Now().Add(time.Hour)},
			AuditEntry{Event: EventSession, Reason: "OPENED"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.UpdateSession(ctx, "S-1", nil, func(x *Session) error { x.Status = SessionClosed; return nil }, AuditEntry{}); err != nil {
		t.Fatal(err)
	}
	upos := []UPO{{Kind: UPOSession, SessionReference: "S-1", UPOReference: "P1", XML: []byte("u")},
		{Kind: UPOInvoice, SessionReference: "S-1", UPOReference: "R1", JobID: ids[0], XML: []byte("u")},
		{Kind: UPOInvoice, SessionReference: "S-1", UPOReference: "R1", JobID: ids[0], XML: []byte("u")}, // stored already
		{Kind: UPOInvoice, SessionReference: "BY-HAND", UPOReference: "R2", JobID: ids[1], XML: []byte("u")}}
	if n, err := db.SaveUPOs(ctx, upos, nil); err != nil || n != 3 {
		t.Fatalf("save UPOs: %d %v", n, err)
	}
	sessions, err := db.SessionCounts(ctx, 1)
	if want := countedBy(t, db, "ksefpl_sessions", "status"); err != nil || !maps.Equal(sessions, want) {
		t.Fatalf("session counts %v (%v), rows %v", sessions, err, want)
	}
	var stored int
	if err := db.sql.QueryRowContext(ctx, `SELECT COUNT(*) FROM ksefpl_upo u JOIN ksefpl_sessions s ON s.session_reference = u.session_reference
		WHERE s.website_id = 1`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if got, err := db.UPOCounts(ctx); err != nil || got[1] != stored || stored != 2 {
		t.Fatalf("UPO counts %v (%v), rows of website 1's sessions %d", got, err, stored)
	}
}
