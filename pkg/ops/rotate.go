package ops

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ksefpl/ksefpl/pkg/authcache"
	"github.com/ksefpl/ksefpl/pkg/config"
	"github.com/ksefpl/ksefpl/pkg/deps"
	"github.com/ksefpl/ksefpl/pkg/failure"
	"github.com/ksefpl/ksefpl/pkg/ksef"
	"github.com/ksefpl/ksefpl/pkg/queue"
	"github.com/ksefpl/ksefpl/pkg/secret"
	"github.com/ksefpl/ksefpl/pkg/store"
	"github.com/ksefpl/ksefpl/pkg/website"
)

// Audit reasons written by RotateToken.
const (
	ReasonTokenRotated      = "TOKEN_ROTATED"
	ReasonTokenRevoked      = "TOKEN_REVOKED"
	ReasonTokenRevokeFailed = "TOKEN_REVOKE_FAILED"
)

// ActorRotate is the audit actor and outcome source of rotate-token.
const ActorRotate = "rotate-token"

// DefaultPollInterval is how often RotateToken looks at in-flight sessions while waiting.
const DefaultPollInterval = 2 * time.Second

// RotateOptions say what RotateToken does.
type RotateOptions struct {
	// SaveAt is where the token is stored: config.Default or a websites scope.
	SaveAt config.Scope
	// NewToken is the new KSeF token (secret; never logged or returned).
	NewToken string
	// Wait is how long to wait for in-flight sessions before dropping the old token's
	// cached tokens; 0 looks once.
	Wait time.Duration
	// PollInterval is how often the sessions are read while waiting (default
	// DefaultPollInterval).
	PollInterval time.Duration
	// RevokeOld revokes the old token through the API (DELETE /tokens/{ref}).
	RevokeOld bool
}

// InFlightSession is a session that kept the old token's cache.
type InFlightSession struct {
	Reference string `json:"session_reference"`
	Website   string `json:"website"`
	Status    string `json:"status"`
}

// RevokeOutcome says what happened to the old token.
type RevokeOutcome struct {
	// Revoked is true when KSeF accepted the revocation or the token was already revoked.
	Revoked bool `json:"revoked"`
	// AuthenticatedAs is "old token" or "new token": whose access token made the call.
	AuthenticatedAs string `json:"authenticated_as,omitempty"`
	// AlreadyRevoked is true when KSeF already refused the old token as revoked.
	AlreadyRevoked bool `json:"already_revoked,omitempty"`
	// Message describes the outcome for people.
	Message string `json:"message"`
}

// RotateResult reports a rotation. It holds fingerprints and reference numbers, never
// tokens.
type RotateResult struct {
	Scope          string   `json:"scope"`
	Websites       []string `json:"websites"`
	OldFingerprint string   `json:"old_fingerprint,omitempty"`
	NewFingerprint string   `json:"new_fingerprint"`
	OldReference   string   `json:"old_reference,omitempty"`
	NewReference   string   `json:"new_reference"`
	// CacheCleared is how many cached token rows of the old token were dropped.
	CacheCleared int64 `json:"cache_cleared"`
	// InFlight lists the sessions still in flight when the wait ended: the old token's
	// cached tokens were kept for them.
	InFlight []InFlightSession `json:"in_flight_sessions"`
	// ReleasedJobs is how many AUTH_ERROR jobs the verified token released.
	ReleasedJobs int `json:"released_jobs"`
	// EnvOverrides are the environment variables that override the stored token for the
	// affected websites: they must be updated too.
	EnvOverrides []string `json:"env_overrides"`
	// Revoke is set when RevokeOld was asked for.
	Revoke *RevokeOutcome `json:"revoke,omitempty"`
	// Reminder tells the operator to delete the old token when it was not revoked.
	Reminder string `json:"reminder,omitempty"`
}

