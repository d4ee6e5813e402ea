package config

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/ksefpl/ksefpl/pkg/ksef"
	"github.com/ksefpl/ksefpl/pkg/store"
)

// The rules of this file depend on more than one path and are checked by Set (and
// Delete) against the effective values of the other paths at the scope:
//
//   - ksefpl/connection/base_url in the environments test, demo and production must point
//     at that environment's Ministry of Finance API host (https, port 443) unless
//     ksefpl/connection/allow_custom_host is 1 (a corporate proxy in front of KSeF); the
//     environment local (the simulator) accepts any host the URL rules accept. Changing
//     any of the three paths re-checks the combination at the scope and at every website
//     and store view below it whose combination the change alters.
//   - ksefpl/connection/api_token must be a KSeF 2.0 token; while the effective
//     api_version is legacy a KSeF 1.0 token is accepted too.

// OfficialHost reports whether baseURL, the configured ksefpl/connection/base_url (""
// when none is set: the environment's own address), reaches the Ministry of Finance's
// KSeF API host of environment (test, demo or production): https, that host, the
// default port. host is the host base URL requests go to (the official one when baseURL
// is ""). The environment local is never official. err is set for an unknown environment
// or a base URL that breaks the URL rules (its message never shows credentials).
//
// Callers use it to warn, naming host, whenever a command talks to a non-official host
// (allowed only with ksefpl/connection/allow_custom_host 1, see CustomHostWarning), and
// to refuse counting a connection test against a non-official production host as a
// passed production test.
func OfficialHost(environment, baseURL string) (official bool, host string, err error) {
	env, err := ksef.ParseEnvironment(environment)
	if err != nil {
		return false, "", err
	}
	want := officialAPIHost(env)
	baseURL = strings.TrimSpace(baseURL)
	if baseURL == "" {
		return want != "", want, nil
	}
	u, reason := checkURL(baseURL, urlExample(PathBaseURL))
	if reason != "" {
		return false, "", &InvalidValueError{Path: PathBaseURL, Reason: reason}
	}
	return isOfficialURL(u, want), canonicalHost(u), nil
}

// CustomHostAllowed reports whether ksefpl/connection/allow_custom_host is 1 at sc.
func (s *Service) CustomHostAllowed(ctx context.Context, sc Scope) (bool, error) {
	v, err := s.String(ctx, PathAllowCustomHost, sc)
	return v == "1", err
}

// CustomHostWarning is the warning every command that uses a connection whose base URL
// is not the official host of environment prints (host as OfficialHost returns it).
func CustomHostWarning(environment, host string) string {
	official := "none"
	if env, err := ksef.ParseEnvironment(environment); err == nil && officialAPIHost(env) != "" {
		official = officialAPIHost(env)
	}
	return fmt.Sprintf("%s sends the KSeF %s traffic of this website (its credentials and invoices) to %s, "+
		"not to the Ministry of Finance's API host %s, because %s is 1; make sure %s is your own proxy in front of KSeF",
		PathBaseURL, environment, host, official, PathAllowCustomHost, host)
}

// officialAPIHost is the host of env's official API URL ("" for local).
func officialAPIHost(env ksef.Environment) string {
	if env == ksef.EnvLocal {
		return ""
	}
	eps, err := env.Endpoints("")
	if err != nil {
		return ""
	}
	u, err := url.Parse(eps.API)
	if err != nil {
		return ""
	}
	return canonicalHost(u)
}

// officialAPIURL is env's official API base URL ("" for local).
func officialAPIURL(env ksef.Environment) string {
	if env == ksef.EnvLocal {
		return ""
	}
	eps, err := env.Endpoints("")
	if err != nil {
		return ""
	}
	return eps.API
}

// officialAPIURLOf is officialAPIURL of the environment named name ("" when unknown).
func officialAPIURLOf(name string) string {
	env, err := ksef.ParseEnvironment(name)
	if err != nil {
		return ""
	}
	return officialAPIURL(env)
}

// isOfficialURL reports whether u is https to host want on the default port.
func isOfficialURL(u *url.URL, want string) bool {
	return want != "" && u.Scheme == "https" && u.User == nil && canonicalHost(u) == want &&
		(u.Port() == "" || u.Port() == "443")
}

// isPairPath reports whether path takes part in the base_url rule.
func isPairPath(path string) bool {
	return path == PathBaseURL || path == PathEnvironment || path == PathAllowCustomHost
}

// checkInContext applies the rules that depend on other paths to a pending change.
func (s *Service) checkInContext(ctx context.Context, ch change) error {
	switch {
	case ch.path == PathAPIToken && !ch.deleted:
		return s.checkToken(ctx, ch.value, ch.scope)
	case isPairPath(ch.path):
		return s.checkPair(ctx, ch)
	}
	return nil
}

// pairState is the effective environment, base_url and allow_custom_host at a scope.
type pairState struct{ env, base, allow Value }

