package invoice

import (
	"context"
	"net/http"
	"time"

	"github.com/shopspring/decimal"

	"github.com/ksefpl/ksefpl/pkg/nbp"
	"github.com/ksefpl/ksefpl/pkg/ratecache"
	"github.com/ksefpl/ksefpl/pkg/store"
)

// nbpTimeout bounds one NBP request when the caller gives no HTTP client.
const nbpTimeout = 30 * time.Second

// Rates supplies the exchange rate of a foreign-currency document that carries no
// exchange_rate of its own.
type Rates interface {
	RateFor(ctx context.Context, currency string, taxPoint time.Time) (nbp.Rate, error)
}

// ProvisionalTable marks the stand-in rate of Provisional.
const ProvisionalTable = "provisional"

// Provisional is the stand-in rate (1 PLN) that validates a foreign-currency document
// without a network call while it is queued; the NBP rate is resolved when its bytes are
// frozen for sending.
var Provisional Rates = provisional{}

type provisional struct{}

func (provisional) RateFor(_ context.Context, currency string, taxPoint time.Time) (nbp.Rate, error) {
	return nbp.Rate{Currency: currency, Value: decimal.NewFromInt(1), Table: ProvisionalTable, Date: taxPoint}, nil
}

// NBPRates is NBP's table A (art. 31a) at baseURL ("" for NBP's own API), cached in db.
// A nil hc uses a client with a 30-second timeout.
func NBPRates(db *store.DB, baseURL string, hc *http.Client) Rates {
	if hc == nil {
		hc = &http.Client{Timeout: nbpTimeout}
	}
	c := &nbp.Client{BaseURL: baseURL, HTTP: hc}
	if db != nil {
		c.Cache = ratecache.New(db)
	}
	return c
}

// Rate is the exchange rate a document was built with (also its JSON shape).
type Rate struct {
	Source        string `json:"source"` // "nbp", "manual" or "provisional"
	Currency      string `json:"currency"`
	Rate          string `json:"rate"`
	Table         string `json:"table,omitempty"`
	EffectiveDate string `json:"effective_date,omitempty"`
	TaxPoint      string `json:"tax_point,omitempty"`
}

// decimalText renders d with the decimal places it was read with, so that an NBP rate
// published as 4.2230 is shown as 4.2230.
func decimalText(d decimal.Decimal) string {
	if e := d.Exponent(); e < 0 {
		return d.StringFixed(-e)
	}
	return d.String()
}
