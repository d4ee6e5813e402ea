package conncheck

import (
	"context"
	"crypto/ecdsa"
	"crypto/rsa"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ksefpl/ksefpl/pkg/config"
	"github.com/ksefpl/ksefpl/pkg/deps"
	"github.com/ksefpl/ksefpl/pkg/failure"
	"github.com/ksefpl/ksefpl/pkg/kcert"
	"github.com/ksefpl/ksefpl/pkg/ksef"
	"github.com/ksefpl/ksefpl/pkg/nip"
	"github.com/ksefpl/ksefpl/pkg/queue"
	"github.com/ksefpl/ksefpl/pkg/store"
	"github.com/ksefpl/ksefpl/pkg/website"
)

// Options tune Run.
type Options struct {
	// Network adds the firewall report (FirewallHosts on 443).
	Network bool
	// FirewallHosts default to DefaultFirewallHosts.
	FirewallHosts []string
	// MaxSkew is the clock difference tolerated against KSeF (default 2 min).
	MaxSkew time.Duration
	// DialTimeout bounds each reachability probe (default 5 s).
	DialTimeout time.Duration
}

// DefaultFirewallHosts are the hosts a shop's firewall must let through on 443: the test
// and production KSeF API hosts and the NBP exchange-rate API.
var DefaultFirewallHosts = []string{"api-test.ksef.mf.gov.pl", "api.ksef.mf.gov.pl", "api.nbp.pl"}

// Run tests the connection of the website at sc and records the outcome.
func Run(ctx context.Context, d *deps.Deps, sc config.Scope, o Options) (*Report, error) {
	env := d.WithDefaults()
	if o.MaxSkew == 0 {
		o.MaxSkew = 2 * time.Minute
	}
	if o.DialTimeout == 0 {
		o.DialTimeout = 5 * time.Second
	}
	if o.FirewallHosts == nil {
		o.FirewallHosts = DefaultFirewallHosts
	}
	s, err := env.Website(ctx, sc)
	if err != nil {
		return nil, err
	}
	r := &Report{
		Website: s.WebsiteCode, Environment: s.EnvironmentName, CustomHost: s.CustomHost, APIURL: s.Endpoints.API,
		APIVersion: s.APIVersion, SellerNIP: s.Seller.NIP, AuthMethod: s.AuthMethod,
		CredentialFingerprint: s.CredentialFingerprint, TestedAt: env.Now().UTC(),
	}
	if s.UsesCertificate() {
		r.Certificate = certSummary(s.AuthCert, env.Clock())
	} else {
		r.TokenFingerprint, r.TokenSource = s.TokenFingerprint, s.TokenSource
	}
	rn := &runner{r: r, s: s, o: o, env: env}
	rn.run(ctx)
	r.Success = true
	if _, failed := r.FirstFailure(); failed {
		r.Success = false
	}
	if s.CredentialFingerprint != "" && env.DB != nil {
		c, _ := r.FirstFailure()
		if _, err := env.DB.RecordAuthOutcome(ctx, store.AuthOutcome{
			WebsiteID: s.WebsiteID, OccurredAt: r.TestedAt, Source: "test-connection",
			Environment: s.Target(), TokenFingerprint: s.CredentialFingerprint,
			Success: r.Success, Reason: r.reason(), Message: c.Detail,
		}); err != nil {
			return r, err
		}
		if r.Success {
			// The token works again: jobs held as AUTH_ERROR may be sent.
			n, err := queue.ReleaseAuthErrors(ctx, env.DB, s.WebsiteID, "test-connection")
			if err != nil {
				return r, err
			}
			r.ReleasedJobs = n
		}
	}
	return r, nil
}

type runner struct {
	r      *Report
	s      *website.Settings
	o      Options
	env    *deps.Deps
	client *ksef.Client
}

// step runs fn as the named check and appends its result.
func (rn *runner) step(name string, fn func() Check) Check {
	start := time.Now()
	c := fn()
	c.Name = name
	c.Duration = time.Since(start)
	c.Millis = c.Duration.Milliseconds()
	rn.r.Checks = append(rn.r.Checks, c)
	return c
}

