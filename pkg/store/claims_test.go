package store

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"
)

// enqueueN queues n jobs of website 1 and returns their ids.
func enqueueN(t *testing.T, db *DB, n int) []int64 {
	t.Helper()
	items := make([]EnqueueItem, n)
	for i := range items {
		items[i] = EnqueueItem{Job: newJob(fmt.Sprintf("CL-%04d", i)), Audit: AuditEntry{Event: EventTransition, Actor: "t"}}
	}
	out, err := db.EnqueueMany(context.Background(), items, false)
	must(t, err)
	ids := make([]int64, n)
	for i, o := range out {
		ids[i] = o.Job.ID
	}
	return ids
}

// Many handles (hosts, on MySQL) claiming windows of one website's backlog at once: every
// job is claimed by exactly one of them, and the row says which.
func TestClaimJobsRacingHandlesClaimEachJobOnce(t *testing.T) {
	loc := newLocation(t)
	ctx := context.Background()
	handles := []*DB{loc.open(t, Options{}), loc.open(t, Options{}), loc.open(t, Options{})}
	ids := enqueueN(t, handles[0], 300)
	var mu sync.Mutex
	claimedBy := map[int64][]string{}
	var wg sync.WaitGroup
	for i := range 9 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			holder := fmt.Sprintf("node%d|%d|x", i, i)
			for range len(ids) + 1 { // a claim takes at least one job
				got, err := handles[i%len(handles)].ClaimJobs(ctx, JobFilter{WebsiteID: 1, Limit: 7}, holder, time.Minute)
				if err != nil {
					t.Error(err)
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, id := range got {
					claimedBy[id] = append(claimedBy[id], holder)
				}
				mu.Unlock()
			}
			t.Errorf("%s: claiming never ran out of jobs: claimed jobs were claimed again", holder)
		}()
	}
	wg.Wait()
	for _, id := range ids {
		hs := claimedBy[id]
		if len(hs) != 1 {
			t.Fatalf("job %d claimed by %v, want exactly one holder", id, hs)
		}
		j, err := handles[0].JobByID(ctx, id)
		must(t, err)
		if j.ClaimedBy != hs[0] {
			t.Fatalf("job %d: row says claimed by %q, the claim returned it to %q", id, j.ClaimedBy, hs[0])
		}
	}
}

// A claim keeps others off until it expires; renewal extends it; release frees it at once.
func TestClaimsExpireRenewAndRelease(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	db := newLocation(t).open(t, Options{Now: clock})
	enqueueN(t, db, 10)
	claim := func(holder string, limit int) []int64 {
		t.Helper()
		got, err := db.ClaimJobs(ctx, JobFilter{WebsiteID: 1, Limit: limit}, holder, time.Minute)
		must(t, err)
		return got
	}
	a := claim("a|1|x", 4)
	if len(a) != 4 {
		t.Fatalf("a claimed %d jobs, want 4", len(a))
	}
	b := claim("b|2|x", 100)
	if len(b) != 6 || b[0] == a[0] {
		t.Fatalf("b claimed %v while a holds %v: want the 6 others", b, a)
	}
	if got := claim("c|3|x", 100); len(got) != 0 {
		t.Fatalf("c claimed %v while a and b hold everything", got)
	}
	advance(45 * time.Second)
	must(t, db.RenewClaims(ctx, "a|1|x", time.Minute))
	advance(45 * time.Second) // b's claims expired, a's renewed ones not
	if got := claim("c|3|x", 100); len(got) != 6 || got[0] != b[0] {
		t.Fatalf("after b's claims expired c claimed %v, want b's %v", got, b)
	}
	must(t, db.ReleaseClaims(ctx, "a|1|x"))
	if got := claim("d|4|x", 100); len(got) != 4 || got[0] != a[0] {
		t.Fatalf("after a released c claimed %v, want a's %v", got, a)
	}
	// A job that left PENDING is never claimed again.
	_, err := db.UpdateJob(ctx, a[0], nil, func(j *Job) error { j.Status = JobSending; return nil }, AuditEntry{})
	must(t, err)
	must(t, db.ReleaseClaims(ctx, "d|4|x"))
	if got := claim("e|5|x", 100); len(got) != 3 {
		t.Fatalf("e claimed %v, want the 3 PENDING jobs a had", got)
	}
}

