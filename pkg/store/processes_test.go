package store

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The child side of TestProcessesRace: set in the environment of the test binary run
// again as a separate process.
const (
	envRaceChild = "KSEFPL_STORE_RACE_CHILD" // the child's name (its holder)
	envRacePath  = "KSEFPL_STORE_RACE_PATH"  // the SQLite file, or
	envRaceDSN   = "KSEFPL_STORE_RACE_DSN"   // the MySQL database
)

// TestProcessesRace runs N processes of this test binary against one database (a SQLite
// file, or a MySQL database as hosts share it), all at once: each enqueues the same
// documents, races for one lease, moves jobs PENDING → SENDING with UpdateJob, and claims
// windows of the backlog. Every document is one job, one process holds the lease, every
// job moves once, and every claimable job is claimed by exactly one process.
func TestProcessesRace(t *testing.T) {
	if os.Getenv(envRaceChild) != "" {
		raceChild(t)
		return
	}
	const procs, docs = 4, 40
	loc := newLocation(t)
	db := loc.open(t, Options{}) // migrated before the children start
	start := time.Now().Add(1500 * time.Millisecond).UnixMilli()
	outs := make([]bytes.Buffer, procs)
	var wg sync.WaitGroup
	for i := range procs {
		cmd := exec.Command(os.Args[0], "-test.run=^TestProcessesRace$", "-test.count=1")
		cmd.Env = append(os.Environ(), fmt.Sprintf("%s=proc%d|%d|x", envRaceChild, i, start), envRacePath+"="+loc.path, envRaceDSN+"="+loc.dsn)
		cmd.Stdout, cmd.Stderr = &outs[i], &outs[i]
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := cmd.Run(); err != nil {
				t.Errorf("process %d: %v\n%s", i, err, outs[i].String())
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	leases, moved, claimed := 0, map[string]int{}, map[string]int{}
	for i := range procs {
		sc := bufio.NewScanner(&outs[i])
		for sc.Scan() {
			kind, val, ok := strings.Cut(sc.Text(), " ")
			switch {
			case !ok:
			case kind == "LEASE":
				leases++
			case kind == "MOVED":
				moved[val]++
			case kind == "CLAIMED":
				claimed[val]++
			}
		}
	}
	jobs, err := db.Jobs(context.Background(), JobFilter{WebsiteID: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != docs {
		t.Fatalf("%d jobs for %d documents queued by %d processes", len(jobs), docs, procs)
	}
	if leases != 1 {
		t.Errorf("%d processes held the lease at once, want 1", leases)
	}
	for _, j := range jobs {
		id := strconv.FormatInt(j.ID, 10)
		switch {
		case j.ID%2 == 0 && moved[id] != 1:
			t.Errorf("job %d moved PENDING → SENDING %d times, want 1", j.ID, moved[id])
		case j.ID%2 == 1 && claimed[id] != 1:
			t.Errorf("job %d claimed %d times, want 1", j.ID, claimed[id])
		}
	}
}

// raceChild is one process of TestProcessesRace; it prints what it won.
func raceChild(t *testing.T) {
	holder := os.Getenv(envRaceChild)
	parts := strings.Split(holder, "|")
	start, _ := strconv.ParseInt(parts[1], 10, 64)
	loc := testLocation{path: os.Getenv(envRacePath), dsn: os.Getenv(envRaceDSN)}
	db := loc.open(t, Options{})
	ctx := context.Background()
	time.Sleep(time.Until(time.UnixMilli(start))) // all processes start together
	for i := range 40 {
		if _, _, err := db.Enqueue(ctx, newJob(fmt.Sprintf("PR-%02d", i)), false, AuditEntry{Event: EventTransition, Actor: holder}); err != nil {
			t.Fatal(err)
		}
	}
	err := db.AcquireLease(ctx, "race", holder, time.Minute)
	var held *LeaseHeldError
	switch {
	case err == nil:
		fmt.Println("LEASE", holder)
	case !errors.As(err, &held):
		t.Fatal(err)
	}
	jobs, err := db.Jobs(ctx, JobFilter{WebsiteID: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range jobs {
		if j.ID%2 != 0 {
			continue
		}
		_, err := db.UpdateJob(ctx, j.ID, []string{JobPending}, func(x *Job) error { x.Status = JobSending; return nil },
			AuditEntry{Event: EventTransition, Actor: holder})
		switch {
		case err == nil:
			fmt.Println("MOVED", j.ID)
		case !errors.Is(err, ErrConflict):
			t.Fatal(err)
		}
	}
	for range 40 { // a claim takes at least one job, so 40 rounds drain 40 jobs
		ids, err := db.ClaimJobs(ctx, JobFilter{WebsiteID: 1, Limit: 3}, holder, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if len(ids) == 0 {
			return
		}
		for _, id := range ids {
			fmt.Println("CLAIMED", id)
		}
	}
	t.Fatal("claiming never ran out of jobs: claimed jobs were claimed again")
}
