package main

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ksefpl/ksefpl/pkg/notify"
	"github.com/ksefpl/ksefpl/pkg/store"
)

// webhookReceiver is a real HTTP receiver for process tests: it checks each signature,
// records the event ids in arrival order, and can be told to hold requests (so that a
// process is killed while delivering) or to fail them.
type webhookReceiver struct {
	secret  string
	mu      sync.Mutex
	seen    []string
	acked   map[string]int
	badSigs int
	mode    string // "ok", "hold", "500" or "flaky" (500 to every fifth request)
	n       int
	holding chan struct{}
	release chan struct{}
}

func newWebhookReceiver(t *testing.T, secret string) (*webhookReceiver, *httptest.Server) {
	rv := &webhookReceiver{secret: secret, acked: map[string]int{}, mode: "ok", holding: make(chan struct{}, 1), release: make(chan struct{})}
	srv := httptest.NewServer(rv)
	t.Cleanup(func() { rv.setMode("ok"); close(rv.release); srv.Close() })
	return rv, srv
}

func (rv *webhookReceiver) setMode(m string) { rv.mu.Lock(); rv.mode = m; rv.mu.Unlock() }

func (rv *webhookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var p store.EventPayload
	rv.mu.Lock()
	if err := notify.Verify(r.Header.Get(notify.HeaderSignature), rv.secret, body, time.Now(), 5*time.Minute); err != nil ||
		json.Unmarshal(body, &p) != nil || p.ID != r.Header.Get(notify.HeaderEventID) {
		rv.badSigs++
		rv.mu.Unlock()
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	if p.Type == store.EventTest {
		rv.mu.Unlock()
		w.WriteHeader(http.StatusNoContent) // notify:test's event is not in the outbox
		return
	}
	rv.seen = append(rv.seen, p.ID)
	rv.n++
	mode := rv.mode
	if mode == "flaky" {
		mode = "ok"
		if rv.n%5 == 0 {
			mode = "500"
		}
	}
	rv.mu.Unlock()
	switch mode {
	case "hold":
		select {
		case rv.holding <- struct{}{}:
		default:
		}
		<-rv.release
		return
	case "500":
		http.Error(w, "try later", http.StatusInternalServerError)
		return
	}
	rv.mu.Lock()
	rv.acked[p.ID]++
	rv.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// inSeqOrder reports whether, for each website, the ids first arrived in the order of
// evs (the store's website and sequence order).
func (rv *webhookReceiver) inSeqOrder(evs []*store.Event) bool {
	rv.mu.Lock()
	defer rv.mu.Unlock()
	pos := map[string]int{}
	for i, id := range rv.seen {
		if _, ok := pos[id]; !ok {
			pos[id] = i
		}
	}
	last := map[int64]int{}
	for _, ev := range evs {
		p, ok := pos[ev.ID]
		if !ok {
			continue // never arrived: reported by the caller's delivery checks
		}
		if prev, seen := last[ev.WebsiteID]; seen && p < prev {
			return false
		}
		last[ev.WebsiteID] = p
	}
	return true
}

// TestNotifySurvivesSIGKILLBetweenTransitionAndDelivery kills a real submit with SIGKILL
// while it delivers the events of the jobs it just got accepted, then delivers again:
// every ACCEPTED job has exactly one job.accepted event, delivered; the receiver saw
// each at least once, first in sequence order, always signed; the secret appears in no
// output and no audit row.
func TestNotifySurvivesSIGKILLBetweenTransitionAndDelivery(t *testing.T) {
	const secret = "whsec-never-printed-7f3a9c"
	p := newProcessHome(t)
	rv, srv := newWebhookReceiver(t, secret)
	var outputs []string
	must := func(stdin string, args ...string) string {
		t.Helper()
		out, err := p.runStdin(stdin, args...)
		outputs = append(outputs, out)
		if err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
		return out
	}
	must("", "config:set", "ksefpl/notify/webhook_url", srv.URL+"/ksefpl")
	must(secret, "config:set", "ksefpl/notify/webhook_secret", "-")
	if out := must("", "notify:test"); !strings.Contains(out, "acknowledged by the webhook (HTTP 204)") {
		t.Fatalf("notify:test: %s", out)
	}
	const n = 8
	p.queueKillInvoices(n)

	rv.setMode("hold")
	victim := p.command("submit", "--wait", "30s", "--poll-interval", "50ms")
	if err := victim.Start(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-rv.holding: // the victim's transitions are committed; its first delivery is in flight
	case <-time.After(30 * time.Second):
		victim.Process.Kill()
		t.Fatal("submit never delivered an event")
	}
	if err := victim.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = victim.Wait()
	c, _ := p.db.EventCounts(p.ctx, 1)
	if c[store.DeliveryDelivered] == c[store.DeliveryPending]+c[store.DeliveryDelivered] {
		t.Fatalf("the kill came too late: %v", c)
	}
	t.Logf("after kill -9: events %v", c)

	// A failing receiver: the attempts are counted, nothing is lost, exit 6.
	rv.setMode("500")
	out, err := p.run("notify:deliver", "--force")
	outputs = append(outputs, out)
	if code := exitCodeOf(err); code != 6 || !strings.Contains(out, "failed (to be retried)") {
		t.Fatalf("notify:deliver with a failing receiver: exit %d\n%s", code, out)
	}
	rv.setMode("ok")
	for i := 0; i < 5; i++ {
		must("", "submit", "--wait", "20s", "--poll-interval", "50ms") // settles what the kill left
		must("", "notify:deliver", "--force")
		if c, _ := p.db.EventCounts(p.ctx, 1); c[store.DeliveryPending] == 0 {
			break
		}
	}

	jobs, err := p.db.Jobs(p.ctx, store.JobFilter{})
	if err != nil {
		t.Fatal(err)
	}
	rv.mu.Lock()
	defer rv.mu.Unlock()
	for _, j := range jobs {
		evs, err := p.db.Events(p.ctx, store.EventFilter{JobID: j.ID, Type: store.EventAccepted})
		if err != nil {
			t.Fatal(err)
		}
		if j.Status != store.JobAccepted || len(evs) != 1 || evs[0].Delivery != store.DeliveryDelivered {
			t.Errorf("job %d %s: %d job.accepted events (%v), want exactly one, delivered", j.ID, j.Status, len(evs), evs)
			continue
		}
		var pl store.EventPayload
		_ = json.Unmarshal(evs[0].Payload, &pl)
		if pl.KSeFNumber != j.KSeFNumber || pl.IncrementID != j.IncrementID || rv.acked[evs[0].ID] < 1 {
			t.Errorf("job %d: payload %+v, acknowledged %d times", j.ID, pl, rv.acked[evs[0].ID])
		}
	}
	all, _ := p.db.Events(p.ctx, store.EventFilter{WebsiteID: 1})
	var want []string
	for _, ev := range all {
		want = append(want, ev.ID)
	}
	var first []string
	seen := map[string]bool{}
	for _, id := range rv.seen {
		if !seen[id] {
			seen[id] = true
			first = append(first, id)
		}
	}
	if strings.Join(first, " ") != strings.Join(want, " ") {
		t.Errorf("first arrivals %v, want the sequence order %v", first, want)
	}
	if rv.badSigs != 0 {
		t.Errorf("%d requests with a bad signature", rv.badSigs)
	}
	audit := must("", "audit:export", "--format", "json")
	listing := must("", "notify:list", "-o", "json")
	feed := must("", "events", "-o", "json")
	for _, o := range append(outputs, audit, listing, feed) {
		if strings.Contains(o, secret) {
			t.Fatalf("the webhook secret leaked:\n%s", o)
		}
	}
	var fed []store.EventPayload
	if err := json.Unmarshal([]byte(feed), &fed); err != nil || len(fed) != len(all) {
		t.Errorf("events -o json: %d events, %v", len(fed), err)
	}
}

// exitCodeOf is the exit status of a finished process (0 for nil).
func exitCodeOf(err error) int {
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.ExitCode()
	}
	return -1
}
