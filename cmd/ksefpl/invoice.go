package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/ksefpl/ksefpl/pkg/config"
	"github.com/ksefpl/ksefpl/pkg/fa"
	"github.com/ksefpl/ksefpl/pkg/nbp"
	"github.com/ksefpl/ksefpl/pkg/ratecache"
	"github.com/ksefpl/ksefpl/pkg/website"
	"github.com/spf13/cobra"
)

// nbpTimeout bounds one NBP request.
const nbpTimeout = 30 * time.Second

// invoiceBuildFlags are the flags shared by the commands that build an invoice from the
// shop JSON: --website, --schema and --rate-url.
type invoiceBuildFlags struct {
	website string
	schema  string
	rateURL string
}

func (f *invoiceBuildFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.website, "website", "", "website code whose seller and settings to use (default: base)")
	cmd.Flags().StringVar(&f.schema, "schema", "", "FA3 or FA2 (default: ksefpl/invoice/schema of the website)")
	cmd.Flags().StringVar(&f.rateURL, "rate-url", "", "NBP API base URL (default: ksefpl/nbp/base_url)")
}

// check validates the flag values before anything is opened.
func (f *invoiceBuildFlags) check() error {
	if f.schema != "" {
		s := strings.ToUpper(f.schema)
		if s != string(fa.FA3) && s != string(fa.FA2) {
			return &usageErr{fmt.Errorf("invalid --schema %q: use FA3 or FA2", f.schema)}
		}
		f.schema = s
	}
	if f.rateURL != "" {
		u, err := url.Parse(f.rateURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return &usageErr{fmt.Errorf("invalid --rate-url %q: give an http(s) URL such as https://api.nbp.pl/api", f.rateURL)}
		}
	}
	return nil
}

// rateUsed is the exchange rate a foreign-currency invoice was built with (also its
// JSON shape in the preview summary).
type rateUsed struct {
	Source        string `json:"source"` // "nbp" or "manual"
	Currency      string `json:"currency"`
	Rate          string `json:"rate"`
	Table         string `json:"table,omitempty"`
	EffectiveDate string `json:"effective_date,omitempty"`
	TaxPoint      string `json:"tax_point,omitempty"`
}

// builtInvoice is the outcome of building one shop JSON document.
type builtInvoice struct {
	xml    []byte
	doc    *fa.Document
	schema fa.Schema
	rate   *rateUsed
}

// invoiceInputError lists every problem that stops an input from being built, one per
// line, naming the JSON field or the configuration path to fix. It unwraps to the fa
// error, so fa.IsInvalid (exit 3) holds.
type invoiceInputError struct {
	file     string
	problems []problemOut
	err      error
}

func (e *invoiceInputError) Error() string {
	var b strings.Builder
	n := len(e.problems)
	if n == 1 {
		fmt.Fprintf(&b, "invalid invoice input %s:", e.file)
	} else {
		fmt.Fprintf(&b, "invalid invoice input %s (%d problems):", e.file, n)
	}
	for _, p := range e.problems {
		b.WriteString("\n  ")
		b.WriteString(p.String())
	}
	b.WriteString("\nFix the input (see docs/invoice-json.md) or the configuration and run the command again.")
	return b.String()
}

func (e *invoiceInputError) Unwrap() error { return e.err }

// inputProblems turns an fa build/parse error into problems; ok=false when err is not
// about the input.
func inputProblems(err error) ([]problemOut, bool) {
	var list fa.InputErrors
	if errors.As(err, &list) {
		out := make([]problemOut, 0, len(list))
		for _, e := range list {
			out = append(out, problemOut{Path: e.Field, Message: withConfigHint(e.Field, e.Msg), Source: "input"})
		}
		return out, true
	}
	var te *fa.TotalsMismatchError
	var re *fa.RateError
	var ie *fa.InputError
	switch {
	case errors.As(err, &te):
		return []problemOut{{Path: "grand_total", Message: te.Error(), Source: "input"}}, true
	case errors.As(err, &re):
		return []problemOut{{Path: "exchange_rate", Message: re.Error(), Source: "input"}}, true
	case errors.As(err, &ie):
		return []problemOut{{Path: ie.Field, Message: withConfigHint(ie.Field, ie.Msg), Source: "input"}}, true
	}
	return nil, false
}