func (p pairState) same(q pairState) bool {
	return p.env.Value == q.env.Value && p.base.Value == q.base.Value && p.allow.Value == q.allow.Value
}

// pairAt reads the pair state at sc with ch applied (ch nil: as stored).
func (s *Service) pairAt(ctx context.Context, sc Scope, ch *change) (pairState, error) {
	var st pairState
	for _, x := range []struct {
		path string
		dst  *Value
	}{{PathEnvironment, &st.env}, {PathBaseURL, &st.base}, {PathAllowCustomHost, &st.allow}} {
		f, _ := Lookup(x.path)
		v, err := s.lookup(ctx, f, sc, ch)
		var nf *NotFoundError
		if err != nil && !errors.As(err, &nf) {
			return st, err
		}
		*x.dst = v
	}
	return st, nil
}

// pairTargets lists sc and, when the backend can list them, the websites and store views
// below it: the scopes whose effective values a change at sc may alter.
func (s *Service) pairTargets(ctx context.Context, sc Scope) ([]Scope, error) {
	out := []Scope{sc}
	lister, ok := s.db.(interface {
		Websites(ctx context.Context) ([]store.Website, error)
		Stores(ctx context.Context) ([]store.StoreView, error)
	})
	if !ok || sc.Type == store.ScopeStores {
		return out, nil
	}
	ws, err := lister.Websites(ctx)
	if err != nil {
		return nil, err
	}
	codes := map[int64]string{}
	for _, w := range ws {
		codes[w.ID] = w.Code
		if sc.Type == store.ScopeDefault {
			out = append(out, Scope{Type: store.ScopeWebsites, Code: w.Code, ID: w.ID, WebsiteID: w.ID, WebsiteCode: w.Code})
		}
	}
	svs, err := lister.Stores(ctx)
	if err != nil {
		return nil, err
	}
	for _, sv := range svs {
		code, ok := codes[sv.WebsiteID]
		if !ok || (sc.Type == store.ScopeWebsites && sv.WebsiteID != sc.ID) {
			continue
		}
		out = append(out, Scope{Type: store.ScopeStores, Code: sv.Code, ID: sv.ID, WebsiteID: sv.WebsiteID, WebsiteCode: code})
	}
	return out, nil
}

// checkPair refuses a change of environment, base_url or allow_custom_host that leaves a
// combination breaking the base_url rule at the change's scope (always checked for a
// Set) or at a scope below it whose combination the change alters.
func (s *Service) checkPair(ctx context.Context, ch change) error {
	targets, err := s.pairTargets(ctx, ch.scope)
	if err != nil {
		return err
	}
	for i, t := range targets {
		after, err := s.pairAt(ctx, t, &ch)
		if err != nil {
			return err
		}
		if i > 0 || ch.deleted {
			before, err := s.pairAt(ctx, t, nil)
			if err != nil {
				return err
			}
			if before.same(after) {
				continue
			}
		}
		if reason := pairProblem(ch, t, after); reason != "" {
			return &InvalidValueError{Path: ch.path, Reason: reason}
		}
	}
	return nil
}

// pairProblem returns why the combination st at scope t, which change ch produces, breaks
// the base_url rule, with what to do ("" when it does not).
func pairProblem(ch change, t Scope, st pairState) string {
	base := st.base.Value
	if base == "" {
		return ""
	}
	where := ""
	if t.Type != ch.scope.Type || t.ID != ch.scope.ID {
		where = " at " + t.String() + " (which inherits this change)"
	}
	lead := ""
	if ch.deleted {
		lead = "deleting it would leave this combination: "
	}
	deleteBase := fmt.Sprintf("ksefpl config:delete %s%s", PathBaseURL, flagsOf(st.base.From))
	u, reason := checkURL(base, urlExample(PathBaseURL))
	if reason != "" {
		// A value saved by an older release, before these rules.
		return fmt.Sprintf("%swith environment %s%s, the effective %s (from %s) is not acceptable: %s; correct it or delete it first (%s)",
			lead, st.env.Value, where, PathBaseURL, st.base.From, reason, deleteBase)
	}
	env, err := ksef.ParseEnvironment(st.env.Value)
	if err != nil || env == ksef.EnvLocal {
		return ""
	}
	if u.Scheme != "https" {
		// Plain http (to a loopback host) is for the simulator only, never for a real
		// environment, not even through allow_custom_host.
		return fmt.Sprintf("%swith environment %s%s, %s %s (from %s) uses plain http, which only the simulator (environment local) may use; "+
			"to use %s's own address %s delete it first (%s), or for the simulator first run ksefpl config:set %s local%s",
			lead, st.env.Value, where, PathBaseURL, quoteURL(base), st.base.From, st.env.Value, officialAPIURLOf(st.env.Value),
			deleteBase, PathEnvironment, flagsOf(ch.scope.String()))
	}
	if st.allow.Value == "1" {
		return ""
	}
	want := officialAPIHost(env)
	if isOfficialURL(u, want) {
		return ""
	}
	problem := fmt.Sprintf("%swith environment %s%s, %s %s (from %s) does not point at the Ministry of Finance's KSeF API host %s "+
		"(https, port 443) and %s is 0",
		lead, st.env.Value, where, PathBaseURL, quoteURL(base), st.base.From, want, PathAllowCustomHost)
	flags := flagsOf(ch.scope.String())
	var remedy string
	switch ch.path {
	case PathBaseURL:
		remedy = fmt.Sprintf("leave base_url unset for %s (ksefpl then uses %s); for a corporate proxy in front of KSeF first run "+
			"ksefpl config:set %s 1%s; for the simulator first run ksefpl config:set %s local%s",
			env, officialAPIURL(env), PathAllowCustomHost, flags, PathEnvironment, flags)
		if ch.deleted {
			remedy = "delete that base_url as well (" + deleteBase + ")"
		}
	case PathEnvironment:
		remedy = fmt.Sprintf("delete that base_url first (%s) or, for a corporate proxy in front of KSeF, first run ksefpl config:set %s 1%s",
			deleteBase, PathAllowCustomHost, flags)
	default: // allow_custom_host
		remedy = "delete that base_url first (" + deleteBase + ")"
	}
	return problem + "; " + remedy
}

