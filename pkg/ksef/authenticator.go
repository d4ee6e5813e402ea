package ksef

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ksefpl/ksefpl/pkg/failure"
)

// DefaultMargin is how long before its expiry a cached access token is
// considered stale: cache entries live 5 minutes shorter than the server says.
const DefaultMargin = 5 * time.Minute

// AccessToken returns a valid access token for cr:
//   - a cached access token valid for more than Margin is returned without
//     any HTTP call;
//   - else a cached refresh token is used (POST /auth/token/refresh, no new
//     challenge) and the result saved;
//   - else a pending authentication saved by an earlier run is resumed;
//   - else the full flow runs (challenge, the Authenticator's Start, poll, redeem), saving
//     TagAuthPending while authorising and TagSessionToken once active.
//
// Session rows expire at the refresh token's validUntil minus Margin, so that
// an expired access token can still be refreshed from the cache. A refused
// refresh token (401 or 21301/21304/21308) leads to a full re-authentication;
// KSeF being unavailable is returned as is and keeps the cache.
func (c *Client) AccessToken(ctx context.Context, cr Credentials) (string, error) {
	tok, err := c.accessToken(ctx, cr)
	if err == nil {
		c.rememberContext(tok, cr.NIP)
	}
	return tok, err
}

func (c *Client) accessToken(ctx context.Context, cr Credentials) (string, error) {
	if cr.Auth == nil {
		return "", &ConfigError{Field: "credentials", Msg: "none given; configure the KSeF token"}
	}
	if err := cr.Auth.Check(); err != nil {
		return "", err
	}
	if cr.NIP == "" {
		return "", &ConfigError{Field: "NIP", Msg: "empty; configure the seller NIP the token was generated for"}
	}
	margin := cr.Margin
	if margin <= 0 {
		margin = DefaultMargin
	}
	key := c.CacheKey(cr)

	c.authMu.Lock()
	defer c.authMu.Unlock()

	cached, err := c.cache.Load(ctx, key)
	if err != nil {
		return "", fmt.Errorf("reading the KSeF token cache: %w", err)
	}
	now := c.now()
	if cached != nil && cached.AccessToken != "" && cached.AccessValidUntil.Sub(now) > margin {
		return cached.AccessToken, nil
	}
	if l, ok := c.cache.(TokenCacheLocker); ok {
		// Another process may be authenticating with the same cache: wait for it, then
		// read again what it saved.
		unlock, err := l.LockKey(ctx, key)
		if err != nil {
			return "", err
		}
		defer unlock()
		if cached, err = c.cache.Load(ctx, key); err != nil {
			return "", fmt.Errorf("reading the KSeF token cache: %w", err)
		}
		now = c.now()
		if cached != nil && cached.AccessToken != "" && cached.AccessValidUntil.Sub(now) > margin {
			return cached.AccessToken, nil
		}
	}
	if cached != nil && cached.RefreshToken != "" && cached.RefreshValidUntil.After(now) {
		at, err := c.Refresh(ctx, cached.RefreshToken)
		if err == nil {
			t := *cached
			t.AccessToken, t.AccessValidUntil = at.Token, at.ValidUntil
			if err := c.saveSession(ctx, key, t, margin); err != nil {
				return "", err
			}
			return at.Token, nil
		}
		if failure.Of(err) != failure.Auth {
			return "", fmt.Errorf("refreshing the KSeF access token: %w", err)
		}
		if err := c.cache.Delete(ctx, key); err != nil {
			return "", fmt.Errorf("clearing the KSeF token cache: %w", err)
		}
		cached = nil
	}
	if cached != nil && cached.AuthReference != "" && cached.AuthenticationToken != "" && cached.AuthValidUntil.After(now) {
		tok, err := c.finishAuth(ctx, key, cached.AuthReference, cached.AuthenticationToken, margin)
		if err == nil {
			return tok, nil
		}
		var ae *APIError
		if !errors.As(err, &ae) || ae.Class() != failure.Auth {
			return "", err
		}
		// The pending operation is gone or already redeemed: start over.
	}
	init, _, err := cr.Auth.Start(ctx, c, ContextIdentifier{Type: "Nip", Value: cr.NIP}, nil)
	if err != nil {
		return "", err
	}
	pending := CachedTokens{AuthReference: init.ReferenceNumber, AuthenticationToken: init.AuthenticationToken.Token, AuthValidUntil: init.AuthenticationToken.ValidUntil}
	if err := c.cache.Save(ctx, key, TagAuthPending, pending, pending.AuthValidUntil); err != nil {
		return "", fmt.Errorf("saving the pending KSeF authentication: %w", err)
	}
	return c.finishAuth(ctx, key, init.ReferenceNumber, init.AuthenticationToken.Token, margin)
}

// finishAuth polls the operation, redeems the tokens and saves the session.
func (c *Client) finishAuth(ctx context.Context, key, ref, authToken string, margin time.Duration) (string, error) {
	if _, err := c.WaitForAuth(ctx, ref, authToken); err != nil {
		var se *AuthStatusError
		if errors.As(err, &se) {
			_ = c.cache.Delete(ctx, key) // the operation is over; the error below matters more
		}
		return "", err
	}
	tp, err := c.Redeem(ctx, authToken)
	if err != nil {
		// Redeem works once. A 429 was not processed, so the pending row can
		// be resumed later; after anything else it is useless.
		var ae *APIError
		if !errors.As(err, &ae) || ae.HTTPStatus != 429 {
			_ = c.cache.Delete(ctx, key)
		}
		return "", err
	}
	t := CachedTokens{
		AccessToken: tp.AccessToken.Token, AccessValidUntil: tp.AccessToken.ValidUntil,
		RefreshToken: tp.RefreshToken.Token, RefreshValidUntil: tp.RefreshToken.ValidUntil,
	}
	if err := c.saveSession(ctx, key, t, margin); err != nil {
		return "", err
	}
	return tp.AccessToken.Token, nil
}

func (c *Client) saveSession(ctx context.Context, key string, t CachedTokens, margin time.Duration) error {
	exp := t.RefreshValidUntil.Add(-margin)
	if a := t.AccessValidUntil.Add(-margin); a.After(exp) {
		exp = a
	}
	if err := c.cache.Save(ctx, key, TagSessionToken, t, exp); err != nil {
		return fmt.Errorf("saving the KSeF session tokens: %w", err)
	}
	return nil
}

// Invalidate forgets the cached tokens for key (for example after KSeF
// answered 401 to a request made with the cached access token).
func (c *Client) Invalidate(ctx context.Context, key string) error {
	c.authMu.Lock()
	defer c.authMu.Unlock()
	if err := c.cache.Delete(ctx, key); err != nil {
		return fmt.Errorf("clearing the KSeF token cache: %w", err)
	}
	return nil
}
