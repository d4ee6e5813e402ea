package golive

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/ksefpl/ksefpl/pkg/config"
	"github.com/ksefpl/ksefpl/pkg/conncheck"
	"github.com/ksefpl/ksefpl/pkg/fa"
	"github.com/ksefpl/ksefpl/pkg/failure"
	"github.com/ksefpl/ksefpl/pkg/invoice"
	"github.com/ksefpl/ksefpl/pkg/nip"
	"github.com/ksefpl/ksefpl/pkg/website"
)

// nbpTimeout bounds one NBP call of a foreign-currency --file invoice.
const nbpTimeout = 15 * time.Second

// preview builds the test invoice as invoice:preview would, checks that it carries the
// configured seller and valid tax codes, and validates it (structure, then XSD when a
// schema directory is available). It returns the shop JSON to queue.
func (g *runner) preview(ctx context.Context) (Check, []byte, error) {
	data := g.o.Input
	if data == nil {
		g.r.Input = "built-in sample"
		var err error
		if data, err = SampleInvoice(NewIncrementID(g.env.Now()), g.env.Now()); err != nil {
			return Check{}, nil, err
		}
	}
	fail := func(class failure.Class, detail, hint string) (Check, []byte, error) {
		return Check{Status: conncheck.Fail, Class: class, Detail: detail, Hint: hint}, nil, nil
	}
	in, err := invoice.Parse(g.s, "the test invoice", data)
	if err != nil {
		var ie *invoice.InvalidError
		if errors.As(err, &ie) {
			return fail(failure.Invalid, "the test invoice cannot be built: "+ie.Summary(), fixHint(ie, g.s.WebsiteCode))
		}
		return Check{}, nil, fmt.Errorf("read the test invoice: %w", err)
	}
	g.r.IncrementID = in.IncrementID
	if in.Type != fa.TypeInvoice {
		return fail(failure.Invalid, fmt.Sprintf("%s is a %s: the go-live check sends an invoice", in.IncrementID, in.Type),
			"give an invoice JSON (\"type\": \"invoice\") or omit --file")
	}
	hc := g.env.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: nbpTimeout}
	}
	b, err := invoice.Build(ctx, g.s, in, invoice.Options{Name: in.IncrementID, Rates: invoice.NBPRates(g.env.DB, g.s.NBPURL, hc),
		Version: g.env.Version, Now: g.env.Now})
	var ie *invoice.InvalidError
	switch {
	case errors.As(err, &ie):
		return fail(failure.Invalid, "the test invoice cannot be built: "+ie.Summary(), fixHint(ie, g.s.WebsiteCode))
	case failure.Is(err, failure.Invalid) || failure.Is(err, failure.Unavailable):
		// The exchange rate: NBP has none for that day, or cannot be reached.
		return fail(failure.Of(err), err.Error(), "check "+config.PathNBPBaseURL+", or give exchange_rate in the file")
	case err != nil:
		return Check{}, nil, fmt.Errorf("build the test invoice %s: %w", in.IncrementID, err)
	}
	doc, xml := b.Doc, b.XML
	sum := fa.Summarize(doc)
	if msg := sellerMismatch(sum.Seller, g.s); msg != "" {
		return fail(failure.Invalid, msg, "check the seller settings with ksefpl config:show ksefpl/seller"+scopeFlags(g.s.WebsiteCode))
	}
	var problems []string
	for _, p := range b.Problems {
		problems = append(problems, p.String())
	}
	xsd, xsdProblems, err := g.xsd(ctx, xml)
	if err != nil {
		return fail(failure.Invalid, "XSD validation could not run: "+err.Error(),
			"install xmllint (libxml2-utils) and point --xsd or KSEFPL_XSD_DIR at the official schemas")
	}
	g.r.XSD = xsd
	problems = append(problems, xsdProblems...)
	if len(problems) > 0 {
		return fail(failure.Invalid, fmt.Sprintf("%s is not a valid %s: %s", in.IncrementID, sum.Schema, strings.Join(problems, "; ")),
			"run ksefpl invoice:validate on the file for the full list; report a problem in the built-in sample as a bug")
	}
	detail := fmt.Sprintf("%s %s: seller NIP %s, %s, %s\ntax codes %s; gross %s %s\nstructural checks passed; XSD %s",
		sum.Schema, in.IncrementID, nip.Format(sum.Seller.ID), sum.Seller.Name, strings.Join(sum.Seller.Address, ", "),
		taxCodes(doc, sum), sum.Gross.StringFixed(2), sum.Currency, xsd)
	if sum.Schema == fa.FA2 {
		g.r.Warnings = append(g.r.Warnings, fmt.Sprintf("website %s builds FA(2), which only KSeF's test environment accepts; "+
			"set ksefpl config:set %s FA3%s before going live", g.s.WebsiteCode, config.PathInvoiceSchema, scopeFlags(g.s.WebsiteCode)))
	}
	return Check{Detail: detail}, data, nil
}

