package ksef

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"
)

// Challenge is the answer of POST /auth/challenge.
type Challenge struct {
	Challenge string `json:"challenge"`
	// Timestamp is when KSeF generated the challenge (use it for clock skew).
	Timestamp time.Time `json:"timestamp"`
	// TimestampMs is the same instant in Unix milliseconds; it is what goes
	// into the encrypted token.
	TimestampMs int64  `json:"timestampMs"`
	ClientIP    string `json:"clientIp"`
}

// IssuedToken is a JWT issued by KSeF with its expiry (the API's TokenInfo).
// Its String method hides the token.
type IssuedToken struct {
	Token      string    `json:"token"`
	ValidUntil time.Time `json:"validUntil"`
}

// String shows only the expiry.
func (t IssuedToken) String() string {
	return fmt.Sprintf("token(valid until %s)", t.ValidUntil.Format(time.RFC3339))
}

// GoString hides the token in %#v output too.
func (t IssuedToken) GoString() string { return t.String() }

// ContextIdentifier is the authentication context (type Nip, InternalId,
// NipVatUe or PeppolId).
type ContextIdentifier struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

// AuthInit is the answer of POST /auth/ksef-token.
type AuthInit struct {
	// ReferenceNumber is the AU reference of the authentication operation.
	ReferenceNumber string `json:"referenceNumber"`
	// AuthenticationToken authorises polling and the one-time redeem.
	AuthenticationToken IssuedToken `json:"authenticationToken"`
}

// StatusInfo is KSeF's {code, description, details} status object.
type StatusInfo struct {
	Code        int      `json:"code"`
	Description string   `json:"description"`
	Details     []string `json:"details"`
}

// AuthMethodInfo describes the authentication method used.
type AuthMethodInfo struct {
	Category    string `json:"category"`
	Code        string `json:"code"`
	DisplayName string `json:"displayName"`
}

// AuthOperationStatus is the answer of GET /auth/{referenceNumber}.
type AuthOperationStatus struct {
	StartDate                time.Time      `json:"startDate"`
	AuthenticationMethod     string         `json:"authenticationMethod"`
	AuthenticationMethodInfo AuthMethodInfo `json:"authenticationMethodInfo"`
	Status                   StatusInfo     `json:"status"`
	IsTokenRedeemed          bool           `json:"isTokenRedeemed"`
	RefreshTokenValidUntil   *time.Time     `json:"refreshTokenValidUntil"`
}

// Err returns nil while the status is 100 or 200 and an *AuthStatusError for
// the terminal failure statuses.
func (s *AuthOperationStatus) Err() error {
	if s.Status.Code == AuthStatusInProgress || s.Status.Code == AuthStatusSuccess {
		return nil
	}
	return &AuthStatusError{Code: s.Status.Code, Description: s.Status.Description, Details: s.Status.Details}
}

// TokenPair is the answer of POST /auth/token/redeem.
type TokenPair struct {
	AccessToken  IssuedToken `json:"accessToken"`
	RefreshToken IssuedToken `json:"refreshToken"`
}

// AuthorizationPolicy restricts the IP addresses that may use the access token.
type AuthorizationPolicy struct {
	AllowedIPs *AllowedIPs `json:"allowedIps,omitempty"`
}

// AllowedIPs lists allowed client addresses (at most 10 of each kind).
type AllowedIPs struct {
	IP4Addresses []string `json:"ip4Addresses,omitempty"`
	IP4Ranges    []string `json:"ip4Ranges,omitempty"`
	IP4Masks     []string `json:"ip4Masks,omitempty"`
}

// KSeFTokenAuth is the input of AuthenticateKSeFToken.
type KSeFTokenAuth struct {
	// Token is the KSeF token (secret).
	Token string
	// Context is the context to authenticate in; usually {Nip, <NIP>}.
	Context ContextIdentifier
	// Challenge is a fresh challenge; nil fetches one.
	Challenge *Challenge
	// Policy optionally restricts the client IPs.
	Policy *AuthorizationPolicy
}

// String hides the token.
func (a KSeFTokenAuth) String() string {
	return fmt.Sprintf("KSeFTokenAuth{context %s %s}", a.Context.Type, a.Context.Value)
}

// Authentication operation status codes (GET /auth/{ref}).
const (
	AuthStatusInProgress = 100
	AuthStatusSuccess    = 200
)

// Challenge calls POST /auth/challenge (public; safe to retry).
func (c *Client) Challenge(ctx context.Context) (*Challenge, error) {
	var ch Challenge
	if _, err := c.do(ctx, call{method: "POST", path: "/auth/challenge", idempotent: true, out: &ch}); err != nil {
		return nil, err
	}
	if ch.Challenge == "" || ch.TimestampMs == 0 {
		return nil, &ResponseError{Method: "POST", Path: "/auth/challenge", Err: errors.New("challenge or timestampMs missing")}
	}
	return &ch, nil
}

