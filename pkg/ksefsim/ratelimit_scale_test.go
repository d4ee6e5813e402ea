package ksefsim

import (
	"context"
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ksefpl/ksefpl/internal/oapicheck"
	"github.com/ksefpl/ksefpl/pkg/testenv"
)

// contractRateLimits reads x-rate-limits of every operation in the contract, keyed
// like the simulator's route patterns ("POST /v2/sessions/online").
func contractRateLimits(t *testing.T) map[string]rateLimit {
	t.Helper()
	raw, err := os.ReadFile(testenv.SharedPath(t, "ksef-docs", oapicheck.ContractFile))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	out := map[string]rateLimit{}
	for path, ops := range doc.Paths {
		for method, op := range ops {
			var o struct {
				Limits *rateLimit `json:"x-rate-limits"`
			}
			if json.Unmarshal(op, &o) != nil || o.Limits == nil {
				continue
			}
			out[strings.ToUpper(method)+" /v2"+path] = *o.Limits
		}
	}
	return out
}

func TestRateLimitTableMatchesTheOfficialOne(t *testing.T) {
	t.Parallel()
	want := contractRateLimits(t)
	if len(want) < 50 {
		t.Fatalf("only %d operations with x-rate-limits in the contract", len(want))
	}
	for pattern, w := range want {
		if got := limitFor(pattern).limit; got != w {
			t.Errorf("%s: enforced %+v, official %+v", pattern, got, w)
		}
	}
	// Every route the simulator lists under /v2 is in the contract with limits.
	for pattern := range endpointLimits {
		if _, ok := want[pattern]; !ok {
			t.Errorf("%s is limited by the simulator but has no x-rate-limits in the contract", pattern)
		}
	}
	// Since API 2.8.0 the close operations have their own groups and limits.
	for op, w := range map[string]struct {
		group string
		limit rateLimit
	}{
		"POST /v2/sessions/online/{referenceNumber}/close": {GroupOnlineSessionClose, rateLimit{20, 60, 240}},
		"POST /v2/sessions/batch/{referenceNumber}/close":  {GroupBatchSessionClose, rateLimit{20, 40, 120}},
	} {
		if got := limitFor(op); got.group != w.group || got.limit != w.limit {
			t.Errorf("%s: group %q %+v, want %q %+v", op, got.group, got.limit, w.group, w.limit)
		}
	}

	// GET /rate-limits reports, per group, the value of the group's endpoints (-1 for
	// a window without a limit).
	e := newEnv(t, Config{})
	r := e.call("GET", "/v2/rate-limits", nil, bearer(e.loggedIn(testNIP))...)
	var got map[string]effectiveLimitValues
	r.decode(t, &got)
	groups := map[string]string{
		"onlineSession": "POST /v2/sessions/online", "batchSession": "POST /v2/sessions/batch",
		"onlineSessionClose": "POST /v2/sessions/online/{referenceNumber}/close",
		"batchSessionClose":  "POST /v2/sessions/batch/{referenceNumber}/close",
		"invoiceSend":        "POST /v2/sessions/online/{referenceNumber}/invoices",
		"invoiceStatus":      "GET /v2/sessions/{referenceNumber}/invoices/{invoiceReferenceNumber}",
		"sessionList":        "GET /v2/sessions", "sessionInvoiceList": "GET /v2/sessions/{referenceNumber}/invoices",
		"sessionMisc": "GET /v2/sessions/{referenceNumber}", "invoiceMetadata": "POST /v2/invoices/query/metadata",
		"invoiceExport": "POST /v2/invoices/exports", "invoiceExportStatus": "GET /v2/invoices/exports/{referenceNumber}",
		"invoiceDownload": "GET /v2/invoices/ksef/{ksefNumber}", "other": "GET /v2/tokens",
		"collectiveIdentifier": "POST /v2/collective-identifiers", "anonymous": "POST /v2/auth/challenge",
	}
	if r.status != 200 || len(got) != len(groups)+1 {
		t.Fatalf("GET /rate-limits: %d %s", r.status, r.body)
	}
	for g, op := range groups {
		if got[g] != want[op].effective() {
			t.Errorf("GET /rate-limits %s = %+v, the contract says %+v (%s)", g, got[g], want[op], op)
		}
		if limitFor(op).group != g {
			t.Errorf("%s is counted in group %q, want %q", op, limitFor(op).group, g)
		}
	}
	if g := got["global"]; g != (effectiveLimitValues{-1, -1, -1}) {
		t.Errorf("GET /rate-limits global = %+v, want no limits (-1)", g)
	}
	if a := got["anonymous"]; a != (effectiveLimitValues{60, -1, -1}) {
		t.Errorf("GET /rate-limits anonymous = %+v, want 60/-1/-1", a)
	}
	e.noViolations()
}

