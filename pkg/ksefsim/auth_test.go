package ksefsim

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

const testNIP = "5265877635"

var refPattern = regexp.MustCompile(`^\d{8}-([A-Z]{2})-[0-9A-F]{10}-[0-9A-F]{10}-[0-9A-F]{2}$`)

func TestFullTokenAuthenticationConformsToContract(t *testing.T) {
	e := newEnv(t, Config{AuthDelay: 2})
	tok := e.issue(testNIP)
	if !regexp.MustCompile(`^\d{8}-EC-[0-9A-F]{10}-[0-9A-F]{10}-[0-9A-F]{2}\|nip-` + testNIP + `\|[0-9a-f]{64}$`).MatchString(tok) {
		t.Fatalf("token format: %q", tok)
	}

	cert, pub := e.cert(usageTokenEncryption)
	spki, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(spki)
	if cert.PublicKeyID != base64.StdEncoding.EncodeToString(sum[:]) {
		t.Errorf("publicKeyId %s is not base64(SHA-256(SPKI))", cert.PublicKeyID)
	}
	if pub.N.BitLen() != 2048 {
		t.Errorf("key size %d, want 2048", pub.N.BitLen())
	}
	symCert, _ := e.cert(usageSymmetricEncryption)
	if symCert.PublicKeyID == cert.PublicKeyID {
		t.Error("both usages share one key; the service publishes two different keys")
	}

	ch := e.challenge()
	if m := refPattern.FindStringSubmatch(ch.Challenge); m == nil || m[1] != "CR" || !validRefNumber(ch.Challenge) {
		t.Errorf("challenge %q is not a CR reference number with a valid check", ch.Challenge)
	}
	if ch.TimestampMs != e.clock.Now().UnixMilli() || ch.ClientIP != "127.0.0.1" {
		t.Errorf("challenge timestampMs=%d clientIp=%q", ch.TimestampMs, ch.ClientIP)
	}

	in := e.startAuth(tok, testNIP)
	if m := refPattern.FindStringSubmatch(in.ReferenceNumber); m == nil || m[1] != "AU" {
		t.Errorf("auth reference %q has no AU infix", in.ReferenceNumber)
	}
	if strings.Count(in.AuthenticationToken.Token, ".") != 2 {
		t.Errorf("authenticationToken is not JWT-shaped: %q", in.AuthenticationToken.Token)
	}
	st, inProgress := e.pollAuth(in)
	if inProgress != 2 || st.Status.Code != 200 || st.Status.Description != descSucceeded {
		t.Fatalf("got %d polls in progress then %+v; want 2 then 200", inProgress, st.Status)
	}

	r := e.call("POST", "/v2/auth/token/redeem", nil, bearer(in.AuthenticationToken.Token)...)
	var tk cTokens
	r.decode(t, &tk)
	if r.status != 200 || tk.AccessToken.Token == "" || tk.RefreshToken.Token == "" {
		t.Fatalf("redeem: %d %s", r.status, r.body)
	}
	wantAccess := e.clock.Now().Add(defaultAccessTTL).Truncate(time.Second)
	if got, err := time.Parse(time.RFC3339Nano, tk.AccessToken.ValidUntil); err != nil || !got.Equal(wantAccess) {
		t.Errorf("access validUntil %q, want %v", tk.AccessToken.ValidUntil, wantAccess)
	}
	payload := jwtPayload(t, tk.AccessToken.Token)
	if payload["context-identifier-value"] != testNIP || payload["token-type"] != "ContextToken" || payload["jti"] == "" {
		t.Errorf("access token claims: %v", payload)
	}

	// The access token opens protected endpoints.
	r = e.call("GET", "/v2/auth/sessions", nil, bearer(tk.AccessToken.Token)...)
	var sessions struct {
		Items []struct {
			ReferenceNumber string
			IsCurrent       bool
		}
	}
	r.decode(t, &sessions)
	if r.status != 200 || len(sessions.Items) != 1 || sessions.Items[0].ReferenceNumber != in.ReferenceNumber || !sessions.Items[0].IsCurrent {
		t.Fatalf("auth sessions: %d %s", r.status, r.body)
	}

	// Status after redeem says so.
	r = e.call("GET", "/v2/auth/"+in.ReferenceNumber, nil, bearer(in.AuthenticationToken.Token)...)
	r.decode(t, &st)
	if st.IsTokenRedeemed == nil || !*st.IsTokenRedeemed {
		t.Errorf("isTokenRedeemed after redeem: %s", r.body)
	}

	e.clock.Advance(10 * time.Minute)
	r = e.call("POST", "/v2/auth/token/refresh", nil, bearer(tk.RefreshToken.Token)...)
	var ref cTokens
	r.decode(t, &ref)
	if r.status != 200 || ref.AccessToken.Token == "" || ref.AccessToken.Token == tk.AccessToken.Token {
		t.Fatalf("refresh: %d %s", r.status, r.body)
	}
	if r := e.call("GET", "/v2/rate-limits", nil, bearer(ref.AccessToken.Token)...); r.status != 200 {
		t.Fatalf("rate-limits with refreshed token: %d %s", r.status, r.body)
	}
	r = e.call("DELETE", "/v2/auth/sessions/current", nil, bearer(ref.AccessToken.Token)...)
	if r.status != 204 {
		t.Fatalf("delete current session: %d %s", r.status, r.body)
	}
	r = e.call("POST", "/v2/auth/token/refresh", nil, bearer(tk.RefreshToken.Token)...)
	if r.status != 401 {
		t.Fatalf("refresh after session revoke: %d %s, want 401", r.status, r.body)
	}
	r = e.call("GET", "/v2/auth/"+in.ReferenceNumber, nil, bearer(in.AuthenticationToken.Token)...)
	r.decode(t, &st)
	if st.Status.Code != 425 {
		t.Errorf("status after revoke: %s, want 425", r.body)
	}
	e.noViolations()
}