// AuthenticateKSeFToken encrypts "<token>|<timestampMs>" under the
// KsefTokenEncryption key and calls POST /auth/ksef-token. When KSeF answers
// 21470 (the key was rotated) it re-fetches the keys, takes a new challenge and
// tries once more. It returns the init answer and the challenge actually used.
func (c *Client) AuthenticateKSeFToken(ctx context.Context, a KSeFTokenAuth) (*AuthInit, *Challenge, error) {
	if a.Token == "" {
		return nil, nil, &TokenFormatError{Reason: "the token is empty"}
	}
	if a.Context.Type == "" {
		a.Context.Type = "Nip"
	}
	ch := a.Challenge
	for attempt := 1; ; attempt++ {
		if ch == nil {
			var err error
			if ch, err = c.Challenge(ctx); err != nil {
				return nil, nil, err
			}
		}
		key, err := c.PublicKey(ctx, UsageKSeFTokenEncryption)
		if err != nil {
			return nil, ch, err
		}
		enc, err := EncryptKSeFToken(key.Key, a.Token, ch.TimestampMs)
		if err != nil {
			return nil, ch, err
		}
		body := struct {
			Challenge           string               `json:"challenge"`
			ContextIdentifier   ContextIdentifier    `json:"contextIdentifier"`
			EncryptedToken      string               `json:"encryptedToken"`
			PublicKeyID         string               `json:"publicKeyId,omitempty"`
			AuthorizationPolicy *AuthorizationPolicy `json:"authorizationPolicy,omitempty"`
		}{ch.Challenge, a.Context, enc, key.ID, a.Policy}
		var init AuthInit
		_, err = c.do(ctx, call{method: "POST", path: "/auth/ksef-token", body: body, out: &init})
		var ae *APIError
		if err != nil && attempt == 1 && errors.As(err, &ae) && ae.HasCode(ErrCodePublicKeyUnknown) {
			c.ForgetPublicKeys()
			ch = nil
			continue
		}
		if err != nil {
			return nil, ch, err
		}
		if init.ReferenceNumber == "" || init.AuthenticationToken.Token == "" {
			return nil, ch, &ResponseError{Method: "POST", Path: "/auth/ksef-token", Err: errors.New("referenceNumber or authenticationToken missing")}
		}
		return &init, ch, nil
	}
}

// AuthStatus calls GET /auth/{referenceNumber} once. A failed authentication
// is not an error of this call: inspect Status or use Err.
func (c *Client) AuthStatus(ctx context.Context, referenceNumber, authenticationToken string) (*AuthOperationStatus, error) {
	var st AuthOperationStatus
	_, err := c.do(ctx, call{method: "GET", path: "/auth/" + url.PathEscape(referenceNumber), bearer: authenticationToken, idempotent: true, out: &st})
	if err != nil {
		return nil, err
	}
	return &st, nil
}

// WaitForAuth polls GET /auth/{referenceNumber} while the status is 100, with
// growing delays, up to Options.AuthPollTimeout. It returns the final status,
// or an *AuthStatusError for failure statuses. After a 450 "Nieprawidłowe
// szyfrowanie tokena" it empties the public-key cache, so that the next
// attempt encrypts with freshly fetched keys.
func (c *Client) WaitForAuth(ctx context.Context, referenceNumber, authenticationToken string) (*AuthOperationStatus, error) {
	deadline := time.Now().Add(c.pollMax)
	delay := c.pollStart
	for {
		st, err := c.AuthStatus(ctx, referenceNumber, authenticationToken)
		if err != nil {
			return nil, err
		}
		if st.Status.Code != AuthStatusInProgress {
			err := st.Err()
			var se *AuthStatusError
			if errors.As(err, &se) && se.TokenRejection() == TokenRejectionEncryption {
				// KSeF could not decrypt the token: the cached key may be one
				// it no longer uses; the next attempt fetches the keys again.
				c.ForgetPublicKeys()
			}
			return st, err
		}
		if time.Now().Add(delay).After(deadline) {
			return st, &AuthPendingError{ReferenceNumber: referenceNumber, Waited: c.pollMax}
		}
		if err := sleep(ctx, delay); err != nil {
			return nil, fmt.Errorf("waiting for authentication %s: %w", referenceNumber, err)
		}
		delay = min(delay*2, 2*time.Second)
	}
}

// Redeem calls POST /auth/token/redeem exactly once — it is never retried, as
// KSeF hands the tokens out only once.
func (c *Client) Redeem(ctx context.Context, authenticationToken string) (*TokenPair, error) {
	var tp TokenPair
	if _, err := c.do(ctx, call{method: "POST", path: "/auth/token/redeem", bearer: authenticationToken, noRetry: true, out: &tp}); err != nil {
		return nil, err
	}
	if tp.AccessToken.Token == "" || tp.RefreshToken.Token == "" {
		return nil, &ResponseError{Method: "POST", Path: "/auth/token/redeem", Err: errors.New("accessToken or refreshToken missing")}
	}
	return &tp, nil
}

// Refresh calls POST /auth/token/refresh with the refresh token and returns
// the new access token (the refresh token is not rotated).
func (c *Client) Refresh(ctx context.Context, refreshToken string) (*IssuedToken, error) {
	var out struct {
		AccessToken IssuedToken `json:"accessToken"`
	}
	if _, err := c.do(ctx, call{method: "POST", path: "/auth/token/refresh", bearer: refreshToken, idempotent: true, out: &out}); err != nil {
		return nil, err
	}
	if out.AccessToken.Token == "" {
		return nil, &ResponseError{Method: "POST", Path: "/auth/token/refresh", Err: errors.New("accessToken missing")}
	}
	return &out.AccessToken, nil
}
