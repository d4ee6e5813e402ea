// Package website owns the resolved KSeF settings of one website (one legal entity):
// its environment and endpoints, seller NIP and identity, its credential — the API token
// (decrypted, with its source and fingerprint) or, with auth_method certificate, its
// authentication certificate and key (from the store or KSEFPL_API_CERT) — its offline
// certificate, invoice schema and NBP endpoint, read in one place; and it builds the
// KSeF client and the authenticator every command uses for it.
package website

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/ksefpl/ksefpl/pkg/authcache"
	"github.com/ksefpl/ksefpl/pkg/config"
	"github.com/ksefpl/ksefpl/pkg/fa"
	"github.com/ksefpl/ksefpl/pkg/ksef"
	"github.com/ksefpl/ksefpl/pkg/secret"
	"github.com/ksefpl/ksefpl/pkg/store"
)

// Settings are a website's effective KSeF settings. Token is secret: Settings never
// prints it (String hides it).
type Settings struct {
	WebsiteID   int64
	WebsiteCode string

	EnvironmentName string // as configured
	Environment     ksef.Environment
	Endpoints       ksef.Endpoints
	EndpointsErr    error // why Endpoints could not be resolved
	URLOverridden   bool  // ksefpl/connection/base_url replaces the environment's own API URL
	// CustomHost is the host a test, demo or production website's traffic goes to when
	// base_url is not that environment's Ministry of Finance API host (allowed only with
	// ksefpl/connection/allow_custom_host 1); "" otherwise.
	CustomHost string
	APIVersion string
	Margin     time.Duration

	Seller fa.Seller
	Schema fa.Schema
	NBPURL string
	// BatchThreshold is the backlog above which submit --mode auto uses batch sessions.
	BatchThreshold int
	// ValidateSubjectIdentifiers asks KSeF to validate subject identifiers when a
	// session is opened (ksefpl/submit/validate_subject_identifiers).
	ValidateSubjectIdentifiers bool

	// Auth is the authenticator of the configured credential (nil when none).
	Auth ksef.Authenticator

	Token            string
	TokenSource      string // "websites/CODE", "default", or the environment variable
	TokenFromEnv     bool
	TokenFingerprint string
	TokenErr         error // a *config.DecryptError when the stored token cannot be decrypted

	// AuthMethod is config.AuthToken or config.AuthCertificate.
	AuthMethod string
	// AuthCert is the authentication certificate in use (nil: none); OfflineCert the
	// certificate that signs offline QR codes (nil: none).
	AuthCert    *Cert
	OfflineCert *Cert
	// Notify is where the website's job events go (the outbox's receivers).
	Notify Notify

	// CredentialFingerprint identifies the credential AuthMethod uses: the token's or
	// the certificate's fingerprint ("" when there is none). Cached KSeF tokens and
	// authentication outcomes are kept per credential.
	CredentialFingerprint string
}

// Notify is a website's event receivers. WebhookSecret is secret.
type Notify struct {
	WebhookURL    string
	WebhookSecret string
	SecretErr     error // the stored secret cannot be decrypted
	Command       string
	MaxAttempts   int
}

// Configured reports whether any receiver is set.
func (n Notify) Configured() bool { return n.WebhookURL != "" || n.Command != "" }

// LoadNotify reads the website's event receivers alone (ksefpl/notify/*): the outbox's
// delivery needs nothing else of the website, least of all its decrypted credentials.
func LoadNotify(ctx context.Context, svc *config.Service, sc config.Scope) (Notify, error) {
	var n Notify
	var maxAttempts string
	var err error
	for _, f := range []struct {
		dst  *string
		path string
	}{{&n.WebhookURL, config.PathNotifyWebhookURL}, {&n.Command, config.PathNotifyCommand}, {&maxAttempts, config.PathNotifyMaxAttempts}} {
		if *f.dst, err = svc.String(ctx, f.path, sc); err != nil {
			return n, err
		}
	}
	if n.MaxAttempts, err = strconv.Atoi(maxAttempts); err != nil || n.MaxAttempts < 1 {
		n.MaxAttempts = 50
	}
	if n.WebhookURL == "" {
		return n, nil
	}
	sec, _, err := svc.Secret(ctx, config.PathNotifySecret, sc)
	var nf *config.NotFoundError
	var de *config.DecryptError
	switch {
	case errors.As(err, &nf):
	case errors.As(err, &de):
		n.SecretErr = err
	case err != nil:
		return n, err
	default:
		n.WebhookSecret = sec
	}
	return n, nil
}

// String hides the token.
func (s *Settings) String() string {
	return "website.Settings{" + s.WebsiteCode + ", " + string(s.Environment) + ", NIP " + s.Seller.NIP + "}"
}

// GoString hides the token in %#v output too.
func (s *Settings) GoString() string { return s.String() }

