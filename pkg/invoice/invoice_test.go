package invoice_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ksefpl/ksefpl/internal/ksefpltest"
	"github.com/ksefpl/ksefpl/pkg/config"
	"github.com/ksefpl/ksefpl/pkg/fa"
	"github.com/ksefpl/ksefpl/pkg/failure"
	"github.com/ksefpl/ksefpl/pkg/invoice"
	"github.com/ksefpl/ksefpl/pkg/website"
)

func settings(t *testing.T, f *ksefpltest.Fixture, code string) *website.Settings {
	t.Helper()
	ws, err := f.Deps.Website(f.Ctx, f.Scope(code))
	if err != nil {
		t.Fatal(err)
	}
	return ws
}

// Every input problem and every missing seller setting is reported at once, each
// naming the JSON field or the config:set command (with the website's scope flags).
func TestParseListsInputAndConfigurationProblems(t *testing.T) {
	f := ksefpltest.NewFixture(t, ksefpltest.WithoutSim(), ksefpltest.Unconfigured())
	if _, err := f.DB().CreateWebsite(f.Ctx, "shop2", "Shop 2"); err != nil {
		t.Fatal(err)
	}
	f.Set(config.PathSellerNIP, ksefpltest.NIPShop2, f.Scope("shop2"))
	ws := settings(t, f, "shop2")
	bad := strings.Replace(ksefpltest.InvoiceJSON("INV-1"), `"tax_percent":"23"`, `"tax_percent":"99"`, 1)
	_, err := invoice.Parse(ws, "bad.json", []byte(bad))
	var ie *invoice.InvalidError
	if !errors.As(err, &ie) || !failure.Is(err, failure.Invalid) {
		t.Fatalf("err = %v, want *InvalidError of class invalid", err)
	}
	var input, cfg int
	for _, p := range ie.Problems {
		switch p.Source {
		case invoice.SourceInput:
			input++
		case invoice.SourceConfig:
			cfg++
			if !strings.Contains(p.Message, "config:set ksefpl/seller/") || !strings.Contains(p.Message, "--scope websites --scope-code shop2") {
				t.Errorf("config problem without its command: %q", p.Message)
			}
		}
	}
	if input != 1 || cfg != 2 {
		t.Fatalf("problems %+v: want the tax rate and the missing seller name and address", ie.Problems)
	}
	if !strings.Contains(err.Error(), "invalid invoice input bad.json (3 problems)") || !strings.Contains(ie.Summary(), "items[0].tax_percent") {
		t.Errorf("message %q, summary %q", err, ie.Summary())
	}
}

func TestBuildStampsTheVersionAndChecks(t *testing.T) {
	f := ksefpltest.NewFixture(t, ksefpltest.WithoutSim())
	b, err := invoice.FromJSON(f.Ctx, settings(t, f, "base"), []byte(ksefpltest.InvoiceJSON("INV-1")),
		invoice.Options{Name: "INV-1", Version: "1.2.3"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b.XML), "<SystemInfo>ksefpl 1.2.3</SystemInfo>") || b.Schema != fa.FA3 || b.Rate != nil || len(b.Problems) != 0 {
		t.Fatalf("schema %s, rate %v, problems %v, XML %s", b.Schema, b.Rate, b.Problems, b.XML)
	}
	// --schema overrides the website's.
	b, err = invoice.FromJSON(f.Ctx, settings(t, f, "base"), []byte(ksefpltest.InvoiceJSON("INV-1")), invoice.Options{Schema: fa.FA2})
	if err != nil || b.Schema != fa.FA2 || !strings.Contains(string(b.XML), fa.NamespaceFA2) {
		t.Fatalf("FA2: %v %s", err, b.Schema)
	}
}

