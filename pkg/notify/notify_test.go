package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ksefpl/ksefpl/pkg/store"
)

const testSecret = "whsec-test-0123456789"

func TestSignAndVerify(t *testing.T) {
	now := time.Unix(1_790_000_000, 0)
	body := []byte(`{"id":"evt_1","type":"job.accepted"}`)
	h := Sign(testSecret, now, body)
	if !strings.HasPrefix(h, "t=1790000000,v1=") || len(h) != len("t=1790000000,v1=")+64 {
		t.Fatalf("header %q", h)
	}
	if err := Verify(h, testSecret, body, now.Add(time.Minute), 5*time.Minute); err != nil {
		t.Fatalf("valid signature refused: %v", err)
	}
	for name, c := range map[string]struct {
		header, secret string
		body           []byte
		at             time.Time
	}{
		"changed body":   {h, testSecret, []byte(`{"id":"evt_2","type":"job.accepted"}`), now},
		"other secret":   {h, "another", body, now},
		"replayed later": {h, testSecret, body, now.Add(6 * time.Minute)},
		"garbage":        {"v1=abc", testSecret, body, now},
	} {
		if err := Verify(c.header, c.secret, c.body, c.at, 5*time.Minute); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestBackoffDoublesUpToAnHour(t *testing.T) {
	want := []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 16 * time.Minute, 32 * time.Minute, time.Hour, time.Hour}
	for i, w := range want {
		if got := Backoff(i + 1); got != w {
			t.Errorf("Backoff(%d) = %s, want %s", i+1, got, w)
		}
	}
	if Backoff(50) != MaxRetry {
		t.Errorf("Backoff(50) = %s", Backoff(50))
	}
}

// fixture is a real store with accepted jobs whose events wait in the outbox.
type fixture struct {
	t   *testing.T
	db  *store.DB
	ctx context.Context
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "ksefpl.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return &fixture{t: t, db: db, ctx: ctx}
}

// accept queues n invoices of website 1 and moves each to ACCEPTED through the store's
// transitions, as submit does: each writes its job.accepted event.
func (f *fixture) accept(n int) []*store.Job {
	f.t.Helper()
	var out []*store.Job
	for i := 1; i <= n; i++ {
		inc := fmt.Sprintf("INV-%03d", i)
		j, _, err := f.db.Enqueue(f.ctx, store.Job{WebsiteID: 1, EntityType: "invoice", IncrementID: inc, InputFormat: "json",
			Input: "{}", Status: store.JobPending}, false, store.AuditEntry{Event: store.EventTransition, Actor: "test"})
		if err != nil {
			f.t.Fatal(err)
		}
		j, err = f.db.UpdateJob(f.ctx, j.ID, []string{store.JobPending}, func(x *store.Job) error {
			x.Status, x.KSeFNumber, x.InvoiceReference = store.JobAccepted, fmt.Sprintf("5261040828-20261201-%012X-00", i), fmt.Sprintf("REF-%d", i)
			return nil
		}, store.AuditEntry{Event: store.EventTransition, Actor: "test", Reason: "ACCEPTED"})
		if err != nil {
			f.t.Fatal(err)
		}
		out = append(out, j)
	}
	return out
}

// receiver is a real HTTP receiver: it checks every signature, and fails or hangs on
// the requests its plan says.
type receiver struct {
	mu      sync.Mutex
	seen    []string // event ids in arrival order, acknowledged or not
	acked   map[string]int
	badSigs int
	plan    func(n int) string // the n-th request (from 1): "ok", "500" or "hang"
	n       int
	release chan struct{}
}

func (rv *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rv.mu.Lock()
	rv.n++
	action := rv.plan(rv.n)
	if err := Verify(r.Header.Get(HeaderSignature), testSecret, body, time.Now(), 5*time.Minute); err != nil {
		rv.badSigs++
		rv.mu.Unlock()
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	var p store.EventPayload
	if err := json.Unmarshal(body, &p); err != nil || p.ID != r.Header.Get(HeaderEventID) {
		rv.badSigs++
	}
	rv.seen = append(rv.seen, p.ID)
	rv.mu.Unlock()
	switch action {
	case "500":
		http.Error(w, "database is down", http.StatusInternalServerError)
	case "hang":
		<-rv.release
	default:
		rv.mu.Lock()
		rv.acked[p.ID]++
		rv.mu.Unlock()
		fmt.Fprint(w, "ok")
	}
}

// firstSeen lists the distinct ids in the order they first arrived.
func firstSeen(ids []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// A receiver that sometimes answers 500 and sometimes hangs past the timeout still gets
// every event, in sequence order, signed; failures are retried after their backoff.
func TestDeliverToAFlakyWebhook(t *testing.T) {
	f := newFixture(t)
	jobs := f.accept(12)
	rv := &receiver{acked: map[string]int{}, release: make(chan struct{}), plan: func(n int) string {
		switch {
		case n%4 == 2:
			return "500"
		case n%7 == 3:
			return "hang"
		}
		return "ok"
	}}
	srv := httptest.NewServer(rv)
	t.Cleanup(func() { close(rv.release); srv.Close() })

	clock := time.Now()
	d := &Deliverer{DB: f.db, Sender: &Sender{Timeout: 300 * time.Millisecond}, Now: func() time.Time { return clock }, Holder: "test"}
	site := Site{WebsiteID: 1, Code: "base", MaxAttempts: 50, Receiver: Receiver{WebhookURL: srv.URL + "/hook", Secret: testSecret}}
	var total Report
	for i := 0; i < 40; i++ {
		rep, err := d.Deliver(f.ctx, []Site{site}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		total.Delivered += rep.Delivered
		total.Failed += rep.Failed
		total.Dead += rep.Dead
		for _, fl := range rep.Failures {
			if !strings.Contains(fl.Error, "500") && !strings.Contains(fl.Error, "no answer within") {
				t.Errorf("failure %q", fl.Error)
			}
		}
		// Nothing is due before its backoff.
		if rep.Failed > 0 {
			again, err := d.Deliver(f.ctx, []Site{site}, Options{})
			if err != nil || again.Delivered != 0 || again.Waiting != 1 {
				t.Fatalf("right after a failure: %+v, %v; want the website waiting", again, err)
			}
		}
		clock = clock.Add(2 * time.Hour)
		if c, _ := f.db.EventCounts(f.ctx, 1); c[store.DeliveryPending] == 0 {
			break
		}
	}
	evs, err := f.db.Events(f.ctx, store.EventFilter{WebsiteID: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != len(jobs) || total.Delivered != len(jobs) || total.Failed == 0 || total.Dead != 0 {
		t.Fatalf("%d events, report %+v; want %d delivered after some failures", len(evs), total, len(jobs))
	}
	rv.mu.Lock()
	defer rv.mu.Unlock()
	var want []string
	for i, ev := range evs {
		if ev.Delivery != store.DeliveryDelivered || ev.Type != store.EventAccepted || ev.JobID != jobs[i].ID || ev.Seq != int64(i+1) {
			t.Errorf("event %d: %+v", i, ev)
		}
		if rv.acked[ev.ID] != 1 {
			t.Errorf("event %s acknowledged %d times, want once", ev.ID, rv.acked[ev.ID])
		}
		want = append(want, ev.ID)
	}
	if got := firstSeen(rv.seen); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("first arrivals %v, want the sequence order %v", got, want)
	}
	if rv.badSigs != 0 {
		t.Errorf("%d requests with a bad signature or id", rv.badSigs)
	}
}

// After max_attempts failures an event is parked as dead, which no longer holds back
// the website's later events; notify:retry --dead makes it pending again.
func TestDeadAfterMaxAttemptsAndRetry(t *testing.T) {
	f := newFixture(t)
	f.accept(3)
	rv := &receiver{acked: map[string]int{}, release: make(chan struct{}), plan: func(n int) string {
		if n <= 3 {
			return "500" // the first event fails three times
		}
		return "ok"
	}}
	srv := httptest.NewServer(rv)
	t.Cleanup(func() { close(rv.release); srv.Close() })
	clock := time.Now()
	d := &Deliverer{DB: f.db, Sender: &Sender{}, Now: func() time.Time { return clock }, Holder: "test"}
	site := Site{WebsiteID: 1, Code: "base", MaxAttempts: 3, Receiver: Receiver{WebhookURL: srv.URL, Secret: testSecret}}
	var dead, delivered int
	for range 3 {
		rep, err := d.Deliver(f.ctx, []Site{site}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		dead += rep.Dead
		delivered += rep.Delivered
		clock = clock.Add(MaxRetry)
	}
	if dead != 1 || delivered != 2 {
		t.Fatalf("dead %d delivered %d, want 1 and 2", dead, delivered)
	}
	c, _ := f.db.EventCounts(f.ctx, 1)
	if c[store.DeliveryDead] != 1 || c[store.DeliveryDelivered] != 2 {
		t.Fatalf("counts %v", c)
	}
	n, err := f.db.RetryEvents(f.ctx, nil, true, 0)
	if err != nil || n != 1 {
		t.Fatalf("retry: %d, %v", n, err)
	}
	rep, err := d.Deliver(f.ctx, []Site{site}, Options{})
	if err != nil || rep.Delivered != 1 {
		t.Fatalf("after retry: %+v, %v", rep, err)
	}
}

// A command receiver gets the event on stdin only, with none of ksefpl's environment
// (the deployment key, tokens); one that sometimes exits 1 is retried until it acks.
func TestDeliverToACommand(t *testing.T) {
	t.Setenv("KSEFPL_CRYPT_KEY", "deployment-key-that-must-not-leak")
	t.Setenv("KSEFPL_API_TOKEN", "token-that-must-not-leak")
	f := newFixture(t)
	f.accept(6)
	dir := t.TempDir()
	script := filepath.Join(dir, "receiver.sh")
	// Every third run fails; the others append "args|env|stdin" to the log.
	src := `#!/bin/sh
n=$(cat "` + dir + `/count" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "` + dir + `/count"
if [ $((n % 3)) -eq 0 ]; then echo "temporary failure" >&2; exit 1; fi
body=$(cat)
printf '%s|%s|%s|%s\n' "$#" "$(env | grep -c KSEFPL_CRYPT_KEY)$(env | grep -c KSEFPL_API_TOKEN)" "$KSEFPL_EVENT_ID" "$body" >> "` + dir + `/log"
`
	if err := os.WriteFile(script, []byte(src), 0o700); err != nil {
		t.Fatal(err)
	}
	clock := time.Now()
	d := &Deliverer{DB: f.db, Sender: &Sender{}, Now: func() time.Time { return clock }, Holder: "test"}
	site := Site{WebsiteID: 1, Code: "base", MaxAttempts: 50, Receiver: Receiver{Command: script}}
	failed := 0
	for range 20 {
		rep, err := d.Deliver(f.ctx, []Site{site}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		failed += rep.Failed
		for _, fl := range rep.Failures {
			if !strings.Contains(fl.Error, "exited with 1") {
				t.Errorf("failure %q", fl.Error)
			}
		}
		clock = clock.Add(MaxRetry)
		if c, _ := f.db.EventCounts(f.ctx, 1); c[store.DeliveryPending] == 0 {
			break
		}
	}
	log, err := os.ReadFile(filepath.Join(dir, "log"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(log)), "\n")
	evs, _ := f.db.Events(f.ctx, store.EventFilter{WebsiteID: 1})
	if len(lines) != len(evs) || failed == 0 {
		t.Fatalf("%d deliveries logged, %d events, %d failures:\n%s", len(lines), len(evs), failed, log)
	}
	for i, l := range lines {
		parts := strings.SplitN(l, "|", 4)
		if parts[0] != "0" || parts[1] != "00" || parts[2] != evs[i].ID || parts[3] != string(evs[i].Payload) || evs[i].Delivery != store.DeliveryDelivered {
			t.Errorf("delivery %d: %q (want no argv, no ksefpl secrets in the environment, the event on stdin)", i, l)
		}
	}
}

// Webhooks go only over TLS, except to a loopback host.
func TestWebhookNeedsTLSExceptLoopback(t *testing.T) {
	for _, u := range []string{"https://shop.example.com/hook", "http://127.0.0.1:8080/hook", "http://[::1]/hook", "http://localhost/x"} {
		if err := CheckWebhookURL(u); err != nil {
			t.Errorf("%s: %v", u, err)
		}
	}
	for _, u := range []string{"http://shop.example.com/hook", "ftp://127.0.0.1/x", "http://10.0.0.5/hook"} {
		if err := CheckWebhookURL(u); err == nil {
			t.Errorf("%s accepted", u)
		}
	}
	_, err := (&Sender{}).Send(context.Background(), Receiver{WebhookURL: "http://shop.example.com/hook", Secret: "x"}, "evt_1", "test", []byte("{}"))
	if err == nil || !strings.Contains(err.Error(), "https") {
		t.Errorf("plain http to a remote host: %v", err)
	}
}