// Source is what Load reads: the configuration, and the store, keys and environment that
// hold the website's certificates.
type Source struct {
	Config *config.Service
	// DB holds the stored certificates (nil: none are read).
	DB *store.DB
	// Keys decrypt the certificates' private keys.
	Keys *secret.Keyring
	// Getenv reads the KSEFPL_API_CERT overrides (nil: none).
	Getenv func(string) string
	// Now is the clock of the certificate's validity check (nil: time.Now).
	Now func() time.Time
}

// Load reads the website's effective settings. It fails only on storage errors: missing
// or undecryptable values are left empty (see Missing, TokenErr and Cert.Err) so that
// test-connection can report each problem.
func Load(ctx context.Context, src Source, sc config.Scope) (*Settings, error) {
	svc := src.Config
	s := &Settings{WebsiteID: sc.WebsiteID, WebsiteCode: sc.WebsiteCode}
	str := func(path string) (string, error) { return svc.String(ctx, path, sc) }
	var err error
	get := func(dst *string, path string) {
		if err == nil {
			*dst, err = str(path)
		}
	}
	var baseURL, schema, margin, threshold, validateIDs string
	get(&s.EnvironmentName, config.PathEnvironment)
	get(&s.AuthMethod, config.PathAuthMethod)
	get(&baseURL, config.PathBaseURL)
	get(&s.APIVersion, config.PathAPIVersion)
	get(&margin, config.PathTokenTTLMargin)
	get(&s.Seller.NIP, config.PathSellerNIP)
	get(&s.Seller.Name, config.PathSellerName)
	get(&s.Seller.AddressLine1, config.PathSellerAddress1)
	get(&s.Seller.AddressLine2, config.PathSellerAddress2)
	get(&s.Seller.CountryCode, config.PathSellerCountry)
	get(&s.Seller.BankAccount, config.PathSellerBankAccount)
	get(&s.Seller.BankSWIFT, config.PathSellerBankSWIFT)
	get(&s.Seller.BankName, config.PathSellerBankName)
	get(&schema, config.PathInvoiceSchema)
	get(&s.NBPURL, config.PathNBPBaseURL)
	get(&threshold, config.PathBatchThreshold)
	get(&validateIDs, config.PathValidateSubjectIdentifiers)
	if err != nil {
		return nil, err
	}
	if s.Notify, err = LoadNotify(ctx, svc, sc); err != nil {
		return nil, err
	}
	s.Schema = fa.Schema(schema)
	s.ValidateSubjectIdentifiers = validateIDs == "1"
	if s.BatchThreshold, err = strconv.Atoi(threshold); err != nil {
		s.BatchThreshold = 100
	}
	if s.Margin, err = time.ParseDuration(margin); err != nil || margin == "" {
		s.Margin = ksef.DefaultMargin
	}
	if s.Environment, s.EndpointsErr = ksef.ParseEnvironment(s.EnvironmentName); s.EndpointsErr == nil {
		s.Endpoints, s.EndpointsErr = s.Environment.Endpoints(baseURL)
		if baseURL != "" && s.Environment != ksef.EnvLocal && s.EndpointsErr == nil {
			if err := overrideEndpoints(ctx, svc, sc, s, baseURL); err != nil {
				return nil, err
			}
		}
	}

	tok, v, err := svc.Secret(ctx, config.PathAPIToken, sc)
	var nf *config.NotFoundError
	var de *config.DecryptError
	switch {
	case errors.As(err, &nf):
	case errors.As(err, &de):
		s.TokenErr = err
		s.TokenSource = v.From
	case err != nil:
		return nil, err
	default:
		s.Token, s.TokenSource, s.TokenFromEnv = tok, v.From, v.Source == config.SourceEnv
		s.TokenFingerprint = secret.Fingerprint(tok)
	}
	if s.AuthCert, err = loadCert(ctx, src, sc, store.CertAuthentication); err != nil {
		return nil, err
	}
	if s.OfflineCert, err = loadCert(ctx, src, sc, store.CertOffline); err != nil {
		return nil, err
	}
	switch {
	case s.AuthMethod == config.AuthCertificate:
		if c := s.AuthCert; c != nil && c.Fingerprint != "" {
			s.CredentialFingerprint = c.Fingerprint
			if c.Material != nil {
				s.Auth = c.Authenticator(src.Now)
			}
		}
	case s.Token != "":
		s.Auth = ksef.TokenAuth{Token: s.Token}
		s.CredentialFingerprint = s.TokenFingerprint
	}
	return s, nil
}