// flagsOf turns a scope as Value.From or Scope.String print it ("default",
// "websites/CODE", "stores/CODE") into the config command flags that name it.
func flagsOf(from string) string {
	typ, code, ok := strings.Cut(from, "/")
	if !ok || (typ != store.ScopeWebsites && typ != store.ScopeStores) {
		return ""
	}
	return " --scope " + typ + " --scope-code " + code
}

// checkToken refuses an API token that is not a KSeF 2.0 token (or, while the effective
// api_version at sc is legacy, a KSeF 1.0 token). The message never contains the token.
func (s *Service) checkToken(ctx context.Context, tok string, sc Scope) error {
	_, perr := ksef.ParseToken(tok)
	if perr == nil {
		return nil
	}
	ver, err := s.String(ctx, PathAPIVersion, sc)
	if err != nil {
		return err
	}
	reason := tokenReason(perr, tok)
	tf := &ksef.TokenFormatError{Reason: reason}
	if ver != "legacy" {
		return &InvalidValueError{Path: PathAPIToken, Reason: tf.Error(), Err: tf}
	}
	if isLegacyToken(tok) {
		return nil
	}
	return &InvalidValueError{Path: PathAPIToken, Err: tf, Reason: "the KSeF token is neither a KSeF 2.0 token " +
		"(<reference>|nip-<NIP>|<secret>: " + reason + ") nor, as api_version legacy also accepts, a KSeF 1.0 token " +
		"(" + legacyTokenShape + "); copy the whole token shown when it was generated"}
}

// legacyTokenShape describes the KSeF 1.0 tokens accepted while api_version is legacy.
// pkg/ksef/legacy.go uses the token only as an HMAC key and gives it no shape; KSeF 1.0
// issued it as one hexadecimal string, so a single hexadecimal word of a plausible length
// is accepted.
const legacyTokenShape = "a single string of 32 to 128 hexadecimal characters"

// isLegacyToken reports whether tok has the KSeF 1.0 shape (legacyTokenShape).
func isLegacyToken(tok string) bool {
	if len(tok) < 32 || len(tok) > 128 {
		return false
	}
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// tokenReason is ksef.ParseToken's reason for refusing tok, without any part of tok
// (ParseToken quotes an unknown context type, which may be part of a pasted secret).
func tokenReason(err error, tok string) string {
	const generic = "the token does not have that form"
	var tf *ksef.TokenFormatError
	if !errors.As(err, &tf) {
		return generic
	}
	reason := tf.Reason
	if strings.HasPrefix(reason, "unknown context type") {
		reason = "unknown context type; use nip, internalid, nipvatue or peppolid"
	}
	for _, frag := range strings.FieldsFunc(tok, func(r rune) bool { return r == '|' || r == '-' }) {
		if len(frag) >= 4 && strings.Contains(reason, frag) {
			return generic
		}
	}
	return reason
}

// ConnectionProblem applies the base_url rule to the effective environment, base_url and
// allow_custom_host at sc as they are now: values saved by an older release, or given
// through environment variables, never went through Set. It returns an
// *InvalidValueError naming what to change, or nil.
func (s *Service) ConnectionProblem(ctx context.Context, sc Scope) error {
	st, err := s.pairAt(ctx, sc, nil)
	if err != nil {
		return err
	}
	if reason := pairProblem(change{path: PathEnvironment, scope: sc}, sc, st); reason != "" {
		return &InvalidValueError{Path: PathBaseURL, Reason: reason}
	}
	return nil
}