func (rn *runner) skip(name, why string) {
	rn.r.Checks = append(rn.r.Checks, Check{Name: name, Status: Skip, Detail: why})
}

func (rn *runner) run(ctx context.Context) {
	s := rn.s
	cfg := rn.step("configuration", func() Check {
		if m := s.Missing(); len(m) > 0 {
			return Check{Status: Fail, Class: failure.Invalid, Detail: "missing: " + strings.Join(m, ", "),
				Hint: missingHint(s)}
		}
		if s.EndpointsErr != nil {
			return Check{Status: Fail, Class: failure.Invalid, Detail: s.EndpointsErr.Error(),
				Hint: "check " + config.PathEnvironment + " and, for local, " + config.PathBaseURL}
		}
		if s.CustomHost != "" {
			// Allowed by allow_custom_host (config:set refuses it otherwise), but never
			// silent, and the outcome is recorded against "ENV via HOST", not ENV.
			return Check{Status: Warn, Detail: fmt.Sprintf("environment %s through the custom host %s, API %s, NIP %s",
				s.EnvironmentName, s.CustomHost, s.Endpoints.API, s.Seller.NIP),
				Hint: s.CustomHostWarning() + fmt.Sprintf("; a passed test here counts only for %s, never as a test against %s itself",
					s.Target(), s.EnvironmentName)}
		}
		return Check{Status: Pass, Detail: fmt.Sprintf("environment %s, API %s, NIP %s", s.EnvironmentName, s.Endpoints.API, s.Seller.NIP)}
	})
	var credOK, nipOK bool
	if s.UsesCertificate() {
		credOK, nipOK = rn.certificateChecks()
	} else {
		credOK, nipOK = rn.tokenChecks()
	}

	if cfg.Status == Fail && s.EndpointsErr != nil {
		for _, n := range []string{"network reach", "Latarnia status", "public keys", "authentication", "clock skew"} {
			rn.skip(n, "no usable endpoint")
		}
		rn.network(ctx)
		return
	}
	// No persistent token cache: the check authenticates in full every time.
	copts := rn.env.ClientOptions()
	copts.DB, copts.Keys = nil, nil
	client, err := s.Client(copts)
	if err != nil {
		rn.step("network reach", func() Check {
			return Check{Status: Fail, Class: failure.Invalid, Detail: err.Error()}
		})
		rn.network(ctx)
		return
	}
	rn.client = client
	reachC := rn.step("network reach", func() Check { return rn.reach(ctx, s.Endpoints.API) })
	if reachC.Status == Fail {
		for _, n := range []string{"Latarnia status", "public keys", "authentication", "clock skew"} {
			rn.skip(n, "API host not reachable")
		}
		rn.network(ctx)
		return
	}
	rn.step("Latarnia status", func() Check { return rn.latarnia(ctx) })
	if s.APIVersion == "legacy" {
		rn.skip("public keys", "the legacy profile uses none")
	} else {
		rn.step("public keys", func() Check {
			keys, err := client.PublicKeys(ctx)
			if err != nil {
				return fromErr(err, "")
			}
			var us []string
			for u := range keys {
				us = append(us, string(u))
			}
			return Check{Status: Pass, Detail: strings.Join(sortStrings(us), ", ")}
		})
	}
	switch {
	case !credOK || !nipOK:
		rn.skip("authentication", "needs a usable credential and NIP")
		rn.skip("clock skew", "measured during authentication")
	case s.APIVersion == "legacy" && s.UsesCertificate():
		rn.step("authentication", func() Check {
			return Check{Status: Fail, Class: failure.Invalid, Detail: "the legacy (KSeF 1.0) profile tests token connections only",
				Hint: "ksefpl config:set " + config.PathAPIVersion + " 2" + scopeHint(s)}
		})
		rn.skip("clock skew", "not measured by the legacy profile")
	case s.APIVersion == "legacy":
		rn.step("authentication", func() Check { return rn.legacyAuth(ctx) })
		rn.skip("clock skew", "not measured by the legacy profile")
	default:
		var ch *ksef.Challenge
		var received time.Time
		rn.step("authentication", func() Check {
			var c Check
			ch, received, c = rn.auth(ctx)
			return c
		})
		if ch == nil {
			rn.skip("clock skew", "no challenge received")
		} else {
			rn.step("clock skew", func() Check { return rn.skew(ch, received) })
		}
	}
	rn.network(ctx)
}

