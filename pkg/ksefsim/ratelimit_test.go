package ksefsim

import (
	"strings"
	"testing"
	"time"
)

func TestRateLimitsUseSlidingWindows(t *testing.T) {
	e := newEnv(t, Config{RateLimits: true})
	// The public challenge endpoint allows 60 requests per second per IP.
	for i := 0; i < 60; i++ {
		if r := e.call("POST", "/v2/auth/challenge", nil); r.status != 200 {
			t.Fatalf("call %d: %d %s", i, r.status, r.body)
		}
	}
	r := e.call("POST", "/v2/auth/challenge", nil)
	var body struct {
		Status struct {
			Code    int
			Details []string
		}
	}
	r.decode(t, &body)
	if r.status != 429 || r.header.Get("Retry-After") != "1" || body.Status.Code != 429 ||
		len(body.Status.Details) != 1 || body.Status.Details[0] != "Przekroczono limit 60 żądań na sekundę. Spróbuj ponownie po 1 sekundach." {
		t.Fatalf("61st call: %d %v %s", r.status, r.header, r.body)
	}
	e.clock.Advance(time.Second)
	if r := e.call("POST", "/v2/auth/challenge", nil); r.status != 200 {
		t.Fatalf("after the window slid: %d", r.status)
	}

	// Protected "other" endpoints: 10/s, 30/min, counted per (context, IP).
	tok := e.issue(testNIP)
	_, tk := e.login(tok, testNIP)
	for sec := 0; sec < 3; sec++ {
		for i := 0; i < 10; i++ {
			if r := e.call("GET", "/v2/auth/sessions", nil, bearer(tk.AccessToken.Token)...); r.status != 200 {
				t.Fatalf("second %d call %d: %d %s", sec, i, r.status, r.body)
			}
		}
		e.clock.Advance(time.Second)
	}
	r = e.call("GET", "/v2/auth/sessions", nil, append(bearer(tk.AccessToken.Token), "X-Error-Format", "problem-details")...)
	var p cProblem
	r.decode(t, &p)
	// 30 calls in the last minute; the oldest (3 s ago) leaves the window 57 s from now.
	if r.status != 429 || r.header.Get("Retry-After") != "57" || p.Status != 429 || !strings.Contains(p.Detail, "30 żądań na minutę") {
		t.Fatalf("31st call in a minute: %d %v %s", r.status, r.header, r.body)
	}
	// Another endpoint has its own counter.
	if r := e.call("GET", "/v2/rate-limits", nil, bearer(tk.AccessToken.Token)...); r.status != 200 {
		t.Fatalf("other endpoint: %d %s", r.status, r.body)
	}
	e.clock.Advance(57 * time.Second)
	if r := e.call("GET", "/v2/auth/sessions", nil, bearer(tk.AccessToken.Token)...); r.status != 200 {
		t.Fatalf("after Retry-After: %d %s", r.status, r.body)
	}
	e.sim.SetRateLimiting(false)
	for i := 0; i < 70; i++ {
		if r := e.call("POST", "/v2/auth/challenge", nil); r.status != 200 {
			t.Fatalf("limits off, call %d: %d", i, r.status)
		}
	}
	e.noViolations()
}

// TestSessionCloseHasItsOwnGroup: since API 2.8.0 closing an online session is
// limited by onlineSessionClose (20/s), not by onlineSession (10/s).
func TestSessionCloseHasItsOwnGroup(t *testing.T) {
	e := newEnv(t, Config{RateLimits: true})
	access := e.loggedIn(testNIP)
	cs := e.openSession(access)
	e.sim.ResetStats()
	for i := range 20 {
		// The first close answers 204, the others 400 (21180): all are counted.
		if r := e.call("POST", "/v2/sessions/online/"+cs.ref+"/close", nil, bearer(access)...); r.status == 429 {
			t.Fatalf("close %d: %d %s", i+1, r.status, r.body)
		}
	}
	r := e.call("POST", "/v2/sessions/online/"+cs.ref+"/close", nil, bearer(access)...)
	if r.status != 429 || !strings.Contains(string(r.body), "Przekroczono limit 20 żądań na sekundę.") {
		t.Fatalf("21st close in a second: %d %s", r.status, r.body)
	}
	if g := e.sim.Stats().Groups[GroupOnlineSessionClose]; g.Requests != 21 || g.TooManyRequests != 1 {
		t.Fatalf("onlineSessionClose stats %+v", g)
	}
	e.noResponseViolations()
}
