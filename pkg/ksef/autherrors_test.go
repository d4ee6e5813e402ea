package ksef

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/ksefpl/ksefpl/pkg/failure"
)

// The 450 details of AuthenticationOperationStatusResponse in open-api-2.8.1.json.
var documented450 = []struct {
	detail string
	want   TokenRejection
	hint   string // a word the hint must carry
}{
	{"Nieprawidłowe wyzwanie autoryzacyjne", TokenRejectionChallenge, "challenge"},
	{"Nieprawidłowy token", TokenRejectionInvalid, "does not know this KSeF token"},
	{"Nieprawidłowy czas tokena", TokenRejectionTime, "timestampMs"},
	{"Token unieważniony", TokenRejectionRevoked, "revoked"},
	{"Token nieaktywny", TokenRejectionInactive, "not active"},
	{"Nieprawidłowe szyfrowanie tokena", TokenRejectionEncryption, "decrypt"},
	{"Nieprawidłowe kodowanie tokena", TokenRejectionEncoding, "KSeF 1.0"},
	{"Token nie może być użyty w kontekście nip-1111111111.", TokenRejectionContext, "nip-1111111111"},
}

func TestAuth450DetailsHaveDistinctHints(t *testing.T) {
	hints := map[string]string{}
	for _, tc := range documented450 {
		e := &AuthStatusError{Code: 450, Description: "Uwierzytelnianie zakończone niepowodzeniem z powodu błędnego tokenu", Details: []string{tc.detail}}
		if got := e.TokenRejection(); got != tc.want {
			t.Errorf("%q: rejection %q, want %q", tc.detail, got, tc.want)
		}
		if e.Class() != failure.Auth {
			t.Errorf("%q: class %v, want auth", tc.detail, e.Class())
		}
		h := e.hint()
		if !strings.Contains(h, tc.hint) {
			t.Errorf("%q: hint %q lacks %q", tc.detail, h, tc.hint)
		}
		if prev, dup := hints[h]; dup {
			t.Errorf("%q and %q share the hint %q", prev, tc.detail, h)
		}
		hints[h] = tc.detail
		if !strings.Contains(e.Error(), tc.detail) {
			t.Errorf("%q: the message %q does not quote KSeF's detail", tc.detail, e.Error())
		}
	}
}

func TestAuth450MatchesPolishNotEnglish(t *testing.T) {
	for _, d := range []string{"Invalid token encoding.", "Token is revoked", "Token cannot be used in context nip-1111111111", "Invalid token encryption"} {
		e := &AuthStatusError{Code: 450, Details: []string{d}}
		if r := e.TokenRejection(); r != TokenRejectionUnknown || e.TokenRevoked() || e.WrongContext() {
			t.Errorf("English detail %q was matched (%q)", d, r)
		}
		if !strings.Contains(e.hint(), "rotate-token") {
			t.Errorf("%q: the generic hint %q says nothing to do", d, e.hint())
		}
	}
	e := &AuthStatusError{Code: 460, Details: []string{"Token unieważniony"}}
	if e.TokenRejection() != TokenRejectionUnknown {
		t.Error("a 460 was read as a token rejection")
	}
	e = &AuthStatusError{Code: 450, Details: []string{"Token nie może być użyty w kontekście nip-5265877635."}}
	if !e.WrongContext() || e.RejectedContext() != "nip-5265877635" {
		t.Errorf("context %q", e.RejectedContext())
	}
	for _, d := range []string{"Token unieważniony.", "Token nieaktywny"} {
		if !(&AuthStatusError{Code: 450, Details: []string{d}}).TokenRevoked() {
			t.Errorf("%q is not TokenRevoked", d)
		}
	}
}

// TestTokenEncryptionRejectionRefetchesKeys: KSeF answers 450 "Nieprawidłowe
// szyfrowanie tokena" when the token was encrypted with a key it no longer
// uses; the client drops its key cache, so the next attempt succeeds.
func TestTokenEncryptionRejectionRefetchesKeys(t *testing.T) {
	f := newFakeKSeF(t)
	c := newTestClient(t, f.url(), nil)
	if _, err := c.PublicKey(context.Background(), UsageKSeFTokenEncryption); err != nil {
		t.Fatal(err)
	}
	f.addKey() // KSeF decrypts with the new key only; the client holds the old one
	cr := Credentials{Auth: TokenAuth{Token: f.token}, NIP: f.nip}
	_, err := c.AccessToken(context.Background(), cr)
	var se *AuthStatusError
	if !errors.As(err, &se) || se.TokenRejection() != TokenRejectionEncryption || failure.Of(err) != failure.Auth {
		t.Fatalf("want 450 Nieprawidłowe szyfrowanie tokena, got %v", err)
	}
	if _, err := c.AccessToken(context.Background(), cr); err != nil {
		t.Fatalf("the next attempt did not recover: %v", err)
	}
	if n := f.count("GET /security/public-key-certificates"); n != 2 {
		t.Errorf("keys fetched %d times, want 2 (initial + after the 450)", n)
	}
}
