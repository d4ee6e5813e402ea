package ops

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ksefpl/ksefpl/pkg/config"
	"github.com/ksefpl/ksefpl/pkg/failure"
	"github.com/ksefpl/ksefpl/pkg/ksef"
	"github.com/ksefpl/ksefpl/pkg/secret"
	"github.com/ksefpl/ksefpl/pkg/store"
	"github.com/ksefpl/ksefpl/pkg/website"
)

func TestRotateWithBadNewTokenChangesNothing(t *testing.T) {
	f := newFixture(t)
	key := f.warmCache("base")
	revoked := f.issue(nipBase)
	if err := f.sim.RevokeToken(revoked); err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		token string
		want  string
	}{
		"revoked":   {revoked, "450"},
		"other NIP": {f.issue(nipOther), "20100"},
		"garbage":   {"not-a-token", "not a KSeF 2.0 token"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			rawBefore := f.rawToken(config.Default)
			cacheBefore, err := f.h.DB.CacheEntries(f.ctx)
			if err != nil {
				t.Fatal(err)
			}
			_, err = RotateToken(f.ctx, f.env(), RotateOptions{SaveAt: config.Default, NewToken: c.token})
			var tr *TokenRejectedError
			if !errors.As(err, &tr) || failure.Of(err) != failure.Auth {
				t.Fatalf("err = %v (%T), want a TokenRejectedError of class auth", err, err)
			}
			if !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "nothing changed") {
				t.Errorf("message %q lacks %q or 'nothing changed'", err, c.want)
			}
			if strings.Contains(err.Error(), c.token) && name != "garbage" {
				t.Error("the error reveals the token")
			}
			if got := f.rawToken(config.Default); got != rawBefore {
				t.Error("the stored ciphertext changed")
			}
			cacheAfter, _ := f.h.DB.CacheEntries(f.ctx)
			if !reflect.DeepEqual(cacheAfter, cacheBefore) {
				t.Errorf("cache changed:\nbefore %+v\nafter  %+v", cacheBefore, cacheAfter)
			}
			if !f.cached(key) {
				t.Error("the old token's cache row is gone")
			}
			if hasReason(f.audits(), ReasonTokenRotated) {
				t.Error("a rotation was audited")
			}
		})
	}
}

func TestRotateWaitsForInFlightSessionThenDropsOldCache(t *testing.T) {
	f := newFixture(t)
	oldKey := f.warmCache("base")
	newTok := f.issue(nipBase)
	createSession(t, f, "20260101-SO-0000000001-0000000001-01", 1)

	type outcome struct {
		res *RotateResult
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		res, err := RotateToken(f.ctx, f.env(), RotateOptions{SaveAt: config.Default, NewToken: newTok,
			Wait: time.Minute, PollInterval: 5 * time.Millisecond})
		done <- outcome{res, err}
	}()

	// Once the rotation is saved and audited, it is waiting for the session: the old
	// token's cache must still be there. Then a concurrent submit closes the session.
	waitFor(t, func() bool { return hasReason(f.audits(), ReasonTokenRotated) }, done)
	if !f.cached(oldKey) {
		t.Fatal("the old token's cache was dropped while a session was in flight")
	}
	if tok, _, err := f.cfg.Secret(f.ctx, config.PathAPIToken, config.Default); err != nil || tok != newTok {
		t.Fatalf("new token not saved before the wait: %v", err)
	}
	if _, err := f.h.DB.UpdateSession(f.ctx, "20260101-SO-0000000001-0000000001-01", nil, func(s *store.Session) error {
		s.Status, s.ClosedAt = store.SessionClosed, time.Now()
		return nil
	}, store.AuditEntry{Event: store.EventSession}); err != nil {
		t.Fatal(err)
	}
	o := <-done
	if o.err != nil {
		t.Fatal(o.err)
	}
	if f.cached(oldKey) {
		t.Error("the old token's cache row survived the rotation")
	}
	if o.res.CacheCleared != 1 || len(o.res.InFlight) != 0 {
		t.Errorf("result = %+v", o.res)
	}
	if o.res.OldFingerprint != secret.Fingerprint(f.old) || o.res.NewFingerprint != secret.Fingerprint(newTok) {
		t.Error("fingerprints in the result are not those of the old and new token")
	}
	var audit store.AuditEntry
	for _, e := range f.audits() {
		if e.Reason == ReasonTokenRotated {
			audit = e
		}
	}
	if audit.Event != store.EventAuth || audit.WebsiteID != 1 ||
		!strings.Contains(audit.Message, o.res.OldFingerprint) || !strings.Contains(audit.Message, o.res.NewFingerprint) {
		t.Errorf("audit row = %+v", audit)
	}
	for _, e := range f.audits() {
		if strings.Contains(e.Message, f.old) || strings.Contains(e.Message, newTok) {
			t.Errorf("audit row %d reveals a token", e.ID)
		}
	}
	// Without --revoke-old the operator is reminded to delete the old token.
	ref, _ := ksef.ParseToken(f.old)
	if !strings.Contains(o.res.Reminder, ref.Reference) || o.res.Revoke != nil {
		t.Errorf("reminder = %q, revoke = %+v", o.res.Reminder, o.res.Revoke)
	}
	// The new token is what the website now authenticates with.
	newKey := f.warmCache("base")
	if newKey == oldKey || !strings.HasSuffix(newKey, secret.Fingerprint(newTok)) {
		t.Errorf("website authenticates under %s", newKey)
	}
}