func TestHourlyInvoiceLimitOnACompressedClock(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{RateLimits: true, TimeScale: 3600})
	access := e.loggedIn(testNIP)
	cs := e.openSession(access)
	e.sim.ResetStats()
	// 180 sends per hour; at 3600x an hour is one second of the clock. 2 ms apart keeps
	// the per-second (10 in 0.28 ms) and per-minute (30 in 16.7 ms) windows clear.
	for i := range 180 {
		if r := cs.sendRaw(cs.sendBody(fa3(testNIP, "FR/"+strconv.Itoa(i), e.today()))); r.status != 202 {
			t.Fatalf("send %d: %d %s", i+1, r.status, r.body)
		}
		e.clock.Advance(2 * time.Millisecond)
	}
	r := cs.sendRaw(cs.sendBody(fa3(testNIP, "FR/over", e.today())))
	var body struct {
		Status struct{ Details []string }
	}
	r.decode(t, &body)
	if r.status != 429 || r.header.Get("Retry-After") != "1" || len(body.Status.Details) != 1 ||
		!strings.HasPrefix(body.Status.Details[0], "Przekroczono limit 180 żądań na godzinę.") {
		t.Fatalf("181st send within the hour: %d %v %s", r.status, r.header, r.body)
	}
	// One second of clock later, the compressed hour has passed.
	e.clock.Advance(time.Second)
	if r := cs.sendRaw(cs.sendBody(fa3(testNIP, "FR/after", e.today()))); r.status != 202 {
		t.Fatalf("send after the compressed hour: %d %s", r.status, r.body)
	}

	st := e.sim.Stats()
	if g := st.Groups[GroupInvoiceSend]; g.Requests != 182 || g.TooManyRequests != 1 || st.TooManyRequests != 1 || st.Invoices != 181 {
		t.Fatalf("stats %+v", st)
	}
	var viaHTTP Stats
	e.call("GET", "/sim/stats", nil).decode(t, &viaHTTP)
	if viaHTTP.Groups[GroupInvoiceSend] != st.Groups[GroupInvoiceSend] || viaHTTP.Requests != st.Requests {
		t.Fatalf("GET /sim/stats %+v, Stats() %+v", viaHTTP, st)
	}
	if r := e.call("DELETE", "/sim/stats", nil); r.status != 204 || e.sim.Stats().Requests != 0 {
		t.Fatalf("reset: %d, %+v", r.status, e.sim.Stats())
	}

	// The scale is visible and settable through /sim/rate-limits.
	r = e.call("PUT", "/sim/rate-limits", map[string]any{"enabled": true, "timeScale": 60})
	var rl struct {
		Enabled   bool
		TimeScale float64
	}
	r.decode(t, &rl)
	if r.status != 200 || !rl.Enabled || rl.TimeScale != 60 || e.sim.TimeScale() != 60 {
		t.Fatalf("PUT /sim/rate-limits: %d %s", r.status, r.body)
	}
	if r := e.call("PUT", "/sim/rate-limits", map[string]any{"enabled": true, "timeScale": -1}); r.status != 400 {
		t.Fatalf("negative time scale: %d %s", r.status, r.body)
	}
	e.noViolations()
}

func TestStatsCountUploadsAndBatchCalls(t *testing.T) {
	t.Parallel()
	e := newBatchEnv(t, Config{InvoiceStepPolls: -1})
	access := e.loggedIn(testNIP)
	e.sim.ResetStats()
	b := e.newBatch(access, buildZip(t, e.invoicesPkg(testNIP, "FZ/2026", 4)), 2, "")
	e.sim.ResetStats() // newBatch fetched the certificates
	b.open()
	b.uploadAll()
	b.close()
	b.waitBatch()
	st := e.sim.Stats()
	if st.Groups[GroupBatchSession].Requests != 1 || st.Groups[GroupBatchSessionClose].Requests != 1 || st.Groups[GroupStorage].Requests != 2 ||
		st.Groups[GroupSessionMisc].Requests != 1 || st.Invoices != 4 || st.Requests != 5 {
		t.Fatalf("stats of one batch: %+v", st)
	}
	cc := &ControlClient{URL: e.url + "/v2"}
	ctx := context.Background()
	if got, err := cc.Stats(ctx); err != nil || got.Requests != st.Requests || got.Groups[GroupStorage] != st.Groups[GroupStorage] {
		t.Fatalf("ControlClient.Stats: %+v, %v; want %+v", got, err, st)
	}
	if err := cc.SetRateLimits(ctx, true, 3600); err != nil || !e.sim.RateLimiting() || e.sim.TimeScale() != 3600 {
		t.Fatalf("ControlClient.SetRateLimits: %v, enabled %v, scale %v", err, e.sim.RateLimiting(), e.sim.TimeScale())
	}
	if err := cc.ResetStats(ctx); err != nil || e.sim.Stats().Requests != 0 {
		t.Fatalf("ControlClient.ResetStats: %v, %+v", err, e.sim.Stats())
	}
	e.noViolations()
}
