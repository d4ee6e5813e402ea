package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ksefpl/ksefpl/pkg/fa"
	"github.com/ksefpl/ksefpl/pkg/failure"
	"github.com/ksefpl/ksefpl/pkg/invoice"
)

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

// buildInvoice builds a shop JSON document (raw, read from file) for the website through the
// invoice pipeline: seller and schema from configuration (the --schema flag wins), the
// exchange rate from the input (exchange_rate) or from NBP through the store-backed cache,
// the version in SystemInfo — the bytes submit would send.
func (a *app) buildInvoice(ctx context.Context, file string, raw []byte, f *invoiceBuildFlags) (*invoice.Built, error) {
	d, sc, err := a.websiteScope(ctx, f.website)
	if err != nil {
		return nil, err
	}
	ws, err := d.Website(ctx, sc)
	if err != nil {
		return nil, err
	}
	base := f.rateURL
	if base == "" {
		base = ws.NBPURL
	}
	return invoice.FromJSON(ctx, ws, raw, invoice.Options{Name: file, Schema: fa.Schema(f.schema),
		Rates: invoice.NBPRates(d.DB, base, d.HTTPClient), Version: d.Version, Now: d.Now})
}

// inputProblems lists the problems of an input the pipeline refused.
func inputProblems(ie *invoice.InvalidError) []problemOut {
	out := make([]problemOut, len(ie.Problems))
	for i, p := range ie.Problems {
		out[i] = problemOut{Path: p.Path, Message: p.Message, Source: p.Source}
	}
	return out
}

type invoicePreviewOptions struct {
	*app
	invoiceBuildFlags
	file    string
	summary bool
}

func newInvoicePreviewCmd(a *app) *cobra.Command {
	o := &invoicePreviewOptions{app: a}
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
			return runInvoicePreview(cmd.Context(), o)
		},
	}
	o.register(cmd)
	cmd.Flags().StringVarP(&o.file, "file", "f", "", "shop invoice or credit memo JSON (docs/invoice-json.md)")
	cmd.Flags().BoolVar(&o.summary, "summary", false, "print the summary on stderr even when stdout is not a terminal")
	return cmd
}

func runInvoicePreview(ctx context.Context, o *invoicePreviewOptions) error {
	a := o.app
	raw, err := a.readInput(o.file)
	if err != nil {
		return err
	}
	b, err := a.buildInvoice(ctx, o.file, raw, &o.invoiceBuildFlags)
	if err != nil {
		var ie *invoice.InvalidError
		if a.json() && errors.As(err, &ie) {
			if werr := writeJSON(a.io.Out, previewOut{Problems: inputProblems(ie)}); werr != nil {
				return werr
			}
		}
		return err
	}
	problems := checkProblems(b.Problems) // never nil: JSON shows []
	sum := summaryOf(b)
	if a.json() {
		if err := writeJSON(a.io.Out, previewOut{XML: string(b.XML), Summary: &sum, Problems: problems}); err != nil {
			return err
		}
	} else {
		if _, err := a.io.Out.Write(b.XML); err != nil {
			return fmt.Errorf("write XML: %w", err)
		}
		if !bytes.HasSuffix(b.XML, []byte("\n")) {
			fmt.Fprintln(a.io.Out)
		}
	}
	if o.summary || (a.io.OutTTY && !a.json()) {
		if err := writeSummary(a.io.ErrOut, sum); err != nil {
			return err
		}
	}
	if len(problems) > 0 {
		return withClass(failure.Invalid, problemsError("the built invoice fails the structural checks", problems))
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
