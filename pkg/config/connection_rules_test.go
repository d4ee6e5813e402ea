package config

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/ksefpl/ksefpl/pkg/failure"
	"github.com/ksefpl/ksefpl/pkg/ksef"
	"github.com/ksefpl/ksefpl/pkg/store"
)

// mustRefuse sets path and expects an *InvalidValueError of class invalid whose message
// contains every want; it returns the message.
func mustRefuse(t *testing.T, s *Service, path, value string, sc Scope, want ...string) string {
	t.Helper()
	_, err := s.Set(context.Background(), path, value, sc)
	var inv *InvalidValueError
	if !errors.As(err, &inv) || inv.Path != path || failure.Of(err) != failure.Invalid {
		t.Fatalf("config:set %s %q at %s = %v, want *InvalidValueError for %s", path, value, sc, err, path)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("config:set %s %q: message %q lacks %q", path, value, err, w)
		}
	}
	return err.Error()
}

// stored returns the value stored at exactly sc ("" when none).
func stored(t *testing.T, db *store.DB, path string, sc Scope) string {
	t.Helper()
	v, _, err := db.ConfigGet(context.Background(), sc.Type, sc.ID, path)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// Rule 1: production credentials only go to the official host.
func TestBaseURLMustBeOfficialHostOfTheEnvironment(t *testing.T) {
	official := map[string]string{"production": "api.ksef.mf.gov.pl", "test": "api-test.ksef.mf.gov.pl", "demo": "api-demo.ksef.mf.gov.pl"}
	for env, host := range official {
		t.Run(env, func(t *testing.T) {
			s, db, _ := newService(t, nil)
			mustSet(t, s, PathEnvironment, env, Default)
			// Plain http, even to loopback, is the simulator's only (environment local).
			mustRefuse(t, s, PathBaseURL, "http://127.0.0.1:8089/v2", Default, "plain http", PathEnvironment+" local")
			for _, bad := range []string{
				"https://evil.example.com/v2",
				"https://localhost/v2",
				"https://" + host + ":8443/v2",
				"https://" + host + ".evil.example.com/v2",
			} {
				mustRefuse(t, s, PathBaseURL, bad, Default, "Ministry of Finance's KSeF API host "+host, PathAllowCustomHost+" 1", PathEnvironment+" local")
				if v := stored(t, db, PathBaseURL, Default); v != "" {
					t.Fatalf("%s was saved as %q", bad, v)
				}
			}
			// Another environment's official host is not this one's.
			for other, oh := range official {
				if other != env {
					mustRefuse(t, s, PathBaseURL, "https://"+oh+"/v2", Default, host)
				}
			}
			for _, good := range []string{"https://" + host + "/v2", "https://" + strings.ToUpper(host) + "./v2/", "https://" + host + ":443/v2"} {
				mustSet(t, s, PathBaseURL, good, Default)
			}
		})
	}
}

func TestAllowCustomHostAdmitsAProxy(t *testing.T) {
	ctx := context.Background()
	s, _, _ := newService(t, nil)
	if ok, err := s.CustomHostAllowed(ctx, Default); ok || err != nil {
		t.Fatalf("CustomHostAllowed by default = %v, %v", ok, err)
	}
	mustSet(t, s, PathEnvironment, "production", Default)
	if res, err := s.Set(ctx, PathAllowCustomHost, "yes", Default); err != nil || res.Saved != "1" {
		t.Fatalf("allow_custom_host yes = %+v, %v", res, err)
	}
	if ok, err := s.CustomHostAllowed(ctx, Default); !ok || err != nil {
		t.Fatalf("CustomHostAllowed = %v, %v", ok, err)
	}
	mustSet(t, s, PathBaseURL, "https://ksef-proxy.corp.example:8443/v2", Default)
	// Not plain http, not even to a loopback sidecar: only the simulator (local) may.
	mustRefuse(t, s, PathBaseURL, "http://127.0.0.1:3128/v2", Default, "plain http", "environment local")
	// Rule 2 still applies to proxies.
	mustRefuse(t, s, PathBaseURL, "http://ksef-proxy.corp.example/v2", Default, "plain http")
	mustRefuse(t, s, PathAllowCustomHost, "maybe", Default, `"maybe" is not 0 or 1`)
}

// The check runs when environment or allow_custom_host changes too, against the
// effective base_url, and at the websites a default-scope change reaches.
func TestEnvironmentAndAllowChangesRecheckEffectiveBaseURL(t *testing.T) {
	ctx := context.Background()
	s, db, _ := newService(t, nil)
	if _, err := db.CreateWebsite(ctx, "shop2", "Shop 2"); err != nil {
		t.Fatal(err)
	}
	shop2, err := s.ResolveScope(ctx, "websites", "shop2")
	if err != nil {
		t.Fatal(err)
	}
	mustSet(t, s, PathEnvironment, "local", Default)
	mustSet(t, s, PathBaseURL, "https://sim.example.org/v2", Default)

	// environment=production while the simulator's base_url is in effect: refused.
	mustRefuse(t, s, PathEnvironment, "production", Default,
		`"https://sim.example.org/v2" (from default)`, "api.ksef.mf.gov.pl", "ksefpl config:delete "+PathBaseURL, PathAllowCustomHost+" 1")
	if v := stored(t, db, PathEnvironment, Default); v != "local" {
		t.Fatalf("environment = %q after a refused change", v)
	}
	// At website scope, against the inherited base_url, with the scope's flags.
	mustRefuse(t, s, PathEnvironment, "production", shop2, "(from default)",
		PathAllowCustomHost+" 1 --scope websites --scope-code shop2")
	// With allow_custom_host 1 at shop2, shop2 may use that custom host for demo; turning the
	// permission off (or deleting it) while that base_url is in effect is refused.
	mustSet(t, s, PathAllowCustomHost, "1", shop2)
	mustSet(t, s, PathEnvironment, "demo", shop2)
	mustRefuse(t, s, PathAllowCustomHost, "0", shop2, "with environment demo", "ksefpl config:delete "+PathBaseURL)
	err = s.Delete(ctx, PathAllowCustomHost, shop2)
	var inv *InvalidValueError
	if !errors.As(err, &inv) || !strings.Contains(err.Error(), "deleting it would leave") {
		t.Fatalf("delete allow_custom_host = %v", err)
	}
	if v := stored(t, db, PathAllowCustomHost, shop2); v != "1" {
		t.Fatalf("allow_custom_host = %q after a refused delete", v)
	}
	// Deleting the base_url makes every website use its environment's own host.
	if err := s.Delete(ctx, PathBaseURL, Default); err != nil {
		t.Fatal(err)
	}
	mustSet(t, s, PathAllowCustomHost, "0", shop2)

	// A base_url set at default also reaches shop2 (demo, no custom hosts): refused there.
	mustRefuse(t, s, PathBaseURL, "https://sim.example.org/v2", Default, "with environment demo at websites/shop2 (which inherits this change)")
	// At a website with its own environment local it is fine.
	mustSet(t, s, PathEnvironment, "local", shop2)
	mustSet(t, s, PathBaseURL, "https://sim.example.org/v2", Default)
}

// The default environment is test: a simulator base_url saved before environment local
// is refused with the order to follow, and environment local cannot then be deleted.
func TestBaseURLBeforeEnvironmentLocalIsRefusedWithTheFix(t *testing.T) {
	ctx := context.Background()
	s, _, _ := newService(t, nil)
	mustRefuse(t, s, PathBaseURL, "http://127.0.0.1:8089/v2", Default,
		"with environment test", "plain http", "ksefpl config:set "+PathEnvironment+" local")
	mustSet(t, s, PathEnvironment, "local", Default)
	mustSet(t, s, PathBaseURL, "http://127.0.0.1:8089/v2", Default)
	mustSet(t, s, PathBaseURL, "http://localhost:8089/v2", Default)
	mustSet(t, s, PathBaseURL, "http://[::1]:8089/v2", Default)
	mustSet(t, s, PathBaseURL, "https://sim.example.org/v2", Default) // local accepts any host the URL rules accept
	mustSet(t, s, PathBaseURL, "http://127.0.0.1:8089/v2", Default)
	err := s.Delete(ctx, PathEnvironment, Default)
	var inv *InvalidValueError
	if !errors.As(err, &inv) || !strings.Contains(err.Error(), "deleting it would leave this combination: with environment test") {
		t.Fatalf("delete environment = %v", err)
	}
	if v, _ := s.String(ctx, PathEnvironment, Default); v != "local" {
		t.Fatalf("environment = %q after a refused delete", v)
	}
}

func TestOfficialHost(t *testing.T) {
	for _, c := range []struct {
		env, base string
		official  bool
		host      string
	}{
		{"production", "", true, "api.ksef.mf.gov.pl"},
		{"prod", "https://api.ksef.mf.gov.pl/v2", true, "api.ksef.mf.gov.pl"},
		{"production", "https://API.ksef.mf.gov.pl./v2/", true, "api.ksef.mf.gov.pl"},
		{"production", "https://api.ksef.mf.gov.pl:443/v2", true, "api.ksef.mf.gov.pl"},
		{"production", "https://api.ksef.mf.gov.pl:8443/v2", false, "api.ksef.mf.gov.pl"},
		{"production", "http://127.0.0.1:8089/v2", false, "127.0.0.1"},
		{"production", "https://evil.example.com/v2", false, "evil.example.com"},
		{"production", "https://api-test.ksef.mf.gov.pl/v2", false, "api-test.ksef.mf.gov.pl"},
		{"test", "https://api-test.ksef.mf.gov.pl/v2", true, "api-test.ksef.mf.gov.pl"},
		{"demo", "", true, "api-demo.ksef.mf.gov.pl"},
		{"local", "http://127.0.0.1:8089/v2", false, "127.0.0.1"},
		{"local", "", false, ""},
	} {
		official, host, err := OfficialHost(c.env, c.base)
		if err != nil || official != c.official || host != c.host {
			t.Errorf("OfficialHost(%q, %q) = %v, %q, %v; want %v, %q", c.env, c.base, official, host, err, c.official, c.host)
		}
	}
	if _, _, err := OfficialHost("staging", ""); err == nil {
		t.Error("unknown environment accepted")
	}
	_, _, err := OfficialHost("production", "https://ksefuser:hunter2@evil.example.com/v2")
	if err == nil || strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "ksefuser") {
		t.Errorf("credentials: err = %v", err)
	}
	w := CustomHostWarning("production", "ksef-proxy.corp.example")
	for _, want := range []string{"ksef-proxy.corp.example", "api.ksef.mf.gov.pl", PathAllowCustomHost} {
		if !strings.Contains(w, want) {
			t.Errorf("warning %q lacks %q", w, want)
		}
	}
}

