package ratecache

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/ksefpl/ksefpl/pkg/nbp"
	"github.com/ksefpl/ksefpl/pkg/store"
)

// nbpServer answers every table A range request with one EUR rate of 2026-12-28 and
// counts the requests.
func nbpServer(t *testing.T, hits *atomic.Int64) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		fmt.Fprint(w, `{"table":"A","currency":"euro","code":"EUR","rates":[{"no":"249/A/NBP/2026","effectiveDate":"2026-12-28","mid":4.2300}]}`)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func openDB(t *testing.T, path string) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func TestClientUsesPersistentCache(t *testing.T) {
	ctx := context.Background()
	var hits atomic.Int64
	srv := nbpServer(t, &hits)
	path := filepath.Join(t.TempDir(), "ksefpl.db")
	tp := time.Date(2026, 12, 29, 0, 0, 0, 0, time.UTC)

	db := openDB(t, path)
	c := &nbp.Client{BaseURL: srv.URL, HTTP: srv.Client(), Cache: New(db)}
	first, err := c.RateFor(ctx, "EUR", tp)
	if err != nil {
		t.Fatal(err)
	}
	if hits.Load() != 1 {
		t.Fatalf("first lookup made %d requests, want 1", hits.Load())
	}
	db.Close()

	// A new process (a reopened database) answers from the cache without NBP.
	db = openDB(t, path)
	defer db.Close()
	srv.Close()
	c = &nbp.Client{BaseURL: srv.URL, HTTP: srv.Client(), Cache: New(db)}
	second, err := c.RateFor(ctx, "eur", tp)
	if err != nil {
		t.Fatalf("cached lookup with NBP down: %v", err)
	}
	if hits.Load() != 1 {
		t.Fatalf("cached lookup reached NBP (%d requests)", hits.Load())
	}
	if !second.Value.Equal(first.Value) || second.Table != first.Table || !second.Date.Equal(first.Date) || second.Currency != "EUR" {
		t.Fatalf("cached %+v, fetched %+v", second, first)
	}
	// The published text is kept digit for digit.
	row, ok, err := db.NBPRateGet(ctx, "EUR", tp)
	if err != nil || !ok || row.Rate != "4.2300" {
		t.Fatalf("stored row %+v ok=%v err=%v, want rate text 4.2300", row, ok, err)
	}
}

func TestCorruptRowIsRefetched(t *testing.T) {
	ctx := context.Background()
	var hits atomic.Int64
	srv := nbpServer(t, &hits)
	db := openDB(t, filepath.Join(t.TempDir(), "ksefpl.db"))
	defer db.Close()
	tp := time.Date(2026, 12, 29, 0, 0, 0, 0, time.UTC)
	if err := db.NBPRatePut(ctx, store.NBPRate{Currency: "EUR", TaxPoint: tp, Rate: "four", TableNo: "x", EffectiveDate: tp}); err != nil {
		t.Fatal(err)
	}
	cache := New(db)
	if _, ok, err := cache.Get(ctx, "EUR", tp); ok || err != nil {
		t.Fatalf("corrupt row: ok=%v err=%v, want a miss", ok, err)
	}
	c := &nbp.Client{BaseURL: srv.URL, HTTP: srv.Client(), Cache: cache}
	r, err := c.RateFor(ctx, "EUR", tp)
	if err != nil || hits.Load() != 1 || !r.Value.Equal(decimal.RequireFromString("4.23")) {
		t.Fatalf("refetch: %+v %v hits=%d", r, err, hits.Load())
	}
	if row, _, _ := db.NBPRateGet(ctx, "EUR", tp); row.Rate != "4.2300" {
		t.Fatalf("row not replaced: %+v", row)
	}
}

func TestPutRefusesNonPositive(t *testing.T) {
	db := openDB(t, filepath.Join(t.TempDir(), "ksefpl.db"))
	defer db.Close()
	err := New(db).Put(context.Background(), "EUR", time.Now(), nbp.Rate{Currency: "EUR", Value: decimal.Zero})
	if err == nil {
		t.Fatal("zero rate cached")
	}
}