func jwtPayload(t *testing.T, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", tok)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestMalformedKsefTokenBodyGives21405InBothFormats(t *testing.T) {
	e := newEnv(t, Config{})
	ch := e.challenge()
	body := map[string]any{
		"challenge":         ch.Challenge,
		"contextIdentifier": map[string]string{"type": "Regon", "value": testNIP},
	}
	r := e.call("POST", "/v2/auth/ksef-token", body)
	if r.status != 400 || !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
		t.Fatalf("default format: %d %s %s", r.status, r.header.Get("Content-Type"), r.body)
	}
	code, details := exceptionCode(t, r)
	if code != 21405 || !slices.ContainsFunc(details, func(d string) bool { return strings.Contains(d, "encryptedToken") }) ||
		!slices.ContainsFunc(details, func(d string) bool { return strings.Contains(d, "Regon") }) {
		t.Errorf("default format: code %d details %q", code, details)
	}

	r = e.call("POST", "/v2/auth/ksef-token", body, "X-Error-Format", "problem-details")
	if r.status != 400 || !strings.HasPrefix(r.header.Get("Content-Type"), "application/problem+json") {
		t.Fatalf("problem format: %d %s %s", r.status, r.header.Get("Content-Type"), r.body)
	}
	var p cProblem
	r.decode(t, &p)
	if p.Status != 400 || p.Instance != "/v2/auth/ksef-token" || len(p.Errors) != 1 || p.Errors[0].Code != 21405 || len(p.Errors[0].Details) < 2 {
		t.Errorf("problem body: %s", r.body)
	}

	r = e.call("POST", "/v2/auth/ksef-token", `{"challenge":`)
	if code, _ := exceptionCode(t, r); r.status != 400 || code != 21405 {
		t.Errorf("broken JSON: %d %s", r.status, r.body)
	}
	e.noResponseViolations()
	if len(e.check.RequestViolations()) == 0 {
		t.Error("the contract checker did not notice the malformed requests")
	}
}

