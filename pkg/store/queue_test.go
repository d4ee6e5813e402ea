package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func newJob(inc string) Job {
	return Job{WebsiteID: 1, EntityType: "invoice", IncrementID: inc, InputFormat: "json", Input: `{"x":1}`, Status: JobPending}
}

func TestEnqueueOncePerDocumentAndReplaceOnlyUnsent(t *testing.T) {
	ctx := context.Background()
	db := openTemp(t)
	a := AuditEntry{Event: EventTransition, Actor: "queue"}
	j, res, err := db.Enqueue(ctx, newJob("INV-1"), false, a)
	must(t, err)
	if res != Enqueued || j.ID == 0 || j.Status != JobPending {
		t.Fatalf("enqueue = %+v %v", j, res)
	}
	again := newJob("INV-1")
	again.Input = `{"x":2}`
	j2, res, err := db.Enqueue(ctx, again, false, a)
	must(t, err)
	if res != Existed || j2.ID != j.ID || j2.Input != `{"x":1}` {
		t.Fatalf("second enqueue = %+v %v", j2, res)
	}
	j3, res, err := db.Enqueue(ctx, again, true, a)
	must(t, err)
	if res != Replaced || j3.Input != `{"x":2}` {
		t.Fatalf("replace = %+v %v", j3, res)
	}
	// Once frozen and sent, a job is never replaced.
	_, err = db.UpdateJob(ctx, j.ID, []string{JobPending}, func(j *Job) error {
		j.XML, j.InvoiceHash, j.FrozenAt, j.Status, j.Attempts = []byte("<x/>"), "h", time.Now(), JobSending, 1
		return nil
	}, AuditEntry{Event: EventTransition, Actor: "submit"})
	must(t, err)
	third := newJob("INV-1")
	third.Input = `{"x":3}`
	j4, res, err := db.Enqueue(ctx, third, true, a)
	must(t, err)
	if res != Existed || j4.Input != `{"x":2}` || string(j4.XML) != "<x/>" {
		t.Fatalf("replace of a sent job = %+v %v", j4, res)
	}
	// Same increment id for a credit memo or another website is another document.
	cm := newJob("INV-1")
	cm.EntityType = "creditmemo"
	if _, res, _ := db.Enqueue(ctx, cm, false, a); res != Enqueued {
		t.Fatalf("credit memo with same increment = %v", res)
	}
	trail, err := db.Audit(ctx, AuditFilter{JobID: j.ID})
	must(t, err)
	var steps []string
	for _, e := range trail {
		steps = append(steps, e.FromStatus+">"+e.ToStatus)
	}
	if got := strings.Join(steps, " "); got != ">PENDING PENDING>PENDING PENDING>SENDING" {
		t.Fatalf("trail = %s", got)
	}
}

func TestUpdateJobConflictChangesNothing(t *testing.T) {
	ctx := context.Background()
	db := openTemp(t)
	j, _, err := db.Enqueue(ctx, newJob("INV-2"), false, AuditEntry{Event: EventTransition})
	must(t, err)
	_, err = db.UpdateJob(ctx, j.ID, []string{JobSubmitted}, func(j *Job) error { j.Status = JobAccepted; return nil },
		AuditEntry{Event: EventTransition})
	if !errors.Is(err, ErrConflict) {
		t.Fatalf("err = %v", err)
	}
	boom := errors.New("boom")
	_, err = db.UpdateJob(ctx, j.ID, nil, func(j *Job) error { j.Status = JobFailed; return boom }, AuditEntry{Event: EventTransition})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	got, _ := db.JobByID(ctx, j.ID)
	trail, _ := db.Audit(ctx, AuditFilter{JobID: j.ID})
	if got.Status != JobPending || len(trail) != 1 {
		t.Fatalf("job %s with %d audit rows after refused updates", got.Status, len(trail))
	}
}