// deadHolder names a process of this node that has ended.
func deadHolder(t *testing.T) string {
	t.Helper()
	cmd := exec.Command("true")
	must(t, cmd.Run())
	return LocalNode() + "|" + strconv.Itoa(cmd.Process.Pid) + "|dead"
}

// A session belongs to its opener until the ownership expires or the opener is found
// dead on this node; then another process takes it. A released session is free at once.
func TestClaimSessionOwnership(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	db := newLocation(t).open(t, Options{Now: func() time.Time { mu.Lock(); defer mu.Unlock(); return now }})
	open := func(ref, owner string) {
		t.Helper()
		must(t, db.CreateSession(ctx, Session{Reference: ref, WebsiteID: 1, Environment: "local", APIURL: "u", FormCode: "FA (3)",
			Status: SessionSending, OpenedAt: now, ValidUntil: now.Add(time.Hour), Owner: owner, OwnerTTL: time.Minute},
			AuditEntry{Event: EventSession, Actor: "t"}))
	}
	owns := func(ref, holder string) bool {
		t.Helper()
		ok, err := db.ClaimSession(ctx, ref, holder, time.Minute)
		must(t, err)
		return ok
	}
	open("S-A", "other-node|1|a")
	if owns("S-A", "b|2|x") {
		t.Fatal("b took a session its live owner holds")
	}
	if !owns("S-A", "other-node|1|a") {
		t.Fatal("the owner does not own its session")
	}
	s, err := db.SessionByRef(ctx, "S-A")
	must(t, err)
	if s.Owner != "other-node|1|a" {
		t.Fatalf("owner = %q", s.Owner)
	}
	mu.Lock()
	now = now.Add(2 * time.Minute)
	mu.Unlock()
	if !owns("S-A", "b|2|x") || owns("S-A", "other-node|1|a") {
		t.Fatal("after the owner's claim expired b should own it, and the old owner not")
	}
	must(t, db.ReleaseClaims(ctx, "b|2|x"))
	if !owns("S-A", "c|3|x") {
		t.Fatal("a released session is not free")
	}
	open("S-DEAD", deadHolder(t))
	if !owns("S-DEAD", "c|3|x") {
		t.Fatal("the session of a dead process of this node was not taken over at once")
	}
	if !owns("S-UNKNOWN", "c|3|x") {
		t.Fatal("a session with no record should count as owned")
	}
}

// The claims of a process of this node that was killed are released by the next run's
// ExpireDeadClaims; a live one's, and another node's, stay.
func TestExpireDeadClaimsReleasesKilledProcesses(t *testing.T) {
	ctx := context.Background()
	db := openTemp(t)
	enqueueN(t, db, 6)
	dead, live := deadHolder(t), "other-node|1|live"
	for _, h := range []string{dead, live} {
		got, err := db.ClaimJobs(ctx, JobFilter{WebsiteID: 1, Limit: 3}, h, time.Hour)
		must(t, err)
		if len(got) != 3 {
			t.Fatalf("%s claimed %d", h, len(got))
		}
	}
	released, err := db.ExpireDeadClaims(ctx)
	must(t, err)
	if len(released) != 1 || released[0] != dead {
		t.Fatalf("released %v, want only %s", released, dead)
	}
	got, err := db.ClaimJobs(ctx, JobFilter{WebsiteID: 1, Limit: 100}, "next|9|x", time.Hour)
	must(t, err)
	if len(got) != 3 {
		t.Fatalf("after the dead holder's release %d jobs were claimable, want its 3", len(got))
	}
	for _, id := range got {
		j, err := db.JobByID(ctx, id)
		must(t, err)
		if j.ClaimedBy != "next|9|x" {
			t.Fatalf("job %d claimed by %q", id, j.ClaimedBy)
		}
	}
}
