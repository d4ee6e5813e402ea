package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/ksefpl/ksefpl/pkg/fa"
	"github.com/ksefpl/ksefpl/pkg/invoice"
	"github.com/ksefpl/ksefpl/pkg/nip"
)

// problemOut is one finding as the invoice commands print it (also its JSON shape).
// Line is the 1-based line of the XML (0 when it does not apply, e.g. for a JSON input
// field); Path is the XML element path or the input JSON field; Source says which check
// found it: "input", "config", "check" (structural checks) or "xsd".
type problemOut struct {
	Line    int    `json:"line"`
	Path    string `json:"path"`
	Message string `json:"message"`
	Source  string `json:"source"`
}

// String renders "line N: path: message", leaving out what is empty.
func (p problemOut) String() string {
	return fa.Problem{Line: p.Line, Path: p.Path, Msg: p.Message}.String()
}

func problemsOf(ps []fa.Problem, source string) []problemOut {
	out := make([]problemOut, 0, len(ps))
	for _, p := range ps {
		out = append(out, problemOut{Line: p.Line, Path: p.Path, Message: p.Msg, Source: source})
	}
	return out
}

func checkProblems(ps []fa.Problem) []problemOut { return problemsOf(ps, "check") }

// previewOut is invoice:preview's JSON.
type previewOut struct {
	XML      string       `json:"xml"`
	Summary  *summaryOut  `json:"summary"`
	Problems []problemOut `json:"problems"`
}

// partyOut is a seller or buyer in the summary.
type partyOut struct {
	IDKind  string   `json:"id_kind"`
	ID      string   `json:"id,omitempty"`
	Name    string   `json:"name"`
	Country string   `json:"country,omitempty"`
	Address []string `json:"address"`
}

// rateTotalOut is one tax-rate bucket in the summary.
type rateTotalOut struct {
	Bucket string `json:"bucket"`
	Label  string `json:"label"`
	Net    string `json:"net"`
	VAT    string `json:"vat"`
	VATPLN string `json:"vat_pln,omitempty"`
}

// summaryOut is the preview summary (JSON shape; also rendered as a table).
type summaryOut struct {
	Schema       string         `json:"schema"`
	Kind         string         `json:"kind"`
	Number       string         `json:"number"`
	IssueDate    string         `json:"issue_date"`
	SaleDate     string         `json:"sale_date,omitempty"`
	Currency     string         `json:"currency"`
	Seller       partyOut       `json:"seller"`
	Buyer        partyOut       `json:"buyer"`
	Rates        []rateTotalOut `json:"rates"`
	Net          string         `json:"net"`
	VAT          string         `json:"vat"`
	Gross        string         `json:"gross"`
	Lines        int            `json:"lines"`
	ExchangeRate *invoice.Rate  `json:"exchange_rate"`
}

func partyOf(p fa.Party) partyOut {
	out := partyOut{IDKind: p.IDKind, ID: p.ID, Name: p.Name, Country: p.Country, Address: p.Address}
	if out.Address == nil {
		out.Address = []string{}
	}
	return out
}

func summaryOf(b *invoice.Built) summaryOut {
	s := fa.Summarize(b.Doc)
	out := summaryOut{
		Schema: string(s.Schema), Kind: s.Kind, Number: s.Number, IssueDate: s.IssueDate, SaleDate: s.SaleDate,
		Currency: s.Currency, Seller: partyOf(s.Seller), Buyer: partyOf(s.Buyer), Rates: []rateTotalOut{},
		Net: s.Net.StringFixed(2), VAT: s.VAT.StringFixed(2), Gross: s.Gross.StringFixed(2), Lines: s.Lines,
		ExchangeRate: b.Rate,
	}
	for _, r := range s.Rates {
		out.Rates = append(out.Rates, rateTotalOut{Bucket: r.Bucket, Label: r.Label, Net: r.Net.StringFixed(2),
			VAT: r.VAT.StringFixed(2), VATPLN: r.VATPLN})
	}
	return out
}

// partyLine renders "NIP 526-104-08-28, Name, address lines, country".
func partyLine(p partyOut) string {
	var parts []string
	switch p.IDKind {
	case "NIP":
		parts = append(parts, "NIP "+nip.Format(p.ID))
	case "VAT-UE":
		parts = append(parts, "VAT UE "+p.ID)
	case "ID":
		parts = append(parts, "ID "+p.ID)
	default:
		parts = append(parts, "consumer (no tax id)")
	}
	if p.Name != "" {
		parts = append(parts, p.Name)
	}
	parts = append(parts, p.Address...)
	if p.Country != "" {
		parts = append(parts, p.Country)
	}
	return strings.Join(parts, ", ")
}

// writeSummary prints the preview summary: header lines, a table per rate and totals.
func writeSummary(w io.Writer, s summaryOut) error {
	head := fmt.Sprintf("Invoice %s (%s, %s), issued %s", s.Number, s.Kind, s.Schema, s.IssueDate)
	if s.SaleDate != "" {
		head += ", sale date " + s.SaleDate
	}
	fmt.Fprintf(w, "%s, %d line(s), currency %s\n", head, s.Lines, s.Currency)
	fmt.Fprintf(w, "Seller: %s\n", partyLine(s.Seller))
	fmt.Fprintf(w, "Buyer:  %s\n", partyLine(s.Buyer))
	foreign := s.Currency != "PLN"
	header := []string{"Rate", "Net " + s.Currency, "VAT " + s.Currency}
	if foreign {
		header = append(header, "VAT PLN")
	}
	rows := make([][]string, 0, len(s.Rates)+2)
	for _, r := range s.Rates {
		row := []string{r.Label, r.Net, r.VAT}
		if foreign {
			row = append(row, r.VATPLN)
		}
		rows = append(rows, row)
	}
	total := []string{"Total", s.Net, s.VAT}
	if foreign {
		total = append(total, "")
	}
	rows = append(rows, total)
	if err := writeTable(w, header, rows); err != nil {
		return err
	}
	fmt.Fprintf(w, "Gross (P_15): %s %s\n", s.Gross, s.Currency)
	if r := s.ExchangeRate; r != nil {
		switch r.Source {
		case "nbp":
			fmt.Fprintf(w, "Exchange rate: 1 %s = %s PLN, NBP table %s of %s (tax point %s)\n",
				r.Currency, r.Rate, r.Table, r.EffectiveDate, r.TaxPoint)
		default:
			fmt.Fprintf(w, "Exchange rate: 1 %s = %s PLN (manual, from the input)\n", r.Currency, r.Rate)
		}
	}
	return nil
}