// Rule 2: every runtime rule of a base URL is applied by config:set.
func TestURLRules(t *testing.T) {
	s, _, _ := newService(t, nil)
	mustSet(t, s, PathEnvironment, "local", Default)
	for _, c := range []struct{ url, want string }{
		{"https://user:hunter2@sim.example.org/v2", "must not contain credentials"},
		{"https://hunter2@sim.example.org/v2", "must not contain credentials"},
		{"https:hunter2@sim.example.org", "must not contain credentials"},
		{"http://127.0.0.1:8089/v2?token=x", "must not have a query"},
		{"http://127.0.0.1:8089/v2?", "must not have a query"},
		{"http://127.0.0.1:8089/v2#x", "must not have a fragment"},
		{"ftp://127.0.0.1/v2", "must start with https://"},
		{"file:///etc/passwd", "must start with https://"},
		{"127.0.0.1:8089/v2", "not a valid URL"},
		{"localhost:8089/v2", "must start with https://"},
		{"https:///v2", "has no host"},
		{"http://sim.example.org/v2", "plain http"},
		{"http://192.168.1.10:8089/v2", "plain http"},
		{"https://169.254.10.1/v2", "link-local"},
		{"https://[fe80::1]/v2", "link-local"},
		{"https://[fe80::1%25eth0]/v2", "zone"},
		{"http://169.254.169.254/latest/meta-data", "cloud metadata service"},
		{"https://169.254.169.254/v2", "cloud metadata service"},
		{"https://[::ffff:169.254.169.254]/v2", "cloud metadata service"},
		{"https://[fd00:ec2::254]/v2", "cloud metadata service"},
		{"https://100.100.100.200/v2", "cloud metadata service"},
		{"https://metadata.google.internal/computeMetadata/v1", "cloud metadata service"},
		{"https://Metadata.Google.Internal./v1", "cloud metadata service"},
		{"https://2852039166/v2", "usual notation"},
		{"https://0xa9fea9fe/v2", "usual notation"},
		{"https://169.254.43518/v2", "usual notation"},
		{"https://0.0.0.0/v2", "single server"},
		{"https://sim.example.org:0/v2", "invalid port"},
		{"https://sim.example.org:99999/v2", "invalid port"},
		{"https://sim.example.org:/v2", "empty port"},
		{"http://[::1", "not a valid URL"},
	} {
		msg := mustRefuse(t, s, PathBaseURL, c.url, Default, c.want)
		if strings.Contains(msg, "hunter2") {
			t.Errorf("%s: message shows the credentials: %s", c.url, msg)
		}
	}
	// The NBP URL follows the same rules, without an environment: loopback http is fine.
	mustSet(t, s, PathNBPBaseURL, "http://127.0.0.1:9/api", Default)
	mustSet(t, s, PathNBPBaseURL, "https://api.nbp.pl/api/", Default)
	if v, _ := s.String(context.Background(), PathNBPBaseURL, Default); v != "https://api.nbp.pl/api" {
		t.Errorf("NBP URL saved as %q", v)
	}
	for _, c := range []struct{ url, want string }{
		{"http://api.nbp.pl/api", "plain http"},
		{"https://u:hunter2@api.nbp.pl/api", "must not contain credentials"},
		{"https://api.nbp.pl/api?format=json", "must not have a query"},
		{"http://169.254.169.254/api", "cloud metadata service"},
	} {
		if msg := mustRefuse(t, s, PathNBPBaseURL, c.url, Default, c.want); strings.Contains(msg, "hunter2") {
			t.Errorf("%s: message shows the credentials: %s", c.url, msg)
		}
	}
}

