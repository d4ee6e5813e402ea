package store

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestNBPRatePutGetRoundTripAcrossReopen(t *testing.T) {
	ctx := context.Background()
	loc := newLocation(t)
	stamp := time.Date(2026, 12, 29, 9, 30, 0, 0, time.UTC)
	db, err := loc.tryOpen(Options{Now: func() time.Time { return stamp }})
	if err != nil {
		t.Fatal(err)
	}
	warsaw, err := time.LoadLocation("Europe/Warsaw")
	if err != nil {
		t.Fatal(err)
	}
	// The tax point's calendar date in its own zone is the key, whatever the hour.
	tp := time.Date(2026, 12, 28, 23, 30, 0, 0, warsaw)
	in := NBPRate{Currency: "eur", TaxPoint: tp, Rate: "4.2302", TableNo: "249/A/NBP/2026",
		EffectiveDate: time.Date(2026, 12, 28, 0, 0, 0, 0, time.UTC)}
	if err := db.NBPRatePut(ctx, in); err != nil {
		t.Fatal(err)
	}
	db.Close()

	db, err = loc.tryOpen(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	got, ok, err := db.NBPRateGet(ctx, "EUR", time.Date(2026, 12, 28, 0, 0, 0, 0, time.UTC))
	if err != nil || !ok {
		t.Fatalf("get after reopen: ok=%v err=%v", ok, err)
	}
	want := NBPRate{Currency: "EUR", TaxPoint: time.Date(2026, 12, 28, 0, 0, 0, 0, time.UTC), Rate: "4.2302",
		TableNo: "249/A/NBP/2026", EffectiveDate: time.Date(2026, 12, 28, 0, 0, 0, 0, time.UTC), FetchedAt: stamp}
	if got != want {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}

	// The rate column holds text exactly as given, never a REAL.
	var raw, tpRaw string
	if err := db.sql.QueryRowContext(ctx, `SELECT rate, tax_point_date FROM ksefpl_nbp_rates`).Scan(&raw, &tpRaw); err != nil {
		t.Fatal(err)
	}
	typ := rateType(t, db)
	if typ != "text" || raw != "4.2302" || tpRaw != "2026-12-28" {
		t.Fatalf("stored typeof(rate)=%s rate=%q tax_point_date=%q", typ, raw, tpRaw)
	}
}

func TestNBPRateMissAndUpsert(t *testing.T) {
	ctx := context.Background()
	db := openTemp(t)
	day := time.Date(2026, 11, 19, 0, 0, 0, 0, time.UTC)
	if _, ok, err := db.NBPRateGet(ctx, "USD", day); ok || err != nil {
		t.Fatalf("empty cache: ok=%v err=%v, want a miss", ok, err)
	}
	put := func(rate, table string) {
		t.Helper()
		if err := db.NBPRatePut(ctx, NBPRate{Currency: "USD", TaxPoint: day, Rate: rate, TableNo: table, EffectiveDate: day.AddDate(0, 0, -1)}); err != nil {
			t.Fatal(err)
		}
	}
	put("3.6500", "223/A/NBP/2026")
	put("3.6612", "224/A/NBP/2026")
	got, ok, err := db.NBPRateGet(ctx, "usd", day)
	if err != nil || !ok || got.Rate != "3.6612" || got.TableNo != "224/A/NBP/2026" {
		t.Fatalf("after upsert: %+v ok=%v err=%v", got, ok, err)
	}
	// Another date or currency is a miss.
	if _, ok, _ := db.NBPRateGet(ctx, "USD", day.AddDate(0, 0, 1)); ok {
		t.Fatal("next day should miss")
	}
	if _, ok, _ := db.NBPRateGet(ctx, "EUR", day); ok {
		t.Fatal("other currency should miss")
	}
	var n int
	if err := db.sql.QueryRowContext(ctx, `SELECT COUNT(*) FROM ksefpl_nbp_rates`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("rows = %d (%v), want 1 after upsert", n, err)
	}
}

func TestNBPRatePutRejectsEmpty(t *testing.T) {
	db := openTemp(t)
	err := db.NBPRatePut(context.Background(), NBPRate{Currency: "EUR", TaxPoint: time.Now()})
	if err == nil {
		t.Fatal("empty rate accepted")
	}
}

func TestNBPRatesTableNeverStoresREAL(t *testing.T) {
	ctx := context.Background()
	db := openTemp(t)
	// Even a numeric literal written by other SQL lands as text (TEXT affinity).
	if _, err := db.sql.ExecContext(ctx, `INSERT INTO ksefpl_nbp_rates VALUES ('EUR', '2026-01-02', 4.2302, 'x', '2026-01-01', '2026-01-02T00:00:00Z')`); err != nil {
		t.Fatal(err)
	}
	if typ := rateType(t, db); typ != "text" {
		t.Fatalf("the stored rate's type is %q, want text", typ)
	}
	if _, err := db.sql.ExecContext(ctx, `INSERT INTO ksefpl_nbp_rates VALUES ('USD', '2026-01-02', '', 'x', '2026-01-01', 'now')`); err == nil {
		t.Fatal("an empty rate was stored; the CHECK constraint must refuse it")
	}
}

func TestNBPRatesDelete(t *testing.T) {
	ctx := context.Background()
	db := openTemp(t)
	if n, err := db.NBPRatesDelete(ctx); err != nil || n != 0 {
		t.Fatalf("delete on empty = %d, %v", n, err)
	}
	day := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	for i, cur := range []string{"EUR", "USD", "GBP"} {
		r := NBPRate{Currency: cur, TaxPoint: day.AddDate(0, 0, i), Rate: "4.1", TableNo: "1/A/NBP/2026", EffectiveDate: day}
		if err := db.NBPRatePut(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	// Unrelated cache rows survive.
	if err := db.CachePut(ctx, CacheEntry{Key: "k", Tag: "t", Value: "v", ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	n, err := db.NBPRatesDelete(ctx)
	if err != nil || n != 3 {
		t.Fatalf("deleted %d, %v; want 3", n, err)
	}
	if _, ok, _ := db.NBPRateGet(ctx, "EUR", day); ok {
		t.Fatal("EUR still cached after delete")
	}
	if _, ok, err := db.CacheGet(ctx, "k"); !ok || err != nil {
		t.Fatalf("ksefpl_cache row lost: ok=%v err=%v", ok, err)
	}
}

// rateType is the storage type of the stored rate: SQLite's typeof of the value, or
// "text" for a MySQL character column.
func rateType(t *testing.T, db *DB) string {
	t.Helper()
	ctx := context.Background()
	var typ string
	if db.Engine() == "mysql" {
		if err := db.sql.QueryRowContext(ctx, `SELECT DATA_TYPE FROM information_schema.COLUMNS
			WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'ksefpl_nbp_rates' AND COLUMN_NAME = 'rate'`).Scan(&typ); err != nil {
			t.Fatal(err)
		}
		if typ == "varchar" || typ == "char" || strings.HasSuffix(typ, "text") {
			return "text"
		}
		return typ
	}
	if err := db.sql.QueryRowContext(ctx, `SELECT typeof(rate) FROM ksefpl_nbp_rates`).Scan(&typ); err != nil {
		t.Fatal(err)
	}
	return typ
}