// sellerConfigPaths maps the builder's seller fields to configuration paths.
var sellerConfigPaths = map[string]string{
	"seller.nip":           config.PathSellerNIP,
	"seller.name":          config.PathSellerName,
	"seller.address_line1": config.PathSellerAddress1,
	"seller.address_line2": config.PathSellerAddress2,
	"seller.country_code":  config.PathSellerCountry,
}

// withConfigHint tells how to fix a seller problem, which comes from configuration.
func withConfigHint(field, msg string) string {
	if p, ok := sellerConfigPaths[field]; ok {
		return msg + " (set it with: ksefpl config:set " + p + " VALUE)"
	}
	return msg
}

// missingSeller reports the seller settings Build requires that have no value at all,
// with the command that sets each.
func missingSeller(s fa.Seller, websiteCode string) []problemOut {
	scope := ""
	if websiteCode != "" && websiteCode != "base" {
		scope = " --scope websites --scope-code " + websiteCode
	}
	var out []problemOut
	for _, f := range []struct{ field, value, path, example string }{
		{"seller.nip", s.NIP, config.PathSellerNIP, "5261040828"},
		{"seller.name", s.Name, config.PathSellerName, "'Sklep sp. z o.o.'"},
		{"seller.address_line1", s.AddressLine1, config.PathSellerAddress1, "'ul. Prosta 1'"},
	} {
		if strings.TrimSpace(f.value) == "" {
			out = append(out, problemOut{Path: f.field, Source: "config", Message: fmt.Sprintf(
				"no seller %s configured for website %q: run ksefpl config:set %s %s%s",
				strings.TrimPrefix(f.field, "seller."), websiteCode, f.path, f.example, scope)})
		}
	}
	return out
}

// buildInvoice reads a shop JSON file and builds the invoice for the website: seller and
// schema from configuration (the --schema flag wins), the exchange rate from the input
// (exchange_rate) or from NBP through the store-backed cache, then marshals the XML.
func (a *app) buildInvoice(ctx context.Context, file string, f *invoiceBuildFlags) (*builtInvoice, error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return nil, withCode(exitInvalid, fmt.Errorf("read invoice input: %w; check the path", err))
	}
	svc, h, err := a.config(ctx)
	if err != nil {
		return nil, err
	}
	sc, err := a.websiteScope(ctx, svc, f.website)
	if err != nil {
		return nil, err
	}
	ws, err := website.Load(ctx, svc, sc)
	if err != nil {
		return nil, err
	}
	schema := ws.Schema
	if f.schema != "" {
		schema = fa.Schema(f.schema)
	}
	if schema == "" {
		schema = fa.FA3
	}

	in, perr := fa.ParseInput(bytes.NewReader(raw))
	var problems []problemOut
	if perr != nil {
		ps, ok := inputProblems(perr)
		if !ok {
			return nil, fmt.Errorf("read invoice input %s: %w", file, perr)
		}
		problems = ps
	}
	problems = append(problems, missingSeller(ws.Seller, sc.WebsiteCode)...)
	if len(problems) > 0 {
		cause := perr
		if cause == nil {
			cause = fa.InputErrors{{Field: problems[0].Path, Msg: problems[0].Message}}
		}
		return nil, &invoiceInputError{file: file, problems: problems, err: cause}
	}

	out := &builtInvoice{schema: schema}
	opts := fa.BuildOptions{Schema: schema, Seller: ws.Seller, Now: a.now}
	if cur, taxPoint, ok := in.NeedsRate(); ok {
		base := f.rateURL
		if base == "" {
			base = ws.NBPURL
		}
		client := &nbp.Client{BaseURL: base, HTTP: &http.Client{Timeout: nbpTimeout}, Cache: ratecache.New(h.DB)}
		r, err := client.RateFor(ctx, cur, taxPoint)
		if err != nil {
			return nil, fmt.Errorf("exchange rate for invoice %s: %w", in.IncrementID, err)
		}
		fr := fa.Rate(r)
		opts.Rate = &fr
		out.rate = &rateUsed{Source: "nbp", Currency: r.Currency, Rate: decimalText(r.Value), Table: r.Table,
			EffectiveDate: r.Date.Format(time.DateOnly), TaxPoint: taxPoint.Format(time.DateOnly)}
	} else if m := strings.TrimSpace(string(in.ExchangeRate)); m != "" {
		out.rate = &rateUsed{Source: "manual", Currency: strings.ToUpper(strings.TrimSpace(in.Currency)), Rate: m}
	}

	doc, err := fa.Build(ctx, in, opts)
	if err != nil {
		if ps, ok := inputProblems(err); ok {
			return nil, &invoiceInputError{file: file, problems: ps, err: err}
		}
		return nil, err
	}
	if out.xml, err = fa.Marshal(doc); err != nil {
		return nil, err
	}
	out.doc = doc
	return out, nil
}

