package main

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ksefpl/ksefpl/pkg/ksef"
	"github.com/ksefpl/ksefpl/pkg/ksefsim"
	"github.com/ksefpl/ksefpl/pkg/store"
)

// binary is the real ksefpl binary, built once for the tests that run it as a process.
var binary struct {
	once sync.Once
	dir  string
	path string
	err  error
}

// buildBinary compiles the real ksefpl binary (once per test binary).
func buildBinary(t *testing.T) string {
	t.Helper()
	binary.once.Do(func() {
		binary.dir, binary.err = os.MkdirTemp("", "ksefpl-bin-")
		if binary.err != nil {
			return
		}
		binary.path = filepath.Join(binary.dir, "ksefpl")
		cmd := exec.Command("go", "build", "-o", binary.path, ".")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			binary.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binary.err != nil {
		t.Fatal(binary.err)
	}
	return binary.path
}

// processHome is a home configured against a real simulator over HTTP, for tests that
// run the real binary as a process.
type processHome struct {
	t    *testing.T
	bin  string
	home string
	sim  *ksefsim.Server
	srv  *httptest.Server
	db   *store.DB
	ctx  context.Context
}

// newProcessHome builds the binary, starts a simulator and configures a home for seller
// 5261040828 with a token from stdin; db is the home's store, opened by the test.
func newProcessHome(t *testing.T) *processHome {
	t.Helper()
	bin := buildBinary(t)
	sim, err := ksefsim.New(ksefsim.Config{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	p := &processHome{t: t, bin: bin, home: filepath.Join(t.TempDir(), "home"), sim: sim, srv: srv, ctx: context.Background()}
	nip := "5261040828"
	tok, err := sim.IssueToken(nip)
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range [][2]string{{"ksefpl/connection/environment", "local"}, {"ksefpl/connection/base_url", srv.URL + "/v2"},
		{"ksefpl/seller/nip", nip}, {"ksefpl/seller/name", "ACME"}, {"ksefpl/seller/address_line1", "ul. Prosta 1"}} {
		if out, err := p.run("config:set", kv[0], kv[1]); err != nil {
			t.Fatalf("config:set %s: %v\n%s", kv[0], err, out)
		}
	}
	if out, err := p.runStdin(tok, "config:set", "ksefpl/connection/api_token", "-"); err != nil {
		t.Fatalf("token: %v\n%s", err, out)
	}
	if p.db, err = store.Open(p.ctx, filepath.Join(p.home, "ksefpl.db"), store.Options{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.db.Close() })
	return p
}

// command is the binary with the home, ready to run.
func (p *processHome) command(args ...string) *exec.Cmd {
	cmd := exec.Command(p.bin, append([]string{"--home", p.home}, args...)...)
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	return cmd
}

func (p *processHome) run(args ...string) (string, error) { return p.runStdin("", args...) }

func (p *processHome) runStdin(stdin string, args ...string) (string, error) {
	cmd := p.command(args...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// queueKillInvoices stores n PENDING invoices KILL-01… for website 1.
func (p *processHome) queueKillInvoices(n int) {
	p.t.Helper()
	for i := 1; i <= n; i++ {
		inc := fmt.Sprintf("KILL-%02d", i)
		if _, _, err := p.db.Enqueue(p.ctx, store.Job{WebsiteID: 1, EntityType: "invoice", IncrementID: inc, InputFormat: "json",
			Input: killInvoice(inc), Status: store.JobPending}, false, store.AuditEntry{Event: store.EventTransition, Actor: "test"}); err != nil {
			p.t.Fatal(err)
		}
	}
}

// killSubmitMidFlight runs submit with sends slowed down and kills it with SIGKILL once
// at least submitted jobs are SUBMITTED, then lifts the slowdown.
func (p *processHome) killSubmitMidFlight(submitted int) {
	p.t.Helper()
	p.sim.SetFaults(ksefsim.Faults{PerEndpoint: map[string]ksefsim.EndpointFault{
		"POST /v2/sessions/online/{referenceNumber}/invoices": {Latency: 150 * time.Millisecond}}})
	defer p.sim.SetFaults(ksefsim.Faults{})
	victim := p.command("submit", "--wait", "30s", "--poll-interval", "50ms")
	if err := victim.Start(); err != nil {
		p.t.Fatal(err)
	}
	for deadline := time.Now().Add(20 * time.Second); ; {
		js, err := p.db.Jobs(p.ctx, store.JobFilter{Statuses: []string{store.JobSubmitted}})
		if err != nil {
			p.t.Fatal(err)
		}
		if len(js) >= submitted {
			break
		}
		if time.Now().After(deadline) {
			victim.Process.Kill()
			p.t.Fatal("the first submit never got going")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := victim.Process.Signal(syscall.SIGKILL); err != nil {
		p.t.Fatal(err)
	}
	_ = victim.Wait()
}

// ksefNumbersPerDocument counts the KSeF numbers the simulator assigned per invoice number.
func ksefNumbersPerDocument(sim *ksefsim.Server) map[string]int {
	numbers := map[string]int{}
	for _, inv := range sim.Invoices() {
		if inv.KSeFNumber != "" {
			numbers[inv.InvoiceNumber]++
		}
	}
	return numbers
}

// TestSubmitKilledMidFlightLosesNothing kills a real `ksefpl submit` process with
// SIGKILL while it is sending, then runs submit again: every job ends ACCEPTED and the
// simulator (the judge) holds exactly one KSeF number per document.
func TestSubmitKilledMidFlightLosesNothing(t *testing.T) {
	p := newProcessHome(t)
	sim, db, ctx, run := p.sim, p.db, p.ctx, p.run
	const n = 12
	p.queueKillInvoices(n)
	p.killSubmitMidFlight(3)
	counts, _ := db.JobCounts(ctx, 1)
	if counts[store.JobAccepted] == n {
		t.Fatalf("the kill came too late: everything was already accepted (%v)", counts)
	}
	t.Logf("after kill -9: %v", counts)

	for i := 0; i < 3; i++ {
		start := time.Now()
		out, err := run("submit", "--wait", "20s", "--poll-interval", "50ms")
		t.Logf("submit after the kill took %s:\n%s", time.Since(start).Round(time.Millisecond), out)
		if err != nil {
			t.Fatalf("submit after the kill: %v\n%s", err, out)
		}
		if c, _ := db.JobCounts(ctx, 1); c[store.JobAccepted] == n {
			break
		}
	}
	jobs, err := db.Jobs(ctx, store.JobFilter{})
	if err != nil {
		t.Fatal(err)
	}
	numbers := ksefNumbersPerDocument(sim)
	for _, j := range jobs {
		if j.Status != store.JobAccepted {
			t.Errorf("job %d (%s) is %s: %s", j.ID, j.IncrementID, j.Status, j.ReasonDetail)
		}
		if err := ksef.ValidateKSeFNumber(j.KSeFNumber); err != nil {
			t.Errorf("job %d: %v", j.ID, err)
		}
		if numbers[j.IncrementID] != 1 {
			t.Errorf("%s has %d KSeF numbers in the simulator, want exactly 1", j.IncrementID, numbers[j.IncrementID])
		}
	}
}

func killInvoice(inc string) string {
	return fmt.Sprintf(`{"type":"invoice","increment_id":%q,"created_at":%q,"currency":"PLN",
 "buyer":{"name":"Klient S.A.","vat_id":"PL8567346215","address":{"street":"ul. Krzywa 2","city":"Kraków","postcode":"30-001","country_id":"PL"}},
 "items":[{"sku":"A","name":"Towar A","qty":"1","unit":"szt.","price":"100.00","tax_percent":"23"}],
 "grand_total":"123.00"}`, inc, time.Now().Format(time.RFC3339))
}
