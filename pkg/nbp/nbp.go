// Package nbp owns exchange rates from the National Bank of Poland (NBP) table A
// and the art. 31a VAT rule: a foreign-currency amount is converted at the
// average rate published for the last business day before the tax point.
//
// Rate has the same fields as fa.Rate, so callers convert with fa.Rate(r); the
// packages do not import each other.
package nbp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/shopspring/decimal"

	"github.com/ksefpl/ksefpl/internal/lazyre"
	"github.com/ksefpl/ksefpl/pkg/failure"
)

// DefaultBaseURL is the public NBP API root.
const DefaultBaseURL = "https://api.nbp.pl/api"

// Window is how many days before the tax point are requested; it spans the
// longest run of non-publication days (e.g. Christmas and a weekend).
const Window = 10

// Rate is one table A average rate: 1 unit of Currency = Value PLN, from table
// Table (e.g. "214/A/NBP/2026") effective on Date (midnight UTC of that day).
type Rate struct {
	Currency string
	Value    decimal.Decimal
	Table    string
	Date     time.Time
}

// RateCache stores rates by currency and tax point; published rates never
// change, so entries never expire. The store implements it in SQLite.
type RateCache interface {
	// Get returns the rate cached for (currency, tax point date); ok=false on a miss.
	Get(ctx context.Context, currency string, taxPoint time.Time) (Rate, bool, error)
	// Put stores the rate found for (currency, tax point date).
	Put(ctx context.Context, currency string, taxPoint time.Time, r Rate) error
}

// Client fetches table A rates. The zero value uses DefaultBaseURL,
// http.DefaultClient and no cache.
type Client struct {
	BaseURL string       // e.g. "https://api.nbp.pl/api"; "" means DefaultBaseURL
	HTTP    *http.Client // nil means http.DefaultClient
	Cache   RateCache    // optional
}

// NoTableError means NBP published no table A rate in the window before the tax
// point (NBP answers 404 "Brak danych").
type NoTableError struct {
	Currency string
	From, To time.Time
}

func (e *NoTableError) Error() string {
	return fmt.Sprintf("NBP has no table A rate for %s between %s and %s: either the tax point is in the future or %s is not a table A currency (table B currencies are not supported); check the date, or give exchange_rate in the invoice",
		e.Currency, e.From.Format(time.DateOnly), e.To.Format(time.DateOnly), e.Currency)
}

// UnknownCurrencyError means the code is not a table A currency.
type UnknownCurrencyError struct {
	Currency string
	Detail   string
}

func (e *UnknownCurrencyError) Error() string {
	msg := fmt.Sprintf("currency %q is not in NBP table A: use an ISO 4217 code NBP publishes (EUR, USD, GBP, CHF, …) or give exchange_rate in the invoice", e.Currency)
	if e.Detail != "" {
		msg += " (NBP: " + e.Detail + ")"
	}
	return msg
}

// NetworkError means NBP could not be reached or answered unexpectedly; retry later.
type NetworkError struct {
	URL    string
	Status int // 0 when no HTTP response arrived
	Err    error
}

func (e *NetworkError) Error() string {
	if e.Status != 0 {
		return fmt.Sprintf("NBP API %s answered HTTP %d: %v; try again later or give exchange_rate in the invoice", e.URL, e.Status, e.Err)
	}
	return fmt.Sprintf("NBP API %s unreachable: %v; check the network or give exchange_rate in the invoice", e.URL, e.Err)
}

// Unwrap returns the underlying error.
func (e *NetworkError) Unwrap() error { return e.Err }

var reCode = lazyre.New(`^[A-Z]{3}$`)

// response is NBP's JSON for /exchangerates/rates/a/{code}/{start}/{end}/.
type response struct {
	Table    string `json:"table"`
	Currency string `json:"currency"`
	Code     string `json:"code"`
	Rates    []struct {
		No            string          `json:"no"`
		EffectiveDate string          `json:"effectiveDate"`
		Mid           decimal.Decimal `json:"mid"`
	} `json:"rates"`
}

