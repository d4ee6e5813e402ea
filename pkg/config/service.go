package config

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ksefpl/ksefpl/pkg/secret"
	"github.com/ksefpl/ksefpl/pkg/store"
)

// Backend is what the configuration service needs from the store.
type Backend interface {
	ConfigGet(ctx context.Context, scope string, scopeID int64, path string) (string, bool, error)
	ConfigSet(ctx context.Context, scope string, scopeID int64, path, value string) error
	ConfigDelete(ctx context.Context, scope string, scopeID int64, path string) (bool, error)
	WebsiteByCode(ctx context.Context, code string) (store.Website, error)
	WebsiteByID(ctx context.Context, id int64) (store.Website, error)
	Websites(ctx context.Context) ([]store.Website, error)
	StoreByCode(ctx context.Context, code string) (store.StoreView, error)
}

// Service reads and writes configuration.
type Service struct {
	db     Backend
	keys   *secret.Keyring
	getenv func(string) string
}

// New returns a Service. keys may be nil when no deployment key exists (secrets then
// cannot be saved or read); getenv supplies environment overrides (os.Getenv).
func New(db Backend, keys *secret.Keyring, getenv func(string) string) *Service {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	return &Service{db: db, keys: keys, getenv: getenv}
}

// Source says where an effective value came from.
type Source string

// Value sources.
const (
	SourceDefault Source = "default" // the registry default
	SourceDB      Source = "db"      // core_config_data
	SourceEnv     Source = "env"     // an environment variable
)

// Value is an effective configuration value. For a secret path, Value holds the
// ciphertext as stored (or nothing for an environment override): use Service.Secret to
// decrypt it. Display is what config:show prints.
type Value struct {
	Path   string `json:"path"`
	Source Source `json:"source"`
	// From is where the value was found: "default", "websites/CODE", "stores/CODE", or the
	// environment variable's name.
	From   string `json:"from"`
	Secret bool   `json:"secret"`
	Value  string `json:"-"`
}

// Display returns the value as shown to people: secrets as ******, and a URL with the
// credentials of its userinfo (stored by an older release) as https://******@host/….
func (v Value) Display() string {
	if v.Secret {
		if v.Value == "" && v.Source != SourceEnv {
			return ""
		}
		return "******"
	}
	if f, ok := Lookup(v.Path); ok && f.Kind == KindURL {
		return redactURL(v.Value)
	}
	return v.Value
}

// String is the path and its displayed value, so that printing a Value (%v) never shows
// a secret or a URL's credentials.
func (v Value) String() string { return v.Path + "=" + v.Display() }

// SetResult reports what Set saved.
type SetResult struct {
	Path     string
	Scope    Scope
	Saved    string   // the normalised value (empty for secrets)
	Warnings []string // e.g. KSeF settings saved at store-view scope
}

// Set validates value for path, normalises it (a NIP loses its separators and PL prefix),
// encrypts it when secret and saves it at scope. Nothing is saved when validation fails.
//
// Some rules depend on other paths and are checked against their effective values at
// scope (and, for base_url, environment and allow_custom_host, at every website and store
// view below it that the change reaches): base_url against environment and
// allow_custom_host, and the API token's shape against api_version. The order of
// config:set commands therefore matters: set environment local before a simulator's
// http://127.0.0.1 base_url (the default environment, test, accepts only its official
// host), and allow_custom_host 1 before a proxy's base_url.
func (s *Service) Set(ctx context.Context, path, value string, sc Scope) (SetResult, error) {
	return s.set(ctx, path, value, sc, forgetTokensAndOutcomes)
}

// set is Set with a choice of what a connection change forgets (see connection_change.go).
func (s *Service) set(ctx context.Context, path, value string, sc Scope, forget forgetMode) (SetResult, error) {
	f, ok := Lookup(path)
	if !ok {
		return SetResult{}, &UnknownPathError{Path: path, Suggestions: suggest(path)}
	}
	norm, err := normalise(f, value)
	if err != nil {
		return SetResult{}, err
	}
	if sc.Type == "" {
		sc = Default
	}
	if err := s.checkInContext(ctx, change{path: path, scope: sc, value: norm}); err != nil {
		return SetResult{}, err
	}
	res := SetResult{Path: path, Scope: sc}
	stored := norm
	if f.Secret() {
		if s.keys == nil {
			return SetResult{}, ErrNoKey
		}
		if stored, err = s.keys.Encrypt(norm); err != nil {
			return SetResult{}, fmt.Errorf("encrypt %s: %w", path, err)
		}
	} else {
		res.Saved = norm
	}
	if sc.Type == store.ScopeStores && strings.HasPrefix(path, "ksefpl/") {
		res.Warnings = append(res.Warnings, "KSeF settings belong to a legal entity (one NIP per website): "+
			"a store-view value only applies to that store view; prefer --scope websites.")
	}
	if err := s.db.ConfigSet(ctx, sc.Type, sc.ID, path, stored); err != nil {
		return SetResult{}, err
	}
	if err := s.connectionChanged(ctx, path, sc, forget); err != nil {
		return res, err
	}
	return res, nil
}

