package ksef

import (
	"crypto/tls"
	"net/http"
	"strings"
	"sync"
	"time"
)

// RetryPolicy controls retries of KSeF calls. Zero fields take the defaults.
type RetryPolicy struct {
	// MaxAttempts is the total number of attempts of one call, the first
	// included (default 4). 1 disables retries.
	MaxAttempts int
	// BaseBackoff is the first backoff after a network error or 5xx; it doubles
	// each attempt, with full jitter (default 500 ms).
	BaseBackoff time.Duration
	// MaxBackoff caps one backoff (default 10 s).
	MaxBackoff time.Duration
	// RateLimitCeiling caps the total time one call may wait on 429 answers
	// honouring Retry-After (default 60 s); past it the call fails with a
	// *RateLimitError (failure.Unavailable).
	RateLimitCeiling time.Duration
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = 4
	}
	if p.BaseBackoff <= 0 {
		p.BaseBackoff = 500 * time.Millisecond
	}
	if p.MaxBackoff <= 0 {
		p.MaxBackoff = 10 * time.Second
	}
	if p.MaxBackoff < p.BaseBackoff {
		p.MaxBackoff = p.BaseBackoff
	}
	if p.RateLimitCeiling <= 0 {
		p.RateLimitCeiling = 60 * time.Second
	}
	return p
}

// Options configure a Client.
type Options struct {
	// BaseURL is the KSeF 2.0 API base, e.g. https://api-test.ksef.mf.gov.pl/v2
	// (required). Plain http is allowed only for loopback hosts.
	BaseURL string
	// LatarniaURL is the status service base (optional; Latarnia calls fail
	// with a ConfigError without it).
	LatarniaURL string
	// LegacyURL is the KSeF 1.0 API base (host + /api), for the legacy
	// connection-test profile (optional).
	LegacyURL string
	// HTTPClient is used for all calls (optional). The client copies it and
	// makes it refuse redirects; a transport that skips TLS verification is
	// rejected.
	HTTPClient *http.Client
	// Version is put into the User-Agent as ksefpl/<version> (default "dev").
	Version string
	// UserAgent replaces the whole User-Agent header when set.
	UserAgent string
	// Timeout bounds each HTTP attempt (default 30 s).
	Timeout time.Duration
	// Retry is the retry policy.
	Retry RetryPolicy
	// AuthPollTimeout bounds the wait for an authentication operation to
	// leave status 100 (default 2 min).
	AuthPollTimeout time.Duration
	// AuthPollInterval is the first delay between GET /auth/{ref} polls; it
	// grows to 2 s (default 250 ms).
	AuthPollInterval time.Duration
	// StatusPollTimeout bounds WaitForInvoice and WaitForSession (default
	// 5 min).
	StatusPollTimeout time.Duration
	// StatusPollInterval is the first delay between status polls; it grows
	// to 5 s (default 500 ms).
	StatusPollInterval time.Duration
	// TokenCache stores authentication results between runs (default: an
	// in-memory cache private to this Client).
	TokenCache TokenCache
	// Clock returns the current time (default time.Now). Used for token and
	// key validity decisions, never for waiting.
	Clock func() time.Time
	// Pacer spaces the calls of this client (and of every other client given
	// the same Pacer) within the KSeF rate limits. Nil means no pacing unless
	// Pace is set.
	Pacer *Pacer
	// Pace gives the client a private Pacer over the official table when
	// Pacer is nil.
	Pace bool
	// OnSystemWarning, when set, receives every warning KSeF sends in the
	// X-System-Warning header, for every answer (successful or not, retries
	// included), one call per warning, on the goroutine that made the request.
	// It must return quickly and be safe for concurrent use. Warnings of failed
	// calls are also kept in APIError.Warnings.
	OnSystemWarning func(SystemWarning)
	// TestSystemWarning, when set, is sent as X-Test-System-Warning with every
	// API call: KSeF's TEST environment (and the simulator) answer it back as
	// X-System-Warning. It exists to exercise the warning path; leave it empty
	// in production.
	TestSystemWarning string
}

