package ops

import (
	"net/http"
	"time"

	"github.com/ksefpl/ksefpl/pkg/config"
	"github.com/ksefpl/ksefpl/pkg/ksef"
	"github.com/ksefpl/ksefpl/pkg/secret"
	"github.com/ksefpl/ksefpl/pkg/store"
)

// Env is what the token workflows need from the application.
type Env struct {
	Config *config.Service
	DB     *store.DB
	Keys   *secret.Keyring
	// Getenv reads environment variables (for the override warning); nil reads none.
	Getenv func(string) string
	// Version is ksefpl's version, sent in the User-Agent.
	Version string
	// HTTPClient is used for KSeF calls (optional).
	HTTPClient *http.Client
	// Retry is the KSeF retry policy (zero: the client's defaults).
	Retry ksef.RetryPolicy
	// Now is the clock (default time.Now).
	Now func() time.Time
}

func (e Env) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

func (e Env) getenv(name string) string {
	if e.Getenv == nil {
		return ""
	}
	return e.Getenv(name)
}
