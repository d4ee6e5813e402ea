package ops

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/ksefpl/ksefpl/pkg/config"
	"github.com/ksefpl/ksefpl/pkg/home"
	"github.com/ksefpl/ksefpl/pkg/ksefsim"
	"github.com/ksefpl/ksefpl/pkg/store"
	"github.com/ksefpl/ksefpl/pkg/website"
)

const (
	nipBase  = "5261040828"
	nipOther = "7740001454"
)

// fixture is a home with website base configured against a running simulator and an
// old token stored at the default scope.
type fixture struct {
	t    *testing.T
	ctx  context.Context
	sim  *ksefsim.Server
	url  string
	h    *home.Home
	vars map[string]string
	cfg  *config.Service
	old  string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	sim, err := ksefsim.New(ksefsim.Config{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	f := &fixture{t: t, ctx: context.Background(), sim: sim, url: srv.URL, vars: map[string]string{}}
	f.h, _, err = home.Open(f.ctx, filepath.Join(t.TempDir(), "home"), f.getenv, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.h.Close() })
	f.cfg = config.New(f.h.DB, f.h.Keys, f.getenv)
	f.set(config.PathEnvironment, "local", config.Default)
	f.set(config.PathBaseURL, srv.URL+"/v2", config.Default)
	f.set(config.PathSellerNIP, nipBase, config.Default)
	f.old = f.issue(nipBase)
	f.set(config.PathAPIToken, f.old, config.Default)
	return f
}

func (f *fixture) getenv(k string) string { return f.vars[k] }

func (f *fixture) env() Env {
	return Env{Config: f.cfg, DB: f.h.DB, Keys: f.h.Keys, Getenv: f.getenv, Version: "test"}
}

func (f *fixture) set(path, v string, sc config.Scope) {
	f.t.Helper()
	if _, err := f.cfg.Set(f.ctx, path, v, sc); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) issue(nip string) string {
	f.t.Helper()
	tok, err := f.sim.IssueToken(nip)
	if err != nil {
		f.t.Fatal(err)
	}
	return tok
}

func (f *fixture) scope(code string) config.Scope {
	f.t.Helper()
	sc, err := f.cfg.WebsiteScope(f.ctx, code)
	if err != nil {
		f.t.Fatal(err)
	}
	return sc
}

// warmCache authenticates website code with its effective token through the persistent
// cache, as submit does, and returns the cache key it wrote.
func (f *fixture) warmCache(code string) string {
	f.t.Helper()
	s, err := website.Load(f.ctx, f.cfg, f.scope(code))
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