// missingHint says how to set what the configuration check found missing.
func missingHint(s *website.Settings) string {
	h := "set them with ksefpl config:set PATH VALUE" + scopeHint(s)
	if s.UsesCertificate() {
		return h + "; the certificate: ksefpl certificate:import --file seal.p12" + websiteFlag(s) +
			" (or certificate:enroll, or the " + config.EnvAPICert + " environment variable)"
	}
	return h + " (the token: printf '%s' \"$TOKEN\" | ksefpl config:set " + config.PathAPIToken + " -" + scopeHint(s) + ")"
}

// tokenChecks are the token's checks: decryptable, the seller NIP's checksum and the
// token's context NIP. They report whether the token and the NIP are usable.
func (rn *runner) tokenChecks() (tokenOK, nipOK bool) {
	s := rn.s
	switch {
	case s.TokenErr != nil:
		rn.step("token decryptable", func() Check {
			return Check{Status: Fail, Class: failure.Auth, Detail: config.DecryptMessage, tokenFailure: true,
				Hint: "the deployment key (env.json or KSEFPL_CRYPT_KEY) is not the one the token was saved with"}
		})
	case s.Token == "":
		rn.skip("token decryptable", "no token configured")
	default:
		rn.step("token decryptable", func() Check {
			return Check{Status: Pass, Detail: "token from " + s.TokenSource + ", fingerprint " + short(s.TokenFingerprint)}
		})
		tokenOK = true
	}
	nipOK = rn.nipChecksum()
	if tokenOK && nipOK && s.APIVersion != "legacy" {
		c := rn.step("token context NIP", func() Check { return tokenContext(s) })
		tokenOK = c.Status == Pass
	} else if s.APIVersion == "legacy" {
		rn.skip("token context NIP", "KSeF 1.0 tokens do not carry their context")
	} else {
		rn.skip("token context NIP", "needs a token and a valid NIP")
	}
	return tokenOK, nipOK
}

// nipChecksum checks the configured seller NIP.
func (rn *runner) nipChecksum() bool {
	s := rn.s
	if s.Seller.NIP == "" {
		rn.skip("NIP checksum", "no NIP configured")
		return false
	}
	c := rn.step("NIP checksum", func() Check {
		if err := nip.Validate(s.Seller.NIP); err != nil {
			return Check{Status: Fail, Class: failure.Invalid, Detail: err.Error(), Hint: "correct " + config.PathSellerNIP}
		}
		return Check{Status: Pass, Detail: nip.Format(s.Seller.NIP)}
	})
	return c.Status == Pass
}

