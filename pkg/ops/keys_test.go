package ops

import (
	"bytes"
	"crypto"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ksefpl/ksefpl/pkg/certificate"
	"github.com/ksefpl/ksefpl/pkg/config"
	"github.com/ksefpl/ksefpl/pkg/home"
	"github.com/ksefpl/ksefpl/pkg/kcert"
	"github.com/ksefpl/ksefpl/pkg/secret"
	"github.com/ksefpl/ksefpl/pkg/store"
	"github.com/ksefpl/ksefpl/pkg/website"
)

// storedSecrets returns every stored ciphertext: secret config values and cache rows.
func storedSecrets(t *testing.T, f *fixture) []string {
	t.Helper()
	var out []string
	rows, err := f.h.DB.ConfigRows(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if fl, _ := config.Lookup(r.Path); fl.Secret() {
			out = append(out, r.Value)
		}
	}
	es, err := f.h.DB.CacheEntries(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		out = append(out, e.Value)
	}
	certs, err := f.h.DB.Certificates(f.ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range certs {
		out = append(out, c.KeyEnc)
	}
	return out
}

// importCertificate stores a test seal with its key for website base.
func importCertificate(t *testing.T, f *fixture) *kcert.Material {
	t.Helper()
	m, err := kcert.NewTestCertificate(kcert.TestCertOptions{Kind: "seal", NIP: nipBase})
	if err != nil {
		t.Fatal(err)
	}
	p12, _ := kcert.EncodePKCS12(m, "")
	if _, err := certificate.Import(f.ctx, f.Deps, certificate.ImportRequest{Scope: f.scope("base"), Usage: certificate.Authentication, PKCS12: p12}); err != nil {
		t.Fatal(err)
	}
	return m
}

func dbFilesContain(t *testing.T, dbPath, s string) []string {
	t.Helper()
	var in []string
	for _, p := range []string{dbPath, dbPath + "-wal"} {
		b, err := os.ReadFile(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		// The base64 payload alone: the version prefix changes with the key.
		if bytes.Contains(b, []byte(s[strings.LastIndex(s, ":")+1:])) {
			in = append(in, filepath.Base(p))
		}
	}
	return in
}

func TestChangeKeyReencryptsEverySecretAndScrubsOldCiphertexts(t *testing.T) {
	f := newFixture(t)
	if _, err := f.h.DB.CreateWebsite(f.ctx, "shop2", "Shop 2"); err != nil {
		t.Fatal(err)
	}
	f.set(config.PathAPIToken, f.issue(nipBase), f.scope("shop2"))
	f.warmCache("base")
	f.warmCache("shop2")
	cert := importCertificate(t, f)
	before := storedSecrets(t, f)
	if len(before) != 5 {
		t.Fatalf("want 2 tokens, 2 cache rows and a private key, have %d secrets", len(before))
	}
	for _, v := range before {
		if len(dbFilesContain(t, f.h.DB.Path(), v)) == 0 {
			t.Fatalf("control: ciphertext %.12s… is not visible in the database files", v)
		}
	}
	plainBefore := decryptAll(t, f.h.Keys, before)

	res, err := ChangeKey(f.ctx, f.h, "")
	if err != nil {
		t.Fatal(err)
	}
	if res.NewVersion != 1 || res.Versions != 2 || !res.Generated || res.ConfigValues != 2 || res.CacheRows != 2 || res.PrivateKeys != 1 || !res.Scrubbed {
		t.Fatalf("result = %+v", res)
	}
	after := storedSecrets(t, f)
	// A fresh open reads the keys from env.json: both versions are there.
	h2, _, err := home.Open(f.ctx, f.h.Dir, func(string) string { return "" }, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer h2.Close()
	if h2.Keys.Versions() != 2 || h2.Keys.Current() != 1 {
		t.Fatalf("env.json keyring = %v", h2.Keys)
	}
	for i, v := range after {
		if ver, err := h2.Keys.KeyVersion(v); err != nil || ver != 1 {
			t.Errorf("value %d has key version %d (%v), want 1", i, ver, err)
		}
	}
	if got := decryptAll(t, h2.Keys, after); strings.Join(got, "\n") != strings.Join(plainBefore, "\n") {
		t.Error("re-encrypted values do not decrypt to the same plaintexts")
	}
	for _, v := range before {
		if in := dbFilesContain(t, f.h.DB.Path(), v); len(in) > 0 {
			t.Errorf("old ciphertext %.12s… still in %v", v, in)
		}
	}
	// The configuration still works: the token decrypts and authenticates.
	if _, err := authenticate(t, f, plainBefore[0]); err != nil {
		t.Fatal(err)
	}
	// The certificate's key decrypts with the new keyring to the same key.
	row, err := f.h.DB.CertificateInUse(f.ctx, 1, store.CertAuthentication)
	if err != nil {
		t.Fatal(err)
	}
	c, err := website.FromStore(row, h2.Keys)
	if err != nil || c.Err != nil || !c.Material.Key.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(cert.Key.Public()) {
		t.Fatalf("certificate key after the change: %v %v", err, c.Err)
	}

	list, err := ListKeys(f.ctx, f.h.DB, f.h.Keys, f.h.KeySource)
	if err != nil {
		t.Fatal(err)
	}
	want := []KeyVersionUse{{Version: 0, Configured: true}, {Version: 1, Current: true, Configured: true, ConfigValues: 2, CacheRows: 2}}
	if len(list.Versions) != 2 || list.Versions[0] != want[0] || list.Versions[1] != want[1] || list.Source != home.EnvFile {
		t.Errorf("list = %+v", list)
	}
}

func decryptAll(t *testing.T, k *secret.Keyring, vs []string) []string {
	t.Helper()
	out := make([]string, len(vs))
	for i, v := range vs {
		p, err := k.Decrypt(v)
		if err != nil {
			t.Fatalf("value %d: %v", i, err)
		}
		out[i] = p
	}
	return out
}

func TestChangeKeyRefusals(t *testing.T) {
	f := newFixture(t)
	envPath := filepath.Join(f.h.Dir, home.EnvFile)
	envBefore, err := os.ReadFile(envPath)
	if err != nil {
		t.Fatal(err)
	}
	unchanged := func(t *testing.T) {
		t.Helper()
		if b, _ := os.ReadFile(envPath); !bytes.Equal(b, envBefore) {
			t.Error("env.json changed")
		}
	}
	t.Run("invalid key", func(t *testing.T) {
		if _, err := ChangeKey(f.ctx, f.h, "short"); !errors.Is(err, secret.ErrInvalidKey) {
			t.Errorf("err = %v", err)
		}
		unchanged(t)
	})
	t.Run("key already configured", func(t *testing.T) {
		cur := strings.Fields(f.h.Keys.Export())[0]
		if _, err := ChangeKey(f.ctx, f.h, cur); !errors.As(err, new(*KeyInUseError)) || strings.Contains(err.Error(), cur) {
			t.Errorf("err = %v", err)
		}
		unchanged(t)
	})
	t.Run("undecryptable secret", func(t *testing.T) {
		other, _ := secret.GenerateKey()
		ok, _ := secret.ParseKeys(other)
		ct, _ := ok.Encrypt("x")
		if err := f.h.DB.ConfigSet(f.ctx, store.ScopeWebsites, 1, config.PathAPIToken, ct); err != nil {
			t.Fatal(err)
		}
		_, err := ChangeKey(f.ctx, f.h, "")
		var ue *UndecryptableError
		if !errors.As(err, &ue) || len(ue.Values) != 1 || !strings.Contains(err.Error(), "websites 1") {
			t.Errorf("err = %v", err)
		}
		unchanged(t)
		if _, err := f.h.DB.ConfigDelete(f.ctx, store.ScopeWebsites, 1, config.PathAPIToken); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("keys from KSEFPL_CRYPT_KEY", func(t *testing.T) {
		key := strings.Fields(f.h.Keys.Export())[0]
		h, _, err := home.Open(f.ctx, f.h.Dir, func(k string) string {
			if k == home.EnvCryptKey {
				return key
			}
			return ""
		}, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer h.Close()
		_, err = ChangeKey(f.ctx, h, "")
		var ke *KeysFromEnvError
		if !errors.As(err, &ke) || !strings.Contains(err.Error(), home.EnvCryptKey) || strings.Contains(err.Error(), key) {
			t.Errorf("err = %v", err)
		}
		unchanged(t)
	})
	t.Run("given key", func(t *testing.T) {
		k, _ := secret.GenerateKey()
		res, err := ChangeKey(f.ctx, f.h, k)
		if err != nil || res.Generated || res.NewVersion != 1 {
			t.Fatalf("res = %+v, %v", res, err)
		}
		b, _ := os.ReadFile(envPath)
		if !bytes.Contains(b, []byte(k)) || !bytes.Contains(b, []byte(strings.Fields(f.h.Keys.Export())[0])) {
			t.Error("env.json lacks the new or the old key")
		}
	})
}
