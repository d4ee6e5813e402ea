package nbp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

// published is a small NBP table A history for EUR: 2026-12-24 (Wigilia, a public
// holiday from 2025), 25–26 Dec (Christmas) and the weekend 26–27 Dec have no table.
var published = map[string][2]string{
	"2026-12-18": {"245/A/NBP/2026", "4.2011"},
	"2026-12-21": {"246/A/NBP/2026", "4.2105"},
	"2026-12-22": {"247/A/NBP/2026", "4.2178"},
	"2026-12-23": {"248/A/NBP/2026", "4.2230"},
	"2026-12-28": {"249/A/NBP/2026", "4.2302"},
}

// fakeNBP serves /api/exchangerates/rates/a/{code}/{start}/{end}/ like NBP:
// JSON for eur, 404 "Brak danych" when the range holds no table, 400 for an
// unknown code, and records the last path it was asked for.
func fakeNBP(t *testing.T, lastPath *atomic.Value, hits *atomic.Int32) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		lastPath.Store(r.URL.Path)
		parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
		if len(parts) != 7 || parts[0] != "api" || parts[2] != "rates" || parts[3] != "a" || r.URL.Query().Get("format") != "json" {
			http.Error(w, "400 BadRequest - Błędne zapytanie", http.StatusBadRequest)
			return
		}
		code, start, end := parts[4], parts[5], parts[6]
		if code != "eur" {
			http.Error(w, "400 BadRequest - Błędny kod waluty / Invalid currency code", http.StatusBadRequest)
			return
		}
		var rows []string
		for d := mustDate(t, start); !d.After(mustDate(t, end)); d = d.AddDate(0, 0, 1) {
			if p, ok := published[d.Format(time.DateOnly)]; ok {
				rows = append(rows, fmt.Sprintf(`{"no":%q,"effectiveDate":%q,"mid":%s}`, p[0], d.Format(time.DateOnly), p[1]))
			}
		}
		if len(rows) == 0 {
			http.Error(w, "404 NotFound - Not Found - Brak danych", http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"table":"A","currency":"euro","code":"EUR","rates":[%s]}`, strings.Join(rows, ","))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func mustDate(t *testing.T, s string) time.Time {
	t.Helper()
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		t.Fatalf("bad date %q", s)
	}
	return d
}

func TestRateForTakesLastBusinessDayBeforeTaxPoint(t *testing.T) {
	var last atomic.Value
	var hits atomic.Int32
	srv := fakeNBP(t, &last, &hits)
	c := &Client{BaseURL: srv.URL + "/api", HTTP: srv.Client()}
	cases := []struct {
		taxPoint, wantDate, wantTable, wantMid, wantPath string
	}{
		// Tax point after Christmas and a weekend: 24–27 Dec have no table, so 23 Dec applies.
		{"2026-12-28", "2026-12-23", "248/A/NBP/2026", "4.223", "/api/exchangerates/rates/a/eur/2026-12-18/2026-12-27/"},
		// Tax point on 29 Dec: the day before (28 Dec) has a table.
		{"2026-12-29", "2026-12-28", "249/A/NBP/2026", "4.2302", "/api/exchangerates/rates/a/eur/2026-12-19/2026-12-28/"},
		// Tax point on the table day itself: that day's table is NOT used.
		{"2026-12-23", "2026-12-22", "247/A/NBP/2026", "4.2178", "/api/exchangerates/rates/a/eur/2026-12-13/2026-12-22/"},
	}
	for _, tc := range cases {
		t.Run(tc.taxPoint, func(t *testing.T) {
			r, err := c.RateFor(context.Background(), "EUR", mustDate(t, tc.taxPoint))
			if err != nil {
				t.Fatal(err)
			}
			if got := last.Load().(string); got != tc.wantPath {
				t.Errorf("requested %s, want %s", got, tc.wantPath)
			}
			if r.Date.Format(time.DateOnly) != tc.wantDate || r.Table != tc.wantTable || !r.Value.Equal(decimal.RequireFromString(tc.wantMid)) || r.Currency != "EUR" {
				t.Errorf("got %+v (value %s), want %s %s %s", r, r.Value, tc.wantDate, tc.wantTable, tc.wantMid)
			}
		})
	}
}

func TestRateForErrors(t *testing.T) {
	var last atomic.Value
	var hits atomic.Int32
	srv := fakeNBP(t, &last, &hits)
	c := &Client{BaseURL: srv.URL + "/api", HTTP: srv.Client()}
	ctx := context.Background()

	_, err := c.RateFor(ctx, "EUR", mustDate(t, "2026-06-01"))
	var nt *NoTableError
	if !errors.As(err, &nt) || nt.Currency != "EUR" || nt.To.Format(time.DateOnly) != "2026-05-31" {
		t.Errorf("window without tables: got %v, want *NoTableError ending 2026-05-31", err)
	}

	_, err = c.RateFor(ctx, "XYZ", mustDate(t, "2026-12-28"))
	var uc *UnknownCurrencyError
	if !errors.As(err, &uc) || uc.Currency != "XYZ" || !strings.Contains(err.Error(), "Invalid currency code") {
		t.Errorf("unknown code: got %v, want *UnknownCurrencyError quoting NBP", err)
	}

	before := hits.Load()
	_, err = c.RateFor(ctx, "E1", mustDate(t, "2026-12-28"))
	if !errors.As(err, &uc) || hits.Load() != before {
		t.Errorf("malformed code: got %v (requests %d→%d), want *UnknownCurrencyError without a request", err, before, hits.Load())
	}

	if _, err = c.RateFor(ctx, "PLN", mustDate(t, "2026-12-28")); err == nil {
		t.Error("PLN: want an error")
	}

	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()
	_, err = (&Client{BaseURL: deadURL}).RateFor(ctx, "EUR", mustDate(t, "2026-12-28"))
	var ne *NetworkError
	if !errors.As(err, &ne) || ne.Status != 0 {
		t.Errorf("closed server: got %v, want *NetworkError without status", err)
	}

	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "maintenance", http.StatusServiceUnavailable)
	}))
	defer broken.Close()
	_, err = (&Client{BaseURL: broken.URL}).RateFor(ctx, "EUR", mustDate(t, "2026-12-28"))
	if !errors.As(err, &ne) || ne.Status != http.StatusServiceUnavailable {
		t.Errorf("503: got %v, want *NetworkError with status 503", err)
	}
}

func TestRateForUsesCache(t *testing.T) {
	var last atomic.Value
	var hits atomic.Int32
	srv := fakeNBP(t, &last, &hits)
	cache := &MemoryCache{}
	c := &Client{BaseURL: srv.URL + "/api", HTTP: srv.Client(), Cache: cache}
	ctx := context.Background()
	first, err := c.RateFor(ctx, "eur", mustDate(t, "2026-12-28"))
	if err != nil {
		t.Fatal(err)
	}
	second, err := c.RateFor(ctx, "EUR", time.Date(2026, 12, 28, 15, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if hits.Load() != 1 {
		t.Errorf("NBP asked %d times, want 1 (second call served from cache)", hits.Load())
	}
	if first != second {
		t.Errorf("cached rate %+v differs from fetched %+v", second, first)
	}
	got, ok, _ := cache.Get(ctx, "EUR", mustDate(t, "2026-12-28"))
	if !ok || got.Table != "248/A/NBP/2026" {
		t.Errorf("cache holds %+v, %v", got, ok)
	}
}
