package invoice

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ksefpl/ksefpl/pkg/fa"
	"github.com/ksefpl/ksefpl/pkg/failure"
	"github.com/ksefpl/ksefpl/pkg/website"
)

// Options are what differs between the callers of the pipeline.
type Options struct {
	// Name names the input in messages (a file path, "invoice INV-1").
	Name string
	// Schema overrides the website's schema ("" keeps it; FA3 when the website has none).
	Schema fa.Schema
	// Rates supplies the rate of a foreign-currency document without exchange_rate
	// (Provisional, NBPRates); nil leaves the rate missing, which fa.Build reports.
	Rates Rates
	// Version goes into Naglowek/SystemInfo as "ksefpl VERSION" ("" for plain "ksefpl").
	Version string
	// LookupOriginal finds the invoice a credit memo corrects (nil: unknown).
	LookupOriginal func(ctx context.Context, incrementID string) (ksefNumber string, issued time.Time, ok bool, err error)
	// Now stamps the document (default time.Now).
	Now func() time.Time
	// SkipCheck leaves out the structural check of the built XML (Built.Problems stays
	// empty): for a rebuild of an input the same pipeline already built and checked when
	// it was queued (submit freezing a job), where the check only costs time.
	SkipCheck bool
}

// Built is a document built for a website.
type Built struct {
	Input  *fa.Input
	Doc    *fa.Document
	XML    []byte
	Schema fa.Schema
	// Rate is the exchange rate used (nil for a PLN document).
	Rate *Rate
	// Problems are the structural check's findings on XML (none for a good document);
	// the caller decides whether they stop it.
	Problems []fa.Problem
}

// Parse reads a shop document for the website. Every problem of the input and every
// missing seller setting is reported at once in an *InvalidError.
func Parse(ws *website.Settings, name string, data []byte) (*fa.Input, error) {
	in, err := fa.ParseInput(bytes.NewReader(data))
	var problems []Problem
	if err != nil {
		ps, ok := problemsOf(err, ws.WebsiteCode)
		if !ok {
			return nil, fmt.Errorf("read invoice input %s: %w", name, err)
		}
		problems = ps
	}
	problems = append(problems, missingSeller(ws.Seller, ws.WebsiteCode)...)
	if len(problems) > 0 {
		return nil, &InvalidError{Subject: name, Problems: problems, Err: err}
	}
	return in, nil
}

// FromJSON parses and builds a shop document for the website (Parse, then Build).
func FromJSON(ctx context.Context, ws *website.Settings, data []byte, o Options) (*Built, error) {
	in, err := Parse(ws, o.Name, data)
	if err != nil {
		return nil, err
	}
	return Build(ctx, ws, in, o)
}

// Build turns a parsed document into the website's XML: the seller and schema from the
// website, the exchange rate from the input or o.Rates, fa.Build, marshal and the
// structural check (unless o.SkipCheck). Invalid input gives an *InvalidError; a rate that cannot be had gives
// the rate source's error (NBP unreachable is class unavailable); errors of
// o.LookupOriginal come back as they are.
func Build(ctx context.Context, ws *website.Settings, in *fa.Input, o Options) (*Built, error) {
	schema := o.Schema
	if schema == "" {
		schema = ws.Schema
	}
	if schema == "" {
		schema = fa.FA3
	}
	sysInfo := "ksefpl"
	if o.Version != "" {
		sysInfo += " " + o.Version
	}
	b := &Built{Input: in, Schema: schema}
	opts := fa.BuildOptions{Schema: schema, Seller: ws.Seller, Now: o.Now, SystemInfo: sysInfo, LookupOriginal: o.LookupOriginal}
	if cur, taxPoint, ok := in.NeedsRate(); ok && o.Rates != nil {
		r, err := o.Rates.RateFor(ctx, cur, taxPoint)
		if err != nil {
			return nil, fmt.Errorf("exchange rate for invoice %s: %w", in.IncrementID, err)
		}
		fr := fa.Rate(r)
		opts.Rate = &fr
		src := "nbp"
		if r.Table == ProvisionalTable {
			src = ProvisionalTable
		}
		b.Rate = &Rate{Source: src, Currency: r.Currency, Rate: decimalText(r.Value), Table: r.Table,
			EffectiveDate: r.Date.Format(time.DateOnly), TaxPoint: taxPoint.Format(time.DateOnly)}
	} else if m := strings.TrimSpace(string(in.ExchangeRate)); m != "" {
		b.Rate = &Rate{Source: "manual", Currency: strings.ToUpper(strings.TrimSpace(in.Currency)), Rate: m}
	}
	doc, err := fa.Build(ctx, in, opts)
	if err != nil {
		if ps, ok := problemsOf(err, ws.WebsiteCode); ok {
			return nil, &InvalidError{Subject: o.Name, Problems: ps, Err: err}
		}
		return nil, err
	}
	if b.XML, err = fa.Marshal(doc); err != nil {
		if failure.Of(err) == failure.Unknown {
			err = failure.New(failure.Invalid, err)
		}
		return nil, fmt.Errorf("marshal invoice %s: %w", in.IncrementID, err)
	}
	b.Doc = doc
	if !o.SkipCheck {
		b.Problems = fa.Check(b.XML)
	}
	return b, nil
}