func TestRotateTimeoutReportsSessionsAndKeepsOldCache(t *testing.T) {
	f := newFixture(t)
	oldKey := f.warmCache("base")
	createSession(t, f, "20260101-SO-0000000002-0000000002-02", 1)
	res, err := RotateToken(f.ctx, f.env(), RotateOptions{SaveAt: config.Default, NewToken: f.issue(nipBase),
		Wait: 30 * time.Millisecond, PollInterval: 5 * time.Millisecond, RevokeOld: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.InFlight) != 1 || res.InFlight[0].Reference != "20260101-SO-0000000002-0000000002-02" ||
		res.InFlight[0].Website != "base" || res.InFlight[0].Status != store.SessionActive {
		t.Errorf("in flight = %+v", res.InFlight)
	}
	if !f.cached(oldKey) || res.CacheCleared != 0 {
		t.Error("the old token's cache was dropped although a session is still in flight")
	}
	if res.Revoke == nil || res.Revoke.Revoked || !strings.Contains(res.Revoke.Message, "still in flight") {
		t.Errorf("revoke = %+v; the old token must not be revoked under a running session", res.Revoke)
	}
	// The old token still authenticates: it was not revoked.
	if _, err := authenticate(t, f, f.old); err != nil {
		t.Errorf("old token refused: %v", err)
	}
}

func TestRotateRevokeOld(t *testing.T) {
	f := newFixture(t)
	newTok := f.issue(nipBase)
	res, err := RotateToken(f.ctx, f.env(), RotateOptions{SaveAt: config.Default, NewToken: newTok, RevokeOld: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Revoke == nil || !res.Revoke.Revoked || res.Revoke.AuthenticatedAs != "old token" || res.Reminder != "" {
		t.Fatalf("revoke = %+v, reminder %q", res.Revoke, res.Reminder)
	}
	_, err = authenticate(t, f, f.old)
	var se *ksef.AuthStatusError
	if !errors.As(err, &se) || se.Code != 450 {
		t.Fatalf("authentication with the old token after --revoke-old = %v, want status 450", err)
	}
	if _, err := authenticate(t, f, newTok); err != nil {
		t.Fatalf("new token refused: %v", err)
	}
	if !hasReason(f.audits(), ReasonTokenRevoked) {
		t.Error("the revocation was not audited")
	}
	// Rotating again, with the old (now revoked) token already gone, reports it as such.
	third := f.issue(nipBase)
	if err := f.sim.RevokeToken(newTok); err != nil {
		t.Fatal(err)
	}
	res, err = RotateToken(f.ctx, f.env(), RotateOptions{SaveAt: config.Default, NewToken: third, RevokeOld: true})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Revoke.Revoked || !res.Revoke.AlreadyRevoked {
		t.Errorf("revoke of an already revoked token = %+v", res.Revoke)
	}
}

func TestRotateWebsiteScopeLeavesOtherWebsites(t *testing.T) {
	f := newFixture(t)
	if _, err := f.h.DB.CreateWebsite(f.ctx, "shop2", "Shop 2"); err != nil {
		t.Fatal(err)
	}
	shop2 := f.scope("shop2")
	f.set(config.PathSellerNIP, nipOther, shop2)
	f.set(config.PathAPIToken, f.issue(nipOther), shop2)
	baseKey := f.warmCache("base")
	shopKey := f.warmCache("shop2")
	baseRaw := f.rawToken(config.Default)

	// A token for base's NIP is refused for shop2.
	if _, err := RotateToken(f.ctx, f.env(), RotateOptions{SaveAt: shop2, NewToken: f.issue(nipBase)}); err == nil {
		t.Fatal("shop2 accepted a token for another NIP")
	}
	res, err := RotateToken(f.ctx, f.env(), RotateOptions{SaveAt: shop2, NewToken: f.issue(nipOther)})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Websites, []string{"shop2"}) || res.Scope != "websites/shop2" {
		t.Errorf("result = %+v", res)
	}
	if f.cached(shopKey) || !f.cached(baseKey) {
		t.Errorf("shop2 cached=%v (want dropped), base cached=%v (want kept)", f.cached(shopKey), f.cached(baseKey))
	}
	if f.rawToken(config.Default) != baseRaw {
		t.Error("the default-scope token changed")
	}
}

func TestRotateWarnsAboutEnvironmentOverride(t *testing.T) {
	f := newFixture(t)
	f.Setenv(config.EnvAPIToken, "something-else")
	res, err := RotateToken(f.ctx, f.env(), RotateOptions{SaveAt: config.Default, NewToken: f.issue(nipBase)})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.EnvOverrides, []string{config.EnvAPIToken}) {
		t.Errorf("overrides = %v", res.EnvOverrides)
	}
	if _, err := f.h.DB.CreateWebsite(f.ctx, "shop2", "Shop 2"); err != nil {
		t.Fatal(err)
	}
	f.Setenv(config.EnvAPIToken, "") // unset
	f.Setenv("KSEFPL_API_TOKEN_SHOP2", "x")
	res, err = RotateToken(f.ctx, f.env(), RotateOptions{SaveAt: f.scope("shop2"), NewToken: f.issue(nipBase)})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.EnvOverrides, []string{"KSEFPL_API_TOKEN_SHOP2"}) {
		t.Errorf("overrides = %v", res.EnvOverrides)
	}
}