// certificateChecks are the authentication certificate's checks, in order: present, key
// decryptable, key matches, validity, and its NIP against the seller NIP. They report
// whether the certificate and the NIP are usable.
func (rn *runner) certificateChecks() (certOK, nipOK bool) {
	s, c := rn.s, rn.s.AuthCert
	names := []string{"certificate present", "key decryptable", "key matches the certificate", "certificate validity"}
	skipRest := func(from int, why string) {
		for _, n := range names[from:] {
			rn.skip(n, why)
		}
	}
	if c == nil {
		rn.step(names[0], func() Check {
			return Check{Status: Fail, Class: failure.Invalid, tokenFailure: true,
				Detail: "auth_method is certificate but website " + s.WebsiteCode + " has no authentication certificate",
				Hint: "import one: ksefpl certificate:import --file seal.p12" + websiteFlag(s) + " (a qualified seal or signature, or a KSeF certificate), " +
					"or set " + config.EnvAPICert + "; or go back to the token: ksefpl config:set " + config.PathAuthMethod + " token" + scopeHint(s)}
		})
		skipRest(1, "no certificate")
		rn.nipChecksum()
		return false, false
	}
	rn.step(names[0], func() Check {
		if c.Certificate.Raw == nil {
			return Check{Status: Fail, Class: failure.Auth, Detail: c.Err.Error(), tokenFailure: true,
				Hint: "set " + c.Source + " to a PEM bundle: the certificate followed by its unencrypted PKCS#8 key"}
		}
		from := c.Source
		if c.Origin != "" {
			from += ", " + c.Origin
		}
		return Check{Status: Pass, Detail: fmt.Sprintf("certificate %s (%s): %s, issued by %s", c.Serial, from,
			kcert.NameString(c.Certificate.Subject), kcert.NameString(c.Certificate.Issuer))}
	})
	if c.Certificate.Raw == nil {
		skipRest(1, "no readable certificate")
		rn.nipChecksum()
		return false, false
	}
	ok := true
	rn.step(names[1], func() Check {
		if c.Err != nil {
			ok = false
			return Check{Status: Fail, Class: failure.Auth, Detail: c.Err.Error(), tokenFailure: true,
				Hint: "the deployment key (env.json or KSEFPL_CRYPT_KEY) is not the one the key was saved with: restore it, or import the certificate again"}
		}
		return Check{Status: Pass, Detail: "private key " + keyKind(c.Material)}
	})
	if ok {
		rn.step(names[2], func() Check {
			if err := c.Material.KeyMatches(); err != nil {
				ok = false
				return Check{Status: Fail, Class: failure.Auth, Detail: err.Error(), tokenFailure: true,
					Hint: "import the certificate together with its own private key"}
			}
			if err := kcert.CheckKey(c.Certificate.PublicKey); err != nil {
				ok = false
				return Check{Status: Fail, Class: failure.Auth, Detail: err.Error(), tokenFailure: true,
					Hint: "KSeF accepts RSA keys of at least 2048 bits and EC keys on P-256 or P-384"}
			}
			return Check{Status: Pass, Detail: "the private key belongs to certificate " + c.Serial}
		})
	} else {
		rn.skip(names[2], "the private key is not usable")
	}
	now := rn.env.Clock()
	rn.step(names[3], func() Check {
		if err := kcert.CheckValidity(c.Certificate, now); err != nil {
			ok = false
			return Check{Status: Fail, Class: failure.Auth, Detail: err.Error(), tokenFailure: true,
				Hint: "renew it: ksefpl certificate:enroll --type authentication" + websiteFlag(s) + ", or import a new one"}
		}
		days := c.DaysLeft(now)
		detail := fmt.Sprintf("valid until %s (%d days left)", c.Certificate.NotAfter.UTC().Format(time.DateOnly), days)
		if days < CertificateWarnDays {
			return Check{Status: Warn, Detail: detail, Hint: "renew it before it expires: ksefpl certificate:enroll --type authentication" + websiteFlag(s)}
		}
		return Check{Status: Pass, Detail: detail}
	})
	nipOK = rn.nipChecksum()
	if nipOK {
		rn.step("certificate identity", func() Check { return certificateIdentity(s, c) })
	} else {
		rn.skip("certificate identity", "needs a valid seller NIP")
	}
	return ok, nipOK
}

// CertificateWarnDays is how close to its expiry a certificate is warned about.
const CertificateWarnDays = 30

