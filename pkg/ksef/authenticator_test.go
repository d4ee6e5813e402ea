package ksef

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ksefpl/ksefpl/pkg/failure"
)

func TestAccessTokenFullFlowSavesSession(t *testing.T) {
	f := newFakeKSeF(t)
	cache := NewMemoryTokenCache()
	c := newTestClient(t, f.url(), func(o *Options) { o.TokenCache = cache })
	cr := Credentials{Auth: TokenAuth{Token: f.token}, NIP: f.nip}
	tok, err := c.AccessToken(context.Background(), cr)
	if err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	valid := f.access[tok]
	f.mu.Unlock()
	if !valid {
		t.Fatalf("AccessToken returned %q, which the server never issued", tok)
	}
	for _, ep := range []string{"POST /auth/challenge", "POST /auth/ksef-token", "POST /auth/token/redeem", "GET /security/public-key-certificates"} {
		if n := f.count(ep); n != 1 {
			t.Errorf("%s called %d times, want 1", ep, n)
		}
	}
	if n := f.count("GET /auth/{ref}"); n < 2 {
		t.Errorf("auth status polled %d times; the server answers 100 first, so at least 2 polls are needed", n)
	}
	key := c.CacheKey(cr)
	if tag := cache.Tag(key); tag != TagSessionToken {
		t.Errorf("cache tag = %q, want %q", tag, TagSessionToken)
	}
	row, _ := cache.Load(context.Background(), key)
	if row == nil || row.AccessToken != tok || row.RefreshToken == "" {
		t.Fatalf("cache row does not hold the session: %v", row)
	}
	if strings.Contains(row.String(), tok) || strings.Contains(cr.String(), f.token) {
		t.Error("String() output leaks a token")
	}
}

