// Package ksefpltest owns the one test fixture of ksefpl's packages: a real home (SQLite
// file and a freshly generated deployment key, in a temporary directory), the
// dependency bundle over it, a real KSeF simulator over HTTP, websites configured
// against it, and the sample inputs the tests queue. It is imported only by tests. The
// store engine the tests run on is chosen here.
package ksefpltest

import (
	"context"
	"errors"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ksefpl/ksefpl/pkg/certificate"
	"github.com/ksefpl/ksefpl/pkg/config"
	"github.com/ksefpl/ksefpl/pkg/deps"
	"github.com/ksefpl/ksefpl/pkg/home"
	"github.com/ksefpl/ksefpl/pkg/kcert"
	"github.com/ksefpl/ksefpl/pkg/ksef"
	"github.com/ksefpl/ksefpl/pkg/ksefsim"
	"github.com/ksefpl/ksefpl/pkg/store"
	"github.com/ksefpl/ksefpl/pkg/website"
)

// The sellers of the fixture's websites: base, and a second legal entity.
const (
	NIP       = "5261040828"
	NIPShop2  = "7740001454"
	BuyerNIP  = "8567346215"
	Version   = "test"
	websiteDB = "ksefpl.db"
)

// FastRetry retries quickly, for tests that inject faults.
var FastRetry = ksef.RetryPolicy{BaseBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, RateLimitCeiling: 2 * time.Second}

type options struct {
	sim       bool
	simCfg    ksefsim.Config
	configure bool
	official  bool
	now       func() time.Time
}

// Option tunes NewFixture.
type Option func(*options)

// WithSim configures the simulator (default: ksefsim.Config{}).
func WithSim(cfg ksefsim.Config) Option {
	return func(o *options) { o.sim, o.simCfg = true, cfg }
}

// WithOfficialHosts makes the simulator answer as the official KSeF hosts as well
// (https://api.ksef.mf.gov.pl/v2 and the rest, see OfficialHosts), for tests of what
// only the official hosts unlock.
func WithOfficialHosts() Option { return func(o *options) { o.official = true } }

// WithoutSim starts no simulator: the base website gets its seller only (no environment
// or token), for tests of the store, the queue and offline code.
func WithoutSim() Option { return func(o *options) { o.sim = false } }

// Unconfigured leaves every configuration value unset.
func Unconfigured() Option { return func(o *options) { o.configure = false } }

// WithNow sets the clock of Deps.
func WithNow(now func() time.Time) Option { return func(o *options) { o.now = now } }

// Fixture is a home in a temporary directory with its dependencies, optionally a
// running simulator, and the base website configured against it.
type Fixture struct {
	T   testing.TB
	Ctx context.Context
	// Home is the data directory (ksefpl.db, env.json with a generated key).
	Home *home.Home
	// Deps are the workflows' dependencies over Home; Getenv reads Vars; Retry is
	// FastRetry; Version is "test".
	Deps *deps.Deps
	// Sim and URL are the simulator and its address (nil and "" WithoutSim).
	Sim *ksefsim.Server
	URL string
	// Official makes the simulator answer as the official KSeF hosts too (nil unless
	// WithOfficialHosts); Deps.HTTPClient reaches them. See UseOfficialHost.
	Official *OfficialHosts
	// Token is the base website's KSeF token (stored at the default scope).
	Token string

	mu   sync.Mutex
	vars map[string]string
}