// certificateIdentity compares who the certificate identifies with the seller NIP. A
// different subject may still hold permissions in the seller's context (a person with
// ZAW-FA, an accounting office's seal), so a difference is a warning; KSeF's
// authentication decides.
func certificateIdentity(s *website.Settings, c *website.Cert) Check {
	id := kcert.IdentityOf(c.Certificate)
	switch {
	case id.Kind == kcert.IdentityNIP && id.Value == s.Seller.NIP:
		return Check{Status: Pass, Detail: "NIP " + id.Value + " (" + id.Attribute + ") is the seller NIP"}
	case id.Kind == kcert.IdentityNIP:
		return Check{Status: Warn, Detail: fmt.Sprintf("the certificate identifies NIP %s, the seller NIP is %s", id.Value, s.Seller.NIP),
			Hint: "KSeF accepts it only if NIP " + id.Value + " holds permissions in the context of NIP " + s.Seller.NIP}
	case id.Kind == kcert.IdentityPESEL:
		return Check{Status: Warn, Detail: "the certificate identifies a person (PESEL), not NIP " + s.Seller.NIP,
			Hint: "KSeF accepts it only if that person holds permissions in the context of NIP " + s.Seller.NIP + " (e.g. through ZAW-FA)"}
	}
	return Check{Status: Warn, Detail: "the certificate carries no NIP or PESEL: KSeF identifies it by its fingerprint " + c.Fingerprint,
		Hint: "KSeF accepts it only if permissions in the context of NIP " + s.Seller.NIP + " were granted to that fingerprint"}
}

// keyKind describes a key without revealing it ("EC P-256", "RSA 2048").
func keyKind(m *kcert.Material) string {
	switch k := m.Key.Public().(type) {
	case *ecdsa.PublicKey:
		return "EC " + k.Curve.Params().Name
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA %d", k.N.BitLen())
	}
	return fmt.Sprintf("%T", m.Key.Public())
}

// websiteFlag is the --website flag for hints ("" for base).
func websiteFlag(s *website.Settings) string {
	if s.WebsiteCode == "" || s.WebsiteCode == "base" {
		return ""
	}
	return " --website " + s.WebsiteCode
}

// tokenContext compares the token's embedded context with the configured NIP.
func tokenContext(s *website.Settings) Check {
	info, err := ksef.ParseToken(s.Token)
	if err != nil {
		return Check{Status: Fail, Class: failure.Invalid, Detail: err.Error(), tokenFailure: true,
			Hint: "re-enter the whole KSeF 2.0 token: printf '%s' \"$TOKEN\" | ksefpl config:set " + config.PathAPIToken + " -" + scopeHint(s)}
	}
	if info.ContextType != "Nip" || info.ContextValue != s.Seller.NIP {
		return Check{Status: Fail, Class: failure.Auth, Code: "20100", tokenFailure: true,
			Detail: fmt.Sprintf("NIP differs from the token's context (20100): the token was generated for %s-%s, the configured seller NIP is %s",
				strings.ToLower(info.ContextType), info.ContextValue, s.Seller.NIP),
			Hint: "use a token generated for NIP " + s.Seller.NIP + ", or correct " + config.PathSellerNIP + scopeHint(s)}
	}
	return Check{Status: Pass, Detail: "token " + info.Reference + " is for NIP " + info.ContextValue}
}

// reach dials the API host (TLS for https) to tell DNS/TCP/TLS problems apart from
// API errors.
func (rn *runner) reach(ctx context.Context, api string) Check {
	host, port, useTLS, err := hostPort(api)
	if err != nil {
		return Check{Status: Fail, Class: failure.Invalid, Detail: err.Error()}
	}
	via, err := probe(ctx, rn.env.HTTPClient, api, rn.o.DialTimeout)
	if err != nil {
		return Check{Status: Fail, Class: failure.Unavailable, Detail: fmt.Sprintf("%s:%d: %v", host, port, err),
			Hint: fmt.Sprintf("allow outbound HTTPS to %s:%d in the firewall (run with --network for the full list) and check DNS", host, port)}
	}
	kind := "plain HTTP"
	if useTLS {
		kind = "TLS verified"
	}
	if via != "" {
		kind += ", through the proxy " + via
	}
	return Check{Status: Pass, Detail: fmt.Sprintf("%s:%d (%s)", host, port, kind)}
}

func (rn *runner) latarnia(ctx context.Context) Check {
	st, err := rn.client.Latarnia().Status(ctx)
	if err != nil {
		return fromErr(err, "KSeF's status service (Latarnia) could not be read")
	}
	if !st.Available() {
		var titles []string
		for _, m := range st.Messages {
			titles = append(titles, m.Title)
		}
		return Check{Status: Fail, Class: failure.Unavailable, Detail: "KSeF status: " + st.Status + " " + strings.Join(titles, "; "),
			Hint: "KSeF announces maintenance or a failure: wait and run test-connection again (invoices stay queued)"}
	}
	return Check{Status: Pass, Detail: st.Status}
}

