package ksef

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/ksefpl/ksefpl/pkg/failure"

	"github.com/ksefpl/ksefpl/pkg/testenv"
)

// TestRateGroupsMatchTheContract classifies every operation of open-api.json
// (path parameters filled with realistic values) and compares the group with
// the one its 429 description names, and the compiled table with its
// x-rate-limits.
func TestRateGroupsMatchTheContract(t *testing.T) {
	b, err := os.ReadFile(testenv.SharedPath(t, "ksef-docs", "open-api.json"))
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
			if table[got] != *op.RateLimits {
				t.Errorf("%s %s (%s): compiled %+v, x-rate-limits %+v", strings.ToUpper(method), path, got, table[got], *op.RateLimits)
			}
			checked++
		}
	}
	if checked < 50 {
		t.Errorf("only %d operations checked", checked)
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
