package ksefsim

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ksefpl/ksefpl/internal/oapicheck"
	"github.com/ksefpl/ksefpl/pkg/testenv"
)

// testClock is an injectable clock that only moves when told to.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func newTestClock() *testClock {
	return &testClock{now: time.Date(2026, 3, 2, 9, 30, 0, 123456700, time.UTC)}
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// contractOnce loads the current contract (oapicheck.ContractFile, API 2.8.1) once per test binary (it takes seconds under
// -race); every env gets a Fresh checker over it.
var (
	contractOnce sync.Once
	contract     *oapicheck.Checker
	contractErr  error
)

func loadContract(path string) (*oapicheck.Checker, error) {
	contractOnce.Do(func() { contract, contractErr = oapicheck.Load(context.Background(), path) })
	return contract, contractErr
}

// env is one simulator behind a real loopback HTTP server and the contract checker.
type env struct {
	t     *testing.T
	sim   *Server
	check *oapicheck.Checker
	url   string
	clock *testClock
}

func newEnv(t *testing.T, cfg Config) *env {
	t.Helper()
	clock := newTestClock()
	if cfg.Clock == nil {
		cfg.Clock = clock.Now
	}
	sim, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	base, err := loadContract(testenv.SharedPath(t, "ksef-docs", oapicheck.ContractFile))
	if err != nil {
		t.Fatalf("load contract: %v", err)
	}
	check := base.Fresh()
	srv := httptest.NewServer(check.Middleware(sim))
	t.Cleanup(srv.Close)
	return &env{t: t, sim: sim, check: check, url: srv.URL, clock: clock}
}

// noViolations fails the test when the contract checker recorded anything.
func (e *env) noViolations() {
	e.t.Helper()
	if v := e.check.Violations(); len(v) > 0 {
		e.t.Fatalf("contract violations:\n%s", strings.Join(v, "\n"))
	}
	if e.check.Checked() == 0 {
		e.t.Fatal("the contract checker validated no exchange")
	}
}

// noResponseViolations is for tests that send deliberately broken requests.
func (e *env) noResponseViolations() {
	e.t.Helper()
	if v := e.check.ResponseViolations(); len(v) > 0 {
		e.t.Fatalf("response contract violations:\n%s", strings.Join(v, "\n"))
	}
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

func (r reply) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %d body %q: %v", r.status, r.body, err)
	}
}

// call performs one HTTP request. body may be nil, a []byte, or a value to marshal.
func (e *env) call(method, path string, body any, headers ...string) reply {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, e.url+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: b}
}

func bearer(tok string) []string { return []string{"Authorization", "Bearer " + tok} }

// Client-side wire types, written for the test from open-api.json.
type (
	cCert struct {
		Certificate, CertificateID, PublicKeyID, ValidFrom, ValidTo string
		Usage                                                       []string
	}
	cChallenge struct {
		Challenge, Timestamp, ClientIP string
		TimestampMs                    int64
	}
	cTokenInfo struct{ Token, ValidUntil string }
	cInit      struct {
		ReferenceNumber     string
		AuthenticationToken cTokenInfo
	}
	cStatus struct {
		StartDate, AuthenticationMethod string
		Status                          struct {
			Code        int
			Description string
			Details     []string
		}
		IsTokenRedeemed *bool
	}
	cTokens struct{ AccessToken, RefreshToken cTokenInfo }
	cExc    struct {
		Exception struct {
			ExceptionDetailList []struct {
				ExceptionCode        int
				ExceptionDescription string
				Details              []string
			}
		}
	}
	cProblem struct {
		Title, Detail, Instance, TraceID string
		Status                           int
		Errors                           []struct {
			Code        int
			Description string
			Details     []string
		}
	}
)