// overrideEndpoints applies base_url to a test, demo or production website. The rule
// config:set enforces is checked again (a value saved by an older release or given
// through the environment never went through it): a breach leaves EndpointsErr set, so
// nothing is sent. The official host keeps the environment's own endpoints; any other
// host (a proxy, allowed by allow_custom_host) replaces them and is named in CustomHost.
// The environment keeps its rules (e.g. the production guard).
func overrideEndpoints(ctx context.Context, svc *config.Service, sc config.Scope, s *Settings, baseURL string) error {
	var ie *config.InvalidValueError
	switch err := svc.ConnectionProblem(ctx, sc); {
	case errors.As(err, &ie):
		s.EndpointsErr = err
		return nil
	case err != nil:
		return err
	}
	official, host, err := config.OfficialHost(s.EnvironmentName, baseURL)
	if err != nil {
		s.EndpointsErr = err
		return nil
	}
	if official {
		return nil
	}
	s.Endpoints, s.EndpointsErr = ksef.EnvLocal.Endpoints(baseURL)
	s.URLOverridden, s.CustomHost = true, host
	return nil
}

// Target names where this website's traffic goes, as authentication outcomes record
// it: the environment ("production") when that is its official host or the simulator,
// "production via HOST" for a custom host. A connection test through a custom host
// therefore never counts as one against the environment itself.
func (s *Settings) Target() string {
	if s.CustomHost != "" {
		return s.EnvironmentName + " via " + s.CustomHost
	}
	return s.EnvironmentName
}

// CustomHostWarning is the warning a command using this website's connection prints
// ("" when the host is official or the simulator).
func (s *Settings) CustomHostWarning() string {
	if s.CustomHost == "" {
		return ""
	}
	return config.CustomHostWarning(s.EnvironmentName, s.CustomHost)
}

// UsesCertificate reports whether the website authenticates with a certificate.
func (s *Settings) UsesCertificate() bool { return s.AuthMethod == config.AuthCertificate }

// Missing lists the required settings that have no value.
func (s *Settings) Missing() []string {
	var m []string
	if s.Seller.NIP == "" {
		m = append(m, config.PathSellerNIP)
	}
	switch {
	case s.UsesCertificate():
		if s.AuthCert == nil {
			m = append(m, "an authentication certificate (ksefpl certificate:import)")
		}
	case s.Token == "" && s.TokenErr == nil:
		m = append(m, config.PathAPIToken)
	}
	if s.EnvironmentName == "" {
		m = append(m, config.PathEnvironment)
	}
	return m
}

// ClientOptions tune Client.
type ClientOptions struct {
	Version    string
	DB         *store.DB       // for the persistent token cache (nil: in-memory)
	Keys       *secret.Keyring // encrypts the cache
	HTTPClient *http.Client
	Retry      ksef.RetryPolicy
	Clock      func() time.Time
	// Pacer, when set, keeps the client's calls within KSeF's rate limits.
	Pacer *ksef.Pacer
	// Warn receives the warnings a command using the connection must print (a custom
	// host; KSeF's X-System-Warning headers when OnSystemWarning is nil); nil drops them.
	Warn func(msg string)
	// OnSystemWarning receives each X-System-Warning KSeF sends (nil: they go to Warn).
	OnSystemWarning func(ksef.SystemWarning)
}

// Client builds the KSeF client for this website's environment.
func (s *Settings) Client(o ClientOptions) (*ksef.Client, error) {
	if s.EndpointsErr != nil {
		return nil, s.EndpointsErr
	}
	if w := s.CustomHostWarning(); w != "" && o.Warn != nil {
		o.Warn(w)
	}
	var cache ksef.TokenCache
	if o.DB != nil {
		cache = authcache.New(o.DB, o.Keys)
	}
	onWarning := o.OnSystemWarning
	if onWarning == nil && o.Warn != nil {
		onWarning = warnOnce(o.Warn)
	}
	return ksef.NewClient(ksef.Options{
		BaseURL:     s.Endpoints.API,
		LatarniaURL: s.Endpoints.Latarnia,
		LegacyURL:   s.Endpoints.Legacy,
		HTTPClient:  o.HTTPClient,
		Version:     o.Version,
		Retry:       o.Retry,
		TokenCache:  cache,
		Clock:       o.Clock,
		Pacer:       o.Pacer,

		OnSystemWarning: onWarning,
	})
}

// warnOnce passes each distinct KSeF system warning (by code and message) to warn once.
func warnOnce(warn func(string)) func(ksef.SystemWarning) {
	var mu sync.Mutex
	seen := map[string]bool{}
	return func(w ksef.SystemWarning) {
		mu.Lock()
		first := !seen[w.Key()]
		seen[w.Key()] = true
		mu.Unlock()
		if first {
			warn(w.String())
		}
	}
}

// Credentials are what ksef.Client.AccessToken needs for this website; the cache key
// carries the website so that its rows can be dropped on their own.
func (s *Settings) Credentials() ksef.Credentials {
	return ksef.Credentials{
		Auth:     s.Auth,
		NIP:      s.Seller.NIP,
		CacheKey: authcache.Key(s.WebsiteID, s.Endpoints.API, s.CredentialFingerprint),
		Margin:   s.Margin,
	}
}
