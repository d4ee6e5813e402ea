package config

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ksefpl/ksefpl/pkg/secret"
	"github.com/ksefpl/ksefpl/pkg/store"
)

func newService(t *testing.T, env map[string]string) (*Service, *store.DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ksefpl.db")
	db, err := store.Open(context.Background(), path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	key, err := secret.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	keys, err := secret.ParseKeys(key)
	if err != nil {
		t.Fatal(err)
	}
	return New(db, keys, func(k string) string { return env[k] }), db, path
}

func TestRegistrySortedAndDefaults(t *testing.T) {
	for i := 1; i < len(registry); i++ {
		if registry[i-1].Path >= registry[i].Path {
			t.Fatalf("registry not sorted at %s", registry[i].Path)
		}
	}
	for _, f := range registry {
		if f.Default != "" {
			if _, err := normalise(f, f.Default); err != nil {
				t.Errorf("default of %s invalid: %v", f.Path, err)
			}
		}
	}
}

func TestSetNIPNormalisesAndRejectsInvalid(t *testing.T) {
	ctx := context.Background()
	s, _, _ := newService(t, nil)
	if _, err := s.Set(ctx, PathSellerNIP, "526-104-08-28", Default); err != nil {
		t.Fatal(err)
	}
	v, err := s.Get(ctx, PathSellerNIP, Default)
	if err != nil || v.Value != "5261040828" {
		t.Fatalf("nip = %+v, %v", v, err)
	}
	_, err = s.Set(ctx, PathSellerNIP, "1234567890", Default)
	var inv *InvalidValueError
	if !errors.As(err, &inv) || !strings.Contains(err.Error(), "checksum") {
		t.Fatalf("invalid NIP error = %v", err)
	}
	v, _ = s.Get(ctx, PathSellerNIP, Default)
	if v.Value != "5261040828" {
		t.Fatalf("invalid NIP changed the stored value to %q", v.Value)
	}
}

func TestUnknownPathSuggests(t *testing.T) {
	s, _, _ := newService(t, nil)
	_, err := s.Set(context.Background(), "ksefpl/seller/nipp", "x", Default)
	var up *UnknownPathError
	if !errors.As(err, &up) || len(up.Suggestions) == 0 || up.Suggestions[0] != PathSellerNIP {
		t.Fatalf("err = %v", err)
	}
}

// testToken returns a token of the KSeF 2.0 shape for nip whose secret is 64 times c.
func testToken(nip string, c byte) string {
	return "20251010-EC-1A2B3C4D5E-6F7A8B9C0D-1E|nip-" + nip + "|" + strings.Repeat(string(c), 64)
}

func TestSecretEncryptedAtRestAndDecrypts(t *testing.T) {
	ctx := context.Background()
	s, db, path := newService(t, nil)
	tok := testToken("5261040828", 'a')
	if _, err := s.Set(ctx, PathAPIToken, tok, Default); err != nil {
		t.Fatal(err)
	}
	raw, _, _ := db.ConfigGet(ctx, store.ScopeDefault, 0, PathAPIToken)
	if !strings.HasPrefix(raw, "0:3:") || strings.Contains(raw, tok[50:]) {
		t.Fatalf("stored value is not Magento ciphertext: %q", raw)
	}
	plain, v, err := s.Secret(ctx, PathAPIToken, Default)
	if err != nil || plain != tok || v.Display() != "******" {
		t.Fatalf("secret = %q %+v %v", plain, v, err)
	}
	db.Close()
	for _, p := range []string{path, path + "-wal"} {
		b, _ := os.ReadFile(p)
		if strings.Contains(string(b), tok[50:]) {
			t.Fatalf("plaintext token found in %s", p)
		}
	}
}

func TestSecretUnderWrongKeyIsDecryptError(t *testing.T) {
	ctx := context.Background()
	s, db, _ := newService(t, nil)
	if _, err := s.Set(ctx, PathAPIToken, testToken("5261040828", 'a'), Default); err != nil {
		t.Fatal(err)
	}
	other, err := secret.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	keysB, _ := secret.ParseKeys(other)
	sB := New(db, keysB, nil)
	_, _, err = sB.Secret(ctx, PathAPIToken, Default)
	var de *DecryptError
	if !errors.As(err, &de) || err.Error() != DecryptMessage {
		t.Fatalf("err = %v", err)
	}
}

func TestScopeInheritanceAndEnvOverride(t *testing.T) {
	ctx := context.Background()
	env := map[string]string{}
	s, db, _ := newService(t, env)
	if _, err := db.CreateWebsite(ctx, "shop2", "Shop 2"); err != nil {
		t.Fatal(err)
	}
	shop2, err := s.ResolveScope(ctx, "websites", "shop2")
	if err != nil {
		t.Fatal(err)
	}
	base, _ := s.ResolveScope(ctx, "websites", "base")
	shop2Store, err := s.ResolveScope(ctx, "stores", "shop2")
	if err != nil {
		t.Fatal(err)
	}
	mustSet(t, s, PathSellerNIP, "5261040828", Default)
	mustSet(t, s, PathSellerNIP, "7740001454", shop2)
	for _, c := range []struct {
		sc   Scope
		want string
	}{{Default, "5261040828"}, {base, "5261040828"}, {shop2, "7740001454"}, {shop2Store, "7740001454"}} {
		v, err := s.Get(ctx, PathSellerNIP, c.sc)
		if err != nil || v.Value != c.want {
			t.Errorf("%s: nip = %q (%v), want %s", c.sc, v.Value, err, c.want)
		}
	}
	// Registry defaults apply when nothing is stored.
	if v, _ := s.Get(ctx, PathEnvironment, shop2); v.Value != "test" || v.Source != SourceDefault {
		t.Errorf("environment default = %+v", v)
	}
	// Environment overrides win over the database at their level.
	stored := testToken("5261040828", 'b')
	mustSet(t, s, PathAPIToken, stored, Default)
	env["KSEFPL_API_TOKEN"] = "env-default"
	env["KSEFPL_API_TOKEN_SHOP2"] = "env-shop2"
	if tok, v, _ := s.Secret(ctx, PathAPIToken, base); tok != "env-default" || v.From != "KSEFPL_API_TOKEN" {
		t.Errorf("base token = %q from %s", tok, v.From)
	}
	if tok, _, _ := s.Secret(ctx, PathAPIToken, shop2); tok != "env-shop2" {
		t.Errorf("shop2 token = %q", tok)
	}
	delete(env, "KSEFPL_API_TOKEN")
	if tok, _, _ := s.Secret(ctx, PathAPIToken, base); tok != stored {
		t.Errorf("base token without env = %q", tok)
	}
}

func TestResolveScopeMessages(t *testing.T) {
	s, _, _ := newService(t, nil)
	ctx := context.Background()
	cases := map[[2]string]string{
		{"websites", ""}:    "Enter a scope code before proceeding.",
		{"default", "base"}: `The "default" scope can't include a scope code. Try again without entering a scope code.`,
		{"websites", "Bad"}: ScopeCodeRule,
		{"websites", "zzz"}: `The "zzz" value doesn't exist. Enter another value.`,
		{"planets", "x"}:    `The "planets" value doesn't exist. Enter another value.`,
	}
	for in, want := range cases {
		_, err := s.ResolveScope(ctx, in[0], in[1])
		var se *ScopeError
		if !errors.As(err, &se) || se.Msg != want {
			t.Errorf("%v: err = %v, want %q", in, err, want)
		}
	}
	if sc, err := s.ResolveScope(ctx, "website", "base"); err != nil || sc.ID != 1 || sc.Type != store.ScopeWebsites {
		t.Errorf("singular website scope = %+v, %v", sc, err)
	}
}

func TestStoresScopeWarnsAndValidation(t *testing.T) {
	ctx := context.Background()
	s, _, _ := newService(t, nil)
	sc, err := s.ResolveScope(ctx, "stores", "default")
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.Set(ctx, PathSellerName, "ACME", sc)
	if err != nil || len(res.Warnings) == 0 {
		t.Fatalf("stores-scope set = %+v, %v", res, err)
	}
	bad := map[string]string{
		PathEnvironment:    "staging",
		PathBaseURL:        "ftp://x",
		PathTokenTTLMargin: "soon",
		PathSellerCountry:  "POL",
		PathInvoiceSchema:  "FA9",
	}
	for p, v := range bad {
		if _, err := s.Set(ctx, p, v, Default); err == nil {
			t.Errorf("%s=%q accepted", p, v)
		}
	}
	if res, err := s.Set(ctx, PathEnvironment, "LOCAL", Default); err != nil || res.Saved != "local" {
		t.Errorf("enum normalisation = %+v, %v", res, err)
	}
}

func TestShowAndDelete(t *testing.T) {
	ctx := context.Background()
	s, _, _ := newService(t, nil)
	mustSet(t, s, PathSellerName, "ACME", Default)
	vals, err := s.Show(ctx, "ksefpl/seller", Default)
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, v := range vals {
		paths = append(paths, v.Path+"="+v.Display())
	}
	got := strings.Join(paths, " ")
	if got != "ksefpl/seller/country_code=PL ksefpl/seller/name=ACME" {
		t.Fatalf("show = %s", got)
	}
	if err := s.Delete(ctx, PathSellerName, Default); err != nil {
		t.Fatal(err)
	}
	var nf *NotFoundError
	if err := s.Delete(ctx, PathSellerName, Default); !errors.As(err, &nf) {
		t.Fatalf("second delete = %v", err)
	}
	if _, err := s.Get(ctx, PathSellerName, Default); !errors.As(err, &nf) {
		t.Fatalf("get after delete = %v", err)
	}
}

func mustSet(t *testing.T, s *Service, path, v string, sc Scope) {
	t.Helper()
	if _, err := s.Set(context.Background(), path, v, sc); err != nil {
		t.Fatal(err)
	}
}