func TestConcurrentClaimsOnlyOneWins(t *testing.T) {
	ctx := context.Background()
	loc := newLocation(t)
	db1, db2 := loc.open(t, Options{}), loc.open(t, Options{})
	j, _, err := db1.Enqueue(ctx, newJob("INV-3"), false, AuditEntry{Event: EventTransition})
	must(t, err)
	var wins int
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		db := db1
		if i%2 == 1 {
			db = db2
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := db.UpdateJob(ctx, j.ID, []string{JobPending}, func(j *Job) error { j.Status = JobSending; return nil },
				AuditEntry{Event: EventTransition})
			if err == nil {
				mu.Lock()
				wins++
				mu.Unlock()
			} else if !errors.Is(err, ErrConflict) {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d claims won, want exactly 1", wins)
	}
}

func TestAuditIsAppendOnly(t *testing.T) {
	ctx := context.Background()
	db := openTemp(t)
	must(t, db.AppendAudit(ctx, AuditEntry{Event: EventWarning, Actor: "t", Message: "m"}))
	if _, err := db.sql.ExecContext(ctx, `UPDATE ksefpl_audit_log SET message = 'x'`); err == nil || !strings.Contains(err.Error(), "append-only") {
		t.Fatalf("update allowed: %v", err)
	}
	if _, err := db.sql.ExecContext(ctx, `DELETE FROM ksefpl_audit_log`); err == nil {
		t.Fatal("delete allowed")
	}
}

func TestLeaseExpiresAndRenews(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	db := newLocation(t).open(t, Options{Now: func() time.Time { mu.Lock(); defer mu.Unlock(); return now }})
	must(t, db.AcquireLease(ctx, "submit:1", "a", time.Minute))
	must(t, db.AcquireLease(ctx, "submit:1", "a", time.Minute)) // renewal
	var held *LeaseHeldError
	if err := db.AcquireLease(ctx, "submit:1", "b", time.Minute); !errors.As(err, &held) || held.Holder != "a" {
		t.Fatalf("second holder: %v", err)
	}
	must(t, db.AcquireLease(ctx, "submit:2", "b", time.Minute)) // other name is free
	mu.Lock()
	now = now.Add(2 * time.Minute)
	mu.Unlock()
	must(t, db.AcquireLease(ctx, "submit:1", "b", time.Minute)) // expired: taken over
	must(t, db.ReleaseLease(ctx, "submit:1", "a"))              // not a's any more: no effect
	if err := db.AcquireLease(ctx, "submit:1", "c", time.Minute); !errors.As(err, &held) || held.Holder != "b" {
		t.Fatalf("after foreign release: %v", err)
	}
	must(t, db.ReleaseLease(ctx, "submit:1", "b"))
	must(t, db.AcquireLease(ctx, "submit:1", "c", time.Minute))
}

func TestSessionsAndUPOs(t *testing.T) {
	ctx := context.Background()
	db := openTemp(t)
	now := time.Now().UTC()
	must(t, db.CreateSession(ctx, Session{Reference: "S1", WebsiteID: 1, Environment: "local", APIURL: "u", FormCode: "FA (3)",
		Status: SessionActive, OpenedAt: now, ValidUntil: now.Add(12 * time.Hour)}, AuditEntry{Event: EventSession, Actor: "t"}))
	s, err := db.UpdateSession(ctx, "S1", InFlightSessionStatuses, func(s *Session) error {
		s.Status, s.KSeFStatusCode, s.UPOReferences = SessionClosed, 200, []string{"EU1"}
		return nil
	}, AuditEntry{Event: EventSession, Actor: "t"})
	must(t, err)
	if s.Status != SessionClosed || len(s.UPOReferences) != 1 {
		t.Fatalf("session = %+v", s)
	}
	inflight, _ := db.Sessions(ctx, 1, InFlightSessionStatuses...)
	if len(inflight) != 0 {
		t.Fatalf("in flight = %d", len(inflight))
	}
	u := UPO{Kind: UPOSession, SessionReference: "S1", UPOReference: "EU1", XML: []byte("<u/>"), SHA256: "h", HashVerified: true}
	saved, err := db.SaveUPO(ctx, u, AuditEntry{Event: EventUPO, Actor: "t"})
	must(t, err)
	again, err := db.SaveUPO(ctx, u, AuditEntry{Event: EventUPO, Actor: "t"})
	must(t, err)
	if !saved || again {
		t.Fatalf("save = %v, again = %v", saved, again)
	}
	ups, _ := db.UPOs(ctx, UPOFilter{SessionReference: "S1"})
	if len(ups) != 1 || string(ups[0].XML) != "<u/>" {
		t.Fatalf("upos = %+v", ups)
	}
	trail, _ := db.Audit(ctx, AuditFilter{SessionReference: "S1"})
	if len(trail) != 3 {
		t.Fatalf("session trail = %d rows, want 3 (open, close, upo)", len(trail))
	}
}

// FrozenXML reads the bytes of many jobs a chunk per query, in the order asked, across a
// chunk boundary; a job without frozen bytes is an error.
func TestFrozenXMLInOrderAcrossChunks(t *testing.T) {
	ctx := context.Background()
	db := openTemp(t)
	ids := enqueueN(t, db, frozenChunk+3)
	_, err := db.UpdateJobsEach(ctx, ids, nil, func(j *Job) (AuditEntry, error) {
		j.XML = []byte(fmt.Sprintf("<doc id=%q/>", strconv.FormatInt(j.ID, 10)))
		return AuditEntry{}, nil
	})
	must(t, err)
	want := make([]int64, len(ids))
	for i, id := range ids {
		want[len(ids)-1-i] = id // reversed: the order asked, not the table's
	}
	var got []int64
	must(t, db.FrozenXML(ctx, want, func(id int64, xml []byte) error {
		if string(xml) != fmt.Sprintf("<doc id=%q/>", strconv.FormatInt(id, 10)) {
			t.Fatalf("job %d: bytes %q", id, xml)
		}
		got = append(got, id)
		return nil
	}))
	if len(got) != len(want) || got[0] != want[0] || got[len(got)-1] != want[len(want)-1] || got[frozenChunk] != want[frozenChunk] {
		t.Fatalf("read %d jobs in another order than asked", len(got))
	}
	extra, _, err := db.Enqueue(ctx, newJob("CL-UNFROZEN"), false, AuditEntry{})
	must(t, err)
	if err := db.FrozenXML(ctx, []int64{ids[0], extra.ID}, func(int64, []byte) error { return nil }); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a job without frozen bytes: %v, want ErrNotFound", err)
	}
}
