package submit

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ksefpl/ksefpl/pkg/config"
	"github.com/ksefpl/ksefpl/pkg/ksefsim"
	"github.com/ksefpl/ksefpl/pkg/store"
)

// slowSends makes every invoice send take d.
func slowSends(h *harness, d time.Duration) {
	h.sim.SetFaults(ksefsim.Faults{PerEndpoint: map[string]ksefsim.EndpointFault{
		"POST /v2/sessions/online/{referenceNumber}/invoices": {Latency: d},
	}})
}

// --max-duration ends a run in bounded time: it stops sending, settles what was sent and
// leaves the rest PENDING for the next run, which continues.
func TestMaxDurationStopsSendingAndTheNextRunContinues(t *testing.T) {
	h := newHarness(t, ksefsim.Config{})
	for i := 1; i <= 12; i++ {
		h.enqueue(1, "invoice", fmt.Sprintf("M-%02d", i), invoiceJSON(fmt.Sprintf("M-%02d", i)))
	}
	slowSends(h, 100*time.Millisecond)
	o := opts()
	o.Mode, o.MaxDuration = ModeOnline, 800*time.Millisecond
	start := time.Now()
	res := h.run(o)
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("the run took %s despite --max-duration 800ms", took)
	}
	pending := len(h.jobs(store.JobPending))
	if res.Sent == 0 || pending == 0 || res.Sent+pending != 12 {
		t.Fatalf("sent %d, pending %d: want some sent and the rest left", res.Sent, pending)
	}
	if !strings.Contains(strings.Join(res.Warnings, "\n"), "--max-duration (800ms) passed") {
		t.Errorf("warnings %v", res.Warnings)
	}
	// Nothing is lost: what was sent is recorded as sent (SUBMITTED or further).
	for _, j := range h.jobs(store.JobSending) {
		t.Errorf("job %d left SENDING", j.ID)
	}
	h.sim.SetFaults(ksefsim.Faults{})
	h.run(opts())
	h.assertAllAccepted()
	h.assertOneNumberPerDocument()
}

// KSeF numbers arrive while a long backlog is still being sent, and the heartbeat shows it.
func TestNumbersArriveWhileSending(t *testing.T) {
	h := newHarness(t, ksefsim.Config{})
	for i := 1; i <= 8; i++ {
		h.enqueue(1, "invoice", fmt.Sprintf("S-%02d", i), invoiceJSON(fmt.Sprintf("S-%02d", i)))
	}
	slowSends(h, 20*time.Millisecond)
	var mu sync.Mutex
	var beats []Heartbeat
	o := opts()
	o.Mode, o.SettleEvery, o.HeartbeatEvery = ModeOnline, time.Millisecond, time.Nanosecond
	o.Heartbeat = func(b Heartbeat) {
		mu.Lock()
		defer mu.Unlock()
		beats = append(beats, b)
	}
	h.run(o)
	h.assertAllAccepted()
	mid := false
	for _, b := range beats {
		mid = mid || (b.Accepted > 0 && b.Pending > 0)
	}
	if !mid {
		t.Fatalf("no heartbeat saw accepted invoices while others still waited: %+v", beats)
	}
}

// A job held back shows why, with one audit row per reason, and is sent once it can be.
func TestDeferredJobsShowTheirReason(t *testing.T) {
	h := newHarness(t, ksefsim.Config{})
	// A EUR invoice needs NBP's rate: NBP is unreachable.
	h.Set(config.PathNBPBaseURL, "http://127.0.0.1:1/api", config.Default)
	eur := strings.Replace(invoiceJSON("E-1"), `"currency":"PLN"`, `"currency":"EUR"`, 1)
	h.enqueue(1, "invoice", "E-1", eur)
	for range 2 {
		h.run(opts())
	}
	j := h.jobs(store.JobPending)[0]
	if j.Reason != ReasonNBPUnavailable || !strings.Contains(j.ReasonDetail, "127.0.0.1:1") {
		t.Fatalf("held job: reason %q, detail %q", j.Reason, j.ReasonDetail)
	}
	n := 0
	for _, e := range h.Trail(j.ID) {
		if e.Reason == ReasonNBPUnavailable {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d audit rows for the same hold across two runs, want 1", n)
	}
	// A credit memo waits for its invoice's number; the reason changes, one row more.
	h2 := newHarness(t, ksefsim.Config{})
	h2.enqueue(1, "creditmemo", "CM-1", creditMemoJSON("CM-1", "INV-1"))
	h2.enqueue(1, "invoice", "INV-1", invoiceJSON("INV-1"))
	f := h2.sim.Faults()
	f.Sessions.StallAll = true
	h2.sim.SetFaults(f)
	o := opts()
	o.NoWait = true
	h2.run(o)
	memo := h2.jobs(store.JobPending)
	if len(memo) != 1 || memo[0].Reason != ReasonWaitingOriginal || !strings.Contains(memo[0].ReasonDetail, "INV-1") {
		t.Fatalf("memo %+v", memo)
	}
	f.Sessions.StallAll = false
	h2.sim.SetFaults(f)
	h2.sim.ReleaseStalledInvoices()
	h2.run(opts())
	h2.run(opts())
	h2.assertAllAccepted()
	for _, j := range h2.jobs() {
		if j.Reason == ReasonWaitingOriginal {
			t.Errorf("job %d still carries %s after it was sent", j.ID, j.Reason)
		}
	}
}