// auth runs the full authentication with the website's credential: challenge, the
// authenticator's start (ksef-token), poll, redeem.
func (rn *runner) auth(ctx context.Context) (*ksef.Challenge, time.Time, Check) {
	s, c := rn.s, rn.client
	init, ch, err := s.Auth.Start(ctx, c, ksef.ContextIdentifier{Type: "Nip", Value: s.Seller.NIP}, nil)
	received := rn.env.Now()
	if err != nil {
		return ch, received, authFailure(err, s)
	}
	if _, err := c.WaitForAuth(ctx, init.ReferenceNumber, init.AuthenticationToken.Token); err != nil {
		return ch, received, authFailure(err, s)
	}
	pair, err := c.Redeem(ctx, init.AuthenticationToken.Token)
	if err != nil {
		return ch, received, authFailure(err, s)
	}
	return ch, received, Check{Status: Pass, Detail: s.Auth.Describe() + ": challenge → " + s.Auth.Method() +
		" → redeem; access token valid until " + pair.AccessToken.ValidUntil.UTC().Format(time.RFC3339)}
}

func (rn *runner) legacyAuth(ctx context.Context) Check {
	_, err := rn.client.LegacyAuthorise(ctx, rn.s.Token, rn.s.Seller.NIP)
	if err != nil {
		return authFailure(err, rn.s)
	}
	return Check{Status: Pass, Detail: "KSeF 1.0 AuthorisationChallenge → AuthorisationToken (connection test only: sending invoices needs api_version 2)"}
}

// authFailure explains an authentication error, with the seed's diagnoses.
func authFailure(err error, s *website.Settings) Check {
	c := fromErr(err, "")
	var ase *ksef.AuthStatusError
	var le *ksef.LegacyAuthError
	switch {
	case errors.As(err, &ase):
		c.Code = strconv.Itoa(ase.Code)
		c.tokenFailure = c.Class == failure.Auth
		switch {
		case ase.WrongContext():
			c.Hint = "the token belongs to another NIP: use a token generated for NIP " + s.Seller.NIP
		case ase.TokenRevoked():
			c.Hint = "the token was revoked or is inactive: generate a new one in the KSeF portal and run ksefpl rotate-token (or config:set " + config.PathAPIToken + " -)"
		case ase.Code == 415:
			c.Hint = "the token lacks permissions (InvoiceWrite): generate a token with invoice permissions"
		case ase.Code == 450:
			c.Hint = "if the token is right, the NIP may not be registered in the " + s.EnvironmentName +
				" environment (KSeF 1.0 error 10000): tokens work only in the environment that issued them"
		}
	case errors.As(err, &le):
		c.Code = strconv.Itoa(le.Code)
		c.tokenFailure = true
		switch le.Code {
		case 10000:
			c.Hint = "NIP " + s.Seller.NIP + " is not registered in the " + s.EnvironmentName + " environment (10000): log in to that environment's KSeF portal once and generate a token there"
		case 20100:
			c.Hint = "the token was generated for another NIP (20100): use a token for NIP " + s.Seller.NIP
		}
	default:
		c.tokenFailure = c.Class == failure.Auth
	}
	return c
}

func (rn *runner) skew(ch *ksef.Challenge, received time.Time) Check {
	server := ch.Timestamp
	if server.IsZero() && ch.TimestampMs > 0 {
		server = time.UnixMilli(ch.TimestampMs)
	}
	d := received.Sub(server)
	ms := d.Milliseconds()
	rn.r.ClockSkewMillis = &ms
	abs := d
	if abs < 0 {
		abs = -abs
	}
	detail := fmt.Sprintf("local clock %s KSeF by %s", map[bool]string{true: "ahead of", false: "behind"}[d >= 0], abs.Round(time.Millisecond))
	if abs > rn.o.MaxSkew {
		return Check{Status: Fail, Class: failure.Unknown, Detail: detail,
			Hint: "synchronise the clock (NTP): invoice dates and token expiry depend on it"}
	}
	return Check{Status: Pass, Detail: detail}
}

