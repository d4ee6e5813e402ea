package fa

import (
	"encoding/xml"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/ksefpl/ksefpl/pkg/iban"
)

// totals are an invoice's amounts per P_13_x/P_14_x bucket, all positive.
type totals struct {
	buckets   map[string]*bucketAmounts
	total     decimal.Decimal // P_15
	tolerance decimal.Decimal // 0.01 per rate group, for the grand_total comparison
	labels    []string        // the rate groups, for messages
	annex15   bool            // a line is listed in Annex 15
}

// rateGroup is the lines of one rate: one P_12 code, one OSS rate, or the margin scheme.
type rateGroup struct {
	label, bucket string
	pct           decimal.Decimal
	sum           decimal.Decimal // the lines' values: net, or gross in a gross document
	order         int
}

var hundred = decimal.NewFromInt(100)

// computeTotals sums the lines per rate and computes the VAT of each rate from its
// total, rounded half-up to the grosz: net × rate / 100 for net prices, and gross ×
// rate / (100 + rate) for gross prices (art. 106e ust. 7–8), whose net is then gross
// − VAT so that P_15 is the gross sum exactly. Margin-scheme lines carry no VAT.
func computeTotals(n *normInput) totals {
	t := totals{buckets: map[string]*bucketAmounts{}}
	groups := map[string]*rateGroup{}
	for _, l := range n.lines {
		key := l.code
		if l.code == codeOSS {
			key += " " + l.ossPct.String() // one group per destination rate
		}
		g := groups[key]
		if g == nil {
			g = newRateGroup(l)
			groups[key] = g
		}
		g.sum = g.sum.Add(l.value)
		if l.annex15 {
			t.annex15 = true
		}
	}
	ordered := make([]*rateGroup, 0, len(groups))
	for _, g := range groups {
		ordered = append(ordered, g)
	}
	sort.Slice(ordered, func(i, j int) bool {
		if ordered[i].order != ordered[j].order {
			return ordered[i].order < ordered[j].order
		}
		return ordered[i].pct.LessThan(ordered[j].pct)
	})
	for _, g := range ordered {
		var net, vat decimal.Decimal
		if n.gross {
			vat = g.sum.Mul(g.pct).DivRound(hundred.Add(g.pct), 2)
			net = g.sum.Sub(vat)
		} else {
			net = g.sum
			vat = g.sum.Mul(g.pct).DivRound(hundred, 2)
		}
		b := t.buckets[g.bucket]
		if b == nil {
			b = &bucketAmounts{used: true}
			t.buckets[g.bucket] = b
		}
		b.net = b.net.Add(net)
		b.vat = b.vat.Add(vat)
		t.total = t.total.Add(net).Add(vat)
		t.labels = append(t.labels, g.label)
	}
	t.tolerance = decimal.New(1, -2).Mul(decimal.NewFromInt(int64(len(ordered))))
	return t
}

// newRateGroup is the empty group of line l's rate.
func newRateGroup(l normLine) *rateGroup {
	switch l.code {
	case codeOSS:
		return &rateGroup{label: "OSS " + l.ossPct.String() + "%", bucket: "5", pct: l.ossPct, order: len(codeOrder)}
	case codeMargin:
		return &rateGroup{label: "marża", bucket: "11", order: len(codeOrder) + 1}
	}
	ri := rateCodes[l.code]
	return &rateGroup{label: l.code, bucket: ri.bucket, pct: decimal.NewFromInt(ri.pct), order: indexOf(codeOrder, l.code)}
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return len(list)
}

// line renders one invoice line: net (P_9A/P_11) or gross (P_9B/P_11A) amounts,
// negative quantities and values on a credit memo, the rate in P_12 (or P_12_XII for
// OSS, none under a margin scheme), and the Annex 15, GTU and procedure markers.
func line(i int, l normLine, gross bool, sign decimal.Decimal, schema Schema, foreign bool, rate decimal.Decimal) FaWiersz {
	w := FaWiersz{
		NrWierszaFa: strconv.Itoa(i + 1),
		P7:          l.name,
		Indeks:      l.sku,
		P8A:         l.unit,
		P8B:         l.qty.Mul(sign).String(),
		GTU:         l.gtu,
		Procedura:   l.procedure,
	}
	value := l.value.Mul(sign).StringFixed(2)
	if gross {
		w.P9B, w.P11A = fmtPrice(l.price), value
	} else {
		w.P9A, w.P11 = fmtPrice(l.price), value
	}
	if !l.discount.IsZero() {
		w.P10 = l.discount.Mul(sign).StringFixed(2)
	}
	switch l.code {
	case codeOSS:
		w.P12XII = l.ossPct.String()
	case codeMargin:
	default:
		w.P12 = l.code
		if schema == FA2 {
			w.P12 = rateCodes[l.code].fa2
		}
	}
	if l.annex15 {
		w.P12Zal15 = "1"
	}
	if foreign {
		w.KursWaluty = fmtRate(rate)
	}
	return w
}

