package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// NBPRate is one ksefpl_nbp_rates row: the NBP table A average rate that applies to
// invoices in Currency whose art. 31a tax point is TaxPoint. Rate is kept as the exact
// decimal text NBP published (e.g. "4.2302"); the store never converts it to a float.
type NBPRate struct {
	Currency      string    // ISO 4217, upper case
	TaxPoint      time.Time // the tax point date (only the calendar date is stored)
	Rate          string    // PLN per unit, decimal text
	TableNo       string    // e.g. "249/A/NBP/2026"
	EffectiveDate time.Time // the table's publication date (calendar date)
	FetchedAt     time.Time // when the rate was stored
}

// dateOnly renders the calendar date of t in t's own location.
func dateOnly(t time.Time) string { return t.Format(time.DateOnly) }

// NBPRateGet returns the cached rate for (currency, tax point date); ok=false on a miss.
// Dates are returned as midnight UTC of the stored calendar date.
func (d *DB) NBPRateGet(ctx context.Context, currency string, taxPoint time.Time) (NBPRate, bool, error) {
	r := NBPRate{Currency: strings.ToUpper(currency)}
	var tp, eff, fetched string
	err := d.sql.QueryRowContext(ctx, `SELECT tax_point_date, rate, table_no, effective_date, fetched_at
		FROM ksefpl_nbp_rates WHERE currency = ? AND tax_point_date = ?`, r.Currency, dateOnly(taxPoint)).
		Scan(&tp, &r.Rate, &r.TableNo, &eff, &fetched)
	if errors.Is(err, sql.ErrNoRows) {
		return r, false, nil
	}
	if err != nil {
		return r, false, fmt.Errorf("read NBP rate cache: %w", err)
	}
	if r.TaxPoint, err = time.Parse(time.DateOnly, tp); err != nil {
		return r, false, fmt.Errorf("read NBP rate cache: bad tax_point_date %q: %w", tp, err)
	}
	if r.EffectiveDate, err = time.Parse(time.DateOnly, eff); err != nil {
		return r, false, fmt.Errorf("read NBP rate cache: bad effective_date %q: %w", eff, err)
	}
	if r.FetchedAt, err = parseTime(fetched); err != nil {
		return r, false, fmt.Errorf("read NBP rate cache: bad fetched_at %q: %w", fetched, err)
	}
	return r, true, nil
}

// NBPRatePut inserts or replaces the rate for (r.Currency, r.TaxPoint date). A zero
// FetchedAt is stamped with the store's clock.
func (d *DB) NBPRatePut(ctx context.Context, r NBPRate) error {
	if r.Currency == "" || strings.TrimSpace(r.Rate) == "" {
		return errors.New("write NBP rate cache: currency and rate are required")
	}
	if r.FetchedAt.IsZero() {
		r.FetchedAt = d.now()
	}
	_, err := d.sql.ExecContext(ctx, `INSERT INTO ksefpl_nbp_rates
		(currency, tax_point_date, rate, table_no, effective_date, fetched_at) VALUES (?, ?, ?, ?, ?, ?)`+
		d.onConflict([]string{"currency", "tax_point_date"}, []string{"rate", "table_no", "effective_date", "fetched_at"}),
		strings.ToUpper(r.Currency), dateOnly(r.TaxPoint), strings.TrimSpace(r.Rate), r.TableNo,
		dateOnly(r.EffectiveDate), timestamp(r.FetchedAt))
	if err != nil {
		return fmt.Errorf("write NBP rate cache: %w", err)
	}
	return nil
}

// NBPRatesDelete empties the NBP rate cache and reports how many rows went.
func (d *DB) NBPRatesDelete(ctx context.Context) (int64, error) {
	res, err := d.sql.ExecContext(ctx, `DELETE FROM ksefpl_nbp_rates`)
	if err != nil {
		return 0, fmt.Errorf("clean NBP rate cache: %w", err)
	}
	return res.RowsAffected()
}