type invoicePreviewOptions struct {
	invoiceBuildFlags
	file    string
	summary bool
}

func newInvoicePreviewCmd(a *app) *cobra.Command {
	o := &invoicePreviewOptions{}
	cmd := &cobra.Command{
		Use:   "invoice:preview --file FILE.json",
		Short: "Build the FA(3)/FA(2) XML of a shop invoice JSON and print it (nothing is sent)",
		Long: `Builds the structured invoice for a shop document (docs/invoice-json.md) with the website's
seller and schema from configuration, checks it, and prints the XML on stdout. A foreign-currency
invoice without exchange_rate uses the NBP table A rate of the last business day before the tax
point (art. 31a), fetched from ksefpl/nbp/base_url and cached in the database.

On a terminal, or with --summary, a summary (seller, buyer, totals per rate, exchange rate) is
printed on stderr. -o json prints {"xml", "summary", "problems"}.

Exit codes: 3 invalid input or configuration (every problem is listed), 6 NBP unreachable.`,
		Example: `  ksefpl invoice:preview --file INV-000123.json > INV-000123.xml
  ksefpl invoice:preview --file order.json --website shop2 --schema FA2 --summary
  ksefpl invoice:preview --file eur.json -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.file == "" {
				return &usageErr{errors.New("--file is required: the shop invoice JSON to preview")}
			}
			if err := o.check(); err != nil {
				return err
			}
			return runInvoicePreview(cmd.Context(), a, o)
		},
	}
	o.register(cmd)
	cmd.Flags().StringVarP(&o.file, "file", "f", "", "shop invoice or credit memo JSON (docs/invoice-json.md)")
	cmd.Flags().BoolVar(&o.summary, "summary", false, "print the summary on stderr even when stdout is not a terminal")
	return cmd
}

func runInvoicePreview(ctx context.Context, a *app, o *invoicePreviewOptions) error {
	b, err := a.buildInvoice(ctx, o.file, &o.invoiceBuildFlags)
	if err != nil {
		var ie *invoiceInputError
		if a.json() && errors.As(err, &ie) {
			if werr := writeJSON(a.io.Out, previewOut{Problems: ie.problems}); werr != nil {
				return werr
			}
		}
		return err
	}
	problems := checkProblems(fa.Check(b.xml)) // never nil: JSON shows []
	sum := summaryOf(b)
	if a.json() {
		if err := writeJSON(a.io.Out, previewOut{XML: string(b.xml), Summary: &sum, Problems: problems}); err != nil {
			return err
		}
	} else {
		if _, err := a.io.Out.Write(b.xml); err != nil {
			return fmt.Errorf("write XML: %w", err)
		}
		if !bytes.HasSuffix(b.xml, []byte("\n")) {
			fmt.Fprintln(a.io.Out)
		}
	}
	if o.summary || (a.io.OutTTY && !a.json()) {
		if err := writeSummary(a.io.ErrOut, sum); err != nil {
			return err
		}
	}
	if len(problems) > 0 {
		return withCode(exitInvalid, problemsError("the built invoice fails the structural checks", problems))
	}
	return nil
}

// problemsError renders problems one per line under title.
func problemsError(title string, ps []problemOut) error {
	var b strings.Builder
	b.WriteString(title + ":")
	for _, p := range ps {
		b.WriteString("\n  " + p.String())
	}
	return errors.New(b.String())
}

// decimalText renders d with the decimal places it was read with, so that an NBP rate
// published as 4.2230 is shown as 4.2230.
func decimalText(d decimal.Decimal) string {
	if e := d.Exponent(); e < 0 {
		return d.StringFixed(-e)
	}
	return d.String()
}
