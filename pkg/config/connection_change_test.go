package config

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ksefpl/ksefpl/pkg/authcache"
	"github.com/ksefpl/ksefpl/pkg/store"
)

// seedConnectionState gives websites base (1) and shop2 (2) a cached token row and a
// connection-test outcome each.
func seedConnectionState(t *testing.T, db *store.DB) Scope {
	t.Helper()
	ctx := context.Background()
	if _, err := db.CreateWebsite(ctx, "shop2", "Shop 2"); err != nil {
		t.Fatal(err)
	}
	for _, id := range []int64{1, 2} {
		if err := db.CachePut(ctx, store.CacheEntry{Key: authcache.Key(id, "http://x/v2", "fp"), Tag: "ksefpl_session_token",
			Value: "0:3:x", ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if _, err := db.RecordAuthOutcome(ctx, store.AuthOutcome{WebsiteID: id, Source: "test-connection", Success: true}); err != nil {
			t.Fatal(err)
		}
	}
	return Scope{Type: store.ScopeWebsites, Code: "shop2", ID: 2, WebsiteID: 2, WebsiteCode: "shop2"}
}

// state reports whether website id still has its cache row and its outcome.
func state(t *testing.T, db *store.DB, id int64) (cached, outcome bool) {
	t.Helper()
	ctx := context.Background()
	_, cached, err := db.CacheGet(ctx, authcache.Key(id, "http://x/v2", "fp"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = db.LastAuthOutcome(ctx, id, "")
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		t.Fatal(err)
	}
	return cached, err == nil
}

func TestConnectionChangeAtWebsiteScopeClearsThatWebsiteOnly(t *testing.T) {
	for _, path := range ConnectionPaths() {
		t.Run(path, func(t *testing.T) {
			s, db, _ := newService(t, nil)
			shop2 := seedConnectionState(t, db)
			// The simulator's loopback base_url needs environment local: save it as is, so
			// that only the change under test clears anything.
			if err := db.ConfigSet(context.Background(), store.ScopeWebsites, 2, PathEnvironment, "local"); err != nil {
				t.Fatal(err)
			}
			value := map[string]string{PathEnvironment: "local", PathBaseURL: "http://127.0.0.1:1/v2", PathAPIToken: testToken("7740001454", 'c'),
				PathAuthMethod: AuthCertificate, PathAllowCustomHost: "1"}[path]
			mustSet(t, s, path, value, shop2)
			if c, o := state(t, db, 2); c || o {
				t.Errorf("shop2 after config:set %s: cached=%v outcome=%v, want both cleared", path, c, o)
			}
			if c, o := state(t, db, 1); !c || !o {
				t.Errorf("base after a shop2 change: cached=%v outcome=%v, want both kept", c, o)
			}
		})
	}
}

func TestConnectionChangeAtDefaultScopeClearsEveryWebsite(t *testing.T) {
	s, db, _ := newService(t, nil)
	seedConnectionState(t, db)
	mustSet(t, s, PathEnvironment, "demo", Default)
	for _, id := range []int64{1, 2} {
		if c, o := state(t, db, id); c || o {
			t.Errorf("website %d after a default-scope environment change: cached=%v outcome=%v", id, c, o)
		}
	}
}

func TestConnectionDeleteClears(t *testing.T) {
	s, db, _ := newService(t, nil)
	shop2 := seedConnectionState(t, db)
	if err := db.ConfigSet(context.Background(), store.ScopeWebsites, 2, PathBaseURL, "http://127.0.0.1:1/v2"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(context.Background(), PathBaseURL, shop2); err != nil {
		t.Fatal(err)
	}
	if c, o := state(t, db, 2); c || o {
		t.Errorf("shop2 after config:delete: cached=%v outcome=%v", c, o)
	}
}

func TestOtherPathsKeepConnectionState(t *testing.T) {
	s, db, _ := newService(t, nil)
	shop2 := seedConnectionState(t, db)
	mustSet(t, s, PathSellerName, "ACME", shop2)
	mustSet(t, s, PathTokenTTLMargin, "1m", Default)
	for _, id := range []int64{1, 2} {
		if c, o := state(t, db, id); !c || !o {
			t.Errorf("website %d after a non-connection change: cached=%v outcome=%v", id, c, o)
		}
	}
}

func TestSetKeepingTokenCacheForgetsOnlyOutcomes(t *testing.T) {
	s, db, _ := newService(t, nil)
	shop2 := seedConnectionState(t, db)
	newTok := testToken("7740001454", 'd')
	if _, err := s.SetKeepingTokenCache(context.Background(), PathAPIToken, newTok, shop2); err != nil {
		t.Fatal(err)
	}
	if c, o := state(t, db, 2); !c || o {
		t.Errorf("shop2: cached=%v outcome=%v, want cache kept and outcome cleared", c, o)
	}
	plain, _, err := s.Secret(context.Background(), PathAPIToken, shop2)
	if err != nil || plain != newTok {
		t.Fatalf("token = %q, %v", plain, err)
	}
}

func TestWebsiteCachePrefixIsAuthcaches(t *testing.T) {
	for _, id := range []int64{1, 2, 12345} {
		if websiteCachePrefix(id) != authcache.WebsitePrefix(id) {
			t.Fatalf("websiteCachePrefix(%d) = %q, authcache.WebsitePrefix = %q", id, websiteCachePrefix(id), authcache.WebsitePrefix(id))
		}
	}
}