// authFailure runs the flow up to the final status and checks it is 450 with detail.
func assertAuthStatus(t *testing.T, e *env, in cInit, code int, detail string) {
	t.Helper()
	st, _ := e.pollAuth(in)
	if st.Status.Code != code || !slices.Contains(st.Status.Details, detail) {
		t.Fatalf("status %d %q details %q; want %d with %q", st.Status.Code, st.Status.Description, st.Status.Details, code, detail)
	}
	r := e.call("POST", "/v2/auth/token/redeem", nil, bearer(in.AuthenticationToken.Token)...)
	if c, d := exceptionCode(t, r); r.status != 400 || c != 21301 || !strings.Contains(strings.Join(d, " "), fmt.Sprintf("(%d)", code)) {
		t.Errorf("redeem of failed auth: %d %s", r.status, r.body)
	}
}

func TestRevokedTokenFailsWith450(t *testing.T) {
	e := newEnv(t, Config{})
	tok := e.issue(testNIP)
	if err := e.sim.RevokeToken(tok); err != nil {
		t.Fatal(err)
	}
	assertAuthStatus(t, e, e.startAuth(tok, testNIP), 450, "Token unieważniony.")
	if err := e.sim.RevokeToken("nope"); err != ErrUnknownToken {
		t.Errorf("RevokeToken(unknown) = %v", err)
	}
	e.noViolations()
}

func TestTokenForAnotherNIPFailsWithWrongContext(t *testing.T) {
	e := newEnv(t, Config{})
	tok := e.issue(testNIP)
	assertAuthStatus(t, e, e.startAuth(tok, "1111111111"), 450, "Token nie może być użyty w kontekście nip-1111111111.")
	e.noViolations()
}

func TestUnknownTokenAndBadEncryptionFailWith450(t *testing.T) {
	e := newEnv(t, Config{})
	e.issue(testNIP)
	assertAuthStatus(t, e, e.startAuth("20260101-EC-0000000000-0000000000-00|nip-"+testNIP+"|00", testNIP), 450, "Nieprawidłowy token.")

	// A token encrypted with the wrong key (here: the symmetric-key certificate).
	_, symPub := e.cert(usageSymmetricEncryption)
	ch := e.challenge()
	r := e.call("POST", "/v2/auth/ksef-token", map[string]any{
		"challenge":         ch.Challenge,
		"contextIdentifier": map[string]string{"type": "Nip", "value": testNIP},
		"encryptedToken":    encryptToken(t, symPub, fmt.Sprintf("x|%d", ch.TimestampMs)),
	})
	var in cInit
	r.decode(t, &in)
	assertAuthStatus(t, e, in, 450, "Nieprawidłowe szyfrowanie tokena.")
	e.noViolations()
}

func TestNoPermissionsFailsWith415(t *testing.T) {
	e := newEnv(t, Config{})
	tok, err := e.sim.IssueTokenWithPermissions(testNIP)
	if err != nil {
		t.Fatal(err)
	}
	assertAuthStatus(t, e, e.startAuth(tok, testNIP), 415, "Brak przypisanych uprawnień.")
	e.noViolations()
}

func TestStaleChallengeTimestampIsRejected(t *testing.T) {
	e := newEnv(t, Config{})
	tok := e.issue(testNIP)
	_, pub := e.cert(usageTokenEncryption)
	old := e.challenge()
	e.clock.Advance(2 * time.Second)
	ch := e.challenge()
	r := e.call("POST", "/v2/auth/ksef-token", map[string]any{
		"challenge":         ch.Challenge,
		"contextIdentifier": map[string]string{"type": "Nip", "value": testNIP},
		"encryptedToken":    encryptToken(t, pub, fmt.Sprintf("%s|%d", tok, old.TimestampMs)),
	})
	var in cInit
	r.decode(t, &in)
	assertAuthStatus(t, e, in, 450, "Nieprawidłowy czas tokena.")

	// A challenge is single-use and lives 10 minutes.
	r = e.call("POST", "/v2/auth/ksef-token", map[string]any{
		"challenge":         ch.Challenge,
		"contextIdentifier": map[string]string{"type": "Nip", "value": testNIP},
		"encryptedToken":    encryptToken(t, pub, fmt.Sprintf("%s|%d", tok, ch.TimestampMs)),
	})
	if c, _ := exceptionCode(t, r); r.status != 400 || c != 21111 {
		t.Errorf("reused challenge: %d %s", r.status, r.body)
	}
	late := e.challenge()
	e.clock.Advance(challengeTTL + time.Second)
	r = e.call("POST", "/v2/auth/ksef-token", map[string]any{
		"challenge":         late.Challenge,
		"contextIdentifier": map[string]string{"type": "Nip", "value": testNIP},
		"encryptedToken":    encryptToken(t, pub, fmt.Sprintf("%s|%d", tok, late.TimestampMs)),
	})
	if c, _ := exceptionCode(t, r); r.status != 400 || c != 21111 {
		t.Errorf("expired challenge: %d %s", r.status, r.body)
	}
	e.noViolations()
}

