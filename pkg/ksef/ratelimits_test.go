package ksef

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/ksefpl/ksefpl/pkg/failure"

	"github.com/ksefpl/ksefpl/pkg/testenv"
)

// TestRateGroupsMatchTheContract classifies every operation of
// open-api-2.8.1.json (path parameters filled with realistic values) and
// compares the group with the one its 429 description names, and the compiled
// table with its x-rate-limits.
func TestRateGroupsMatchTheContract(t *testing.T) {
	b, err := os.ReadFile(testenv.SharedPath(t, "ksef-docs", "open-api-2.8.1.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	samples := map[string]string{
		"{referenceNumber}":        "20250626-SB-213D593000-4DE10D80A5-E9",
		"{invoiceReferenceNumber}": "20250626-EE-213D593000-4DE10D80A5-E9",
		"{upoReferenceNumber}":     "20250626-UP-213D593000-4DE10D80A5-E9",
		"{ksefNumber}":             "5265877635-20250626-010080DD2B5E-26",
	}
	param := regexp.MustCompile(`\{[^}]+\}`)
	groupRe := regexp.MustCompile(`\|\s*(\w+)\s*$`)
	table := DefaultRateLimits()
	checked := 0
	for path, ops := range doc.Paths {
		concrete := param.ReplaceAllStringFunc(path, func(p string) string {
			if v, ok := samples[p]; ok {
				return v
			}
			return "12345"
		})
		for method, raw := range ops {
			var op struct {
				RateLimits *RateLimit `json:"x-rate-limits"`
				Responses  map[string]struct {
					Description string `json:"description"`
				} `json:"responses"`
			}
			if json.Unmarshal(raw, &op) != nil || op.RateLimits == nil {
				continue
			}
			want := RateGroupPublic
			if m := groupRe.FindStringSubmatch(strings.TrimSpace(op.Responses["429"].Description)); m != nil {
				want = RateGroup(m[1])
			}
			got := RateGroupFor(method, concrete)
			if got != want {
				t.Errorf("%s %s: group %s, the contract says %s", strings.ToUpper(method), path, got, want)
				continue
			}
			if windowsKey(table[got]) != windowsKey(*op.RateLimits) {
				t.Errorf("%s %s (%s): compiled %+v, x-rate-limits %+v", strings.ToUpper(method), path, got, table[got], *op.RateLimits)
			}
			checked++
		}
	}
	if checked < 50 {
		t.Errorf("only %d operations checked", checked)
	}
}

// TestRateLimitsAnswerMatchesTheContract: every group GET /rate-limits
// returns (EffectiveApiRateLimits.required in open-api-2.8.1.json) is a known
// group, and the documented example answer — −1 windows included — is the
// compiled table.
func TestRateLimitsAnswerMatchesTheContract(t *testing.T) {
	b, err := os.ReadFile(testenv.SharedPath(t, "ksef-docs", "open-api-2.8.1.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]struct {
			Responses map[string]struct {
				Content map[string]struct {
					Example json.RawMessage `json:"example"`
				} `json:"content"`
			} `json:"responses"`
		} `json:"paths"`
		Components struct {
			Schemas map[string]struct {
				Required []string `json:"required"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	known := map[string]RateGroup{}
	for _, g := range RateGroups() {
		known[g.WireName()] = g
	}
	required := doc.Components.Schemas["EffectiveApiRateLimits"].Required
	if len(required) != len(RateGroups()) {
		t.Errorf("the contract lists %d groups %v, the package %d", len(required), required, len(RateGroups()))
	}
	for _, name := range required {
		if _, ok := known[name]; !ok {
			t.Errorf("GET /rate-limits group %q is unknown to the package", name)
		}
	}
	var example map[string]RateLimit
	if err := json.Unmarshal(doc.Paths["/rate-limits"]["get"].Responses["200"].Content["application/json"].Example, &example); err != nil {
		t.Fatal(err)
	}
	if len(example) != len(required) {
		t.Fatalf("example has %d groups", len(example))
	}
	table := DefaultRateLimits()
	for name, v := range example {
		g := known[name]
		if w1, w2 := windowsKey(table[g]), windowsKey(v); w1 != w2 {
			t.Errorf("%s: compiled %+v (%s), documented %+v (%s)", name, table[g], w1, v, w2)
		}
	}
	if !table[RateGroupPublic].Limited() || table[RateGroupGlobal].Limited() {
		t.Error("the public group must be limited and the global one off")
	}
}

// windowsKey renders the windows of a row that have a threshold.
func windowsKey(l RateLimit) string {
	lims, wins := windowsOf(l)
	var b strings.Builder
	for i := range lims {
		fmt.Fprintf(&b, "%d/%s ", lims[i], wins[i])
	}
	return b.String()
}

// TestFetchRateLimitsReads281Groups: the 2.8.1 answer's close groups, the
// anonymous row (the public group) and −1 windows are taken as they are; −1
// means no limit, never zero requests.
func TestFetchRateLimitsReads281Groups(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v2/rate-limits", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{
			"onlineSessionClose": map[string]int{"perSecond": 7, "perMinute": 8, "perHour": 9},
			"batchSessionClose":  map[string]int{"perSecond": 4, "perMinute": 5, "perHour": 6},
			"invoiceSend":        map[string]int{"perSecond": -1, "perMinute": 5, "perHour": -1},
			"sessionMisc":        map[string]int{"perSecond": -1, "perMinute": -1, "perHour": -1},
			"anonymous":          map[string]int{"perSecond": 30, "perMinute": -1, "perHour": -1},
			"global":             map[string]int{"perSecond": -1, "perMinute": -1, "perHour": -1},
		})
	})
	p := NewPacer(PacerOptions{})
	c := newTestClient(t, newLoopback(t, mux)+"/v2", func(o *Options) { o.Pacer = p })
	lim, err := c.SyncRateLimits(context.Background(), "acc")
	if err != nil {
		t.Fatal(err)
	}
	want := map[RateGroup]RateLimit{
		RateGroupOnlineSessionClose: {7, 8, 9},
		RateGroupBatchSessionClose:  {4, 5, 6},
		RateGroupInvoiceSend:        {NoRateLimit, 5, NoRateLimit},
		RateGroupSessionMisc:        {NoRateLimit, NoRateLimit, NoRateLimit},
		RateGroupPublic:             {30, NoRateLimit, NoRateLimit},
		RateGroupGlobal:             {NoRateLimit, NoRateLimit, NoRateLimit},
		RateGroupOnlineSession:      DefaultRateLimits()[RateGroupOnlineSession],
	}
	for g, v := range want {
		if lim[g] != v || p.Limits()[g] != v {
			t.Errorf("%s: fetched %+v, pacer %+v, want %+v", g, lim[g], p.Limits()[g], v)
		}
	}
	// A group without any limit is not paced at all: a cancelled context is
	// never consulted because no call has to wait.
	done, cancel := context.WithCancel(context.Background())
	cancel()
	for i := range 500 {
		if err := p.Wait(done, "5265877635", "GET", "/sessions/20250626-SO-213D593000-4DE10D80A5-E9"); err != nil {
			t.Fatalf("call %d of an unlimited group waited: %v", i, err)
		}
	}
	if st := p.Stats()[RateGroupSessionMisc]; st.Calls != 500 || st.Waits != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestEndpointKeyGroupsVariableSegments(t *testing.T) {
	a := endpointKey("DELETE", "/tokens/20250626-CE-213D593000-4DE10D80A5-E9")
	b := endpointKey("delete", "/tokens/20250627-CE-AAAAAAAAAA-4DE10D80A5-E9?x=1")
	if a != b || a != "DELETE /tokens/{}" {
		t.Errorf("%q vs %q", a, b)
	}
	if endpointKey("GET", "/tokens") == endpointKey("POST", "/tokens") {
		t.Error("GET and POST /tokens share a counter")
	}
}

func TestFetchRateLimitsKeepsDefaultsForMissingGroups(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v2/rate-limits", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer acc" {
			problem401(w)
			return
		}
		writeJSON(w, 200, map[string]any{"invoiceSend": map[string]int{"perSecond": 1, "perMinute": 2, "perHour": 3}, "other": map[string]int{}})
	})
	srv := newLoopback(t, mux)
	p := NewPacer(PacerOptions{})
	c := newTestClient(t, srv+"/v2", func(o *Options) { o.Pacer = p })
	lim, err := c.SyncRateLimits(context.Background(), "acc")
	if err != nil {
		t.Fatal(err)
	}
	def := DefaultRateLimits()
	if lim[RateGroupInvoiceSend] != (RateLimit{1, 2, 3}) || lim[RateGroupOther] != def[RateGroupOther] || lim[RateGroupPublic] != def[RateGroupPublic] {
		t.Errorf("limits %+v", lim)
	}
	if p.Limits()[RateGroupInvoiceSend] != (RateLimit{1, 2, 3}) {
		t.Errorf("the pacer did not take the server's values: %+v", p.Limits())
	}
	// A failing endpoint leaves the pacer on what it had and says so.
	lim, err = c.SyncRateLimits(context.Background(), "wrong")
	if err == nil || failure.Of(err) != failure.Auth || lim[RateGroupInvoiceSend] != (RateLimit{1, 2, 3}) {
		t.Errorf("refused sync: %v %+v", err, lim)
	}
}
