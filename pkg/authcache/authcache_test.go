package authcache

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ksefpl/ksefpl/pkg/ksef"
	"github.com/ksefpl/ksefpl/pkg/secret"
	"github.com/ksefpl/ksefpl/pkg/store"
)

func TestRoundTripEncryptedAtRest(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "db")
	db, err := store.Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	k, _ := secret.GenerateKey()
	keys, _ := secret.ParseKeys(k)
	c := New(db, keys)
	now := time.Now().UTC().Truncate(time.Second)
	in := ksef.CachedTokens{AccessToken: "ACCESS-SECRET", AccessValidUntil: now.Add(time.Hour),
		RefreshToken: "REFRESH-SECRET", RefreshValidUntil: now.Add(48 * time.Hour)}
	key := Key(2, "http://127.0.0.1:1/v2", "fp")
	if !strings.HasPrefix(key, WebsitePrefix(2)) {
		t.Fatalf("key %q lacks website prefix", key)
	}
	if err := c.Save(ctx, key, ksef.TagSessionToken, in, now.Add(47*time.Hour)); err != nil {
		t.Fatal(err)
	}
	got, err := c.Load(ctx, key)
	if err != nil || got == nil || got.AccessToken != in.AccessToken || !got.RefreshValidUntil.Equal(in.RefreshValidUntil) {
		t.Fatalf("load = %v, %v", got, err)
	}
	e, ok, _ := db.CacheGet(ctx, key)
	if !ok || e.Tag != ksef.TagSessionToken || strings.Contains(e.Value, "SECRET") {
		t.Fatalf("stored row = %+v", e)
	}
	db.Close()
	for _, p := range []string{path, path + "-wal"} {
		b, _ := os.ReadFile(p)
		if strings.Contains(string(b), "ACCESS-SECRET") || strings.Contains(string(b), "REFRESH-SECRET") {
			t.Fatalf("plaintext token in %s", p)
		}
	}
}

func TestUndecryptableRowIsDropped(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ka, _ := secret.GenerateKey()
	keysA, _ := secret.ParseKeys(ka)
	kb, _ := secret.GenerateKey()
	keysB, _ := secret.ParseKeys(kb)
	if err := New(db, keysA).Save(ctx, "k", ksef.TagSessionToken, ksef.CachedTokens{AccessToken: "x"}, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	got, err := New(db, keysB).Load(ctx, "k")
	if err != nil || got != nil {
		t.Fatalf("load under other key = %v, %v", got, err)
	}
	if _, ok, _ := db.CacheGet(ctx, "k"); ok {
		t.Fatal("undecryptable row kept")
	}
}