// target is one website affected by the rotation.
type target struct {
	scope    config.Scope
	settings *website.Settings
	envVar   string // the variable overriding its token, if set
	access   string // the new token's access token, after verification
	// verifyOnly marks a website used only to verify the token: its effective token is
	// not the one being replaced.
	verifyOnly bool
}

// RotateToken replaces a stored KSeF token: it authenticates fully with the new token
// against each affected website's environment first (a failing token gives
// *TokenRejectedError and changes nothing), saves it encrypted, records the verified
// outcome (releasing AUTH_ERROR jobs) and an audit row with both fingerprints, waits up
// to Wait for the affected websites' in-flight sessions, then drops the old token's
// cached tokens (kept, and listed, while sessions are still in flight) and, with
// RevokeOld, revokes the old token through the API.
func RotateToken(ctx context.Context, d *deps.Deps, o RotateOptions) (*RotateResult, error) {
	env := d.WithDefaults()
	newTok := strings.TrimSpace(o.NewToken)
	if newTok == "" {
		return nil, &TokenRejectedError{Website: "-", Reason: "the new token is empty"}
	}
	if o.SaveAt.Type == "" {
		o.SaveAt = config.Default
	}
	targets, err := rotationTargets(ctx, env, o.SaveAt)
	if err != nil {
		return nil, err
	}
	res := &RotateResult{Scope: o.SaveAt.String(), NewFingerprint: secret.Fingerprint(newTok),
		Websites: []string{}, InFlight: []InFlightSession{}, EnvOverrides: []string{}}
	oldTok, oldKnown, err := storedToken(ctx, env, o.SaveAt)
	if err != nil {
		return nil, err
	}
	if oldTok != "" {
		res.OldFingerprint = secret.Fingerprint(oldTok)
		if info, err := ksef.ParseToken(oldTok); err == nil {
			res.OldReference = info.Reference
		}
	}
	if res.OldFingerprint == res.NewFingerprint {
		return nil, &SameTokenError{}
	}
	if err := verifyAll(ctx, env, targets, newTok); err != nil {
		return nil, err
	}
	if info, err := ksef.ParseToken(newTok); err == nil {
		res.NewReference = info.Reference
	}

	// Verified: save, and say so.
	if _, err := env.Config.SetKeepingTokenCache(ctx, config.PathAPIToken, newTok, o.SaveAt); err != nil {
		return nil, fmt.Errorf("save the new token: %w", err)
	}
	affected := make([]*target, 0, len(targets))
	for _, t := range targets {
		if !t.verifyOnly {
			affected = append(affected, t)
		}
	}
	for _, t := range affected {
		res.Websites = append(res.Websites, t.scope.WebsiteCode)
		if t.envVar != "" {
			res.EnvOverrides = append(res.EnvOverrides, t.envVar)
			continue // the effective token is still the variable's
		}
		if _, err := env.DB.RecordAuthOutcome(ctx, store.AuthOutcome{WebsiteID: t.scope.WebsiteID, OccurredAt: env.Clock(),
			Source: ActorRotate, Environment: t.settings.EnvironmentName, TokenFingerprint: res.NewFingerprint,
			Success: true, Message: "the new token authenticated before it was saved"}); err != nil {
			return res, err
		}
		n, err := queue.ReleaseAuthErrors(ctx, env.DB, t.scope.WebsiteID, ActorRotate)
		if err != nil {
			return res, err
		}
		res.ReleasedJobs += n
	}
	for _, t := range affected {
		msg := fmt.Sprintf("API token at %s replaced: old fingerprint %s, new fingerprint %s",
			res.Scope, orNone(res.OldFingerprint), res.NewFingerprint)
		if err := env.DB.AppendAudit(ctx, store.AuditEntry{WebsiteID: t.scope.WebsiteID, Event: store.EventAuth,
			Reason: ReasonTokenRotated, Actor: ActorRotate, Message: msg}); err != nil {
			return res, err
		}
	}

	ids := make([]int64, len(affected))
	codes := map[int64]string{}
	for i, t := range affected {
		ids[i] = t.scope.WebsiteID
		codes[t.scope.WebsiteID] = t.scope.WebsiteCode
	}
	pending, err := waitForSessions(ctx, env.DB, ids, o.Wait, o.PollInterval)
	if err != nil {
		return res, err
	}
	for _, s := range pending {
		res.InFlight = append(res.InFlight, InFlightSession{Reference: s.Reference, Website: codes[s.WebsiteID], Status: s.Status})
	}
	if len(pending) == 0 {
		if res.CacheCleared, err = dropOldCache(ctx, env.DB, ids, oldKnown, res.OldFingerprint, res.NewFingerprint); err != nil {
			return res, err
		}
	}

	switch {
	case o.RevokeOld && len(pending) > 0:
		res.Revoke = &RevokeOutcome{Message: fmt.Sprintf("not revoked: %d session(s) still in flight use it; "+
			"delete it in the KSeF portal once they have finished", len(pending))}
	case o.RevokeOld:
		res.Revoke = revokeOld(ctx, env, targets, oldTok, oldKnown)
		reason := ReasonTokenRevoked
		if !res.Revoke.Revoked {
			reason = ReasonTokenRevokeFailed
		}
		for _, t := range affected {
			if err := env.DB.AppendAudit(ctx, store.AuditEntry{WebsiteID: t.scope.WebsiteID, Event: store.EventAuth,
				Reason: reason, Actor: ActorRotate, Message: "old token " + orNone(res.OldFingerprint) + ": " + res.Revoke.Message}); err != nil {
				return res, err
			}
		}
	}
	if oldTok != "" && (res.Revoke == nil || !res.Revoke.Revoked) {
		ref := ""
		if res.OldReference != "" {
			ref = " " + res.OldReference
		}
		res.Reminder = "Delete the old token" + ref + " in the KSeF portal (Tokeny KSeF → unieważnij), " +
			"or run rotate-token with --revoke-old next time: it keeps authenticating until it is revoked."
	}
	return res, nil
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// rotationTargets returns the websites whose effective token is the one stored at
// saveAt: that website, or for the default scope every website without its own token
// (when there is none, the first website, for verification only).
func rotationTargets(ctx context.Context, env *deps.Deps, saveAt config.Scope) ([]*target, error) {
	var scopes []config.Scope
	verifyOnly := false
	if saveAt.Type == store.ScopeWebsites {
		scopes = []config.Scope{saveAt}
	} else if saveAt.Type != store.ScopeDefault {
		return nil, &config.ScopeError{Msg: "rotate-token saves the token at the default scope or for a website (--website CODE)"}
	} else {
		ws, err := env.DB.Websites(ctx)
		if err != nil {
			return nil, err
		}
		for _, w := range ws {
			v, ok, err := env.DB.ConfigGet(ctx, store.ScopeWebsites, w.ID, config.PathAPIToken)
			if err != nil {
				return nil, err
			}
			if !ok || v == "" {
				scopes = append(scopes, config.Scope{Type: store.ScopeWebsites, Code: w.Code, ID: w.ID, WebsiteID: w.ID, WebsiteCode: w.Code})
			}
		}
		if len(scopes) == 0 && len(ws) > 0 {
			verifyOnly = true
			w := ws[0]
			scopes = append(scopes, config.Scope{Type: store.ScopeWebsites, Code: w.Code, ID: w.ID, WebsiteID: w.ID, WebsiteCode: w.Code})
		}
	}
	out := make([]*target, 0, len(scopes))
	for _, sc := range scopes {
		s, err := env.Website(ctx, sc)
		if err != nil {
			return nil, err
		}
		t := &target{scope: sc, settings: s, verifyOnly: verifyOnly}
		for _, name := range []string{config.EnvAPIToken + "_" + strings.ToUpper(sc.WebsiteCode), config.EnvAPIToken} {
			if name == config.EnvAPIToken && saveAt.Type == store.ScopeWebsites {
				continue // the website's stored token wins over the default-scope variable
			}
			if env.Env(name) != "" {
				t.envVar = name
				break
			}
		}
		out = append(out, t)
	}
	return out, nil
}

// storedToken decrypts the token stored exactly at sc; known is false when there is one
// that cannot be decrypted.
func storedToken(ctx context.Context, env *deps.Deps, sc config.Scope) (tok string, known bool, err error) {
	v, ok, err := env.DB.ConfigGet(ctx, sc.Type, sc.ID, config.PathAPIToken)
	if err != nil || !ok || v == "" {
		return "", err == nil, err
	}
	if env.Keys == nil {
		return "", false, nil
	}
	plain, err := env.Keys.Decrypt(v)
	if err != nil {
		return "", false, nil // replaced anyway; its cache rows cannot be told apart
	}
	return plain, true, nil
}

// verifyAll authenticates the new token once per distinct API and NIP of the targets.
func verifyAll(ctx context.Context, env *deps.Deps, targets []*target, tok string) error {
	done := map[string]string{}
	for _, t := range targets {
		k := t.settings.Endpoints.API + "|" + t.settings.Seller.NIP
		if at, ok := done[k]; ok {
			t.access = at
			continue
		}
		at, err := verify(ctx, env, t, tok)
		if err != nil {
			return err
		}
		t.access, done[k] = at, at
	}
	return nil
}

// verify runs a full authentication with tok for t's website, without touching the
// persistent token cache, and returns the access token.
func verify(ctx context.Context, env *deps.Deps, t *target, tok string) (string, error) {
	s := t.settings
	if s.EndpointsErr != nil {
		return "", fmt.Errorf("website %s: %w", s.WebsiteCode, s.EndpointsErr)
	}
	if s.Seller.NIP == "" {
		return "", &ksef.ConfigError{Field: "NIP", Msg: "empty for website " + s.WebsiteCode +
			"; set " + config.PathSellerNIP + " first, so that the new token can be verified"}
	}
	info, err := ksef.ParseToken(tok)
	if err != nil {
		return "", &TokenRejectedError{Website: s.WebsiteCode, Reason: err.Error(), Err: err}
	}
	if info.ContextType != "Nip" || info.ContextValue != s.Seller.NIP {
		return "", &TokenRejectedError{Website: s.WebsiteCode, Reason: fmt.Sprintf(
			"it was generated for %s-%s but the website's seller NIP is %s (20100); use a token generated for NIP %s",
			strings.ToLower(info.ContextType), info.ContextValue, s.Seller.NIP, s.Seller.NIP)}
	}
	c, err := freshClient(env, s)
	if err != nil {
		return "", err
	}
	at, err := c.AccessToken(ctx, ksef.Credentials{Auth: ksef.TokenAuth{Token: tok}, NIP: s.Seller.NIP, Margin: s.Margin})
	if err != nil {
		if failure.Of(err) == failure.Auth {
			return "", &TokenRejectedError{Website: s.WebsiteCode, Reason: err.Error(), Err: err}
		}
		return "", fmt.Errorf("the new token was not saved (nothing changed): verifying it for website %s failed: %w", s.WebsiteCode, err)
	}
	return at, nil
}

// freshClient is a client for s's environment with a private in-memory token cache.
func freshClient(env *deps.Deps, s *website.Settings) (*ksef.Client, error) {
	o := env.ClientOptions()
	o.DB, o.Keys = nil, nil // no persistent token cache: every verification authenticates in full
	return s.Client(o)
}

// waitForSessions polls the websites' in-flight sessions until there are none or wait
// has passed, and returns those still in flight. A cancelled ctx stops the wait.
func waitForSessions(ctx context.Context, db *store.DB, websiteIDs []int64, wait, poll time.Duration) ([]*store.Session, error) {
	if poll <= 0 {
		poll = DefaultPollInterval
	}
	deadline := time.Now().Add(wait)
	for {
		var pending []*store.Session
		for _, id := range websiteIDs {
			ss, err := db.Sessions(ctx, id, store.InFlightSessionStatuses...)
			if err != nil {
				return nil, err
			}
			pending = append(pending, ss...)
		}
		left := time.Until(deadline)
		if len(pending) == 0 || left <= 0 {
			return pending, nil
		}
		timer := time.NewTimer(min(poll, left))
		select {
		case <-ctx.Done():
			timer.Stop()
			return pending, nil
		case <-timer.C:
		}
	}
}

// dropOldCache removes the websites' cache rows of the old token: those keyed by its
// fingerprint, or, when it could not be read, every row not of the new token.
func dropOldCache(ctx context.Context, db *store.DB, websiteIDs []int64, oldKnown bool, oldFP, newFP string) (int64, error) {
	if oldKnown && oldFP == "" {
		return 0, nil // there was no old token
	}
	entries, err := db.CacheEntries(ctx)
	if err != nil {
		return 0, err
	}
	var keys []string
	for _, e := range entries {
		for _, id := range websiteIDs {
			if !strings.HasPrefix(e.Key, authcache.WebsitePrefix(id)) {
				continue
			}
			if (oldKnown && strings.HasSuffix(e.Key, "|"+oldFP)) || (!oldKnown && !strings.HasSuffix(e.Key, "|"+newFP)) {
				keys = append(keys, e.Key)
			}
		}
	}
	return db.CacheDeleteKeys(ctx, keys)
}

// revokeOld revokes the old token: authenticated as itself first (KSeF lets a token
// revoke itself without CredentialsManage), else with the new token's access token
// (which needs CredentialsManage in the context).
func revokeOld(ctx context.Context, env *deps.Deps, targets []*target, oldTok string, oldKnown bool) *RevokeOutcome {
	if oldTok == "" {
		msg := "there was no old token stored at this scope"
		if !oldKnown {
			msg = "the old token could not be decrypted, so its reference number is unknown; delete it in the KSeF portal"
		}
		return &RevokeOutcome{Message: msg}
	}
	info, err := ksef.ParseToken(oldTok)
	if err != nil {
		return &RevokeOutcome{Message: "the old token is not a KSeF 2.0 token, so it cannot be revoked through the API; delete it in the KSeF portal"}
	}
	t := targets[0]
	for _, c := range targets {
		if c.settings.Seller.NIP == info.ContextValue {
			t = c
			break
		}
	}
	c, err := freshClient(env, t.settings)
	if err != nil {
		return &RevokeOutcome{Message: err.Error()}
	}
	at, err := c.AccessToken(ctx, ksef.Credentials{Auth: ksef.TokenAuth{Token: oldTok}, NIP: info.ContextValue, Margin: t.settings.Margin})
	var se *ksef.AuthStatusError
	switch {
	case err == nil:
		if err := c.RevokeToken(ctx, at, info.Reference); err == nil {
			return &RevokeOutcome{Revoked: true, AuthenticatedAs: "old token", Message: "token " + info.Reference + " revoked"}
		}
	case errors.As(err, &se) && se.TokenRevoked():
		return &RevokeOutcome{Revoked: true, AlreadyRevoked: true, Message: "token " + info.Reference + " was already revoked"}
	}
	if err := c.RevokeToken(ctx, t.access, info.Reference); err != nil {
		return &RevokeOutcome{Message: fmt.Sprintf("KSeF did not revoke token %s (%v); delete it in the KSeF portal "+
			"(revoking another token needs the CredentialsManage permission)", info.Reference, err)}
	}
	return &RevokeOutcome{Revoked: true, AuthenticatedAs: "new token", Message: "token " + info.Reference + " revoked"}
}
