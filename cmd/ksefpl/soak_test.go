package main

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ksefpl/ksefpl/pkg/ksef"
	"github.com/ksefpl/ksefpl/pkg/ksefsim"
	"github.com/ksefpl/ksefpl/pkg/store"
)

// TestChaosSoak is the chaos soak: a simulator with faults (5% 5xx, 429 storms, two
// session terminations, a key rotation, invoices stalled at 150, a 500 after an accepted
// send), N invoices queued in waves across two websites, `ksefpl submit` started as a
// separate process every ~0.7 s like cron (three of them killed with SIGKILL at random
// moments), until everything settles. The judge is the simulator's own record. N is 500
// here and KSEFPL_SOAK_N for `make soak` (10,000).
func TestChaosSoak(t *testing.T) {
	n := sizeFromEnv(t, "KSEFPL_SOAK_N", 500, 20)
	deadline := time.Now().Add(2*time.Minute + time.Duration(n)*50*time.Millisecond)
	bin := buildBinary(t)
	// The official rate limits, enforced by the simulator on a clock 60 times faster;
	// submit paces itself on the same scale.
	sim, err := ksefsim.New(ksefsim.Config{RateLimits: true, TimeScale: soakTimeScale})
	if err != nil {
		t.Fatal(err)
	}
	var reqMu sync.Mutex
	var reqLog []string
	t0 := time.Now()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reqMu.Lock()
		reqLog = append(reqLog, fmt.Sprintf("%6.1fs %s %s", time.Since(t0).Seconds(), r.Method, r.URL.Path))
		reqMu.Unlock()
		sim.ServeHTTP(w, r)
	}))
	defer srv.Close()
	defer func() {
		if os.Getenv("SOAK_DEBUG") != "" {
			t.Logf("requests:\n%s", strings.Join(reqLog, "\n"))
		}
	}()
	home := filepath.Join(t.TempDir(), "home")
	var outputs bytes.Buffer // everything every process printed
	var outMu sync.Mutex
	k := func(stdin string, args ...string) error {
		c := exec.Command(bin, append([]string{"--home", home}, args...)...)
		c.Env = append(os.Environ(), "NO_COLOR=1")
		c.Stdin = strings.NewReader(stdin)
		out, err := c.CombinedOutput()
		outMu.Lock()
		outputs.Write(out)
		outMu.Unlock()
		if err != nil {
			return fmt.Errorf("ksefpl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return nil
	}
	sites := []struct{ code, nip string }{{"base", "5261040828"}, {"shop2", "7740001454"}}
	var tokens []string
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(k("", "setup:install"))
	must(k("", "store:website:create", "shop2"))
	for _, s := range sites {
		scope := []string{"--scope", "websites", "--scope-code", s.code}
		for _, kv := range [][2]string{{"ksefpl/connection/environment", "local"}, {"ksefpl/connection/base_url", srv.URL + "/v2"},
			{"ksefpl/seller/nip", s.nip}, {"ksefpl/seller/name", "Sklep " + s.code}, {"ksefpl/seller/address_line1", "ul. Prosta 1"},
			{"ksefpl/submit/batch_threshold", "60"}} {
			must(k("", append([]string{"config:set", kv[0], kv[1]}, scope...)...))
		}
		tok, err := sim.IssueToken(s.nip)
		must(err)
		tokens = append(tokens, tok)
		must(k(tok, append([]string{"config:set", "ksefpl/connection/api_token", "-"}, scope...)...))
	}
	// The shop's webhook: a real receiver that checks every signature and answers 500 to
	// about one request in five.
	const webhookSecret = "whsec-soak-never-printed-91c2"
	hook, hookSrv := newWebhookReceiver(t, webhookSecret)
	hook.setMode("flaky")
	must(k("", "config:set", "ksefpl/notify/webhook_url", hookSrv.URL+"/ksefpl"))
	must(k(webhookSecret, "config:set", "ksefpl/notify/webhook_secret", "-"))
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(home, "ksefpl.db"), store.Options{})
	must(err)
	defer db.Close()
	shop2, err := db.WebsiteByCode(ctx, "shop2")
	must(err)
	queued := 0
	enqueue := func(count int) {
		var items []store.EnqueueItem
		for i := 0; i < count && queued < n; i++ {
			queued++
			ws := int64(1)
			if queued%2 == 0 {
				ws = shop2.ID
			}
			inc := fmt.Sprintf("SOAK-%05d", queued)
			items = append(items, store.EnqueueItem{
				Job:   store.Job{WebsiteID: ws, EntityType: "invoice", IncrementID: inc, InputFormat: "json", Input: killInvoice(inc), Status: store.JobPending},
				Audit: store.AuditEntry{Event: store.EventTransition, Actor: "soak", Reason: "QUEUED"},
			})
		}
		if _, err := db.EnqueueMany(ctx, items, false); err != nil {
			t.Error(err)
		}
	}
	var injected []string
	// Three small waves (online sessions: below the batch threshold of 60 per website), one
	// big wave (batch sessions), three small waves again.
	small := min(40, max(2, n/40))
	bigWave := n - 6*small

	// Faults.
	sim.SetFaults(ksefsim.Faults{PerEndpoint: map[string]ksefsim.EndpointFault{"*": {ErrorRate: 0.05, FailStatus: 503}}})
	// Session faults are armed with the waves (below), one kind at a time, so that each
	// meets an online session of its own.
	armSessions := func(mod func(*ksefsim.SessionFaults), what string) {
		f := sim.Faults()
		mod(&f.Sessions)
		sim.SetFaults(f)
		injected = append(injected, what)
	}
	start := time.Now()
	schedule := []struct {
		at time.Duration
		do func()
	}{
		{2 * time.Second, func() {
			f := sim.Faults()
			f.PerEndpoint["*"] = ksefsim.EndpointFault{ErrorRate: 0.05, FailStatus: 503, TooManyRequests: 25, RetryAfter: time.Second}
			sim.SetFaults(f)
			injected = append(injected, "429 storm (25)")
		}},
		{4 * time.Second, func() { must(sim.RotateKeys()); injected = append(injected, "key rotation") }},
		{7 * time.Second, func() {
			f := sim.Faults()
			f.PerEndpoint["*"] = ksefsim.EndpointFault{ErrorRate: 0.05, FailStatus: 503, TooManyRequests: 25, RetryAfter: time.Second}
			sim.SetFaults(f)
			injected = append(injected, "429 storm (25)")
		}},
		{12 * time.Second, func() { sim.ReleaseStalledInvoices(); injected = append(injected, "stalled invoices released") }},
		{20 * time.Second, func() {
			f := sim.Faults()
			f.PerEndpoint = nil // the session faults armed with the waves stay
			f.Sessions.StallInvoices = 0
			sim.SetFaults(f)
			sim.ReleaseStalledInvoices()
			injected = append(injected, "5xx and 429 faults off")
		}},
	}

	// Cron: a new submit process every ~0.7 s; three of them are killed with SIGKILL.
	var wg sync.WaitGroup
	var procMu sync.Mutex
	runs, kills := 0, 0
	killAt := map[int]bool{3: true, 8: true, 14: true}
	stop := make(chan struct{})
	cronDone := make(chan struct{}) // joined before wg.Wait: no wg.Add races the Wait, no t call outlives the test
	go func() {
		defer close(cronDone)
		rng := rand.New(rand.NewPCG(1, 2))
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(700 * time.Millisecond):
			}
			c := exec.Command(bin, "--home", home, "submit", "--auto-retry", "--wait", "4s", "--poll-interval", "100ms",
				"--time-scale", strconv.Itoa(soakTimeScale))
			c.Env = append(os.Environ(), "NO_COLOR=1")
			var out bytes.Buffer
			c.Stdout, c.Stderr = &out, &out
			if err := c.Start(); err != nil {
				t.Error(err)
				return
			}
			procMu.Lock()
			runs++
			procMu.Unlock()
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				if killAt[i] {
					time.Sleep(time.Duration(300+rng.IntN(1500)) * time.Millisecond)
					if c.Process.Signal(syscall.SIGKILL) == nil {
						procMu.Lock()
						kills++
						procMu.Unlock()
					}
				}
				began := time.Now()
				_ = c.Wait()
				if d := time.Since(began); d > 8*time.Second {
					t.Logf("submit run %d took %s:\n%s", i, d, out.String())
				}
				outMu.Lock()
				outputs.Write(out.Bytes())
				outMu.Unlock()
			}(i)
		}
	}()
	waves := 0
	for {
		el := time.Since(start)
		for len(schedule) > 0 && el >= schedule[0].at {
			schedule[0].do()
			schedule = schedule[1:]
		}
		counts, err := db.JobCounts(ctx, 0)
		must(err)
		// The next wave comes once everything queued so far has been sent: two small waves
		// (online sessions), the big one (batch sessions), then small ones again.
		if queued < n && counts[store.JobPending] == 0 {
			waves++
			switch waves {
			case 1:
				armSessions(func(f *ksefsim.SessionFaults) { f.FailAfterAccept, f.StallInvoices = 1, 10 }, "500 after accepting, 10 invoices stalled at 150")
			case 4:
				armSessions(func(f *ksefsim.SessionFaults) { f.FailAfterAccept = 1 }, "500 after accepting")
			case 2, 5:
				armSessions(func(f *ksefsim.SessionFaults) { f.TerminateAfterInvoices = 1 }, "session termination")
			}
			if waves == 3 {
				enqueue(bigWave)
			} else {
				enqueue(small)
			}
		}
		if queued == n && counts[store.JobAccepted] == n && len(schedule) == 0 {
			break
		}
		if time.Now().After(deadline) {
			close(stop)
			<-cronDone
			wg.Wait()
			stuck, _ := db.Jobs(ctx, store.JobFilter{Statuses: []string{store.JobSubmitted, store.JobSending, store.JobPending, store.JobFailed}})
			for _, j := range stuck {
				sess, _ := db.SessionByRef(ctx, j.SessionReference)
				status := ""
				for _, inv := range sim.Invoices() {
					if inv.InvoiceReferenceNumber == j.InvoiceReference || (inv.SessionReferenceNumber == j.SessionReference && inv.InvoiceNumber == j.IncrementID) {
						status += fmt.Sprintf(" sim:%d", inv.StatusCode)
					}
				}
				t.Logf("stuck job %d %s %s %s ref=%q session=%s (%+v)%s", j.ID, j.IncrementID, j.Status, j.Reason, j.InvoiceReference, j.SessionReference, sess, status)
			}
			outMu.Lock()
			lines := strings.Split(outputs.String(), "\n")
			outMu.Unlock()
			for _, l := range lines[max(0, len(lines)-40):] {
				t.Log(l)
			}
			t.Fatalf("not settled in time: %v (queued %d of %d)", counts, queued, n)
		}
		time.Sleep(200 * time.Millisecond)
	}
	close(stop)
	<-cronDone
	wg.Wait()
	procMu.Lock()
	defer procMu.Unlock()
	if kills < 3 {
		t.Errorf("only %d processes were killed", kills)
	}

	// The judge: every document has exactly one KSeF number in the simulator, and it is
	// the one the job holds.
	numbers := map[string][]string{}
	for _, inv := range sim.Invoices() {
		if inv.KSeFNumber != "" {
			numbers[inv.SellerNIP+"|"+inv.InvoiceNumber] = append(numbers[inv.SellerNIP+"|"+inv.InvoiceNumber], inv.KSeFNumber)
		}
	}
	jobs, err := db.Jobs(ctx, store.JobFilter{})
	must(err)
	if len(jobs) != n {
		t.Fatalf("%d jobs, want %d: a job was lost or invented", len(jobs), n)
	}
	nipOf := map[int64]string{1: sites[0].nip, shop2.ID: sites[1].nip}
	sessionsUsed := map[string]bool{}
	for _, j := range jobs {
		ns := numbers[nipOf[j.WebsiteID]+"|"+j.IncrementID]
		if len(ns) != 1 || ns[0] != j.KSeFNumber {
			t.Errorf("job %d %s: KSeF numbers in the simulator %v, job has %q", j.ID, j.IncrementID, ns, j.KSeFNumber)
		}
		if err := ksef.ValidateKSeFNumber(j.KSeFNumber); err != nil {
			t.Errorf("job %d: %v", j.ID, err)
		}
		sessionsUsed[j.SessionReference] = true
		checkTrail(t, db, j)
	}

	// The shop learned every KSeF number: after the flaky receiver's failures are retried,
	// every ACCEPTED job has exactly one job.accepted event, delivered and acknowledged,
	// and each website's events first arrived in sequence order.
	hook.setMode("ok")
	for i := 0; i < 10; i++ {
		if c, _ := db.EventCounts(ctx, 0); c[store.DeliveryPending] == 0 {
			break
		}
		must(k("", "notify:deliver", "--force"))
	}
	evs, err := db.Events(ctx, store.EventFilter{})
	must(err)
	evCount := map[string]int{}
	attempts, delivered, dead := 0, 0, 0
	orderOK := hook.inSeqOrder(evs)
	hook.mu.Lock()
	for _, ev := range evs {
		attempts += ev.Attempts
		switch ev.Delivery {
		case store.DeliveryDelivered:
			delivered++
		case store.DeliveryDead:
			dead++
		}
		if ev.Type == store.EventAccepted {
			evCount[fmt.Sprint(ev.JobID)]++
			if ev.Delivery != store.DeliveryDelivered || hook.acked[ev.ID] < 1 {
				t.Errorf("event %s of job %d: %s, acknowledged %d times", ev.ID, ev.JobID, ev.Delivery, hook.acked[ev.ID])
			}
		}
	}
	badSigs := hook.badSigs
	hook.mu.Unlock()
	for _, j := range jobs {
		if evCount[fmt.Sprint(j.ID)] != 1 {
			t.Errorf("job %d has %d job.accepted events, want exactly 1", j.ID, evCount[fmt.Sprint(j.ID)])
		}
	}
	if !orderOK {
		t.Error("a website's events did not first arrive in sequence order")
	}
	if badSigs != 0 {
		t.Errorf("%d webhook requests with a bad signature", badSigs)
	}

	// No secret anywhere: process output, audit rows, the database file.
	var audit bytes.Buffer
	rows, err := db.Audit(ctx, store.AuditFilter{})
	must(err)
	for _, r := range rows {
		fmt.Fprintf(&audit, "%+v\n", r)
	}
	dbBytes, _ := os.ReadFile(filepath.Join(home, "ksefpl.db"))
	walBytes, _ := os.ReadFile(filepath.Join(home, "ksefpl.db-wal"))
	jwt := regexp.MustCompile(`eyJ[A-Za-z0-9_-]{10,}\.`)
	for name, hay := range map[string][]byte{"output": outputs.Bytes(), "audit": audit.Bytes(), "db": dbBytes, "wal": walBytes} {
		for _, tok := range tokens {
			secretPart := tok[strings.LastIndex(tok, "|")+1:]
			if bytes.Contains(hay, []byte(secretPart)) {
				t.Errorf("a KSeF token appears in the %s", name)
			}
		}
		if bytes.Contains(hay, []byte(webhookSecret)) {
			t.Errorf("the webhook secret appears in the %s", name)
		}
		if name != "db" && name != "wal" && jwt.Match(hay) {
			t.Errorf("a JWT (access or refresh token) appears in the %s", name)
		}
	}
	// The faults really happened (else this soak proves nothing).
	reasons := map[string]int{}
	for _, r := range rows {
		reasons[r.Reason]++
	}
	for _, want := range []string{"SESSION_TERMINATED", "RESENT"} {
		if reasons[want] == 0 {
			t.Errorf("no %s in the audit log: the fault behind it never took effect (reasons: %v)", want, reasons)
		}
	}
	// A send KSeF accepted but answered 500 is settled either through KSeF's duplicate
	// answer to the resend, or by finding it in the session when the resend failed too.
	if reasons["DUPLICATE_OF_SAME_DOCUMENT"]+reasons["RECOVERED"] == 0 || len(sim.Invoices()) <= n {
		t.Errorf("no document reached KSeF twice and was settled to one number (reasons: %v)", reasons)
	}
	st := sim.Stats()
	if st.TooManyRequests == 0 {
		t.Error("no 429 was answered")
	}
	if attempts-delivered == 0 {
		t.Error("the flaky webhook never failed: its retries were not exercised")
	}
	fmt.Printf("soak: %d invoices, 2 websites, %d submit processes (%d killed with SIGKILL), %d sessions, %s; faults: 5%% 503, %s; simulator: %d requests, %d answered 429, %d invoice receptions; audit: %d SESSION_TERMINATED, %d RESENT, %d DUPLICATE_OF_SAME_DOCUMENT, %d RECOVERED, %d NOT_RECEIVED; events: %d delivered, %d retried attempts, %d dead\n",
		n, runs, kills, len(sessionsUsed), time.Since(start).Round(time.Second), strings.Join(injected, ", "), st.Requests, st.TooManyRequests,
		len(sim.Invoices()), reasons["SESSION_TERMINATED"], reasons["RESENT"], reasons["DUPLICATE_OF_SAME_DOCUMENT"], reasons["RECOVERED"], reasons["NOT_RECEIVED"],
		delivered, attempts-delivered, dead)
}