// RateFor returns the table A average rate of the last business day before
// taxPoint (art. 31a ust. 1): it asks for the Window days ending the day before
// the tax point and takes the last entry. PLN is rejected (no conversion needed).
func (c *Client) RateFor(ctx context.Context, currency string, taxPoint time.Time) (Rate, error) {
	code := strings.ToUpper(strings.TrimSpace(currency))
	if code == "PLN" {
		return Rate{}, errors.New("nbp: PLN needs no exchange rate")
	}
	if !reCode.MatchString(code) {
		return Rate{}, &UnknownCurrencyError{Currency: currency}
	}
	day := time.Date(taxPoint.Year(), taxPoint.Month(), taxPoint.Day(), 0, 0, 0, 0, time.UTC)
	if c.Cache != nil {
		r, ok, err := c.Cache.Get(ctx, code, day)
		if err != nil {
			return Rate{}, fmt.Errorf("nbp: read rate cache: %w", err)
		}
		if ok {
			return r, nil
		}
	}
	end := day.AddDate(0, 0, -1)
	start := day.AddDate(0, 0, -Window)
	r, err := c.fetch(ctx, code, start, end)
	if err != nil {
		return Rate{}, err
	}
	if c.Cache != nil {
		if err := c.Cache.Put(ctx, code, day, r); err != nil {
			return Rate{}, fmt.Errorf("nbp: write rate cache: %w", err)
		}
	}
	return r, nil
}

func (c *Client) fetch(ctx context.Context, code string, start, end time.Time) (Rate, error) {
	base := c.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	u := fmt.Sprintf("%s/exchangerates/rates/a/%s/%s/%s/?format=json", strings.TrimRight(base, "/"),
		url.PathEscape(strings.ToLower(code)), start.Format(time.DateOnly), end.Format(time.DateOnly))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return Rate{}, fmt.Errorf("nbp: bad base URL %q: %w", base, err)
	}
	req.Header.Set("Accept", "application/json")
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return Rate{}, &NetworkError{URL: u, Err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return Rate{}, &NetworkError{URL: u, Status: resp.StatusCode, Err: err}
	}
	detail := strings.TrimSpace(string(body))
	if len(detail) > 200 {
		detail = detail[:200]
	}
	switch {
	case resp.StatusCode == http.StatusNotFound:
		// NBP answers 404 both for "no table in this range" and for a code it
		// does not know; a range of Window days always holds a business day, so
		// tell them apart only by the body when NBP says so.
		if strings.Contains(strings.ToLower(detail), "brak danych") || detail == "" {
			return Rate{}, &NoTableError{Currency: code, From: start, To: end}
		}
		return Rate{}, &UnknownCurrencyError{Currency: code, Detail: detail}
	case resp.StatusCode == http.StatusBadRequest:
		return Rate{}, &UnknownCurrencyError{Currency: code, Detail: detail}
	case resp.StatusCode != http.StatusOK:
		return Rate{}, &NetworkError{URL: u, Status: resp.StatusCode, Err: errors.New(detail)}
	}
	var r response
	if err := json.Unmarshal(body, &r); err != nil {
		return Rate{}, &NetworkError{URL: u, Status: resp.StatusCode, Err: fmt.Errorf("unreadable JSON: %w", err)}
	}
	if len(r.Rates) == 0 {
		return Rate{}, &NoTableError{Currency: code, From: start, To: end}
	}
	var best Rate
	for _, e := range r.Rates {
		d, err := time.Parse(time.DateOnly, e.EffectiveDate)
		if err != nil {
			return Rate{}, &NetworkError{URL: u, Status: resp.StatusCode, Err: fmt.Errorf("bad effectiveDate %q", e.EffectiveDate)}
		}
		if d.After(end) || d.Before(start) || !e.Mid.IsPositive() {
			continue
		}
		if best.Table == "" || d.After(best.Date) {
			best = Rate{Currency: code, Value: e.Mid, Table: e.No, Date: d}
		}
	}
	if best.Table == "" {
		return Rate{}, &NoTableError{Currency: code, From: start, To: end}
	}
	return best, nil
}

// MemoryCache is an in-memory RateCache, safe for concurrent use (for tests and
// one-shot commands).
type MemoryCache struct {
	mu sync.Mutex
	m  map[string]Rate
}

func cacheKey(currency string, taxPoint time.Time) string {
	return strings.ToUpper(currency) + "/" + taxPoint.Format(time.DateOnly)
}

// Get implements RateCache.
func (m *MemoryCache) Get(_ context.Context, currency string, taxPoint time.Time) (Rate, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.m[cacheKey(currency, taxPoint)]
	return r, ok, nil
}

// Put implements RateCache.
func (m *MemoryCache) Put(_ context.Context, currency string, taxPoint time.Time, r Rate) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.m == nil {
		m.m = map[string]Rate{}
	}
	m.m[cacheKey(currency, taxPoint)] = r
	return nil
}

// Class is failure.Invalid: no table for that day.
func (e *NoTableError) Class() failure.Class { return failure.Invalid }

// Class is failure.Invalid: NBP does not publish the currency.
func (e *UnknownCurrencyError) Class() failure.Class { return failure.Invalid }

// Class is failure.Unavailable: NBP could not be reached.
func (e *NetworkError) Class() failure.Class { return failure.Unavailable }
