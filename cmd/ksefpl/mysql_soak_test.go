package main

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ksefpl/ksefpl/internal/mysqltest"
	"github.com/ksefpl/ksefpl/pkg/ksefsim"
	"github.com/ksefpl/ksefpl/pkg/store"
	"github.com/ksefpl/ksefpl/pkg/submit"
)

// TestMultiHostSoak runs three hosts — three homes, one MariaDB database — against the
// simulator with faults: every document is queued from all three at once while submit
// loops on all three, some runs killed with SIGKILL. Then every job is ACCEPTED exactly
// once (the simulator is the judge), no document became two jobs, every audit trail is
// complete and in order, and each job has one job.accepted event. make test runs it with
// 150 invoices; make soak-mysql with 3,000 (KSEFPL_MULTIHOST_N).
func TestMultiHostSoak(t *testing.T) {
	n := sizeFromEnv(t, "KSEFPL_MULTIHOST_N", 150, 10)
	dsn, cfg := mysqltest.NewDatabase(t)
	if cfg.Net != "unix" {
		t.Skipf("the test server is reached over %s; this test installs hosts over its unix socket", cfg.Net)
	}
	bin := buildBinary(t)
	sim, err := ksefsim.New(ksefsim.Config{RateLimits: true, TimeScale: soakTimeScale})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	defer srv.Close()
	dir := t.TempDir()
	// Each host is a node of its own (KSEFPL_NODE): a killed process is recognised as
	// dead only by later runs on its node, as on separate machines.
	var hosts []host
	for i := 1; i <= 3; i++ {
		hosts = append(hosts, host{t: t, bin: bin, home: filepath.Join(dir, fmt.Sprintf("host%d", i)),
			env: []string{fmt.Sprintf("%s=host%d", store.NodeEnv, i)}})
	}
	hosts[0].must("", "setup:install", "--db-host", cfg.Addr, "--db-name", cfg.DBName, "--db-user", cfg.User)
	envJSON, err := os.ReadFile(filepath.Join(hosts[0].home, "env.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hosts[1:] {
		if err := os.MkdirAll(h.home, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(h.home, "env.json"), envJSON, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	sites := []struct{ code, nip string }{{"base", "5261040828"}, {"shop2", "7740001454"}}
	hosts[1].must("", "store:website:create", "shop2")
	for _, s := range sites {
		scope := []string{"--scope", "websites", "--scope-code", s.code}
		for _, kv := range [][2]string{{"ksefpl/connection/environment", "local"}, {"ksefpl/connection/base_url", srv.URL + "/v2"},
			{"ksefpl/seller/nip", s.nip}, {"ksefpl/seller/name", "Sklep " + s.code}, {"ksefpl/seller/address_line1", "ul. Prosta 1"}} {
			hosts[0].must("", append([]string{"config:set", kv[0], kv[1]}, scope...)...)
		}
		tok, err := sim.IssueToken(s.nip)
		if err != nil {
			t.Fatal(err)
		}
		hosts[2].must(tok, append([]string{"config:set", "ksefpl/connection/api_token", "-"}, scope...)...)
	}
	files := make([][2]string, n) // website code, file
	for i := range files {
		code := sites[i%2].code
		files[i] = [2]string{code, filepath.Join(dir, fmt.Sprintf("mh%05d.json", i))}
		if err := os.WriteFile(files[i][1], []byte(killInvoice(fmt.Sprintf("MHS-%05d", i))), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	sim.SetFaults(ksefsim.Faults{PerEndpoint: map[string]ksefsim.EndpointFault{"*": {ErrorRate: 0.05, FailStatus: 503}},
		Sessions: ksefsim.SessionFaults{TerminateAfterInvoices: 1}})

	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	var wg, queuing sync.WaitGroup
	var runs, kills atomic.Int64
	var outMu sync.Mutex
	var outputs bytes.Buffer
	// Every host queues every document, in its own order, while submit loops on it.
	for hi, h := range hosts {
		wg.Add(1)
		queuing.Add(1)
		go func() {
			defer queuing.Done()
			order := rand.New(rand.NewPCG(uint64(hi), 7)).Perm(n)
			for _, i := range order {
				if ctx.Err() != nil {
					return
				}
				if out, err := h.run("", "queue", "invoice", "--file", files[i][1], "--website", files[i][0]); err != nil {
					t.Errorf("host %d: queue %s: %v\n%s", hi+1, files[i][1], err, out)
				}
			}
		}()
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(hi), 11))
			for i := 0; ctx.Err() == nil; i++ {
				c := exec.Command(h.bin, "--home", h.home, "submit", "--auto-retry", "--wait", "4s", "--poll-interval", "100ms",
					"--time-scale", strconv.Itoa(soakTimeScale), "--claim-window", "10")
				c.Env = append(append(os.Environ(), "NO_COLOR=1"), h.env...)
				var out bytes.Buffer
				c.Stdout, c.Stderr = &out, &out
				if err := c.Start(); err != nil {
					t.Error(err)
					return
				}
				runs.Add(1)
				if i%4 == 3 {
					time.Sleep(time.Duration(200+rng.IntN(1500)) * time.Millisecond)
					if c.Process.Signal(syscall.SIGKILL) == nil {
						kills.Add(1)
					}
				}
				_ = c.Wait()
				outMu.Lock()
				outputs.Write(out.Bytes())
				outMu.Unlock()
				time.Sleep(100 * time.Millisecond)
			}
		}()
	}

	db, err := store.OpenMySQL(context.Background(), dsn, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	start := time.Now()
	queued := make(chan struct{})
	go func() { queuing.Wait(); close(queued) }()
	// Queuing n documents three times over takes a while; settling is bounded from its end.
	deadline := start.Add(time.Hour)
	faultsOff := false
	for {
		select {
		case <-queued:
			if deadline.Sub(time.Now()) > 3*time.Minute {
				deadline = time.Now().Add(3 * time.Minute)
			}
		default:
		}
		time.Sleep(300 * time.Millisecond)
		counts, err := db.JobCounts(context.Background(), 0)
		if err != nil {
			t.Fatal(err)
		}
		if !faultsOff && time.Since(start) > 20*time.Second {
			sim.SetFaults(ksefsim.Faults{}) // the tail settles without faults
			faultsOff = true
		}
		total := 0
		for _, c := range counts {
			total += c
		}
		if total == n && counts[store.JobAccepted] == n {
			break
		}
		if time.Now().After(deadline) {
			stop()
			queuing.Wait()
			wg.Wait()
			outMu.Lock()
			t.Logf("last output:\n%s", tail(outputs.String(), 40))
			outMu.Unlock()
			t.Fatalf("not settled in time: %v (of %d)", counts, n)
		}
	}
	stop()
	queuing.Wait()
	wg.Wait()

	jobs, err := db.Jobs(context.Background(), store.JobFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != n {
		t.Fatalf("%d jobs, want %d: a document queued from three hosts must be one job", len(jobs), n)
	}
	numbers := map[string]int{}
	for _, inv := range sim.Invoices() {
		if inv.KSeFNumber != "" {
			numbers[inv.SellerNIP+"|"+inv.InvoiceNumber]++
		}
	}
	nipOf := map[int64]string{}
	for _, s := range sites {
		w, err := db.WebsiteByCode(context.Background(), s.code)
		if err != nil {
			t.Fatal(err)
		}
		nipOf[w.ID] = s.nip
	}
	receptions := map[string]int{}
	for _, inv := range sim.Invoices() {
		receptions[inv.SellerNIP+"|"+inv.InvoiceNumber]++
	}
	nodeOf := sessionNodes(t, db)
	sentBy := map[int64]map[string]bool{} // website → nodes that sent its jobs
	for _, j := range jobs {
		if got := numbers[nipOf[j.WebsiteID]+"|"+j.IncrementID]; got != 1 {
			t.Errorf("job %d %s: %d KSeF numbers in the simulator, want exactly 1", j.ID, j.IncrementID, got)
		}
		checkTrail(t, db, j)
		// No host sent a job another host was sending: every reception in the simulator
		// is a send recorded (SEND, or RESENT after an ambiguous answer) in the job's
		// trail by the one process that held it.
		sends, err := jobSends(db, j.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got := receptions[nipOf[j.WebsiteID]+"|"+j.IncrementID]; got > len(sends) {
			t.Errorf("job %d %s reached KSeF %d times but its trail records %d sends: a send nobody recorded", j.ID, j.IncrementID, got, len(sends))
		}
		for _, ref := range sends {
			if sentBy[j.WebsiteID] == nil {
				sentBy[j.WebsiteID] = map[string]bool{}
			}
			sentBy[j.WebsiteID][nodeOf[ref]] = true
		}
		if evs, _ := db.Events(context.Background(), store.EventFilter{JobID: j.ID, Type: store.EventAccepted}); len(evs) != 1 {
			t.Errorf("job %d: %d job.accepted events", j.ID, len(evs))
		}
	}
	// Several hosts sent different jobs of one website (not one host per website).
	for id, nodes := range sentBy {
		t.Logf("website %d: jobs sent by %d nodes %v", id, len(nodes), nodes)
		if len(nodes) < 2 {
			t.Errorf("website %d: every job was sent by one node %v: the hosts did not share its backlog", id, nodes)
		}
	}
	st := sim.Stats()
	fmt.Printf("multi-host soak: %d invoices, 2 websites, 3 hosts on one MariaDB, %d submit processes (%d killed with SIGKILL), %s; simulator: %d requests, %d answered 429, %d invoice receptions\n",
		n, runs.Load(), kills.Load(), time.Since(start).Round(time.Second), st.Requests, st.TooManyRequests, len(sim.Invoices()))
}

// sessionNodes maps every session to the node of the process that opened it (from the
// session's OPENED audit row, "… opened by node|pid|nonce").
func sessionNodes(t *testing.T, db *store.DB) map[string]string {
	t.Helper()
	sessions, err := db.Sessions(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, s := range sessions {
		trail, err := db.Audit(context.Background(), store.AuditFilter{SessionReference: s.Reference})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range trail {
			if _, holder, ok := strings.Cut(e.Message, "opened by "); ok && e.Reason == "OPENED" {
				out[s.Reference], _, _ = strings.Cut(holder, "|")
			}
		}
		if out[s.Reference] == "" {
			t.Errorf("session %s: no OPENED row naming its process", s.Reference)
		}
	}
	return out
}

// jobSends lists the session of every send of a job its trail records (SEND and RESENT).
func jobSends(db *store.DB, jobID int64) ([]string, error) {
	trail, err := db.Audit(context.Background(), store.AuditFilter{JobID: jobID})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range trail {
		if e.Reason == submit.ReasonSend || e.Reason == submit.ReasonResent {
			out = append(out, e.SessionReference)
		}
	}
	return out, nil
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := bytes.Split([]byte(s), []byte("\n"))
	return string(bytes.Join(lines[max(0, len(lines)-n):], []byte("\n")))
}