func TestRotateReleasesAuthErrorHoldAndRecordsOutcome(t *testing.T) {
	f := newFixture(t)
	if _, err := f.h.DB.RecordAuthOutcome(f.ctx, store.AuthOutcome{WebsiteID: 1, Source: "test-connection", Reason: "TOKEN_REJECTED"}); err != nil {
		t.Fatal(err)
	}
	newTok := f.issue(nipBase)
	if _, err := RotateToken(f.ctx, f.env(), RotateOptions{SaveAt: config.Default, NewToken: newTok}); err != nil {
		t.Fatal(err)
	}
	o, err := f.h.DB.LastAuthOutcome(f.ctx, 1, "")
	if err != nil || !o.Success || o.Source != ActorRotate || o.TokenFingerprint != secret.Fingerprint(newTok) {
		t.Errorf("last outcome = %+v, %v", o, err)
	}
	if _, err := RotateToken(f.ctx, f.env(), RotateOptions{SaveAt: config.Default, NewToken: newTok}); !errors.As(err, new(*SameTokenError)) {
		t.Errorf("rotating to the stored token: %v", err)
	}
}

// createSession records an in-flight session of the website.
func createSession(t *testing.T, f *fixture, ref string, websiteID int64) {
	t.Helper()
	now := time.Now()
	if err := f.h.DB.CreateSession(f.ctx, store.Session{Reference: ref, WebsiteID: websiteID, Environment: "local",
		APIURL: f.url + "/v2", FormCode: "FA (3)", Status: store.SessionActive, OpenedAt: now, ValidUntil: now.Add(time.Hour)},
		store.AuditEntry{Event: store.EventSession}); err != nil {
		t.Fatal(err)
	}
}

// authenticate runs a full authentication with tok for website base, outside any cache.
func authenticate(t *testing.T, f *fixture, tok string) (string, error) {
	t.Helper()
	s, err := f.Deps.Website(f.ctx, f.scope("base"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.Client(website.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return c.AccessToken(f.ctx, ksef.Credentials{Auth: ksef.TokenAuth{Token: tok}, NIP: s.Seller.NIP})
}

// waitFor polls cond until it holds; it fails the test if done delivers first.
func waitFor[T any](t *testing.T, cond func() bool, done <-chan T) {
	t.Helper()
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for !cond() {
		select {
		case v := <-done:
			t.Fatalf("finished before the condition held: %+v", v)
		case <-ctx.Done():
			t.Fatal("condition never held")
		case <-tick.C:
		}
	}
}
