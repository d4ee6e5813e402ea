package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

func openTemp(t *testing.T) *DB {
	t.Helper()
	return newLocation(t).open(t, Options{})
}

func TestOpenCreatesPrivateFileAndMigrates(t *testing.T) {
	sqliteOnly(t, "file modes")
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ksefpl.db")
	db, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	v, err := db.SchemaVersion(ctx)
	if err != nil || v < 1 {
		t.Fatalf("schema version = %d, %v; want >= 1", v, err)
	}
	if err := db.ConfigSet(ctx, ScopeDefault, 0, "a/b/c", "x"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		st, err := os.Stat(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s mode = %v, want 0600", filepath.Base(p), st.Mode().Perm())
		}
	}
	// Reopening applies nothing twice and keeps the data.
	db, err = Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	got, ok, err := db.ConfigGet(ctx, ScopeDefault, 0, "a/b/c")
	if err != nil || !ok || got != "x" {
		t.Fatalf("after reopen: %q %v %v", got, ok, err)
	}
	v2, _ := db.SchemaVersion(ctx)
	if v2 != v {
		t.Fatalf("schema version changed on reopen: %d -> %d", v, v2)
	}
}

func TestConfigUpsertDeleteAndScopesAreSeparate(t *testing.T) {
	ctx := context.Background()
	db := openTemp(t)
	must(t, db.ConfigSet(ctx, ScopeDefault, 0, "p", "d1"))
	must(t, db.ConfigSet(ctx, ScopeDefault, 0, "p", "d2"))
	must(t, db.ConfigSet(ctx, ScopeWebsites, 1, "p", "w1"))
	rows, err := db.ConfigRows(ctx)
	must(t, err)
	if len(rows) != 2 {
		t.Fatalf("rows = %+v, want 2 (upsert must not duplicate)", rows)
	}
	v, _, _ := db.ConfigGet(ctx, ScopeDefault, 0, "p")
	if v != "d2" {
		t.Fatalf("default = %q", v)
	}
	ok, err := db.ConfigDelete(ctx, ScopeWebsites, 1, "p")
	if err != nil || !ok {
		t.Fatalf("delete = %v %v", ok, err)
	}
	if _, ok, _ := db.ConfigGet(ctx, ScopeWebsites, 1, "p"); ok {
		t.Fatal("website value survived delete")
	}
	if ok, _ := db.ConfigDelete(ctx, ScopeWebsites, 1, "p"); ok {
		t.Fatal("second delete reported a row")
	}
}

func TestWebsitesSeededAndCreated(t *testing.T) {
	ctx := context.Background()
	db := openTemp(t)
	base, err := db.WebsiteByCode(ctx, "base")
	if err != nil || base.ID != 1 || !base.IsDefault {
		t.Fatalf("base website = %+v, %v", base, err)
	}
	st, err := db.StoreByCode(ctx, "default")
	if err != nil || st.ID != 1 || st.WebsiteID != 1 {
		t.Fatalf("default store = %+v, %v", st, err)
	}
	w, err := db.CreateWebsite(ctx, "shop2", "Shop 2")
	must(t, err)
	if w.ID == 1 || w.Code != "shop2" {
		t.Fatalf("created %+v", w)
	}
	if _, err := db.CreateWebsite(ctx, "shop2", "again"); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("duplicate create: %v", err)
	}
	sv, err := db.StoreByCode(ctx, "shop2")
	if err != nil || sv.WebsiteID != w.ID {
		t.Fatalf("store view for new website = %+v, %v", sv, err)
	}
	if _, err := db.WebsiteByCode(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing website: %v", err)
	}
	ws, _ := db.Websites(ctx)
	if len(ws) != 2 {
		t.Fatalf("websites = %+v", ws)
	}
}

func TestCacheExpiryAndTaggedDelete(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	db := newLocation(t).open(t, Options{Now: clock})
	must(t, db.CachePut(ctx, CacheEntry{Key: "w1/a", Tag: "t1", Value: "v", ExpiresAt: now.Add(time.Minute)}))
	must(t, db.CachePut(ctx, CacheEntry{Key: "w1/b", Tag: "t2", Value: "v", ExpiresAt: now.Add(time.Hour)}))
	must(t, db.CachePut(ctx, CacheEntry{Key: "w2/a", Tag: "t1", Value: "v", ExpiresAt: now.Add(time.Hour)}))
	if _, ok, _ := db.CacheGet(ctx, "w1/a"); !ok {
		t.Fatal("fresh entry not found")
	}
	mu.Lock()
	now = now.Add(2 * time.Minute)
	mu.Unlock()
	if _, ok, _ := db.CacheGet(ctx, "w1/a"); ok {
		t.Fatal("expired entry returned")
	}
	n, err := db.CacheDeleteWhere(ctx, "w1/", "t1", "t2")
	must(t, err)
	if n != 2 {
		t.Fatalf("deleted %d, want 2", n)
	}
	if _, ok, _ := db.CacheGet(ctx, "w2/a"); !ok {
		t.Fatal("other website's entry was deleted")
	}
}

func TestAuthOutcomes(t *testing.T) {
	ctx := context.Background()
	db := openTemp(t)
	if _, err := db.LastAuthOutcome(ctx, 1, ""); !errors.Is(err, ErrNotFound) {
		t.Fatalf("empty: %v", err)
	}
	_, err := db.RecordAuthOutcome(ctx, AuthOutcome{WebsiteID: 1, Source: "test-connection", Environment: "local", TokenFingerprint: "f", Success: true})
	must(t, err)
	_, err = db.RecordAuthOutcome(ctx, AuthOutcome{WebsiteID: 1, Source: "submit", Environment: "local", TokenFingerprint: "f", Success: false, Reason: "TOKEN_REVOKED"})
	must(t, err)
	last, err := db.LastAuthOutcome(ctx, 1, "")
	must(t, err)
	if last.Success || last.Reason != "TOKEN_REVOKED" {
		t.Fatalf("last = %+v", last)
	}
	tc, err := db.LastAuthOutcome(ctx, 1, "test-connection")
	must(t, err)
	if !tc.Success {
		t.Fatalf("last test-connection = %+v", tc)
	}
	must(t, db.ClearAuthOutcomes(ctx, 1))
	if _, err := db.LastAuthOutcome(ctx, 1, ""); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after clear: %v", err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