func TestRedeemWorksOnce(t *testing.T) {
	e := newEnv(t, Config{})
	tok := e.issue(testNIP)
	in := e.startAuth(tok, testNIP)
	r := e.call("POST", "/v2/auth/token/redeem", nil, bearer(in.AuthenticationToken.Token)...)
	if c, d := exceptionCode(t, r); r.status != 400 || c != 21301 || !strings.Contains(strings.Join(d, ""), "(100)") {
		t.Fatalf("redeem while in progress: %d %s", r.status, r.body)
	}
	e.pollAuth(in)
	if r := e.call("POST", "/v2/auth/token/redeem", nil, bearer(in.AuthenticationToken.Token)...); r.status != 200 {
		t.Fatalf("first redeem: %d %s", r.status, r.body)
	}
	r = e.call("POST", "/v2/auth/token/redeem", nil, append(bearer(in.AuthenticationToken.Token), "X-Error-Format", "problem-details")...)
	var p cProblem
	r.decode(t, &p)
	want := "Tokeny dla operacji uwierzytelniania " + in.ReferenceNumber + " zostały już pobrane."
	if r.status != 400 || len(p.Errors) != 1 || p.Errors[0].Code != 21301 || !slices.Contains(p.Errors[0].Details, want) {
		t.Fatalf("second redeem: %d %s", r.status, r.body)
	}
	e.noViolations()
}

func TestRefreshTokenExpiresAndKsefTokenRevocationStopsRefresh(t *testing.T) {
	e := newEnv(t, Config{AccessTokenTTL: time.Minute, RefreshTokenTTL: time.Hour})
	tok := e.issue(testNIP)
	_, tk := e.login(tok, testNIP)

	e.clock.Advance(2 * time.Minute)
	r := e.call("GET", "/v2/auth/sessions", nil, bearer(tk.AccessToken.Token)...)
	if r.status != 401 {
		t.Fatalf("expired access token: %d %s", r.status, r.body)
	}
	r = e.call("POST", "/v2/auth/token/refresh", nil, bearer(tk.RefreshToken.Token)...)
	var fresh cTokens
	r.decode(t, &fresh)
	if r.status != 200 {
		t.Fatalf("refresh: %d %s", r.status, r.body)
	}
	if r := e.call("GET", "/v2/auth/sessions", nil, bearer(fresh.AccessToken.Token)...); r.status != 200 {
		t.Fatalf("refreshed access token: %d %s", r.status, r.body)
	}

	e.clock.Advance(time.Hour)
	r = e.call("POST", "/v2/auth/token/refresh", nil, bearer(tk.RefreshToken.Token)...)
	var p cProblem
	r.decode(t, &p)
	if r.status != 401 || !strings.HasPrefix(r.header.Get("Content-Type"), "application/problem+json") || p.Status != 401 || p.Detail != detailTokenExpired {
		t.Fatalf("expired refresh token: %d %s", r.status, r.body)
	}

	tok2 := e.issue(testNIP)
	_, tk2 := e.login(tok2, testNIP)
	if err := e.sim.RevokeToken(tok2); err != nil {
		t.Fatal(err)
	}
	r = e.call("POST", "/v2/auth/token/refresh", nil, bearer(tk2.RefreshToken.Token)...)
	if c, d := exceptionCode(t, r); r.status != 400 || c != 21301 || !slices.Contains(d, "Token KSeF został unieważniony.") {
		t.Fatalf("refresh after KSeF token revocation: %d %s", r.status, r.body)
	}
	e.noViolations()
}

