// Package deps owns the dependency bundle every workflow package receives: the
// configuration service, the store, the deployment keys and the home they come from, the
// HTTP client and retry policy for KSeF and NBP calls, the clock, the process environment
// and ksefpl's version. cmd/ksefpl builds one Deps per process, the way gh builds its
// Factory; tests build one with internal/ksefpltest. A new dependency (a database DSN, a
// signer, an outbox sink) becomes one field here instead of one field in every package.
package deps

import (
	"context"
	"net/http"
	"time"

	"github.com/ksefpl/ksefpl/pkg/config"
	"github.com/ksefpl/ksefpl/pkg/home"
	"github.com/ksefpl/ksefpl/pkg/ksef"
	"github.com/ksefpl/ksefpl/pkg/secret"
	"github.com/ksefpl/ksefpl/pkg/store"
	"github.com/ksefpl/ksefpl/pkg/website"
)

// Deps is what the workflows (submit, queue, test-connection, …) need from the
// application. Its zero-valued optional fields take defaults: Now is time.Now, Getenv
// reads nothing, HTTPClient and Retry are the KSeF client's defaults.
type Deps struct {
	// Home is the data directory the store and keys come from (env.json, the key
	// source); nil when the caller built the store and keys itself.
	Home   *home.Home
	Config *config.Service
	DB     *store.DB
	Keys   *secret.Keyring
	// Version is ksefpl's version, sent in the User-Agent and SystemInfo.
	Version string
	// HTTPClient is used for KSeF and NBP calls (optional).
	HTTPClient *http.Client
	// Retry is the KSeF client's retry policy (zero: defaults).
	Retry ksef.RetryPolicy
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Getenv reads environment variables (default: none).
	Getenv func(string) string
	// Warn receives warnings every command must show its user whatever its output
	// format, e.g. that a connection goes to a custom host (nil: dropped). cmd/ksefpl
	// prints each distinct one once to stderr.
	Warn func(msg string)
}

// FromHome bundles an opened home with the process's environment, version and clock.
func FromHome(h *home.Home, getenv func(string) string, version string, now func() time.Time) *Deps {
	return &Deps{Home: h, Config: config.New(h.DB, h.Keys, getenv), DB: h.DB, Keys: h.Keys,
		Version: version, Now: now, Getenv: getenv}
}

// WithDefaults returns a copy of d whose Now and Getenv are set.
func (d *Deps) WithDefaults() *Deps {
	c := *d
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Getenv == nil {
		c.Getenv = func(string) string { return "" }
	}
	return &c
}

// Clock returns the current time by d's clock.
func (d *Deps) Clock() time.Time {
	if d.Now == nil {
		return time.Now()
	}
	return d.Now()
}

// Env reads an environment variable ("" without Getenv).
func (d *Deps) Env(name string) string {
	if d.Getenv == nil {
		return ""
	}
	return d.Getenv(name)
}

// Website reads the effective settings of the website at sc.
func (d *Deps) Website(ctx context.Context, sc config.Scope) (*website.Settings, error) {
	return website.Load(ctx, website.Source{Config: d.Config, DB: d.DB, Keys: d.Keys, Getenv: d.Getenv, Now: d.Now}, sc)
}

// ClientOptions are the options of a KSeF client for a website: this version, HTTP
// client, retry policy and clock, and the persistent token cache in the store.
func (d *Deps) ClientOptions() website.ClientOptions {
	return website.ClientOptions{Version: d.Version, DB: d.DB, Keys: d.Keys, HTTPClient: d.HTTPClient,
		Retry: d.Retry, Clock: d.Now, Warn: d.Warn}
}