// A base_url with credentials saved by an older release is never shown: not by
// config:show, not in an error message.
func TestStoredCredentialsInBaseURLAreNeverShown(t *testing.T) {
	ctx := context.Background()
	s, db, _ := newService(t, nil)
	const old = "https://ksefuser:hunter2@proxy.example.com/v2"
	if err := db.ConfigSet(ctx, store.ScopeDefault, 0, PathBaseURL, old); err != nil {
		t.Fatal(err)
	}
	v, err := s.Get(ctx, PathBaseURL, Default)
	if err != nil {
		t.Fatal(err)
	}
	if d := v.Display(); d != "https://******@proxy.example.com/v2" {
		t.Errorf("Display = %q", d)
	}
	vals, err := s.Show(ctx, "ksefpl/connection", Default)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vals {
		for _, shown := range []string{v.Display(), v.String()} {
			if strings.Contains(shown, "hunter2") || strings.Contains(shown, "ksefuser") {
				t.Errorf("config:show prints %q", shown)
			}
		}
	}
	for _, c := range []struct{ path, value string }{{PathEnvironment, "production"}, {PathEnvironment, "local"}, {PathAllowCustomHost, "1"}} {
		msg := mustRefuse(t, s, c.path, c.value, Default, "must not contain credentials", "ksefpl config:delete "+PathBaseURL)
		if strings.Contains(msg, "hunter2") || strings.Contains(msg, "ksefuser") {
			t.Errorf("message shows the credentials: %s", msg)
		}
	}
	if err := s.Delete(ctx, PathBaseURL, Default); err != nil {
		t.Fatal(err)
	}
	for raw, want := range map[string]string{
		"https://proxy.example.com/v2":              "https://proxy.example.com/v2",
		"https://u@proxy.example.com/v2":            "https://******@proxy.example.com/v2",
		"https://u:p@ss@proxy.example.com:8443/v2":  "https://******@proxy.example.com:8443/v2",
		"https://u:p@proxy.example.com/v2?x=a@b#c@": "https://******@proxy.example.com/v2?x=a@b#c@",
		"https:u:p@proxy.example.com":               "******",
		"https://u:p/w@proxy.example.com":           "******",
	} {
		if got := redactURL(raw); got != want {
			t.Errorf("redactURL(%q) = %q, want %q", raw, got, want)
		}
	}
}

