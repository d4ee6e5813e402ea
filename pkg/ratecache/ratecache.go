// Package ratecache owns the persistent NBP exchange-rate cache: it adapts the store's
// ksefpl_nbp_rates table (pkg/store, SQL only) to nbp.RateCache, converting between the
// stored decimal text and nbp.Rate. It exists so that neither pkg/store nor pkg/nbp has
// to import the other.
package ratecache

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/ksefpl/ksefpl/pkg/nbp"
	"github.com/ksefpl/ksefpl/pkg/store"
)

// Cache is an nbp.RateCache over a ksefpl database. Rates are keyed by currency and the
// calendar date of the tax point and never expire (NBP never changes a published rate).
type Cache struct {
	db *store.DB
}

// New returns the cache over db.
func New(db *store.DB) *Cache { return &Cache{db: db} }

var _ nbp.RateCache = (*Cache)(nil)

// Get implements nbp.RateCache. A row whose rate is not a positive decimal (written by
// something else) counts as a miss, so the rate is fetched again and the row replaced.
func (c *Cache) Get(ctx context.Context, currency string, taxPoint time.Time) (nbp.Rate, bool, error) {
	row, ok, err := c.db.NBPRateGet(ctx, currency, taxPoint)
	if err != nil || !ok {
		return nbp.Rate{}, false, err
	}
	v, err := decimal.NewFromString(row.Rate)
	if err != nil || !v.IsPositive() {
		return nbp.Rate{}, false, nil
	}
	return nbp.Rate{Currency: row.Currency, Value: v, Table: row.TableNo, Date: row.EffectiveDate}, true, nil
}

// Put implements nbp.RateCache; the rate is stored as its exact decimal text.
func (c *Cache) Put(ctx context.Context, currency string, taxPoint time.Time, r nbp.Rate) error {
	if !r.Value.IsPositive() {
		return fmt.Errorf("cache NBP rate for %s: rate %s is not positive", currency, r.Value)
	}
	return c.db.NBPRatePut(ctx, store.NBPRate{
		Currency:      strings.ToUpper(currency),
		TaxPoint:      taxPoint,
		Rate:          exact(r.Value),
		TableNo:       r.Table,
		EffectiveDate: r.Date,
	})
}

// exact renders d with all the decimal places it was parsed with ("4.2300" stays
// "4.2300"), so the cache keeps the figure NBP published.
func exact(d decimal.Decimal) string {
	if e := d.Exponent(); e < 0 {
		return d.StringFixed(-e)
	}
	return d.String()
}
