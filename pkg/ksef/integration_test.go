package ksef_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ksefpl/ksefpl/pkg/failure"

	"github.com/ksefpl/ksefpl/pkg/ksef"
	"github.com/ksefpl/ksefpl/pkg/ksefsim"
)

// Integration tests: the client against the real simulator over loopback HTTP.

const (
	nipA = "5265877635"
	nipB = "7335255579"
)

// simEnv is a running simulator with a request counter in front of it.
type simEnv struct {
	sim   *ksefsim.Server
	srv   *httptest.Server
	eps   ksef.Endpoints
	mu    sync.Mutex
	calls map[string]int
}

func (e *simEnv) count(method, path string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.calls[method+" "+path]
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func startSim(t *testing.T, cfg ksefsim.Config) *simEnv {
	t.Helper()
	sim, err := ksefsim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e := &simEnv{sim: sim, calls: map[string]int{}}
	// Every exchange is checked against open-api-2.8.1.json: the client's requests and the
	// simulator's answers alike.
	chk := ksef.ContractChecker(t)
	checked := chk.Middleware(sim)
	t.Cleanup(func() {
		for _, v := range chk.Violations() {
			if injectedFault(v) {
				continue
			}
			t.Errorf("contract violation: %s", v)
		}
	})
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		if strings.HasPrefix(p, "/v2/auth/") && r.Method == http.MethodGet && !strings.HasPrefix(p, "/v2/auth/sessions") {
			p = "/v2/auth/{ref}"
		}
		e.mu.Lock()
		e.calls[r.Method+" "+p]++
		e.mu.Unlock()
		checked.ServeHTTP(w, r)
	}))
	t.Cleanup(e.srv.Close)
	e.eps, err = ksef.EnvLocal.Endpoints(e.srv.URL + "/v2")
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *simEnv) client(t *testing.T, mod func(*ksef.Options)) *ksef.Client {
	t.Helper()
	o := ksef.Options{
		BaseURL: e.eps.API, LatarniaURL: e.eps.Latarnia, LegacyURL: e.eps.Legacy, Version: "itest",
		Retry:            ksef.RetryPolicy{MaxAttempts: 4, BaseBackoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond, RateLimitCeiling: 5 * time.Second},
		AuthPollInterval: 5 * time.Millisecond,
	}
	if mod != nil {
		mod(&o)
	}
	c, err := ksef.NewClient(o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func issue(t *testing.T, e *simEnv, nip string) string {
	t.Helper()
	tok, err := e.sim.IssueToken(nip)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestSimAuthenticationSucceeds(t *testing.T) {
	e := startSim(t, ksefsim.Config{})
	tok := issue(t, e, nipA)
	info, err := ksef.ParseToken(tok)
	if err != nil {
		t.Fatalf("the simulator's token does not parse: %v", err)
	}
	if info.ContextType != "Nip" || info.ContextValue != nipA {
		t.Errorf("token info %+v", info)
	}
	cache := ksef.NewMemoryTokenCache()
	c := e.client(t, func(o *ksef.Options) { o.TokenCache = cache })
	cr := ksef.Credentials{Auth: ksef.TokenAuth{Token: tok}, NIP: nipA}
	access, err := c.AccessToken(context.Background(), cr)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(access, ".") != 2 {
		t.Errorf("access token is not JWT-shaped")
	}
	if cache.Tag(c.CacheKey(cr)) != ksef.TagSessionToken {
		t.Error("session not cached")
	}
	// The access token is accepted by a protected endpoint.
	req, _ := http.NewRequest("GET", e.eps.API+"/auth/sessions?pageSize=10", nil)
	req.Header.Set("Authorization", "Bearer "+access)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Errorf("GET /auth/sessions with the access token: HTTP %d", res.StatusCode)
	}
}

func TestSimRevokedToken(t *testing.T) {
	e := startSim(t, ksefsim.Config{})
	tok := issue(t, e, nipA)
	if err := e.sim.RevokeToken(tok); err != nil {
		t.Fatal(err)
	}
	_, err := e.client(t, nil).AccessToken(context.Background(), ksef.Credentials{Auth: ksef.TokenAuth{Token: tok}, NIP: nipA})
	var se *ksef.AuthStatusError
	if !errors.As(err, &se) || se.Code != 450 || !se.TokenRevoked() {
		t.Fatalf("want 450 revoked, got %v", err)
	}
	if failure.Of(err) != failure.Auth {
		t.Errorf("class %v", failure.Of(err))
	}
	if strings.Contains(err.Error(), tok) {
		t.Error("error leaks the token")
	}
}

func TestSimTokenForAnotherNIP(t *testing.T) {
	e := startSim(t, ksefsim.Config{})
	tok := issue(t, e, nipA)
	_, err := e.client(t, nil).AccessToken(context.Background(), ksef.Credentials{Auth: ksef.TokenAuth{Token: tok}, NIP: nipB})
	var se *ksef.AuthStatusError
	if !errors.As(err, &se) || se.Code != 450 || !se.WrongContext() {
		t.Fatalf("want 450 wrong context, got %v", err)
	}
	if !strings.Contains(err.Error(), "different NIP") {
		t.Errorf("message: %v", err)
	}
	if e.count("POST", "/v2/auth/token/redeem") != 0 {
		t.Error("redeem attempted after a failed authentication")
	}
}

func TestSimExpiredAccessRefreshedFromCache(t *testing.T) {
	clk := &clock{t: time.Now()}
	e := startSim(t, ksefsim.Config{Clock: clk.Now})
	tok := issue(t, e, nipA)
	cache := ksef.NewMemoryTokenCacheClock(clk.Now)
	cr := ksef.Credentials{Auth: ksef.TokenAuth{Token: tok}, NIP: nipA}
	first, err := e.client(t, func(o *ksef.Options) { o.TokenCache = cache; o.Clock = clk.Now }).AccessToken(context.Background(), cr)
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(16 * time.Minute) // past the simulator's 15-minute access lifetime
	// A new client (a later run) sharing the cache.
	second, err := e.client(t, func(o *ksef.Options) { o.TokenCache = cache; o.Clock = clk.Now }).AccessToken(context.Background(), cr)
	if err != nil {
		t.Fatal(err)
	}
	if second == first {
		t.Error("the expired access token was returned")
	}
	if n := e.count("POST", "/v2/auth/token/refresh"); n != 1 {
		t.Errorf("refresh calls %d, want 1", n)
	}
	if n := e.count("POST", "/v2/auth/challenge"); n != 1 {
		t.Errorf("challenge calls %d, want 1 (no new authentication)", n)
	}
}

func TestSimKeyRotationRecovered(t *testing.T) {
	e := startSim(t, ksefsim.Config{})
	tok := issue(t, e, nipA)
	c := e.client(t, nil)
	if _, err := c.PublicKey(context.Background(), ksef.UsageKSeFTokenEncryption); err != nil {
		t.Fatal(err)
	}
	if err := e.sim.RotateKeys(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.AccessToken(context.Background(), ksef.Credentials{Auth: ksef.TokenAuth{Token: tok}, NIP: nipA}); err != nil {
		t.Fatalf("21470 not recovered: %v", err)
	}
	if n := e.count("GET", "/v2/security/public-key-certificates"); n != 2 {
		t.Errorf("key fetches %d, want 2", n)
	}
	if n := e.count("POST", "/v2/auth/ksef-token"); n != 2 {
		t.Errorf("ksef-token calls %d, want 2 (one refused with 21470, one accepted)", n)
	}
}

func TestSim429ThenSuccess(t *testing.T) {
	e := startSim(t, ksefsim.Config{})
	tok := issue(t, e, nipA)
	e.sim.SetFaults(ksefsim.Faults{PerEndpoint: map[string]ksefsim.EndpointFault{
		"POST /v2/auth/challenge": {TooManyRequests: 1, RetryAfter: time.Second},
	}})
	if _, err := e.client(t, nil).AccessToken(context.Background(), ksef.Credentials{Auth: ksef.TokenAuth{Token: tok}, NIP: nipA}); err != nil {
		t.Fatal(err)
	}
	if n := e.count("POST", "/v2/auth/challenge"); n != 2 {
		t.Errorf("challenge calls %d, want 2", n)
	}
}

func TestSim429BeyondCeiling(t *testing.T) {
	e := startSim(t, ksefsim.Config{})
	tok := issue(t, e, nipA)
	e.sim.SetFaults(ksefsim.Faults{PerEndpoint: map[string]ksefsim.EndpointFault{
		"POST /v2/auth/challenge": {TooManyRequests: 5, RetryAfter: time.Minute},
	}})
	_, err := e.client(t, nil).AccessToken(context.Background(), ksef.Credentials{Auth: ksef.TokenAuth{Token: tok}, NIP: nipA})
	var rl *ksef.RateLimitError
	if !errors.As(err, &rl) || failure.Of(err) != failure.Unavailable {
		t.Fatalf("want RateLimitError, got %v", err)
	}
}

func TestSim5xxThenSuccess(t *testing.T) {
	e := startSim(t, ksefsim.Config{})
	tok := issue(t, e, nipA)
	e.sim.SetFaults(ksefsim.Faults{PerEndpoint: map[string]ksefsim.EndpointFault{
		"GET /v2/security/public-key-certificates": {FailNext: 2, FailStatus: 503},
		"/v2/auth/{referenceNumber}":               {FailNext: 1},
	}})
	if _, err := e.client(t, nil).AccessToken(context.Background(), ksef.Credentials{Auth: ksef.TokenAuth{Token: tok}, NIP: nipA}); err != nil {
		t.Fatal(err)
	}
	if n := e.count("GET", "/v2/security/public-key-certificates"); n != 3 {
		t.Errorf("key fetches %d, want 3", n)
	}
}

func TestSimRedeem5xxNotRetried(t *testing.T) {
	e := startSim(t, ksefsim.Config{})
	tok := issue(t, e, nipA)
	e.sim.SetFaults(ksefsim.Faults{PerEndpoint: map[string]ksefsim.EndpointFault{
		"POST /v2/auth/token/redeem": {FailNext: 1},
	}})
	_, err := e.client(t, nil).AccessToken(context.Background(), ksef.Credentials{Auth: ksef.TokenAuth{Token: tok}, NIP: nipA})
	if failure.Of(err) != failure.Unavailable {
		t.Fatalf("want unavailable, got %v", err)
	}
	if n := e.count("POST", "/v2/auth/token/redeem"); n != 1 {
		t.Errorf("redeem calls %d, want exactly 1", n)
	}
}

func TestSimHTMLPage(t *testing.T) {
	e := startSim(t, ksefsim.Config{})
	tok := issue(t, e, nipA)
	e.sim.SetFaults(ksefsim.Faults{PerEndpoint: map[string]ksefsim.EndpointFault{"*": {HTML: true}}})
	_, err := e.client(t, nil).AccessToken(context.Background(), ksef.Credentials{Auth: ksef.TokenAuth{Token: tok}, NIP: nipA})
	var he *ksef.HTMLResponseError
	if !errors.As(err, &he) || he.HTTPStatus != 403 {
		t.Fatalf("want HTMLResponseError 403, got %v", err)
	}
	if failure.Of(err) != failure.Unavailable || !strings.Contains(err.Error(), "firewall/WAF") {
		t.Errorf("class %v message %v", failure.Of(err), err)
	}
}

func TestSimLatarnia(t *testing.T) {
	e := startSim(t, ksefsim.Config{})
	c := e.client(t, nil)
	st, err := c.Latarnia().Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !st.Available() {
		t.Errorf("fresh simulator status %q", st.Status)
	}
	if _, err := c.Latarnia().Messages(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestSimLegacyProfile(t *testing.T) {
	e := startSim(t, ksefsim.Config{})
	tok := issue(t, e, nipA)
	issue(t, e, nipB)
	c := e.client(t, nil)
	s, err := c.LegacyAuthorise(context.Background(), tok, nipA)
	if err != nil {
		t.Fatal(err)
	}
	if s.SessionToken == "" {
		t.Error("no session token")
	}
	_, err = c.LegacyAuthorise(context.Background(), tok, "1111111111")
	var le *ksef.LegacyAuthError
	if !errors.As(err, &le) || le.Code != ksef.LegacyCodeNIPNotRegistered {
		t.Errorf("unregistered NIP: want 10000, got %v", err)
	}
	_, err = c.LegacyAuthorise(context.Background(), tok, nipB)
	if !errors.As(err, &le) || le.Code != ksef.LegacyCodeNIPMismatch || failure.Of(err) != failure.Auth {
		t.Errorf("NIP mismatch: want 20100, got %v", err)
	}
}

func TestSimRedeemRateLimitedResumesLater(t *testing.T) {
	e := startSim(t, ksefsim.Config{})
	tok := issue(t, e, nipA)
	e.sim.SetFaults(ksefsim.Faults{PerEndpoint: map[string]ksefsim.EndpointFault{
		"POST /v2/auth/token/redeem": {TooManyRequests: 1},
	}})
	cache := ksef.NewMemoryTokenCache()
	c := e.client(t, func(o *ksef.Options) { o.TokenCache = cache })
	cr := ksef.Credentials{Auth: ksef.TokenAuth{Token: tok}, NIP: nipA}
	_, err := c.AccessToken(context.Background(), cr)
	if failure.Of(err) != failure.Unavailable {
		t.Fatalf("want unavailable on a rate-limited redeem, got %v", err)
	}
	if tag := cache.Tag(c.CacheKey(cr)); tag != ksef.TagAuthPending {
		t.Fatalf("cache tag %q, want the pending authentication kept", tag)
	}
	if _, err := c.AccessToken(context.Background(), cr); err != nil {
		t.Fatal(err)
	}
	if n := e.count("POST", "/v2/auth/challenge"); n != 1 {
		t.Errorf("challenge calls %d, want 1 (the pending authentication is resumed)", n)
	}
	if n := e.count("POST", "/v2/auth/token/redeem"); n != 2 {
		t.Errorf("redeem calls %d, want 2 (one per run, never retried within a run)", n)
	}
}

// injectedFault reports violations caused by faults a test injected on purpose: 5xx
// answers and WAF HTML pages (403 on a public endpoint) are real-world behaviour the
// contract does not describe.
func injectedFault(v string) bool {
	for _, s := range []string{"-> 500:", "-> 502:", "-> 503:", "-> 504:", "text/html", "POST /v2/auth/challenge -> 403:"} {
		if strings.Contains(v, s) {
			return true
		}
	}
	return false
}