// Rule 3: only KSeF 2.0 tokens (1.0 ones under api_version legacy), never echoed.
func TestTokenShape(t *testing.T) {
	ctx := context.Background()
	s, db, _ := newService(t, nil)
	good := testToken("5261040828", 'e')
	legacy := strings.Repeat("A1B2C3D4", 8)
	secretish := "20251010-EC-1A2B3C4D5E-6F7A8B9C0D-1E|hunter2secret-5261040828|" + strings.Repeat("f", 64)
	for _, c := range []struct{ tok, want string }{
		{"hunter2-plain-password", "expected 3 parts separated by '|', found 1"},
		{legacy, "expected 3 parts"},
		{"short|nip-5261040828|" + strings.Repeat("a", 64), "the reference number must have 36 characters, found 5"},
		{secretish, "unknown context type; use nip, internalid, nipvatue or peppolid"},
		{"20251010-EC-1A2B3C4D5E-6F7A8B9C0D-1E|nip-5261040828|hunter2hunter2", "the secret part must have 64 hex characters"},
		{"20251010-EC-1A2B3C4D5E-6F7A8B9C0D-1E|nip-5261040828|" + strings.Repeat("z", 64), "must be hexadecimal"},
	} {
		msg := mustRefuse(t, s, PathAPIToken, c.tok, Default, "not a KSeF 2.0 token", c.want)
		for _, part := range []string{c.tok, "hunter2", legacy} {
			if strings.Contains(msg, part) {
				t.Errorf("message contains the token (%q): %s", part, msg)
			}
		}
		var tf *ksef.TokenFormatError
		if _, err := s.Set(ctx, PathAPIToken, c.tok, Default); !errors.As(err, &tf) || strings.Contains(tf.Error(), "hunter2") {
			t.Errorf("wrapped error = %v", err)
		}
	}
	if _, err := s.SetKeepingTokenCache(ctx, PathAPIToken, "hunter2", Default); err == nil {
		t.Error("SetKeepingTokenCache accepted a malformed token")
	}
	if v := stored(t, db, PathAPIToken, Default); v != "" {
		t.Fatal("a refused token was saved")
	}
	mustSet(t, s, PathAPIToken, good, Default)
	// api_version legacy also accepts a KSeF 1.0 token (one hexadecimal string), only then.
	mustSet(t, s, PathAPIVersion, "legacy", Default)
	mustSet(t, s, PathAPIToken, legacy, Default)
	mustSet(t, s, PathAPIToken, good, Default)
	msg := mustRefuse(t, s, PathAPIToken, "hunter2-plain-password", Default, "neither a KSeF 2.0 token", "nor, as api_version legacy also accepts, a KSeF 1.0 token")
	if strings.Contains(msg, "hunter2") {
		t.Errorf("message contains the token: %s", msg)
	}
	mustSet(t, s, PathAPIVersion, "2", Default)
	mustRefuse(t, s, PathAPIToken, legacy, Default, "not a KSeF 2.0 token")
}

