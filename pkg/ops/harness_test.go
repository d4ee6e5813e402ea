package ops

import (
	"context"
	"testing"

	"github.com/ksefpl/ksefpl/internal/ksefpltest"
	"github.com/ksefpl/ksefpl/pkg/config"
	"github.com/ksefpl/ksefpl/pkg/deps"
	"github.com/ksefpl/ksefpl/pkg/home"
	"github.com/ksefpl/ksefpl/pkg/ksefsim"
	"github.com/ksefpl/ksefpl/pkg/store"
	"github.com/ksefpl/ksefpl/pkg/website"
)

const (
	nipBase  = ksefpltest.NIP
	nipOther = ksefpltest.NIPShop2
)

// fixture is the shared fixture (a home with website base configured against a running
// simulator) with an old token stored at the default scope.
type fixture struct {
	*ksefpltest.Fixture
	t   *testing.T
	ctx context.Context
	sim *ksefsim.Server
	url string
	h   *home.Home
	cfg *config.Service
	old string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	x := ksefpltest.NewFixture(t)
	return &fixture{Fixture: x, t: t, ctx: x.Ctx, sim: x.Sim, url: x.URL, h: x.Home, cfg: x.Config(), old: x.Token}
}

func (f *fixture) env() *deps.Deps { return f.Deps }

func (f *fixture) set(path, v string, sc config.Scope) { f.Set(path, v, sc) }

func (f *fixture) issue(nip string) string { return f.IssueToken(nip) }

func (f *fixture) scope(code string) config.Scope { return f.Scope(code) }

// warmCache authenticates website code with its effective token through the persistent
// cache, as submit does, and returns the cache key it wrote.
func (f *fixture) warmCache(code string) string {
	f.t.Helper()
	s, err := f.Deps.Website(f.ctx, f.scope(code))
	if err != nil {
		f.t.Fatal(err)
	}
	c, err := s.Client(website.ClientOptions{DB: f.h.DB, Keys: f.h.Keys})
	if err != nil {
		f.t.Fatal(err)
	}
	if _, err := c.AccessToken(f.ctx, s.Credentials()); err != nil {
		f.t.Fatal(err)
	}
	key := s.Credentials().CacheKey
	if _, ok, _ := f.h.DB.CacheGet(f.ctx, key); !ok {
		f.t.Fatalf("no cache row %s after authentication", key)
	}
	return key
}

func (f *fixture) cached(key string) bool {
	f.t.Helper()
	_, ok, err := f.h.DB.CacheGet(f.ctx, key)
	if err != nil {
		f.t.Fatal(err)
	}
	return ok
}

// rawToken is the ciphertext stored at sc.
func (f *fixture) rawToken(sc config.Scope) string {
	f.t.Helper()
	v, _, err := f.h.DB.ConfigGet(f.ctx, sc.Type, sc.ID, config.PathAPIToken)
	if err != nil {
		f.t.Fatal(err)
	}
	return v
}

// audits returns the reasons of the audit rows, in order.
func (f *fixture) audits() []store.AuditEntry {
	f.t.Helper()
	es, err := f.h.DB.Audit(f.ctx, store.AuditFilter{})
	if err != nil {
		f.t.Fatal(err)
	}
	return es
}

func hasReason(es []store.AuditEntry, reason string) bool {
	for _, e := range es {
		if e.Reason == reason {
			return true
		}
	}
	return false
}