func TestAccessTokenReusesValidCachedToken(t *testing.T) {
	f := newFakeKSeF(t)
	cache := NewMemoryTokenCache()
	c := newTestClient(t, f.url(), func(o *Options) { o.TokenCache = cache })
	cr := Credentials{Auth: TokenAuth{Token: f.token}, NIP: f.nip}
	first, err := c.AccessToken(context.Background(), cr)
	if err != nil {
		t.Fatal(err)
	}
	before := map[string]int{}
	f.mu.Lock()
	for k, v := range f.calls {
		before[k] = v
	}
	f.mu.Unlock()
	// A fresh client (a new run) with the same cache must not call KSeF at all.
	c2 := newTestClient(t, f.url(), func(o *Options) { o.TokenCache = cache })
	second, err := c2.AccessToken(context.Background(), cr)
	if err != nil {
		t.Fatal(err)
	}
	if second != first {
		t.Error("the cached access token was not reused")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for k, v := range f.calls {
		if before[k] != v {
			t.Errorf("%s was called again (%d → %d) although the cached token is valid", k, before[k], v)
		}
	}
}

func TestAccessTokenRefreshesExpiredAccessWithoutChallenge(t *testing.T) {
	f := newFakeKSeF(t)
	clk := newTestClock()
	cache := NewMemoryTokenCacheClock(clk.Now)
	c := newTestClient(t, f.url(), func(o *Options) { o.TokenCache = cache; o.Clock = clk.Now })
	cr := Credentials{Auth: TokenAuth{Token: f.token}, NIP: f.nip}
	first, err := c.AccessToken(context.Background(), cr)
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(20 * time.Minute) // the 15-minute access token has expired, the refresh token has not
	second, err := c.AccessToken(context.Background(), cr)
	if err != nil {
		t.Fatal(err)
	}
	if second == first {
		t.Error("an expired access token was returned")
	}
	if n := f.count("POST /auth/token/refresh"); n != 1 {
		t.Errorf("refresh called %d times, want 1", n)
	}
	if n := f.count("POST /auth/challenge"); n != 1 {
		t.Errorf("challenge called %d times, want 1 (refresh must not start a new authentication)", n)
	}
	row, _ := cache.Load(context.Background(), c.CacheKey(cr))
	if row == nil || row.AccessToken != second {
		t.Error("the refreshed access token was not saved")
	}
}

func TestAccessTokenMarginTriggersRefresh(t *testing.T) {
	f := newFakeKSeF(t)
	clk := newTestClock()
	c := newTestClient(t, f.url(), func(o *Options) { o.TokenCache = NewMemoryTokenCacheClock(clk.Now); o.Clock = clk.Now })
	cr := Credentials{Auth: TokenAuth{Token: f.token}, NIP: f.nip}
	if _, err := c.AccessToken(context.Background(), cr); err != nil {
		t.Fatal(err)
	}
	clk.Advance(11 * time.Minute) // 4 minutes left < default 5-minute margin
	if _, err := c.AccessToken(context.Background(), cr); err != nil {
		t.Fatal(err)
	}
	if n := f.count("POST /auth/token/refresh"); n != 1 {
		t.Errorf("refresh called %d times, want 1 when less than the margin is left", n)
	}
}

func TestAccessTokenRefreshRefusedReauthenticates(t *testing.T) {
	f := newFakeKSeF(t)
	clk := newTestClock()
	c := newTestClient(t, f.url(), func(o *Options) { o.TokenCache = NewMemoryTokenCacheClock(clk.Now); o.Clock = clk.Now })
	cr := Credentials{Auth: TokenAuth{Token: f.token}, NIP: f.nip}
	if _, err := c.AccessToken(context.Background(), cr); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	f.refuseRefresh = true
	f.mu.Unlock()
	clk.Advance(20 * time.Minute)
	tok, err := c.AccessToken(context.Background(), cr)
	if err != nil {
		t.Fatal(err)
	}
	if tok == "" {
		t.Fatal("empty token")
	}
	if n := f.count("POST /auth/token/refresh"); n != 1 {
		t.Errorf("refresh called %d times, want 1", n)
	}
	if n := f.count("POST /auth/challenge"); n != 2 {
		t.Errorf("challenge called %d times, want 2 (a refused refresh must lead to full re-authentication)", n)
	}
	if n := f.count("POST /auth/token/redeem"); n != 2 {
		t.Errorf("redeem called %d times, want 2", n)
	}
}

func TestAccessTokenResumesPendingAuthentication(t *testing.T) {
	f := newFakeKSeF(t)
	cache := NewMemoryTokenCache()
	c := newTestClient(t, f.url(), func(o *Options) { o.TokenCache = cache })
	cr := Credentials{Auth: TokenAuth{Token: f.token}, NIP: f.nip}
	// A previous run started authenticating and stopped before redeeming.
	init, _, err := c.AuthenticateKSeFToken(context.Background(), KSeFTokenAuth{Token: f.token, Context: ContextIdentifier{Type: "Nip", Value: f.nip}})
	if err != nil {
		t.Fatal(err)
	}
	pending := CachedTokens{AuthReference: init.ReferenceNumber, AuthenticationToken: init.AuthenticationToken.Token, AuthValidUntil: init.AuthenticationToken.ValidUntil}
	if err := cache.Save(context.Background(), c.CacheKey(cr), TagAuthPending, pending, pending.AuthValidUntil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.AccessToken(context.Background(), cr); err != nil {
		t.Fatal(err)
	}
	if n := f.count("POST /auth/challenge"); n != 1 {
		t.Errorf("challenge called %d times, want 1: the pending operation should have been resumed", n)
	}
	if n := f.count("POST /auth/token/redeem"); n != 1 {
		t.Errorf("redeem called %d times, want 1", n)
	}
}

func TestAccessTokenWrongContextIsAuthStatusError(t *testing.T) {
	f := newFakeKSeF(t)
	cache := NewMemoryTokenCache()
	c := newTestClient(t, f.url(), func(o *Options) { o.TokenCache = cache })
	cr := Credentials{Auth: TokenAuth{Token: f.token}, NIP: "1111111111"}
	_, err := c.AccessToken(context.Background(), cr)
	var se *AuthStatusError
	if !errors.As(err, &se) || se.Code != 450 || !se.WrongContext() {
		t.Fatalf("want a 450 wrong-context AuthStatusError, got %v", err)
	}
	if failure.Of(err) != failure.Auth {
		t.Errorf("class = %v, want auth", failure.Of(err))
	}
	if !strings.Contains(err.Error(), "different NIP") {
		t.Errorf("message should explain the NIP mismatch: %v", err)
	}
	if strings.Contains(err.Error(), f.token) {
		t.Error("error leaks the token")
	}
	if row, _ := cache.Load(context.Background(), c.CacheKey(cr)); row != nil {
		t.Error("a failed authentication left a cache row")
	}
	if n := f.count("POST /auth/token/redeem"); n != 0 {
		t.Errorf("redeem called %d times after a failed authentication", n)
	}
}

func TestAuthStatusErrorsAreMapped(t *testing.T) {
	cases := []struct {
		st    StatusInfo
		class failure.Class
		want  string
	}{
		{StatusInfo{Code: 415, Description: "Uwierzytelnianie zakończone niepowodzeniem", Details: []string{"Brak przypisanych uprawnień"}}, failure.Auth, "no permissions"},
		{StatusInfo{Code: 450, Description: "x", Details: []string{"Token unieważniony"}}, failure.Auth, "revoked"},
		{StatusInfo{Code: 480, Description: "Uwierzytelnienie zablokowane"}, failure.Auth, "blocked"},
		{StatusInfo{Code: 550, Description: "Operacja została anulowana przez system"}, failure.Unavailable, "retry"},
	}
	for _, tc := range cases {
		f := newFakeKSeF(t)
		st := tc.st
		f.authFail = &st
		c := newTestClient(t, f.url(), nil)
		_, err := c.AccessToken(context.Background(), Credentials{Auth: TokenAuth{Token: f.token}, NIP: f.nip})
		var se *AuthStatusError
		if !errors.As(err, &se) || se.Code != tc.st.Code {
			t.Fatalf("status %d: got %v", tc.st.Code, err)
		}
		if failure.Of(err) != tc.class {
			t.Errorf("status %d: class %v, want %v", tc.st.Code, failure.Of(err), tc.class)
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("status %d: message %q lacks %q", tc.st.Code, err, tc.want)
		}
	}
}

func TestAuthenticateRecoversFromRotatedKey(t *testing.T) {
	f := newFakeKSeF(t)
	c := newTestClient(t, f.url(), nil)
	if _, err := c.PublicKey(context.Background(), UsageKSeFTokenEncryption); err != nil {
		t.Fatal(err)
	}
	f.addKey() // KSeF rotates: the client's cached key id is now unknown
	f.mu.Lock()
	f.rejectKeyOnce = true
	f.mu.Unlock()
	tok, err := c.AccessToken(context.Background(), Credentials{Auth: TokenAuth{Token: f.token}, NIP: f.nip})
	if err != nil {
		t.Fatalf("21470 was not recovered: %v", err)
	}
	if tok == "" {
		t.Fatal("empty token")
	}
	if n := f.count("GET /security/public-key-certificates"); n != 2 {
		t.Errorf("keys fetched %d times, want 2 (initial + after 21470)", n)
	}
	if n := f.count("POST /auth/ksef-token"); n != 2 {
		t.Errorf("ksef-token called %d times, want 2", n)
	}
}

func TestChallengeReturnsTimestamp(t *testing.T) {
	f := newFakeKSeF(t)
	c := newTestClient(t, f.url(), nil)
	ch, err := c.Challenge(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if ch.Timestamp.UnixMilli() != ch.TimestampMs {
		t.Errorf("timestamp %v and timestampMs %d disagree", ch.Timestamp, ch.TimestampMs)
	}
	if len(ch.Challenge) != 36 || ch.ClientIP == "" {
		t.Errorf("unexpected challenge %+v", ch)
	}
}

func TestRedeemTwiceFails(t *testing.T) {
	f := newFakeKSeF(t)
	f.pendingPolls = 0
	c := newTestClient(t, f.url(), nil)
	init, _, err := c.AuthenticateKSeFToken(context.Background(), KSeFTokenAuth{Token: f.token, Context: ContextIdentifier{Type: "Nip", Value: f.nip}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitForAuth(context.Background(), init.ReferenceNumber, init.AuthenticationToken.Token); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Redeem(context.Background(), init.AuthenticationToken.Token); err != nil {
		t.Fatal(err)
	}
	_, err = c.Redeem(context.Background(), init.AuthenticationToken.Token)
	var ae *APIError
	if !errors.As(err, &ae) || !ae.HasCode(21301) || failure.Of(err) != failure.Auth {
		t.Fatalf("second redeem: want APIError 21301 class auth, got %v", err)
	}
}

func TestInvalidateForgetsTokens(t *testing.T) {
	f := newFakeKSeF(t)
	cache := NewMemoryTokenCache()
	c := newTestClient(t, f.url(), func(o *Options) { o.TokenCache = cache })
	cr := Credentials{Auth: TokenAuth{Token: f.token}, NIP: f.nip, CacheKey: "shop-1"}
	if _, err := c.AccessToken(context.Background(), cr); err != nil {
		t.Fatal(err)
	}
	if err := c.Invalidate(context.Background(), "shop-1"); err != nil {
		t.Fatal(err)
	}
	if row, _ := cache.Load(context.Background(), "shop-1"); row != nil {
		t.Error("row still present after Invalidate")
	}
	if _, err := c.AccessToken(context.Background(), cr); err != nil {
		t.Fatal(err)
	}
	if n := f.count("POST /auth/challenge"); n != 2 {
		t.Errorf("challenge called %d times, want 2 after Invalidate", n)
	}
}