// Client talks to one KSeF environment. It is safe for concurrent use.
type Client struct {
	base        string
	latarnia    string
	legacy      string
	http        *http.Client
	userAgent   string
	timeout     time.Duration
	retry       RetryPolicy
	pollMax     time.Duration
	pollStart   time.Duration
	statusMax   time.Duration
	statusStart time.Duration
	cache       TokenCache
	now         func() time.Time
	onWarning   func(SystemWarning)
	testWarning string

	keysMu sync.Mutex
	keys   map[KeyUsage]*PublicKey

	authMu sync.Mutex

	pacer *Pacer
	// ctxMu guards contexts: the context (NIP) of each access token handed
	// out by AccessToken, keyed by token fingerprint, for pacing.
	ctxMu    sync.Mutex
	contexts map[string]string
}

// NewClient validates the options and builds a Client.
func NewClient(o Options) (*Client, error) {
	if o.BaseURL == "" {
		return nil, &ConfigError{Field: "base URL", Msg: "empty; choose an environment (test, demo, production) or give a local base URL"}
	}
	u, err := checkBaseURL("base URL", o.BaseURL)
	if err != nil {
		return nil, err
	}
	c := &Client{
		base:        strings.TrimSuffix(u.String(), "/"),
		timeout:     o.Timeout,
		retry:       o.Retry.withDefaults(),
		pollMax:     o.AuthPollTimeout,
		pollStart:   o.AuthPollInterval,
		statusMax:   o.StatusPollTimeout,
		statusStart: o.StatusPollInterval,
		cache:       o.TokenCache,
		now:         o.Clock,
		keys:        map[KeyUsage]*PublicKey{},
		pacer:       o.Pacer,
		contexts:    map[string]string{},
		onWarning:   o.OnSystemWarning,
		testWarning: o.TestSystemWarning,
	}
	if c.pacer == nil && o.Pace {
		c.pacer = NewPacer(PacerOptions{})
	}
	if o.LatarniaURL != "" {
		lu, err := checkBaseURL("Latarnia URL", o.LatarniaURL)
		if err != nil {
			return nil, err
		}
		c.latarnia = strings.TrimSuffix(lu.String(), "/")
	}
	if o.LegacyURL != "" {
		gu, err := checkBaseURL("legacy URL", o.LegacyURL)
		if err != nil {
			return nil, err
		}
		c.legacy = strings.TrimSuffix(gu.String(), "/")
	}
	if c.timeout <= 0 {
		c.timeout = 30 * time.Second
	}
	if c.pollMax <= 0 {
		c.pollMax = 2 * time.Minute
	}
	if c.pollStart <= 0 {
		c.pollStart = 250 * time.Millisecond
	}
	if c.statusMax <= 0 {
		c.statusMax = 5 * time.Minute
	}
	if c.statusStart <= 0 {
		c.statusStart = 500 * time.Millisecond
	}
	if c.cache == nil {
		c.cache = NewMemoryTokenCache()
	}
	if c.now == nil {
		c.now = time.Now
	}
	c.userAgent = o.UserAgent
	if c.userAgent == "" {
		v := o.Version
		if v == "" {
			v = "dev"
		}
		c.userAgent = "ksefpl/" + v
	}
	hc, err := buildHTTPClient(o.HTTPClient)
	if err != nil {
		return nil, err
	}
	c.http = hc
	return c, nil
}

// BaseURL returns the API base URL the client talks to.
func (c *Client) BaseURL() string { return c.base }

// Pacer returns the client's Pacer (nil when calls are not paced).
func (c *Client) Pacer() *Pacer { return c.pacer }

func buildHTTPClient(in *http.Client) (*http.Client, error) {
	var hc http.Client
	if in != nil {
		hc = *in
	} else {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		tr.ResponseHeaderTimeout = 60 * time.Second
		hc.Transport = tr
	}
	if tr, ok := hc.Transport.(*http.Transport); ok && tr.TLSClientConfig != nil && tr.TLSClientConfig.InsecureSkipVerify {
		return nil, &ConfigError{Field: "HTTP client", Msg: "TLS certificate verification must stay on (InsecureSkipVerify is set)"}
	}
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &hc, nil
}
