package home

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ksefpl/ksefpl/pkg/secret"
	"github.com/ksefpl/ksefpl/pkg/store"
)

func noenv(string) string { return "" }

func TestDirPrecedence(t *testing.T) {
	env := map[string]string{"HOME": "/h", "XDG_DATA_HOME": "/x", "KSEFPL_HOME": "/k"}
	get := func(k string) string { return env[k] }
	if d, _ := Dir("/f", get); d != "/f" {
		t.Errorf("flag: %s", d)
	}
	if d, _ := Dir("", get); d != "/k" {
		t.Errorf("KSEFPL_HOME: %s", d)
	}
	delete(env, "KSEFPL_HOME")
	if d, _ := Dir("", get); d != "/x/ksefpl" {
		t.Errorf("XDG: %s", d)
	}
	delete(env, "XDG_DATA_HOME")
	if d, _ := Dir("", get); d != "/h/.local/share/ksefpl" {
		t.Errorf("HOME: %s", d)
	}
}

func TestOpenInitialisesPrivatelyAndKeepsKey(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "h")
	h, res, err := Open(ctx, dir, noenv, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !res.CreatedDir || !res.CreatedKey || !res.CreatedDB || h.Keys == nil || h.KeySource != EnvFile {
		t.Fatalf("first open: %+v source=%s", res, h.KeySource)
	}
	key1 := h.Keys.Export()
	h.Close()
	for p, want := range map[string]os.FileMode{dir: 0o700, filepath.Join(dir, EnvFile): 0o600, filepath.Join(dir, DBFile): 0o600} {
		st, err := os.Stat(p)
		if err != nil || st.Mode().Perm() != want {
			t.Errorf("%s: mode %v (%v), want %v", p, st.Mode().Perm(), err, want)
		}
	}
	h, res, err = Open(ctx, dir, noenv, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if res.Created() {
		t.Fatalf("second open created something: %+v", res)
	}
	if h.Keys.Export() != key1 {
		t.Fatal("key replaced on second open")
	}
}

func TestEnvKeyWinsAndIsNotWritten(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	envKey, err := secret.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	get := func(k string) string {
		if k == EnvCryptKey {
			return envKey
		}
		return ""
	}
	h, res, err := Open(ctx, dir, get, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if res.CreatedKey || h.KeySource != EnvCryptKey {
		t.Fatalf("res=%+v source=%s", res, h.KeySource)
	}
	ct, err := h.Keys.Encrypt("x")
	if err != nil {
		t.Fatal(err)
	}
	k, _ := secret.ParseKeys(envKey)
	if pt, err := k.Decrypt(ct); err != nil || pt != "x" {
		t.Fatalf("env key not used: %v", err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, EnvFile))
	if strings.Contains(string(b), envKey) {
		t.Fatal("env key written to env.json")
	}
	if err := h.SaveKeys(k); err == nil {
		t.Fatal("SaveKeys must refuse when keys come from the environment")
	}
}

func TestSaveKeysKeepsOtherSettings(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	key, err := secret.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, EnvFile), []byte(`{"crypt":{"key":"`+key+`"},"other":{"a":1}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	h, _, err := Open(ctx, dir, noenv, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	nk, _ := secret.GenerateKey()
	k2, err := h.Keys.WithKey(nk)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.SaveKeys(k2); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, EnvFile))
	if !strings.Contains(string(b), `"other"`) || !strings.Contains(string(b), key) || !strings.Contains(string(b), nk) {
		t.Fatalf("env.json after SaveKeys: %s", b)
	}
}

func TestCorruptEnvFileIsClearError(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, EnvFile), []byte("{not json"), 0o600)
	_, _, err := Open(context.Background(), dir, noenv, store.Options{})
	if err == nil || !strings.Contains(err.Error(), "not valid JSON") {
		t.Fatalf("err = %v", err)
	}
}