// network probes the firewall hosts when asked, and adds the "firewall" check: it fails
// (unavailable) when a host cannot be reached on 443, so that the run's verdict and exit
// code agree with the report.
func (rn *runner) network(ctx context.Context) {
	if !rn.o.Network {
		return
	}
	var blocked []string
	for _, h := range rn.o.FirewallHosts {
		start := time.Now()
		_, err := probe(ctx, rn.env.HTTPClient, "https://"+h+"/", rn.o.DialTimeout)
		hr := HostReach{Host: h, Port: 443, Reachable: err == nil, Millis: time.Since(start).Milliseconds()}
		if err != nil {
			hr.Error = err.Error()
			blocked = append(blocked, h)
		}
		rn.r.Network = append(rn.r.Network, hr)
	}
	rn.step("firewall", func() Check {
		if len(blocked) > 0 {
			return Check{Status: Fail, Class: failure.Unavailable,
				Detail: fmt.Sprintf("%d of %d hosts not reachable on 443: %s", len(blocked), len(rn.o.FirewallHosts), strings.Join(blocked, ", ")),
				Hint:   "allow outbound HTTPS to these hosts in the shop's firewall (KSeF's test and production hosts differ) and check DNS"}
		}
		return Check{Status: Pass, Detail: fmt.Sprintf("%d hosts reachable on 443", len(rn.o.FirewallHosts))}
	})
}

// fromErr turns a KSeF client error into a failed check.
func fromErr(err error, prefix string) Check {
	detail := err.Error()
	if prefix != "" {
		detail = prefix + ": " + detail
	}
	c := Check{Status: Fail, Class: failure.Of(err), Detail: detail}
	var ae *ksef.APIError
	if errors.As(err, &ae) && len(ae.Exceptions) > 0 {
		c.Code = strconv.Itoa(ae.Exceptions[0].Code)
	}
	return c
}

// probe sends HEAD to the origin (scheme://host:port/) of raw through hc, the HTTP client
// every KSeF call uses, so that a proxy from HTTPS_PROXY is used here too. Any HTTP
// answer, whatever its status, means the host is reachable (and, for https, that its
// certificate verified). via is the proxy the request went through ("" for none).
func probe(ctx context.Context, hc *http.Client, raw string, timeout time.Duration) (via string, err error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	origin := &url.URL{Scheme: u.Scheme, Host: u.Host, Path: "/"}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, origin.String(), nil)
	if err != nil {
		return "", err
	}
	if hc == nil {
		hc = &http.Client{}
	}
	tr, _ := hc.Transport.(*http.Transport)
	if hc.Transport == nil {
		tr, _ = http.DefaultTransport.(*http.Transport)
	}
	if tr != nil && tr.Proxy != nil {
		if p, perr := tr.Proxy(req); perr == nil && p != nil {
			via = p.Redacted()
		}
	}
	c := *hc
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is in the check's detail already
		}
		return via, err
	}
	resp.Body.Close()
	return via, nil
}

func hostPort(raw string) (string, int, bool, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", 0, false, err
	}
	port := 443
	if u.Scheme == "http" {
		port = 80
	}
	if p := u.Port(); p != "" {
		if port, err = strconv.Atoi(p); err != nil {
			return "", 0, false, err
		}
	}
	return u.Hostname(), port, u.Scheme == "https", nil
}

func scopeHint(s *website.Settings) string {
	if s.WebsiteCode == "" || s.WebsiteCode == "base" {
		return ""
	}
	return " --scope websites --scope-code " + s.WebsiteCode
}

func short(fp string) string {
	if len(fp) > 12 {
		return fp[:12] + "…"
	}
	return fp
}

func sortStrings(s []string) []string {
	sort.Strings(s)
	return s
}