// Rule 4: control characters are refused in every path, naming it.
func TestControlCharactersRefusedInEveryPath(t *testing.T) {
	s, _, _ := newService(t, nil)
	for _, f := range Fields() {
		for _, cc := range []string{"\x00", "\x07", "\x1b[2J", "\x7f", "\u0085", "\u009b", "\u202e"} {
			value := "ab" + cc + "cd"
			msg := mustRefuse(t, s, f.Path, value, Default, "invalid value for "+f.Path)
			if !strings.Contains(msg, "control") || strings.Contains(msg, "abcd") || strings.Contains(msg, cc) {
				t.Errorf("%s %q: %s", f.Path, value, msg)
			}
		}
		mustRefuse(t, s, f.Path, "ab\ncd", Default, "single line")
		mustRefuse(t, s, f.Path, "ab\u2028cd", Default, "single line")
		mustRefuse(t, s, f.Path, "ab\xffcd", Default, "not valid UTF-8")
	}
	// A tab is allowed where text is.
	mustSet(t, s, PathSellerName, "ACME\tSp. z o.o.", Default)
}

func TestCountryCodesAreISO3166(t *testing.T) {
	s, _, _ := newService(t, nil)
	if n := len(countryCodes); n != 253 {
		t.Errorf("%d country codes, want 249 ISO 3166-1 alpha-2 codes and XC, XI, XK, XL", n)
	}
	for _, bad := range []string{"XX", "ZZ", "AA", "QZ", "XA", "AN", "UK", "EL"} {
		mustRefuse(t, s, PathSellerCountry, bad, Default, "not an ISO 3166-1 alpha-2 country code")
	}
	mustRefuse(t, s, PathSellerCountry, "P1", Default, "two-letter")
	for in, want := range map[string]string{"pl": "PL", "DE": "DE", " gb ": "GB", "XI": "XI", "ax": "AX"} {
		if res, err := s.Set(context.Background(), PathSellerCountry, in, Default); err != nil || res.Saved != want {
			t.Errorf("country %q = %+v, %v", in, res, err)
		}
	}
}