// xsd validates against the official schema when a directory is available. It returns
// what happened ("validated against DIR" or "skipped: why") and the violations.
func (g *runner) xsd(ctx context.Context, xml []byte) (string, []string, error) {
	if g.o.SchemaDir == "" {
		return "skipped: no schema directory (--xsd, KSEFPL_XSD_DIR, or schemas/ or ../shared/schemas beside the ksefpl binary)", nil, nil
	}
	ps, err := fa.ValidateXSD(ctx, xml, g.o.SchemaDir)
	var te *fa.ToolError
	switch {
	case errors.As(err, &te) && !g.o.SchemaDirExplicit:
		return "skipped: " + te.Error(), nil, nil
	case err != nil:
		return "", nil, err
	}
	out := make([]string, 0, len(ps))
	for _, p := range ps {
		out = append(out, "XSD "+p.String())
	}
	return "validated against " + g.o.SchemaDir, out, nil
}

// sellerMismatch compares the preview's seller with the configured one and says what
// differs ("" when they agree).
func sellerMismatch(p fa.Party, s *website.Settings) string {
	want, _ := nip.Parse(s.Seller.NIP)
	var diffs []string
	if p.ID != want {
		diffs = append(diffs, fmt.Sprintf("NIP %q, configured %q", p.ID, s.Seller.NIP))
	}
	if p.Name != strings.TrimSpace(s.Seller.Name) {
		diffs = append(diffs, fmt.Sprintf("name %q, configured %q", p.Name, s.Seller.Name))
	}
	var addr []string
	for _, l := range []string{s.Seller.AddressLine1, s.Seller.AddressLine2} {
		if l = strings.TrimSpace(l); l != "" {
			addr = append(addr, l)
		}
	}
	if strings.Join(p.Address, "\n") != strings.Join(addr, "\n") {
		diffs = append(diffs, fmt.Sprintf("address %q, configured %q", strings.Join(p.Address, ", "), strings.Join(addr, ", ")))
	}
	if len(diffs) == 0 {
		return ""
	}
	return "the invoice's seller (Podmiot1) differs from the configuration: " + strings.Join(diffs, "; ")
}

// taxCodes lists the P_12 codes of the lines with their bucket totals.
func taxCodes(doc *fa.Document, sum fa.Summary) string {
	seen := map[string]bool{}
	var codes []string
	for _, w := range doc.Fa.FaWiersz {
		if w.P12 != "" && !seen[w.P12] {
			seen[w.P12] = true
			codes = append(codes, w.P12)
		}
	}
	var rates []string
	for _, r := range sum.Rates {
		rates = append(rates, fmt.Sprintf("%s net %s VAT %s", r.Label, r.Net.StringFixed(2), r.VAT.StringFixed(2)))
	}
	return strings.Join(codes, ", ") + " (" + strings.Join(rates, "; ") + ")"
}

// fixHint points at the seller settings when the configuration is at fault, else at
// the file.
func fixHint(ie *invoice.InvalidError, code string) string {
	if ie.HasConfigProblem() {
		return "set the seller with ksefpl config:set ksefpl/seller/name|address_line1|address_line2 VALUE" + scopeFlags(code)
	}
	return "correct the file (docs/invoice-json.md) or omit --file to use the built-in sample"
}