// NewFixture builds a fixture: by default with a simulator and the base website
// configured for it (environment local, the simulator's API, seller NIP, name and
// address, and a fresh token at the default scope).
func NewFixture(t testing.TB, opts ...Option) *Fixture {
	t.Helper()
	o := options{sim: true, configure: true}
	for _, fn := range opts {
		fn(&o)
	}
	f := &Fixture{T: t, Ctx: context.Background(), vars: map[string]string{}}
	h, _, err := home.Open(f.Ctx, filepath.Join(t.TempDir(), "home"), f.Getenv, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	f.Home = h
	f.Deps = deps.FromHome(h, f.Getenv, Version, o.now)
	f.Deps.Retry = FastRetry
	if o.sim {
		if f.Sim, err = ksefsim.New(o.simCfg); err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(f.Sim)
		t.Cleanup(srv.Close)
		f.URL = srv.URL
		if o.official {
			if f.Official, err = NewOfficialHosts(f.Sim, t.TempDir()); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(f.Official.Close)
			f.Deps.HTTPClient = f.Official.Client()
		}
	}
	if !o.configure {
		return f
	}
	if o.sim {
		f.Token = f.Configure(config.Default, NIP)
	} else {
		f.SetSeller(config.Default, NIP)
	}
	return f
}

// UseOfficialHost switches the website at sc to environment env (test, demo or
// production) at its official host, which the simulator answers (WithOfficialHosts):
// base_url is deleted at sc and at the default scope.
func (f *Fixture) UseOfficialHost(sc config.Scope, env string) {
	f.T.Helper()
	if f.Official == nil {
		f.T.Fatal("UseOfficialHost needs WithOfficialHosts")
	}
	for _, at := range []config.Scope{sc, config.Default} {
		if err := f.Config().Delete(f.Ctx, config.PathBaseURL, at); err != nil {
			var nf *config.NotFoundError
			if !errors.As(err, &nf) {
				f.T.Fatal(err)
			}
		}
	}
	f.Set(config.PathEnvironment, env, sc)
}

// Getenv reads the fixture's environment variables (Deps and the configuration use it).
func (f *Fixture) Getenv(name string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.vars[name]
}

// Setenv sets an environment variable as the process would see it.
func (f *Fixture) Setenv(name, value string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.vars[name] = value
}

// Config is the configuration service.
func (f *Fixture) Config() *config.Service { return f.Deps.Config }

// DB is the store.
func (f *Fixture) DB() *store.DB { return f.Deps.DB }

// Set saves a configuration value at sc, failing the test when it is refused.
func (f *Fixture) Set(path, value string, sc config.Scope) {
	f.T.Helper()
	if _, err := f.Deps.Config.Set(f.Ctx, path, value, sc); err != nil {
		f.T.Fatalf("config:set %s: %v", path, err)
	}
}

// SetSeller sets the seller NIP, name and address at sc.
func (f *Fixture) SetSeller(sc config.Scope, nip string) {
	f.T.Helper()
	f.Set(config.PathSellerNIP, nip, sc)
	f.Set(config.PathSellerName, "Sprzedawca "+nip, sc)
	f.Set(config.PathSellerAddress1, "ul. Prosta 1", sc)
	f.Set(config.PathSellerAddress2, "00-001 Warszawa", sc)
}

// Configure points sc at the simulator (environment local, its API) with the seller and
// a fresh token for nip, and returns the token.
func (f *Fixture) Configure(sc config.Scope, nip string) string {
	f.T.Helper()
	tok := f.IssueToken(nip)
	f.Set(config.PathEnvironment, "local", sc)
	f.Set(config.PathBaseURL, f.URL+"/v2", sc)
	f.SetSeller(sc, nip)
	f.Set(config.PathAPIToken, tok, sc)
	return tok
}

// IssueToken asks the simulator for a new token for nip.
func (f *Fixture) IssueToken(nip string) string {
	f.T.Helper()
	if f.Sim == nil {
		f.T.Fatal("ksefpltest: IssueToken needs the simulator")
	}
	tok, err := f.Sim.IssueToken(nip)
	if err != nil {
		f.T.Fatal(err)
	}
	return tok
}

// Scope is the websites scope of code.
func (f *Fixture) Scope(code string) config.Scope {
	f.T.Helper()
	sc, err := f.Deps.Config.WebsiteScope(f.Ctx, code)
	if err != nil {
		f.T.Fatal(err)
	}
	return sc
}

// AddWebsite creates website code for the seller nip: configured against the
// simulator with its own token when there is one, else with its seller only.
func (f *Fixture) AddWebsite(code, nip string) config.Scope {
	f.T.Helper()
	if _, err := f.Deps.DB.CreateWebsite(f.Ctx, code, code); err != nil {
		f.T.Fatal(err)
	}
	sc := f.Scope(code)
	if f.Sim != nil {
		f.Configure(sc, nip)
	} else {
		f.SetSeller(sc, nip)
	}
	return sc
}

// OpenDB opens another connection pool on the home's database, as another process would.
func (f *Fixture) OpenDB() *store.DB {
	f.T.Helper()
	db, err := store.Open(f.Ctx, filepath.Join(f.Home.Dir, websiteDB), store.Options{})
	if err != nil {
		f.T.Fatal(err)
	}
	f.T.Cleanup(func() { db.Close() })
	return db
}

// Client is website code's KSeF client as the workflows build it, with the settings it
// came from (its Credentials authenticate as submit does).
func (f *Fixture) Client(code string) (*ksef.Client, *website.Settings) {
	f.T.Helper()
	s, err := f.Deps.Website(f.Ctx, f.Scope(code))
	if err != nil {
		f.T.Fatal(err)
	}
	c, err := s.Client(f.Deps.ClientOptions())
	if err != nil {
		f.T.Fatal(err)
	}
	return c, s
}

// SendElsewhere sends xml to the simulator for the base website's seller as another
// system with the same NIP and credentials would (straight through the KSeF client,
// not through the queue), waits for it and returns its KSeF number.
func (f *Fixture) SendElsewhere(xml []byte) string {
	f.T.Helper()
	c, s := f.Client("base")
	tok, err := c.AccessToken(f.Ctx, s.Credentials())
	if err != nil {
		f.T.Fatal(err)
	}
	sess, err := c.OpenOnlineSession(f.Ctx, tok, ksef.FormCodeFA3())
	if err != nil {
		f.T.Fatal(err)
	}
	sent, err := c.SendInvoice(f.Ctx, tok, sess, xml, ksef.SendOptions{})
	if err != nil {
		f.T.Fatal(err)
	}
	inv, err := c.WaitForInvoice(f.Ctx, tok, sess.ReferenceNumber, sent.ReferenceNumber)
	if err != nil || !inv.Status.Succeeded() {
		f.T.Fatalf("sent elsewhere: %+v, %v", inv, err)
	}
	if err := c.CloseOnlineSession(f.Ctx, tok, sess.ReferenceNumber); err != nil {
		f.T.Fatal(err)
	}
	return inv.KSeFNumber
}

// ImportOfflineCertificate has the simulator issue a KSeF certificate of type Offline
// for nip (key "ec" or "rsa") and imports it as website code's offline certificate, the
// one that signs KOD II of invoices issued offline.
func (f *Fixture) ImportOfflineCertificate(code, nip, key string) *kcert.Material {
	f.T.Helper()
	if f.Sim == nil {
		f.T.Fatal("ImportOfflineCertificate needs the simulator")
	}
	m, err := f.Sim.IssueKSeFCertificate(ksefsim.KSeFCertificateRequest{Type: "Offline", NIP: nip, Key: key})
	if err != nil {
		f.T.Fatal(err)
	}
	p12, err := kcert.EncodePKCS12(m, "")
	if err != nil {
		f.T.Fatal(err)
	}
	if _, err := certificate.Import(f.Ctx, f.Deps, certificate.ImportRequest{Scope: f.Scope(code), Usage: certificate.Offline, PKCS12: p12}); err != nil {
		f.T.Fatal(err)
	}
	return m
}
