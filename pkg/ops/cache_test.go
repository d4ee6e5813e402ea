package ops

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/ksefpl/ksefpl/pkg/authcache"
	"github.com/ksefpl/ksefpl/pkg/ksef"
	"github.com/ksefpl/ksefpl/pkg/store"
)

func seedCaches(t *testing.T, f *fixture) {
	t.Helper()
	exp := time.Now().Add(time.Hour)
	for _, id := range []int64{1, 2} {
		for _, tag := range []string{ksef.TagSessionToken, ksef.TagAuthPending} {
			if err := f.h.DB.CachePut(f.ctx, store.CacheEntry{Key: authcache.Key(id, "u", tag), Tag: tag, Value: "0:3:x", ExpiresAt: exp}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := f.h.DB.NBPRatePut(f.ctx, store.NBPRate{Currency: "EUR", TaxPoint: exp, Rate: "4.2", TableNo: "1/A/NBP/2026", EffectiveDate: exp}); err != nil {
		t.Fatal(err)
	}
}

func counts(cs []Cleaned) map[string]int64 {
	m := map[string]int64{}
	for _, c := range cs {
		m[c.Type] = c.Count
	}
	return m
}

func TestCleanCachePerTypeAndWebsite(t *testing.T) {
	f := newFixture(t)
	if _, err := f.h.DB.CreateWebsite(f.ctx, "shop2", "Shop 2"); err != nil {
		t.Fatal(err)
	}
	seedCaches(t, f)
	got, err := CleanCache(f.ctx, f.h.DB, []string{CacheAuthPending}, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Count != 1 {
		t.Fatalf("auth pending of website 2 = %+v", got)
	}
	left, _ := f.h.DB.CacheEntries(f.ctx)
	if len(left) != 3 {
		t.Fatalf("%d rows left, want 3", len(left))
	}
	got, err = CleanCache(f.ctx, f.h.DB, []string{CacheSessionToken, CacheConfig}, 0)
	if err != nil {
		t.Fatal(err)
	}
	m := counts(got)
	if m[CacheSessionToken] != 2 || m[CacheConfig] != 0 || got[1].Note == "" {
		t.Fatalf("cleaned = %+v", got)
	}
	if _, ok, _ := f.h.DB.NBPRateGet(f.ctx, "EUR", time.Now().Add(time.Hour)); !ok {
		t.Error("NBP rates cleaned although not asked")
	}
}

func TestFlushCleansEveryType(t *testing.T) {
	f := newFixture(t)
	seedCaches(t, f)
	got, err := CleanCache(f.ctx, f.h.DB, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, c := range got {
		types = append(types, c.Type)
	}
	if !slices.Equal(types, CacheTypes()) {
		t.Errorf("types = %v", types)
	}
	m := counts(got)
	if m[CacheSessionToken] != 2 || m[CacheAuthPending] != 2 || m[CacheNBPRates] != 1 {
		t.Errorf("counts = %v", m)
	}
	if left, _ := f.h.DB.CacheEntries(f.ctx); len(left) != 0 {
		t.Errorf("%d cache rows left", len(left))
	}
}

func TestCleanCacheUnknownTypeCleansNothing(t *testing.T) {
	f := newFixture(t)
	seedCaches(t, f)
	_, err := CleanCache(f.ctx, f.h.DB, []string{CacheSessionToken, "bogus"}, 0)
	var ue *UnknownCacheTypeError
	if !errors.As(err, &ue) || ue.Type != "bogus" || !slices.Equal(ue.Valid, CacheTypes()) {
		t.Fatalf("err = %v", err)
	}
	if left, _ := f.h.DB.CacheEntries(f.ctx); len(left) != 4 {
		t.Errorf("%d rows left, want 4 (nothing cleaned)", len(left))
	}
}