// cert fetches the certificate for a usage and parses its RSA key.
func (e *env) cert(usage string) (cCert, *rsa.PublicKey) {
	e.t.Helper()
	r := e.call("GET", "/v2/security/public-key-certificates", nil)
	if r.status != 200 {
		e.t.Fatalf("certificates: %d %s", r.status, r.body)
	}
	var certs []cCert
	r.decode(e.t, &certs)
	for _, c := range certs {
		if len(c.Usage) == 1 && c.Usage[0] == usage {
			der, err := base64.StdEncoding.DecodeString(c.Certificate)
			if err != nil {
				e.t.Fatal(err)
			}
			x, err := x509.ParseCertificate(der)
			if err != nil {
				e.t.Fatalf("parse certificate: %v", err)
			}
			return c, x.PublicKey.(*rsa.PublicKey)
		}
	}
	e.t.Fatalf("no certificate with usage %s in %s", usage, r.body)
	return cCert{}, nil
}

func (e *env) challenge() cChallenge {
	e.t.Helper()
	r := e.call("POST", "/v2/auth/challenge", nil)
	if r.status != 200 {
		e.t.Fatalf("challenge: %d %s", r.status, r.body)
	}
	var c cChallenge
	r.decode(e.t, &c)
	return c
}

func encryptToken(t *testing.T, pub *rsa.PublicKey, plain string) string {
	t.Helper()
	ct, err := rsa.EncryptOAEP(sha256.New(), rand.Reader, pub, []byte(plain), nil)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(ct)
}

// startAuth runs challenge + ksef-token and returns the 202 answer.
func (e *env) startAuth(token, nip string) cInit {
	e.t.Helper()
	cert, pub := e.cert(usageTokenEncryption)
	ch := e.challenge()
	r := e.call("POST", "/v2/auth/ksef-token", map[string]any{
		"challenge":         ch.Challenge,
		"contextIdentifier": map[string]string{"type": "Nip", "value": nip},
		"encryptedToken":    encryptToken(e.t, pub, fmt.Sprintf("%s|%d", token, ch.TimestampMs)),
		"publicKeyId":       cert.PublicKeyID,
	})
	if r.status != 202 {
		e.t.Fatalf("ksef-token: %d %s", r.status, r.body)
	}
	var in cInit
	r.decode(e.t, &in)
	return in
}

// pollAuth polls GET /auth/{ref} until the status is final and returns it with the
// number of 100 answers seen.
func (e *env) pollAuth(in cInit) (cStatus, int) {
	e.t.Helper()
	inProgress := 0
	for i := 0; i < 20; i++ {
		r := e.call("GET", "/v2/auth/"+in.ReferenceNumber, nil, bearer(in.AuthenticationToken.Token)...)
		if r.status != 200 {
			e.t.Fatalf("auth status: %d %s", r.status, r.body)
		}
		var st cStatus
		r.decode(e.t, &st)
		if st.Status.Code != 100 {
			return st, inProgress
		}
		inProgress++
	}
	e.t.Fatal("authentication never left status 100")
	return cStatus{}, 0
}

// login runs the whole flow and returns the token pair.
func (e *env) login(token, nip string) (cInit, cTokens) {
	e.t.Helper()
	in := e.startAuth(token, nip)
	if st, _ := e.pollAuth(in); st.Status.Code != 200 {
		e.t.Fatalf("auth status %d %v", st.Status.Code, st.Status.Details)
	}
	r := e.call("POST", "/v2/auth/token/redeem", nil, bearer(in.AuthenticationToken.Token)...)
	if r.status != 200 {
		e.t.Fatalf("redeem: %d %s", r.status, r.body)
	}
	var tk cTokens
	r.decode(e.t, &tk)
	return in, tk
}

func (e *env) issue(nip string) string {
	e.t.Helper()
	tok, err := e.sim.IssueToken(nip)
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

func exceptionCode(t *testing.T, r reply) (int, []string) {
	t.Helper()
	var x cExc
	r.decode(t, &x)
	if len(x.Exception.ExceptionDetailList) == 0 {
		t.Fatalf("no exceptionDetailList in %s", r.body)
	}
	d := x.Exception.ExceptionDetailList[0]
	return d.ExceptionCode, d.Details
}
