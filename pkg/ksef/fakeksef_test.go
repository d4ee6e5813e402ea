package ksef

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeKSeF is a minimal test-local KSeF auth endpoint set speaking the
// open-api-2.8.1.json shapes over real HTTP with real RSA-OAEP. It records calls per
// endpoint so tests can assert which requests were (not) made.
type fakeKSeF struct {
	t      *testing.T
	srv    *httptest.Server
	mu     sync.Mutex
	calls  map[string]int
	keys   []*rsa.PrivateKey // index = generation
	keyGen int               // current key generation
	certs  []PublicKeyCertificate

	token        string // the only valid KSeF token
	nip          string
	challenges   map[string]int64
	ops          map[string]*fakeOp // by auth token
	refresh      map[string]bool    // valid refresh tokens
	access       map[string]bool
	seq          int
	pendingPolls int // polls answering 100 before the result

	// hooks
	refuseRefresh bool
	rejectKeyOnce bool // answer 21470 to the first ksef-token using the old key id
	authFail      *StatusInfo
}

type fakeOp struct {
	ref      string
	polls    int
	redeemed bool
	result   StatusInfo
}

func newFakeKSeF(t *testing.T) *fakeKSeF {
	t.Helper()
	f := &fakeKSeF{t: t, calls: map[string]int{}, challenges: map[string]int64{}, ops: map[string]*fakeOp{},
		refresh: map[string]bool{}, access: map[string]bool{}, nip: "5265877635", pendingPolls: 1}
	f.token = "20251010-EC-1DCE3E3000-12ECB5B36E-45|nip-5265877635|" + strings.Repeat("ab", 32)
	f.addKey()
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeKSeF) url() string { return f.srv.URL + "/v2" }

func (f *fakeKSeF) count(ep string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[ep]
}

// addKey generates a new RSA key and certificate and makes it current.
func (f *fakeKSeF) addKey() {
	f.t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		f.t.Fatal(err)
	}
	now := time.Now()
	from := now.Add(-time.Hour).Add(time.Duration(len(f.keys)) * time.Minute)
	tpl := &x509.Certificate{SerialNumber: big.NewInt(int64(len(f.keys) + 1)), Subject: pkix.Name{CommonName: "Ministerstwo Finansów (test)"},
		NotBefore: from, NotAfter: now.Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &k.PublicKey, k)
	if err != nil {
		f.t.Fatal(err)
	}
	spki, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	h := sha256.Sum256(spki)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.keys = append(f.keys, k)
	f.keyGen = len(f.keys) - 1
	b64 := base64.StdEncoding.EncodeToString(der)
	f.certs = []PublicKeyCertificate{
		{Certificate: b64, PublicKeyID: base64.StdEncoding.EncodeToString(h[:]), ValidFrom: from, ValidTo: now.Add(24 * time.Hour), Usage: []string{"KsefTokenEncryption"}},
		{Certificate: b64, PublicKeyID: base64.StdEncoding.EncodeToString(h[:]), ValidFrom: from, ValidTo: now.Add(24 * time.Hour), Usage: []string{"SymmetricKeyEncryption"}},
	}
}