func TestBearerProblemsGive401(t *testing.T) {
	e := newEnv(t, Config{})
	tok := e.issue(testNIP)
	in, tk := e.login(tok, testNIP)
	cases := []struct {
		name, method, path, token, detail string
	}{
		{"garbage", "GET", "/v2/auth/sessions", "not.a.jwt", detailTokenInvalid},
		{"forged", "GET", "/v2/auth/sessions", tk.AccessToken.Token + "x", detailTokenInvalid},
		{"refresh token used as access token", "GET", "/v2/tokens", tk.RefreshToken.Token, detailTokenWrongUse},
		{"access token used for auth status", "GET", "/v2/auth/" + in.ReferenceNumber, tk.AccessToken.Token, detailTokenWrongUse},
		{"authentication token used for refresh", "POST", "/v2/auth/token/refresh", in.AuthenticationToken.Token, detailTokenWrongUse},
	}
	for _, c := range cases {
		r := e.call(c.method, c.path, nil, bearer(c.token)...)
		var p cProblem
		r.decode(t, &p)
		if r.status != 401 || p.Title != "Unauthorized" || p.Detail != c.detail || p.TraceID == "" {
			t.Errorf("%s: %d %s", c.name, r.status, r.body)
		}
	}
	e.noViolations()
	// No Authorization at all: the server answers 401; the checker flags the request.
	r := e.call("GET", "/v2/auth/sessions", nil)
	var p cProblem
	r.decode(t, &p)
	if r.status != 401 || p.Detail != detailUnauthenticated {
		t.Errorf("missing bearer: %d %s", r.status, r.body)
	}
	e.noResponseViolations()
}

func TestRotateKeysRejectsOldPublicKeyID(t *testing.T) {
	e := newEnv(t, Config{})
	tok := e.issue(testNIP)
	oldCert, oldPub := e.cert(usageTokenEncryption)
	if err := e.sim.RotateKeys(); err != nil {
		t.Fatal(err)
	}
	newCert, _ := e.cert(usageTokenEncryption)
	if newCert.PublicKeyID == oldCert.PublicKeyID || newCert.Certificate == oldCert.Certificate {
		t.Fatal("RotateKeys did not publish a new key")
	}
	ch := e.challenge()
	body := map[string]any{
		"challenge":         ch.Challenge,
		"contextIdentifier": map[string]string{"type": "Nip", "value": testNIP},
		"encryptedToken":    encryptToken(t, oldPub, fmt.Sprintf("%s|%d", tok, ch.TimestampMs)),
		"publicKeyId":       oldCert.PublicKeyID,
	}
	r := e.call("POST", "/v2/auth/ksef-token", body)
	c, d := exceptionCode(t, r)
	if r.status != 400 || c != 21470 || !slices.Contains(d, "Klucz o identyfikatorze "+oldCert.PublicKeyID+" nie jest wspierany.") {
		t.Fatalf("old key id: %d %s", r.status, r.body)
	}
	r = e.call("POST", "/v2/auth/ksef-token", body, "X-Error-Format", "problem-details")
	var p cProblem
	r.decode(t, &p)
	if r.status != 400 || len(p.Errors) != 1 || p.Errors[0].Code != 21470 {
		t.Fatalf("old key id, problem format: %d %s", r.status, r.body)
	}
	// The challenge was not consumed by the rejected call; the client retries with the new key.
	if _, tk := e.login(tok, testNIP); tk.AccessToken.Token == "" {
		t.Fatal("login with the new key failed")
	}
	e.noViolations()
}
