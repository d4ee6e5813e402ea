package ksef

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

func newLoopback(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

// scaledClock runs scale times faster than real time from its creation.
func scaledClock(scale float64) func() time.Time {
	origin := time.Now()
	return func() time.Time { return origin.Add(time.Duration(float64(time.Since(origin)) * scale)) }
}

// windowServer is a test-local KSeF enforcing sliding-window limits the way
// limity-api.md describes (per bearer token and endpoint path, all windows at
// once, 429 with Retry-After), on its own clock, recording the arrival time
// of every accepted call.
type windowServer struct {
	now    func() time.Time
	limits map[time.Duration]int

	mu       sync.Mutex
	accepted map[string][]time.Time
	refused  int
	// refuseFirst answers the first n calls 429 with Retry-After 1.
	refuseFirst int
}

func (s *windowServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	now := s.now()
	key := r.Header.Get("Authorization") + " " + r.URL.Path
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refuseFirst > 0 {
		s.refuseFirst--
		s.refused++
		w.Header().Set("Retry-After", "1")
		writeJSON(w, 429, map[string]any{"status": map[string]any{"code": 429, "description": "Too Many Requests", "details": []string{"test"}}})
		return
	}
	for span, n := range s.limits {
		in := 0
		for _, at := range s.accepted[key] {
			if now.Sub(at) < span {
				in++
			}
		}
		if in >= n {
			s.refused++
			w.Header().Set("Retry-After", "1")
			writeJSON(w, 429, map[string]any{"status": map[string]any{"code": 429, "description": "Too Many Requests", "details": []string{fmt.Sprintf("%d per %s", n, span)}}})
			return
		}
	}
	s.accepted[key] = append(s.accepted[key], now)
	writeJSON(w, 200, map[string]any{"status": map[string]any{"code": 100, "description": "Sesja otwarta"},
		"dateCreated": now.Format(time.RFC3339Nano), "dateUpdated": now.Format(time.RFC3339Nano)})
}

// maxInWindow is the largest number of calls in any window of length span
// starting at a call.
func maxInWindow(times []time.Time, span time.Duration) int {
	best := 0
	for i, start := range times {
		n := 0
		for _, at := range times[i:] {
			if at.Sub(start) < span {
				n++
			}
		}
		best = max(best, n)
	}
	return best
}

// fakeJWT is an unsigned JWT whose payload names a context, as KSeF's
// access tokens do ("civ").
func fakeJWT(nip string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"none"}`)) + "." + enc([]byte(`{"civ":"`+nip+`","cit":"Nip"}`)) + ".sig"
}

// pacedSessionCalls makes n GET /sessions/{ref} calls from two goroutines.
func pacedSessionCalls(t *testing.T, c *Client, token string, n int) []error {
	t.Helper()
	var wg sync.WaitGroup
	errs := make([]error, n)
	for g := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; i < n; i += 2 {
				_, errs[i] = c.SessionStatus(context.Background(), token, "20250626-SO-213D593000-4DE10D80A5-E9")
			}
		}()
	}
	wg.Wait()
	return errs
}

func TestPacerKeepsEveryWindowWithoutA429(t *testing.T) {
	const scale = 60
	srv := &windowServer{now: scaledClock(scale), limits: map[time.Duration]int{time.Second: 5, time.Minute: 30}, accepted: map[string][]time.Time{}}
	url := newLoopback(t, srv)
	p := NewPacer(PacerOptions{TimeScale: scale, Limits: RateLimits{RateGroupSessionMisc: {PerSecond: 5, PerMinute: 30}}})
	c := newTestClient(t, url+"/v2", func(o *Options) { o.Pacer = p })
	const n = 60
	for i, err := range pacedSessionCalls(t, c, fakeJWT("5265877635"), n) {
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	srv.mu.Lock()
	refused := srv.refused
	var times []time.Time
	for _, ts := range srv.accepted {
		times = append(times, ts...)
	}
	srv.mu.Unlock()
	if refused != 0 || len(times) != n {
		t.Fatalf("the server refused %d calls and accepted %d of %d", refused, len(times), n)
	}
	if m := maxInWindow(times, time.Second); m > 5 {
		t.Errorf("%d calls arrived within one second (server clock); the limit is 5", m)
	}
	if m := maxInWindow(times, time.Minute); m > 30 {
		t.Errorf("%d calls arrived within one minute (server clock); the limit is 30", m)
	}
	st := p.Stats()[RateGroupSessionMisc]
	if st.Calls != n || st.TooManyRequests != 0 || st.Waits == 0 || st.Waited <= 0 {
		t.Errorf("stats %+v", st)
	}
}

// TestWindowServerRefusesUnpacedBursts shows that the limiter of the test
// above is real: the same calls without a pacer run into 429.
func TestWindowServerRefusesUnpacedBursts(t *testing.T) {
	srv := &windowServer{now: time.Now, limits: map[time.Duration]int{time.Second: 5, time.Minute: 30}, accepted: map[string][]time.Time{}}
	url := newLoopback(t, srv)
	c := newTestClient(t, url+"/v2", func(o *Options) { o.Retry.RateLimitCeiling = time.Millisecond })
	var limited int
	for _, err := range pacedSessionCalls(t, c, fakeJWT("5265877635"), 12) {
		var rl *RateLimitError
		if errors.As(err, &rl) {
			limited++
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if limited == 0 {
		t.Error("12 unpaced calls within a second were all accepted by a 5/s limit")
	}
}

func TestPacerHonoursRetryAfterAndCounts429(t *testing.T) {
	srv := &windowServer{now: time.Now, limits: map[time.Duration]int{}, accepted: map[string][]time.Time{}, refuseFirst: 1}
	url := newLoopback(t, srv)
	p := NewPacer(PacerOptions{})
	c := newTestClient(t, url+"/v2", func(o *Options) { o.Pacer = p })
	if _, err := c.SessionStatus(context.Background(), fakeJWT("5265877635"), "20250626-SO-213D593000-4DE10D80A5-E9"); err != nil {
		t.Fatal(err)
	}
	st := p.Stats()[RateGroupSessionMisc]
	if st.TooManyRequests != 1 || st.Calls != 2 || st.Retries != 1 {
		t.Errorf("stats %+v; want one 429, two calls (the refused one and its retry) and one retry", st)
	}
	if c.Pacer() != p {
		t.Error("Pacer() does not return the shared pacer")
	}
}

func TestPacerCountsPerContext(t *testing.T) {
	p := NewPacer(PacerOptions{Limits: RateLimits{RateGroupInvoiceSend: {PerHour: 20}}})
	ctx := context.Background()
	const path = "/sessions/online/20250626-SO-213D593000-4DE10D80A5-E9/invoices"
	// 20 per hour: 18 with the margin, burst 3, then one call every 240 s.
	for range 3 {
		if err := p.Wait(ctx, "1111111111", "POST", path); err != nil {
			t.Fatal(err)
		}
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := p.Wait(short, "1111111111", "POST", path); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("the fourth call of the context did not wait for its slot: %v", err)
	}
	if err := p.Wait(ctx, "2222222222", "POST", path); err != nil {
		t.Fatalf("another context shares the first one's counter: %v", err)
	}
	if st := p.Stats()[RateGroupInvoiceSend]; st.Calls != 4 {
		t.Errorf("stats %+v: want 4 calls let through", st)
	}
}

func TestPacedClientKeysCallsByTheNIPOfTheToken(t *testing.T) {
	c := newTestClient(t, "http://127.0.0.1:1/v2", func(o *Options) { o.Pace = true })
	if c.Pacer() == nil {
		t.Fatal("Pace did not give the client a pacer")
	}
	c.rememberContext("opaque-access-token", "5265877635")
	if got := c.contextOf("opaque-access-token"); got != "5265877635" {
		t.Errorf("remembered token: context %q", got)
	}
	if got := c.contextOf(fakeJWT("7010002137")); got != "7010002137" {
		t.Errorf("JWT civ claim: context %q", got)
	}
	if got := c.contextOf("unknown-secret-token"); got == "" || got == "unknown-secret-token" || len(got) > 30 {
		t.Errorf("unknown token: context %q must be a short fingerprint, never the token", got)
	}
	pub := c.paceFor(call{method: "POST", path: "/auth/challenge"})
	if pub == nil || pub.group != RateGroupPublic || pub.key != "ip|public" {
		t.Errorf("public call paced as %+v", pub)
	}
	if c.paceFor(call{method: "GET", path: "/x", rawURL: "http://127.0.0.1/storage/x"}) != nil {
		t.Error("a pre-signed storage link is paced")
	}
}

// TestBucketShapeStaysBelowEveryLimit checks the token-bucket bound: burst b
// and rate r let at most ⌊b + r·W⌋ calls into a window W, which must stay
// below the limit from 2 up (and be 1 for a limit of 1).
func TestBucketShapeStaysBelowEveryLimit(t *testing.T) {
	for _, w := range []time.Duration{time.Second, time.Minute, time.Hour} {
		for n := 1; n <= 3000; n++ {
			r, b := bucketShape(n, w)
			most := math.Floor(float64(b) + float64(r)*w.Seconds() + 1e-9) // calls are whole
			bound := float64(max(n-1, 1))
			if most > bound || b < 1 || r <= 0 {
				t.Fatalf("limit %d per %s: burst %d rate %v allow %.3f calls per window", n, w, b, r, most)
			}
		}
	}
}

// TestPacerGlobalGroupCountsEveryCall: with a global limit (off today, −1)
// every call also takes the per-IP global bucket, whatever its own group;
// with the global group off, other groups do not share anything.
func TestPacerGlobalGroupCountsEveryCall(t *testing.T) {
	done, cancel := context.WithCancel(context.Background())
	cancel() // a call that has to wait returns the context's error at once
	const statusPath = "/sessions/20250626-SO-213D593000-4DE10D80A5-E9"

	// The first call of each bucket goes at once (every official row has a
	// burst of at least 1), so with the global group off none of these waits.
	off := NewPacer(PacerOptions{})
	for _, c := range []struct{ ctx, method, path string }{
		{"5265877635", "GET", statusPath}, {"", "POST", "/auth/challenge"}, {"7010002137", "POST", "/sessions/online"},
	} {
		if err := off.Wait(done, c.ctx, c.method, c.path); err != nil {
			t.Fatalf("global off, %s %s waited: %v", c.method, c.path, err)
		}
	}

	on := NewPacer(PacerOptions{Limits: RateLimits{RateGroupGlobal: {PerHour: 3}}})
	// 3 per hour: burst 1, so the first call goes and any second call of the
	// IP waits, in whichever group or context.
	if err := on.Wait(done, "5265877635", "GET", statusPath); err != nil {
		t.Fatalf("first call: %v", err)
	}
	if err := on.Wait(done, "", "POST", "/auth/challenge"); !errors.Is(err, context.Canceled) {
		t.Fatalf("a public call did not wait for the global bucket: %v", err)
	}
	if err := on.Wait(done, "7010002137", "POST", "/sessions/online"); !errors.Is(err, context.Canceled) {
		t.Fatalf("another context's call did not wait for the global bucket: %v", err)
	}
	if st := on.Stats(); st[RateGroupSessionMisc].Calls != 1 || st[RateGroupPublic].Calls != 0 || st[RateGroupGlobal].Calls != 0 {
		t.Errorf("stats %+v: the global bucket must not count as a group of its own", st)
	}
	// Lifting the limit (GET /rate-limits answering −1) frees the calls.
	on.SetLimits(RateLimits{RateGroupGlobal: {NoRateLimit, NoRateLimit, NoRateLimit}})
	if err := on.Wait(done, "", "POST", "/auth/challenge"); err != nil {
		t.Fatalf("global −1 still paces: %v", err)
	}
}