func (f *fakeKSeF) next(prefix string) string {
	f.seq++
	return fmt.Sprintf("%s-%04d", prefix, f.seq)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func problem400(w http.ResponseWriter, code int, desc string, details ...string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(400)
	_ = json.NewEncoder(w).Encode(map[string]any{"title": "Bad Request", "status": 400, "instance": "/v2/x", "detail": "Żądanie jest nieprawidłowe.",
		"errors": []map[string]any{{"code": code, "description": desc, "details": details}}, "timestamp": time.Now().Format(time.RFC3339Nano), "traceId": "abc"})
}

func problem401(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(401)
	_ = json.NewEncoder(w).Encode(map[string]any{"title": "Unauthorized", "status": 401, "detail": "Wymagane jest uwierzytelnienie.", "timestamp": time.Now().Format(time.RFC3339Nano)})
}

func (f *fakeKSeF) serve(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("X-Error-Format") != "problem-details" || r.Header.Get("Accept") != "application/json" || !strings.HasPrefix(r.Header.Get("User-Agent"), "ksefpl/") {
		f.t.Errorf("%s %s: missing standard headers: %v", r.Method, r.URL.Path, r.Header)
	}
	path := strings.TrimPrefix(r.URL.Path, "/v2")
	bearer := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	f.mu.Lock()
	defer f.mu.Unlock()
	ep := r.Method + " " + path
	if strings.HasPrefix(path, "/auth/") && r.Method == "GET" {
		ep = "GET /auth/{ref}"
	}
	f.calls[ep]++
	now := time.Now()
	switch ep {
	case "GET /security/public-key-certificates":
		writeJSON(w, 200, f.certs)
	case "POST /auth/challenge":
		ch := fmt.Sprintf("20250514-CR-%010d-3ACF9BE4C0-10", f.seq+1)
		f.seq++
		ms := now.UnixMilli()
		f.challenges[ch] = ms
		writeJSON(w, 200, map[string]any{"challenge": ch, "timestamp": time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.0000000Z07:00"), "timestampMs": ms, "clientIp": "127.0.0.1"})
	case "POST /auth/ksef-token":
		var req struct {
			Challenge         string                       `json:"challenge"`
			ContextIdentifier struct{ Type, Value string } `json:"contextIdentifier"`
			EncryptedToken    string                       `json:"encryptedToken"`
			PublicKeyID       string                       `json:"publicKeyId"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			problem400(w, 21405, "Błąd walidacji danych wejściowych.", err.Error())
			return
		}
		if f.rejectKeyOnce && req.PublicKeyID != f.certs[0].PublicKeyID {
			problem400(w, 21470, "Nieprawidłowy identyfikator klucza publicznego.", "Klucz nieznany lub unieważniony.")
			return
		}
		ms, ok := f.challenges[req.Challenge]
		if !ok {
			problem400(w, 21111, "Nieprawidłowe wyzwanie autoryzacyjne.")
			return
		}
		delete(f.challenges, req.Challenge)
		ct, _ := base64.StdEncoding.DecodeString(req.EncryptedToken)
		pt, err := rsa.DecryptOAEP(sha256.New(), nil, f.keys[f.keyGen], ct, nil)
		result := StatusInfo{Code: 200, Description: "Uwierzytelnianie zakończone sukcesem"}
		switch {
		case err != nil:
			result = StatusInfo{Code: 450, Description: "Uwierzytelnianie zakończone niepowodzeniem z powodu błędnego tokenu", Details: []string{"Nieprawidłowe szyfrowanie tokena"}}
		case string(pt) != fmt.Sprintf("%s|%d", f.token, ms):
			result = StatusInfo{Code: 450, Description: "Uwierzytelnianie zakończone niepowodzeniem z powodu błędnego tokenu", Details: []string{"Nieprawidłowy token"}}
		case req.ContextIdentifier.Type != "Nip" || req.ContextIdentifier.Value != f.nip:
			result = StatusInfo{Code: 450, Description: "Uwierzytelnianie zakończone niepowodzeniem z powodu błędnego tokenu", Details: []string{"Token nie może być użyty w kontekście " + req.ContextIdentifier.Value}}
		case f.authFail != nil:
			result = *f.authFail
		}
		op := &fakeOp{ref: fmt.Sprintf("20250514-AU-%010d-3AC6D5877F-D4", f.seq), result: result}
		tok := f.next("authjwt")
		f.ops[tok] = op
		writeJSON(w, 202, map[string]any{"referenceNumber": op.ref, "authenticationToken": map[string]any{"token": tok, "validUntil": now.Add(45 * time.Minute)}})
	case "GET /auth/{ref}":
		op, ok := f.ops[bearer]
		if !ok || "/auth/"+op.ref != path {
			problem401(w)
			return
		}
		st := op.result
		if op.polls < f.pendingPolls {
			st = StatusInfo{Code: 100, Description: "Uwierzytelnianie w toku"}
		}
		op.polls++
		writeJSON(w, 200, map[string]any{"startDate": now, "authenticationMethod": "Token",
			"authenticationMethodInfo": map[string]any{"category": "Token", "code": "token", "displayName": "Token KSeF"}, "status": st})
	case "POST /auth/token/redeem":
		op, ok := f.ops[bearer]
		if !ok {
			problem401(w)
			return
		}
		if op.redeemed || op.result.Code != 200 {
			problem400(w, 21301, "Brak autoryzacji.", "Tokeny zostały już pobrane.")
			return
		}
		op.redeemed = true
		at, rt := f.next("access"), f.next("refresh")
		f.access[at], f.refresh[rt] = true, true
		writeJSON(w, 200, map[string]any{"accessToken": map[string]any{"token": at, "validUntil": now.Add(15 * time.Minute)},
			"refreshToken": map[string]any{"token": rt, "validUntil": now.Add(7 * 24 * time.Hour)}})
	case "POST /auth/token/refresh":
		if !f.refresh[bearer] || f.refuseRefresh {
			problem401(w)
			return
		}
		at := f.next("access")
		f.access[at] = true
		writeJSON(w, 200, map[string]any{"accessToken": map[string]any{"token": at, "validUntil": now.Add(15 * time.Minute)}})
	default:
		http.NotFound(w, r)
	}
}

// testClock is a settable clock for cache-expiry decisions.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newTestClock() *testClock { return &testClock{t: time.Now()} }

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// fastRetry is a retry policy with tiny real backoffs for tests.
var fastRetry = RetryPolicy{MaxAttempts: 4, BaseBackoff: 2 * time.Millisecond, MaxBackoff: 10 * time.Millisecond, RateLimitCeiling: 3 * time.Second}

func newTestClient(t *testing.T, base string, mod func(*Options)) *Client {
	t.Helper()
	o := Options{BaseURL: base, Retry: fastRetry, AuthPollInterval: 5 * time.Millisecond, Version: "test"}
	if mod != nil {
		mod(&o)
	}
	c, err := NewClient(o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