// Delete removes the value stored at exactly this scope. Deleting environment,
// base_url or allow_custom_host is refused when the combination it leaves (an inherited
// value or the default then applies) breaks the base_url rule Set applies (see Set).
func (s *Service) Delete(ctx context.Context, path string, sc Scope) error {
	if _, ok := Lookup(path); !ok {
		return &UnknownPathError{Path: path, Suggestions: suggest(path)}
	}
	if sc.Type == "" {
		sc = Default
	}
	if isPairPath(path) {
		// Deleting lets an inherited value or the default apply: check that the
		// combination the deletion leaves is one Set would accept.
		if _, stored, err := s.db.ConfigGet(ctx, sc.Type, sc.ID, path); err != nil {
			return err
		} else if stored {
			if err := s.checkInContext(ctx, change{path: path, scope: sc, deleted: true}); err != nil {
				return err
			}
		}
	}
	ok, err := s.db.ConfigDelete(ctx, sc.Type, sc.ID, path)
	if err != nil {
		return err
	}
	if !ok {
		return &NotFoundError{Path: path}
	}
	return s.connectionChanged(ctx, path, sc, forgetTokensAndOutcomes)
}

// Get returns the effective value of path at scope: for each level from the most specific
// (store view, website, default) an environment override first, then the stored value;
// finally the registry default. NotFoundError when nothing applies.
func (s *Service) Get(ctx context.Context, path string, sc Scope) (Value, error) {
	f, ok := Lookup(path)
	if !ok {
		return Value{}, &UnknownPathError{Path: path, Suggestions: suggest(path)}
	}
	return s.lookup(ctx, f, sc, nil)
}

// change is a pending Set (value) or Delete (deleted) of path at scope.
type change struct {
	path    string
	scope   Scope
	value   string
	deleted bool
}

// lookup is Get of f with ch, when not nil, applied as if it were already saved.
func (s *Service) lookup(ctx context.Context, f Field, sc Scope, ch *change) (Value, error) {
	path := f.Path
	for _, level := range sc.chain() {
		if name := s.envName(f, level); name != "" {
			if v := s.getenv(name); v != "" {
				return Value{Path: path, Source: SourceEnv, From: name, Secret: f.Secret(), Value: v}, nil
			}
		}
		if ch != nil && ch.path == path && level.Type == ch.scope.Type && level.ID == ch.scope.ID {
			if !ch.deleted && ch.value != "" {
				return Value{Path: path, Source: SourceDB, From: level.String(), Secret: f.Secret(), Value: ch.value}, nil
			}
			continue
		}
		v, ok, err := s.db.ConfigGet(ctx, level.Type, level.ID, path)
		if err != nil {
			return Value{}, err
		}
		if ok && v != "" {
			return Value{Path: path, Source: SourceDB, From: level.String(), Secret: f.Secret(), Value: v}, nil
		}
	}
	if f.Default != "" {
		return Value{Path: path, Source: SourceDefault, From: store.ScopeDefault, Value: f.Default}, nil
	}
	return Value{}, &NotFoundError{Path: path}
}

// String returns the effective value of a non-secret path, or "" when it has none.
func (s *Service) String(ctx context.Context, path string, sc Scope) (string, error) {
	v, err := s.Get(ctx, path, sc)
	var nf *NotFoundError
	if errors.As(err, &nf) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	if v.Secret {
		return "", fmt.Errorf("%s is a secret: use Secret", path)
	}
	return v.Value, nil
}

// Duration returns the effective value of a duration path.
func (s *Service) Duration(ctx context.Context, path string, sc Scope) (time.Duration, error) {
	v, err := s.String(ctx, path, sc)
	if err != nil || v == "" {
		return 0, err
	}
	return ParseDuration(v)
}

// Int returns the effective value of a whole-number path (0 when it has none).
func (s *Service) Int(ctx context.Context, path string, sc Scope) (int, error) {
	v, err := s.String(ctx, path, sc)
	if err != nil || v == "" {
		return 0, err
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("%s: %q is not a whole number: set it again with ksefpl config:set %s N: %w", path, v, path, err)
	}
	return n, nil
}

// Secret returns the decrypted effective value of a secret path and where it came from.
// A value that cannot be decrypted gives a *DecryptError.
func (s *Service) Secret(ctx context.Context, path string, sc Scope) (string, Value, error) {
	v, err := s.Get(ctx, path, sc)
	if err != nil {
		return "", v, err
	}
	if !v.Secret || v.Source != SourceDB {
		return v.Value, v, nil
	}
	if s.keys == nil {
		return "", v, &DecryptError{Path: path, Err: ErrNoKey}
	}
	plain, err := s.keys.Decrypt(v.Value)
	if err != nil {
		return "", v, &DecryptError{Path: path, Err: err}
	}
	return plain, v, nil
}

// Show returns the effective values of every registered path under prefix ("" for all)
// that has one, sorted by path.
func (s *Service) Show(ctx context.Context, prefix string, sc Scope) ([]Value, error) {
	var out []Value
	for _, f := range registry {
		if prefix != "" && f.Path != prefix && !strings.HasPrefix(f.Path, strings.TrimSuffix(prefix, "/")+"/") {
			continue
		}
		v, err := s.Get(ctx, f.Path, sc)
		var nf *NotFoundError
		if errors.As(err, &nf) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// IsKnownPrefix reports whether prefix names a registered path or a group of them.
func IsKnownPrefix(prefix string) bool {
	p := strings.TrimSuffix(prefix, "/")
	for _, f := range registry {
		if f.Path == p || strings.HasPrefix(f.Path, p+"/") {
			return true
		}
	}
	return false
}

// envName returns the environment variable that overrides f at level, if any.
func (s *Service) envName(f Field, level Scope) string {
	if f.EnvVar == "" {
		return ""
	}
	switch level.Type {
	case store.ScopeDefault:
		return f.EnvVar
	case store.ScopeWebsites:
		return f.EnvVar + "_" + strings.ToUpper(level.Code)
	}
	return ""
}
