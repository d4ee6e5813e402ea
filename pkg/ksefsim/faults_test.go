package ksefsim

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestFaultsNextCallsFailDeterministically(t *testing.T) {
	e := newEnv(t, Config{})
	e.sim.SetFaults(Faults{PerEndpoint: map[string]EndpointFault{
		"POST /v2/auth/challenge":              {FailNext: 2, FailStatus: 503},
		"/v2/security/public-key-certificates": {TooManyRequests: 1, RetryAfter: 3 * time.Second},
		"GET /latarnia/status":                 {HTMLNext: 1},
	}})
	for i := 0; i < 2; i++ {
		r := e.call("POST", "/v2/auth/challenge", nil)
		if c, _ := exceptionCode(t, r); r.status != 503 || c != 500 {
			t.Fatalf("call %d: %d %s", i, r.status, r.body)
		}
	}
	if r := e.call("POST", "/v2/auth/challenge", nil); r.status != 200 {
		t.Fatalf("third call: %d %s", r.status, r.body)
	}
	if left := e.sim.Faults().PerEndpoint["POST /v2/auth/challenge"].FailNext; left != 0 {
		t.Errorf("FailNext left %d", left)
	}

	r := e.call("GET", "/v2/security/public-key-certificates", nil, "X-Error-Format", "problem-details")
	var p cProblem
	r.decode(t, &p)
	if r.status != 429 || r.header.Get("Retry-After") != "3" || p.Status != 429 || p.Title != "Too Many Requests" {
		t.Fatalf("429: %d %v %s", r.status, r.header, r.body)
	}
	if r := e.call("GET", "/v2/security/public-key-certificates", nil); r.status != 200 {
		t.Fatalf("after 429: %d", r.status)
	}

	r = e.call("GET", "/latarnia/status", nil)
	if r.status != 403 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") || !strings.Contains(string(r.body), "Incapsula") {
		t.Fatalf("WAF page: %d %s", r.status, r.body)
	}
	if r := e.call("GET", "/latarnia/status", nil); r.status != 200 {
		t.Fatalf("after WAF page: %d", r.status)
	}
	// The contract documents no 5xx (the checker flags the two 503s); the 429 must conform.
	v := e.check.ResponseViolations()
	if len(v) != 2 {
		t.Fatalf("want exactly the two 503s flagged, got %q", v)
	}
	for _, x := range v {
		if !strings.Contains(x, "-> 503") {
			t.Errorf("unexpected violation %s", x)
		}
	}
}

func TestFaultWildcardRateAndHTMLApplyEverywhereButSim(t *testing.T) {
	e := newEnv(t, Config{})
	e.sim.SetFaults(Faults{PerEndpoint: map[string]EndpointFault{"*": {ErrorRate: 1}}})
	for _, p := range []string{"/v2/security/public-key-certificates", "/latarnia/messages"} {
		if r := e.call("GET", p, nil); r.status != 500 {
			t.Errorf("%s with errorRate 1: %d", p, r.status)
		}
	}
	if r := e.call("GET", "/sim/health", nil); r.status != 200 {
		t.Errorf("/sim/health must never fail: %d", r.status)
	}
	e.sim.SetFaults(Faults{PerEndpoint: map[string]EndpointFault{"*": {HTML: true}, "POST /v2/auth/challenge": {}}})
	if r := e.call("GET", "/latarnia/status", nil); r.status != 403 {
		t.Errorf("html: %d", r.status)
	}
	if r := e.call("POST", "/v2/auth/challenge", nil); r.status != 200 {
		t.Errorf("a specific empty entry must override the wildcard: %d", r.status)
	}
	e.sim.SetFaults(Faults{})
	if r := e.call("GET", "/latarnia/status", nil); r.status != 200 {
		t.Errorf("faults cleared: %d", r.status)
	}
}

func TestFaultsJSONRoundTripUsesDurationStrings(t *testing.T) {
	in := Faults{PerEndpoint: map[string]EndpointFault{"*": {Latency: 250 * time.Millisecond, RetryAfter: 2 * time.Second, FailNext: 1}}}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"latency":"250ms"`) || !strings.Contains(string(b), `"retryAfter":"2s"`) {
		t.Fatalf("json %s", b)
	}
	var out Faults
	if err := json.Unmarshal(b, &out); err != nil || out.PerEndpoint["*"] != in.PerEndpoint["*"] {
		t.Fatalf("round trip: %v %+v", err, out)
	}
	if err := json.Unmarshal([]byte(`{"perEndpoint":{"*":{"latency":1000}}}`), &out); err != nil || out.PerEndpoint["*"].Latency != time.Microsecond {
		t.Fatalf("nanoseconds: %v %+v", err, out)
	}
	if err := json.Unmarshal([]byte(`{"perEndpoint":{"*":{"latency":"soon"}}}`), &out); err == nil {
		t.Fatal("bad duration accepted")
	}
}

func TestLatencyFaultDelaysButAnswers(t *testing.T) {
	e := newEnv(t, Config{})
	e.sim.SetFaults(Faults{PerEndpoint: map[string]EndpointFault{"GET /latarnia/status": {Latency: 20 * time.Millisecond}}})
	if r := e.call("GET", "/latarnia/status", nil); r.status != 200 {
		t.Fatalf("latency: %d", r.status)
	}
}
