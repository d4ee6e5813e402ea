package fa

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/ksefpl/ksefpl/pkg/iban"
)

// Internal rate codes of lines outside the P_12 rates: OSS lines carry their
// country's rate in P_12_XII, margin-scheme lines no rate at all.
const (
	codeOSS    = "oss"
	codeMargin = "marża"
)

// mppThreshold is the gross amount in PLN above which an invoice for Annex 15 goods
// between taxpayers must say "mechanizm podzielonej płatności" (art. 106e ust. 1
// pkt 18a of the VAT Act).
var mppThreshold = decimal.NewFromInt(15000)

// gtuCodes are the TGTU values: GTU_01 … GTU_13.
var gtuCodes = func() map[string]bool {
	m := map[string]bool{}
	for i := 1; i <= 13; i++ {
		m[fmt.Sprintf("GTU_%02d", i)] = true
	}
	return m
}()

// procedureCodes are the TOznaczenieProcedury values a line may carry.
var procedureCodes = map[string]bool{"WSTO_EE": true, "IED": true, "TT_D": true, "I_42": true, "I_63": true,
	"B_SPV": true, "B_SPV_DOSTAWA": true, "B_MPV_PROWIZJA": true}

// marginSchemes maps margin_scheme keywords to the PMarzy marker they set and the
// words the law requires on the invoice (art. 106e ust. 1 pkt 19–20).
var marginSchemes = map[string]struct{ marker, words string }{
	"travel":       {"P_PMarzy_2", "procedura marży dla biur podróży"},
	"used_goods":   {"P_PMarzy_3_1", "procedura marży - towary używane"},
	"works_of_art": {"P_PMarzy_3_2", "procedura marży - dzieła sztuki"},
	"antiques":     {"P_PMarzy_3_3", "procedura marży - przedmioty kolekcjonerskie i antyki"},
}

type normReceipt struct {
	number string
	date   time.Time
}

type normBank struct {
	iban, swift, name string
}

type normPartial struct {
	amount decimal.Decimal
	date   time.Time
}

// sortedKeys lists a set's keys in order, for messages.
func sortedKeys[V any](m map[string]V) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return strings.Join(keys, ", ")
}

// itemPrice reads an item's unit price: price (net, or gross when the document has
// prices_include_tax) or price_incl_tax (gross). A document is gross as a whole:
// VAT is computed from either net or gross totals (art. 106e ust. 7–8), so a net
// price in a document whose other items give price_incl_tax is refused.
func (c *collector) itemPrice(f string, it Item, allGross, grossDoc bool) (decimal.Decimal, bool) {
	hasNet := strings.TrimSpace(string(it.Price)) != ""
	hasGross := strings.TrimSpace(string(it.PriceInclTax)) != ""
	field, val := f+".price", it.Price
	switch {
	case hasNet && hasGross:
		c.add(f+".price_incl_tax", "give either price or price_incl_tax, not both")
		return decimal.Zero, false
	case hasGross:
		field, val = f+".price_incl_tax", it.PriceInclTax
	case hasNet && grossDoc && !allGross:
		c.add(field, "a net price in a document whose other items give price_incl_tax: give price_incl_tax on every item, or set prices_include_tax: true to read every price as gross")
		return decimal.Zero, false
	}
	p, ok := c.dec(field, val, true)
	if !ok {
		return decimal.Zero, false
	}
	if p.IsNegative() {
		c.add(field, "must not be negative, got %s", p)
		return p, false
	}
	if -p.Exponent() > 8 {
		c.add(field, "%s has more than 8 decimal places", p)
		return p, false
	}
	return p, true
}

// marginScheme validates margin_scheme.
func (c *collector) marginScheme(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	if _, ok := marginSchemes[s]; !ok {
		c.add("margin_scheme", "%s is not a margin scheme: use one of %s", quote(s), sortedKeys(marginSchemes))
		return ""
	}
	return s
}

// noRate refuses a tax rate on a margin-scheme line: such an invoice shows no VAT.
func (c *collector) noRate(f string, pct Num, code string) {
	if strings.TrimSpace(string(pct)) != "" || strings.TrimSpace(code) != "" {
		c.add(f, "a margin-scheme invoice (margin_scheme) shows no VAT rate: omit tax_percent and tax_code")
	}
}

// gtu validates a GTU code.
func (c *collector) gtu(field, s string) string {
	s = strings.ToUpper(strings.TrimSpace(s))
	if s != "" && !gtuCodes[s] {
		c.add(field, "%s is not a GTU code: use GTU_01 … GTU_13", quote(s))
		return ""
	}
	return s
}

