package ksef

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/ksefpl/ksefpl/pkg/failure"
)

// The legacy KSeF 1.0 connection-test profile. KSeF 1.0 was switched off on
// 26 January 2026; this profile exists only so that test-connection can tell
// users still configured for 1.0-style integrations what is wrong. It follows
// the ksefpl simulator's legacy endpoints:
//
//	POST {legacy}/online/Session/AuthorisationChallenge
//	     {"contextIdentifier":{"type":"onip","identifier":NIP}} → {timestamp, challenge}
//	POST {legacy}/online/Session/AuthorisationToken
//	     {"challenge","authorisation","identifier":{"type":"onip","identifier":NIP}}
//	     → {timestamp, referenceNumber, sessionToken:{token}}
//
// authorisation = standard Base64 of HMAC-SHA256(key = the KSeF token as
// UTF-8, data = challenge + timestamp, both exactly as received). The
// reference notes (research §10) do not document this HMAC step at all — real
// KSeF 1.0 sent the token RSA/PKCS#1 v1.5-encrypted inside an
// InitSessionTokenRequest XML — so the encoding is our choice, agreed with the
// simulator (which also accepts lower-case hex): Base64, as every other binary
// value in the KSeF APIs.

// Legacy KSeF 1.0 exception codes mapped to *LegacyAuthError.
const (
	LegacyCodeNIPNotRegistered = 10000
	LegacyCodeNIPMismatch      = 20100
)

// LegacyChallenge is the 1.0 AuthorisationChallenge answer; Timestamp is kept
// exactly as received because it is part of the HMAC input.
type LegacyChallenge struct {
	Timestamp string `json:"timestamp"`
	Challenge string `json:"challenge"`
}

// LegacySession is the result of a legacy authorisation. String hides the
// session token.
type LegacySession struct {
	ReferenceNumber string
	SessionToken    string
	Timestamp       string
}

// String hides the session token.
func (s LegacySession) String() string {
	return fmt.Sprintf("LegacySession{reference %s}", s.ReferenceNumber)
}

// LegacyAuthError is a legacy 1.0 refusal: 10000 (NIP not registered) or
// 20100 (NIP differs from the token's).
type LegacyAuthError struct {
	Code        int
	Description string
	NIP         string
	Err         *APIError
}

// Class is failure.Auth.
func (e *LegacyAuthError) Class() failure.Class { return failure.Auth }

// Unwrap returns the underlying API error.
func (e *LegacyAuthError) Unwrap() error { return e.Err }

// Error describes the failure and what to do about it.
func (e *LegacyAuthError) Error() string {
	switch e.Code {
	case LegacyCodeNIPNotRegistered:
		return fmt.Sprintf("KSeF 1.0 error %d: NIP %s is not registered (%s) — no token was ever generated for this NIP; check the NIP", e.Code, e.NIP, e.Description)
	case LegacyCodeNIPMismatch:
		return fmt.Sprintf("KSeF 1.0 error %d: NIP %s differs from the NIP of the token (%s) — use a token generated for this NIP or fix the NIP", e.Code, e.NIP, e.Description)
	}
	return fmt.Sprintf("KSeF 1.0 error %d: %s", e.Code, e.Description)
}

type legacyIdentifier struct {
	Type       string `json:"type"`
	Identifier string `json:"identifier"`
}

// LegacyAuthorisation returns the standard Base64 of HMAC-SHA256(key=token,
// data=challenge+timestamp).
func LegacyAuthorisation(token, challenge, timestamp string) string {
	m := hmac.New(sha256.New, []byte(token))
	m.Write([]byte(challenge + timestamp))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// LegacyChallenge calls the 1.0 AuthorisationChallenge for nip.
func (c *Client) LegacyChallenge(ctx context.Context, nip string) (*LegacyChallenge, error) {
	if c.legacy == "" {
		return nil, &ConfigError{Field: "legacy URL", Msg: "not configured for this environment"}
	}
	body := map[string]any{"contextIdentifier": legacyIdentifier{Type: "onip", Identifier: nip}}
	var ch LegacyChallenge
	if _, err := c.do(ctx, call{method: "POST", base: c.legacy, path: "/online/Session/AuthorisationChallenge", body: body, idempotent: true, noProblemDetails: true, out: &ch}); err != nil {
		return nil, legacyErr(err, nip)
	}
	if ch.Challenge == "" {
		return nil, &ResponseError{Method: "POST", Path: "/online/Session/AuthorisationChallenge", Err: errors.New("challenge missing")}
	}
	return &ch, nil
}

// LegacyAuthorise runs the whole legacy profile: challenge, HMAC,
// AuthorisationToken. It returns the session or a *LegacyAuthError.
func (c *Client) LegacyAuthorise(ctx context.Context, token, nip string) (*LegacySession, error) {
	ch, err := c.LegacyChallenge(ctx, nip)
	if err != nil {
		return nil, err
	}
	body := map[string]any{
		"challenge":     ch.Challenge,
		"authorisation": LegacyAuthorisation(token, ch.Challenge, ch.Timestamp),
		"identifier":    legacyIdentifier{Type: "onip", Identifier: nip},
	}
	var out struct {
		Timestamp       string `json:"timestamp"`
		ReferenceNumber string `json:"referenceNumber"`
		SessionToken    struct {
			Token string `json:"token"`
		} `json:"sessionToken"`
	}
	if _, err := c.do(ctx, call{method: "POST", base: c.legacy, path: "/online/Session/AuthorisationToken", body: body, noProblemDetails: true, out: &out}); err != nil {
		return nil, legacyErr(err, nip)
	}
	if out.SessionToken.Token == "" {
		return nil, &ResponseError{Method: "POST", Path: "/online/Session/AuthorisationToken", Err: errors.New("sessionToken.token missing")}
	}
	return &LegacySession{ReferenceNumber: out.ReferenceNumber, SessionToken: out.SessionToken.Token, Timestamp: out.Timestamp}, nil
}

func legacyErr(err error, nip string) error {
	var ae *APIError
	if errors.As(err, &ae) {
		for _, code := range []int{LegacyCodeNIPNotRegistered, LegacyCodeNIPMismatch} {
			for _, d := range ae.Exceptions {
				if d.Code == code {
					return &LegacyAuthError{Code: code, Description: d.Description, NIP: nip, Err: ae}
				}
			}
		}
	}
	return err
}