// soakTimeScale compresses the rate limits' clock for the soak.
const soakTimeScale = 60

// sizeFromEnv reads a soak's size from the environment variable name (def when unset).
func sizeFromEnv(t *testing.T, name string, def, least int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < least {
		t.Fatalf("%s=%q: want a number ≥ %d", name, v, least)
	}
	return n
}

// checkTrail requires job j's audit trail to be in order, each transition starting where
// the previous one ended, from PENDING through SUBMITTED to ACCEPTED.
func checkTrail(t *testing.T, db *store.DB, j *store.Job) {
	t.Helper()
	trail, err := db.Audit(context.Background(), store.AuditFilter{JobID: j.ID})
	if err != nil {
		t.Fatal(err)
	}
	var path []string
	last := int64(0)
	for _, e := range trail {
		if e.ID <= last {
			t.Errorf("job %d: audit out of order", j.ID)
		}
		last = e.ID
		if e.Event == store.EventTransition && e.FromStatus != e.ToStatus {
			if len(path) > 0 && path[len(path)-1] != e.FromStatus {
				t.Errorf("job %d: audit trail jumps from %s to a transition %s → %s", j.ID, path[len(path)-1], e.FromStatus, e.ToStatus)
			}
			path = append(path, e.ToStatus)
		}
	}
	if len(path) < 3 || path[0] != store.JobPending || path[len(path)-1] != store.JobAccepted || !containsStep(path, store.JobSubmitted) {
		t.Errorf("job %d: incomplete audit trail %v", j.ID, path)
	}
}

func containsStep(path []string, s string) bool {
	for _, p := range path {
		if p == s {
			return true
		}
	}
	return false
}