func TestBuildRefusesTotalsThatDoNotAddUp(t *testing.T) {
	f := ksefpltest.NewFixture(t, ksefpltest.WithoutSim())
	in := strings.Replace(ksefpltest.InvoiceJSON("INV-1"), `"grand_total":"256.80"`, `"grand_total":"300.00"`, 1)
	_, err := invoice.FromJSON(f.Ctx, settings(t, f, "base"), []byte(in), invoice.Options{Name: "INV-1"})
	var ie *invoice.InvalidError
	var tm *fa.TotalsMismatchError
	if !errors.As(err, &ie) || !errors.As(err, &tm) || ie.Problems[0].Path != "grand_total" {
		t.Fatalf("err = %v", err)
	}
}

// eurInvoice is a EUR invoice without exchange_rate, issued on date.
func eurInvoice(date string) []byte {
	return []byte(strings.NewReplacer(`"currency":"PLN"`, `"currency":"EUR"`).Replace(
		ksefpltest.InvoiceJSONAt("INV-EUR", mustTime(date))))
}

func mustTime(date string) time.Time {
	t, err := time.Parse(time.DateOnly, date)
	if err != nil {
		panic(err)
	}
	return t.Add(10 * time.Hour)
}

func TestExchangeRateSources(t *testing.T) {
	f := ksefpltest.NewFixture(t, ksefpltest.WithoutSim())
	ws := settings(t, f, "base")

	// Queue admission: the provisional stand-in, no network.
	b, err := invoice.FromJSON(f.Ctx, ws, eurInvoice("2026-11-20"), invoice.Options{Rates: invoice.Provisional})
	if err != nil || b.Rate == nil || b.Rate.Source != invoice.ProvisionalTable || b.Rate.Rate != "1" {
		t.Fatalf("provisional: %v %+v", err, b)
	}

	// Sending: NBP table A of the day before the tax point, cached in the store.
	hits := 0
	nbp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits++
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"table":"A","currency":"euro","code":"EUR","rates":[{"no":"225/A/NBP/2026","effectiveDate":"2026-11-19","mid":4.2230}]}`)
	}))
	defer nbp.Close()
	for range 2 {
		b, err = invoice.FromJSON(f.Ctx, ws, eurInvoice("2026-11-20"), invoice.Options{Rates: invoice.NBPRates(f.DB(), nbp.URL+"/api", nil)})
		if err != nil || b.Rate == nil || b.Rate.Source != "nbp" || b.Rate.Rate != "4.2230" || b.Rate.Table != "225/A/NBP/2026" || b.Rate.TaxPoint != "2026-11-20" {
			t.Fatalf("nbp: %v %+v", err, b.Rate)
		}
	}
	if hits != 1 {
		t.Errorf("NBP asked %d times for one rate: the store caches it", hits)
	}

	// NBP unreachable: class unavailable (submit defers the job, preview exits 6).
	nbp.Close()
	_, err = invoice.FromJSON(f.Ctx, ws, eurInvoice("2026-11-23"), invoice.Options{Rates: invoice.NBPRates(f.DB(), nbp.URL+"/api", nil)})
	if !failure.Is(err, failure.Unavailable) {
		t.Fatalf("NBP down: %v (class %q)", err, failure.Of(err))
	}
}

// A failing lookup of a credit memo's original comes back as it is, so submit can defer
// the memo instead of failing it.
func TestLookupErrorsPassThrough(t *testing.T) {
	f := ksefpltest.NewFixture(t, ksefpltest.WithoutSim())
	pending := errors.New("the original is still on its way")
	_, err := invoice.FromJSON(context.Background(), settings(t, f, "base"), []byte(ksefpltest.CreditMemoJSON("CM-1", "INV-1")),
		invoice.Options{LookupOriginal: func(context.Context, string) (string, time.Time, bool, error) {
			return "", time.Time{}, false, pending
		}})
	if !errors.Is(err, pending) || failure.Is(err, failure.Invalid) {
		t.Fatalf("err = %v (class %q)", err, failure.Of(err))
	}
}

func TestCheckErrorIsInvalid(t *testing.T) {
	err := &invoice.CheckError{Problems: []fa.Problem{{Line: 3, Path: "Faktura/Fa/P_15", Msg: "bad"}}}
	if !failure.Is(err, failure.Invalid) || !strings.Contains(err.Error(), "P_15") {
		t.Fatalf("%v", err)
	}
}