// Rule 5: bounded durations and numbers.
func TestRangesOfNumericPaths(t *testing.T) {
	s, _, _ := newService(t, nil)
	for _, bad := range []string{"100000h", "11m", "1h", "0", "0s", "-5m", "500ms"} {
		mustRefuse(t, s, PathTokenTTLMargin, bad, Default, "out of range: use a duration from 1s to 10m")
	}
	for _, good := range []string{"1s", "90s", "5m", "10m"} {
		mustSet(t, s, PathTokenTTLMargin, good, Default)
	}
	for _, bad := range []string{"-1", "100001", "99999999999"} {
		mustRefuse(t, s, PathBatchThreshold, bad, Default, "out of range: use a whole number from 0 to 100000")
	}
	mustRefuse(t, s, PathBatchThreshold, "1e3", Default, "not a whole number")
	if res, err := s.Set(context.Background(), PathBatchThreshold, "+007", Default); err != nil || res.Saved != "7" {
		t.Errorf("batch_threshold +007 = %+v, %v", res, err)
	}
	mustSet(t, s, PathBatchThreshold, "0", Default)
	mustSet(t, s, PathBatchThreshold, "100000", Default)
	// Text is limited in characters, not bytes (FA(3) TZnakowy512).
	mustSet(t, s, PathSellerName, strings.Repeat("ż", 512), Default)
	mustRefuse(t, s, PathSellerName, strings.Repeat("ż", 513), Default, "longer than 512 characters")
}

// Rule 6: unknown paths get the closest known ones, in config:set and config:show.
func TestUnknownPathMessages(t *testing.T) {
	s, _, _ := newService(t, nil)
	ctx := context.Background()
	for in, want := range map[string]string{
		"ksefpl/connection/token":              PathAPIToken,
		"ksefpl/connection/baseurl":            PathBaseURL,
		"ksefpl/seller/country":                PathSellerCountry,
		"ksefpl/connection/allow_custom_hosts": PathAllowCustomHost,
		"connection/environment":               PathEnvironment,
		"ksefpl/submit/batch":                  PathBatchThreshold,
	} {
		_, err := s.Set(ctx, in, "x", Default)
		var up *UnknownPathError
		if !errors.As(err, &up) || failure.Of(err) != failure.Invalid {
			t.Fatalf("%s: err = %v", in, err)
		}
		if !strings.Contains(err.Error(), "Did you mean: "+want) {
			t.Errorf("%s: %q does not suggest %s first", in, err, want)
		}
	}
	_, err := s.Set(ctx, "nope/nothing", "x", Default)
	if err == nil || !strings.Contains(err.Error(), "Known paths are under ksefpl/connection/, ksefpl/invoice/, ksefpl/monitor/, ksefpl/nbp/, ksefpl/notify/, ksefpl/seller/, ksefpl/submit/") {
		t.Errorf("no close path: %v", err)
	}
	// An UnknownPathError built without suggestions (as a command may) computes them.
	if got := (&UnknownPathError{Path: "ksefpl/connection/no_such_path"}).Error(); !strings.Contains(got, "Did you mean: ") {
		t.Errorf("UnknownPathError without suggestions = %q", got)
	}
	// config:show reports an unknown path as Magento does (NotFoundError), with the hint.
	nf := &NotFoundError{Path: "ksefpl/seller/nipp"}
	if got := nf.Error(); got != `Configuration for path: "ksefpl/seller/nipp" doesn't exist. Did you mean: ksefpl/seller/nip?` && !strings.HasPrefix(got, `Configuration for path: "ksefpl/seller/nipp" doesn't exist. Did you mean: ksefpl/seller/nip`) {
		t.Errorf("NotFoundError = %q", got)
	}
	if failure.Of(nf) != failure.Unknown {
		t.Error("NotFoundError changed class")
	}
	// A known path without a value keeps Magento's message alone.
	if got := (&NotFoundError{Path: PathSellerName}).Error(); got != `Configuration for path: "ksefpl/seller/name" doesn't exist` {
		t.Errorf("NotFoundError = %q", got)
	}
}