// procedure validates a Procedura code.
func (c *collector) procedure(field, s string) string {
	s = strings.ToUpper(strings.TrimSpace(s))
	if s != "" && !procedureCodes[s] {
		c.add(field, "%s is not a procedure code: use one of %s", quote(s), sortedKeys(procedureCodes))
		return ""
	}
	return s
}

// ossBuyer checks that an OSS line goes to a buyer in another EU country.
func (c *collector) ossBuyer(field string, b normBuyer) {
	country := b.addr.KodKraju
	if country == "GR" {
		country = "EL"
	}
	switch {
	case country == "":
	case b.eu:
		c.add(field+".tax_code", "tax_code \"oss\" is for sales to consumers, but the buyer has an EU VAT number (buyer.vat_id): a supply to a business in another EU country is an intra-EU supply, tax_code \"0 WDT\"")
	case country == "PL":
		c.add(field+".tax_code", "tax_code \"oss\" is for distance sales to consumers in another EU country, but buyer.address.country_id is PL: use the Polish tax_percent")
	case !euCodes[country]:
		c.add(field+".tax_code", "tax_code \"oss\" is for distance sales to consumers in another EU country, but buyer.address.country_id %s is not in the EU: use tax_code \"0 EX\" for an export", country)
	}
}

// splitPayment validates split_payment; "true" needs a buyer with a Polish NIP, since
// the split payment mechanism applies between VAT taxpayers.
func (c *collector) splitPayment(s Switch, b normBuyer) string {
	v := strings.ToLower(strings.TrimSpace(string(s)))
	switch v {
	case "":
		return "auto"
	case "auto", "false":
		return v
	case "true":
		if !b.pl {
			c.add("split_payment", "split payment (MPP) applies between VAT taxpayers: the buyer has no Polish NIP (buyer.vat_id), so it cannot be forced on; use \"auto\" or false")
		}
		return v
	}
	c.add("split_payment", "%s is not a split_payment value: use \"auto\", true or false", quote(string(s)))
	return "auto"
}

// receipt validates the fiscal receipt an invoice is issued for.
func (c *collector) receipt(r *Receipt) *normReceipt {
	if r == nil {
		return nil
	}
	nr := &normReceipt{number: c.text("receipt.number", r.Number, 200, true), date: c.date("receipt.date", r.Date, true)}
	return nr
}

// bankAccount validates an IBAN with its optional SWIFT and bank name.
func (c *collector) bankAccount(field string, b *BankAccount) *normBank {
	if b == nil {
		return nil
	}
	nb := &normBank{name: c.text(field+".bank_name", b.BankName, 256, false)}
	if strings.TrimSpace(b.IBAN) == "" {
		c.add(field+".iban", "required: the account number as an IBAN, e.g. PL61109010140000071219812874")
	} else if v, err := iban.Parse(b.IBAN); err != nil {
		c.add(field+".iban", "%v", err)
	} else {
		nb.iban = v
	}
	if s := strings.ToUpper(strings.TrimSpace(b.SWIFT)); s != "" {
		if err := iban.ValidateSWIFT(s); err != nil {
			c.add(field+".swift", "%v", err)
		}
		nb.swift = s
	}
	return nb
}

// partial validates payment.partial: each amount positive, dates given, the sum not
// above grand_total, and no "paid" flag beside it (the schema allows one or the other).
func (c *collector) partial(p *Payment, grandTotal decimal.Decimal) []normPartial {
	if len(p.Partial) == 0 {
		return nil
	}
	if p.Paid {
		c.add("payment.partial", "give either payment.paid (paid in full) or payment.partial (paid in parts), not both")
	}
	if len(p.Partial) > 100 {
		c.add("payment.partial", "at most 100 partial payments, got %d", len(p.Partial))
	}
	var out []normPartial
	var sum decimal.Decimal
	for i, pp := range p.Partial {
		f := fmt.Sprintf("payment.partial[%d]", i)
		np := normPartial{date: c.date(f+".date", pp.Date, true)}
		if a, ok := c.dec(f+".amount", pp.Amount, true); ok {
			switch {
			case !a.IsPositive():
				c.add(f+".amount", "must be positive, got %s", a)
			case -a.Exponent() > 2:
				c.add(f+".amount", "%s has more than 2 decimal places", a)
			}
			np.amount = a
			sum = sum.Add(a)
		}
		out = append(out, np)
	}
	if grandTotal.IsPositive() && sum.GreaterThan(grandTotal) {
		c.add("payment.partial", "the partial payments add up to %s, more than grand_total %s", sum.StringFixed(2), grandTotal.StringFixed(2))
	}
	return out
}