// marginMarker is the PMarzy annotation of a margin scheme.
func marginMarker(scheme string) PMarzy {
	m := PMarzy{PPMarzy: "1"}
	switch marginSchemes[scheme].marker {
	case "P_PMarzy_2":
		m.PPMarzy2 = "1"
	case "P_PMarzy_3_1":
		m.PPMarzy3_1 = "1"
	case "P_PMarzy_3_2":
		m.PPMarzy3_2 = "1"
	case "P_PMarzy_3_3":
		m.PPMarzy3_3 = "1"
	}
	return m
}

// payment builds Platnosc: paid in full, or in parts (ZnacznikZaplatyCzesciowej 1,
// or 2 when two or more parts settle grand_total — FA(3) only), the due date, the
// form of payment and the bank account — the document's, or the seller's configured
// one when the document is not paid in full. It returns nil when there is nothing
// to say.
func payment(n *normInput, seller Seller, issued string, schema Schema) *Platnosc {
	pl := &Platnosc{}
	p := n.payment
	var bank *normBank
	if p != nil {
		pl.FormaPlatnosci = p.forma
		if p.opis != "" {
			pl.PlatnoscInna, pl.OpisPlatnosci = "1", p.opis
		}
		switch {
		case p.paid:
			pl.Zaplacono = "1"
			pl.DataZaplaty = issued
			if !p.paidAt.IsZero() {
				pl.DataZaplaty = p.paidAt.Format(time.DateOnly)
			}
		case len(p.partial) > 0:
			var sum decimal.Decimal
			for _, pp := range p.partial {
				sum = sum.Add(pp.amount)
				pl.ZaplataCzesciowa = append(pl.ZaplataCzesciowa, Node{XMLName: xml.Name{Local: "ZaplataCzesciowa"}, Children: []Node{
					leaf("KwotaZaplatyCzesciowej", pp.amount.StringFixed(2)),
					leaf("DataZaplatyCzesciowej", pp.date.Format(time.DateOnly)),
				}})
			}
			pl.ZnacznikZaplatyCzesciowej = "1"
			if schema == FA3 && len(p.partial) > 1 && sum.Equal(n.grandTotal) {
				pl.ZnacznikZaplatyCzesciowej = "2"
			}
		}
		if !p.paid && !p.due.IsZero() {
			pl.TerminPlatnosci = []TerminPlatnosci{{Termin: p.due.Format(time.DateOnly)}}
		}
		bank = p.bank
	}
	if bank == nil && seller.BankAccount != "" && (p == nil || !p.paid) {
		bank = &normBank{iban: seller.BankAccount, swift: seller.BankSWIFT, name: seller.BankName}
	}
	if bank != nil {
		rb := Node{XMLName: xml.Name{Local: "RachunekBankowy"}, Children: []Node{leaf("NrRB", bank.iban)}}
		if bank.swift != "" {
			rb.Children = append(rb.Children, leaf("SWIFT", bank.swift))
		}
		if bank.name != "" {
			rb.Children = append(rb.Children, leaf("NazwaBanku", bank.name))
		}
		pl.RachunekBankowy = []Node{rb}
	}
	if pl.Zaplacono == "" && pl.ZnacznikZaplatyCzesciowej == "" && len(pl.TerminPlatnosci) == 0 &&
		pl.FormaPlatnosci == "" && pl.PlatnoscInna == "" && len(pl.RachunekBankowy) == 0 {
		return nil
	}
	return pl
}

// sellerBank validates the configured bank account of the seller into out.
func (c *collector) sellerBank(s Seller, out *Seller) {
	out.BankAccount, out.BankSWIFT, out.BankName = "", "", ""
	if strings.TrimSpace(s.BankAccount) == "" {
		return
	}
	v, err := iban.Parse(s.BankAccount)
	if err != nil {
		c.add("seller.bank_account", "invalid bank account in configuration: %v", err)
	}
	out.BankAccount = v
	if sw := strings.ToUpper(strings.TrimSpace(s.BankSWIFT)); sw != "" {
		if err := iban.ValidateSWIFT(sw); err != nil {
			c.add("seller.bank_swift", "invalid SWIFT code in configuration: %v", err)
		}
		out.BankSWIFT = sw
	}
	out.BankName = c.text("seller.bank_name", s.BankName, 256, false)
}
