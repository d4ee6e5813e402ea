package ksef

import (
	"context"
	"fmt"
	"time"
)

// Authenticator is one way of proving who the client is. It starts KSeF's
// authentication operation for a context — POST /auth/ksef-token for a KSeF token,
// POST /auth/xades-signature for a certificate — and the Client does the rest that
// every method shares: polling the operation, redeeming the tokens, caching and
// refreshing them. Implementations never reveal their secret in any method's result.
type Authenticator interface {
	// Check reports what can be known to be wrong without a network call (an empty
	// or malformed token, an expired certificate).
	Check() error
	// Start begins an authentication operation in context id with challenge ch (nil:
	// fetch a fresh one) and returns it with the challenge used.
	Start(ctx context.Context, c *Client, id ContextIdentifier, ch *Challenge) (*AuthInit, *Challenge, error)
	// Method names the method for reports and audit rows ("ksef-token", "xades").
	Method() string
	// Describe says which credential this is, for test-connection and audit rows,
	// without revealing it.
	Describe() string
	// Fingerprint identifies the credential (the hex SHA-256 of the token or of the
	// certificate) in cache keys and records.
	Fingerprint() string
}

// TokenAuth authenticates with a KSeF token: the first Authenticator. Its String and
// GoString hide the token.
type TokenAuth struct {
	// Token is the KSeF token (secret).
	Token string
}

var _ Authenticator = TokenAuth{}

// Check refuses an empty token.
func (a TokenAuth) Check() error {
	if a.Token == "" {
		return &TokenFormatError{Reason: "the token is empty; configure the KSeF token"}
	}
	return nil
}

// Start calls POST /auth/ksef-token (AuthenticateKSeFToken).
func (a TokenAuth) Start(ctx context.Context, c *Client, id ContextIdentifier, ch *Challenge) (*AuthInit, *Challenge, error) {
	return c.AuthenticateKSeFToken(ctx, KSeFTokenAuth{Token: a.Token, Context: id, Challenge: ch})
}

// Method is "ksef-token".
func (a TokenAuth) Method() string { return "ksef-token" }

// Describe names the token by its reference number and short fingerprint.
func (a TokenAuth) Describe() string {
	fp := a.Fingerprint()
	if len(fp) > 12 {
		fp = fp[:12]
	}
	if info, err := ParseToken(a.Token); err == nil {
		return fmt.Sprintf("KSeF token %s (fingerprint %s)", info.Reference, fp)
	}
	return "KSeF token (fingerprint " + fp + ")"
}

// Fingerprint is the hex SHA-256 of the token.
func (a TokenAuth) Fingerprint() string { return TokenFingerprint(a.Token) }

// String hides the token.
func (a TokenAuth) String() string { return "TokenAuth{" + a.Describe() + "}" }

// GoString hides the token in %#v output too.
func (a TokenAuth) GoString() string { return a.String() }

// Credentials identify whom AccessToken authenticates. String hides the secret.
type Credentials struct {
	// Auth proves who the client is (a TokenAuth, a certificate).
	Auth Authenticator
	// NIP is the context NIP to authenticate in.
	NIP string
	// CacheKey names the TokenCache row; empty derives one from the API base
	// URL, the NIP and the credential's fingerprint.
	CacheKey string
	// Margin is how much validity a cached access token must have left to be
	// reused (default DefaultMargin).
	Margin time.Duration
}

// String hides the secret.
func (cr Credentials) String() string {
	return fmt.Sprintf("Credentials{NIP %s, cache key %q}", cr.NIP, cr.CacheKey)
}

// GoString hides the secret in %#v output too.
func (cr Credentials) GoString() string { return cr.String() }

// CacheKey returns the TokenCache key used for cr.
func (c *Client) CacheKey(cr Credentials) string {
	if cr.CacheKey != "" {
		return cr.CacheKey
	}
	fp := ""
	if cr.Auth != nil {
		fp = cr.Auth.Fingerprint()
	}
	return "ksef|" + c.base + "|" + cr.NIP + "|" + fp
}
