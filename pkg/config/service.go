package config

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ksefpl/ksefpl/pkg/nip"
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

// Display returns the value as shown to people: secrets as ******.
func (v Value) Display() string {
	if v.Secret {
		if v.Value == "" && v.Source != SourceEnv {
			return ""
		}
		return "******"
	}
	return v.Value
}

// SetResult reports what Set saved.
type SetResult struct {
	Path     string
	Scope    Scope
	Saved    string   // the normalised value (empty for secrets)
	Warnings []string // e.g. KSeF settings saved at store-view scope
}

// Set validates value for path, normalises it (a NIP loses its separators and PL prefix),
// encrypts it when secret and saves it at scope. Nothing is saved when validation fails.
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
	if sc.Type == "" {
		sc = Default
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

// Delete removes the value stored at exactly this scope.
func (s *Service) Delete(ctx context.Context, path string, sc Scope) error {
	if _, ok := Lookup(path); !ok {
		return &UnknownPathError{Path: path, Suggestions: suggest(path)}
	}
	if sc.Type == "" {
		sc = Default
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
	for _, level := range sc.chain() {
		if name := s.envName(f, level); name != "" {
			if v := s.getenv(name); v != "" {
				return Value{Path: path, Source: SourceEnv, From: name, Secret: f.Secret(), Value: v}, nil
			}
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
	return time.ParseDuration(v)
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

// normalise validates value against f's kind and returns the form to store.
func normalise(f Field, value string) (string, error) {
	bad := func(reason string, err error) error {
		return &InvalidValueError{Path: f.Path, Reason: reason, Err: err}
	}
	v := strings.TrimSpace(value)
	if f.Kind != KindSecret && strings.ContainsAny(v, "\r\n\x00") {
		return "", bad("the value must be a single line", nil)
	}
	switch f.Kind {
	case KindSecret:
		if v == "" {
			return "", bad("the value is empty", nil)
		}
		if strings.ContainsAny(v, "\r\n\x00") {
			return "", bad("the value must be a single line", nil)
		}
	case KindNIP:
		n, err := nip.Parse(v)
		if err != nil {
			return "", bad(err.Error(), err)
		}
		v = n
	case KindEnum:
		for _, o := range f.Options {
			if strings.EqualFold(o, v) {
				return o, nil
			}
		}
		return "", bad(fmt.Sprintf("%q is not one of %s", v, strings.Join(f.Options, ", ")), nil)
	case KindURL:
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return "", bad(fmt.Sprintf("%q is not an http(s) URL", v), err)
		}
		v = strings.TrimSuffix(v, "/")
	case KindDuration:
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return "", bad(fmt.Sprintf("%q is not a duration such as 5m or 90s", v), err)
		}
	case KindCountry:
		v = strings.ToUpper(v)
		if len(v) != 2 || v[0] < 'A' || v[0] > 'Z' || v[1] < 'A' || v[1] > 'Z' {
			return "", bad(fmt.Sprintf("%q is not a two-letter country code such as PL", value), nil)
		}
	case KindInt:
		if _, err := strconv.Atoi(v); err != nil {
			return "", bad(fmt.Sprintf("%q is not a whole number", v), err)
		}
	case KindString:
		if len(v) > 512 {
			return "", bad("the value is longer than 512 characters", nil)
		}
	}
	return v, nil
}
