package fa

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"testing"

	"github.com/ksefpl/ksefpl/pkg/testenv"
)

// doc is a shop document built in a test: the fields of Input as JSON values.
type doc map[string]any

func item(name, qty, price, pct string, extra ...any) map[string]any {
	it := map[string]any{"name": name, "qty": qty, "price": price, "tax_percent": pct}
	for i := 0; i+1 < len(extra); i += 2 {
		it[extra[i].(string)] = extra[i+1]
	}
	return it
}

var (
	b2bBuyer = map[string]any{"name": "Klient S.A.", "vat_id": "8567346215",
		"address": map[string]any{"street": "ul. Krzywa 2", "city": "Kraków", "postcode": "30-001", "country_id": "PL"}}
	consumerBuyer = map[string]any{"name": "Jan Kowalski",
		"address": map[string]any{"street": "ul. Polna 7", "city": "Gdańsk", "postcode": "80-001", "country_id": "PL"}}
)

func consumerIn(country string) map[string]any {
	return map[string]any{"name": "Customer " + country,
		"address": map[string]any{"street": "Main Street 1", "city": "City", "postcode": "1000", "country_id": country}}
}

// newDoc is a PLN invoice to a Polish business with the given items and grand total.
func newDoc(items []map[string]any, grand string) doc {
	return doc{"type": "invoice", "increment_id": "INV-1", "created_at": "2026-11-20T10:15:00+01:00", "currency": "PLN",
		"buyer": b2bBuyer, "items": items, "grand_total": grand}
}

// build parses and builds d (FA(3), the test seller) and returns the document or the error.
func (d doc) build(t *testing.T, seller ...Seller) (*Document, []byte, error) {
	t.Helper()
	src, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	in, err := ParseInput(strings.NewReader(string(src)))
	if err != nil {
		return nil, nil, err
	}
	s := testSeller
	if len(seller) > 0 {
		s = seller[0]
	}
	out, err := Build(context.Background(), in, BuildOptions{Seller: s, Now: fixedNow})
	if err != nil {
		return nil, nil, err
	}
	b, err := Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	if ps := Check(b); len(ps) > 0 {
		t.Errorf("Check of a built document: %v", ps)
	}
	return out, b, nil
}

func (d doc) mustBuild(t *testing.T, seller ...Seller) (*Document, []byte) {
	t.Helper()
	out, b, err := d.build(t, seller...)
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	return out, b
}

// xsdValid validates built XML against the official FA(3) schema.
func xsdValid(t *testing.T, b []byte) {
	t.Helper()
	ps, err := ValidateXSD(context.Background(), b, testenv.SharedPath(t, "schemas"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		t.Errorf("XSD: %s", p)
	}
}

// ratFixed renders a non-negative rational rounded half-up to the grosz, computed
// with exact fractions — independent of the builder's decimal arithmetic.
func ratFixed(r *big.Rat) string {
	scaled := new(big.Rat).Mul(r, big.NewRat(100, 1))
	q, m := new(big.Int).QuoRem(scaled.Num(), scaled.Denom(), new(big.Int))
	if new(big.Int).Mul(m, big.NewInt(2)).Cmp(scaled.Denom()) >= 0 {
		q.Add(q, big.NewInt(1))
	}
	return new(big.Rat).SetFrac(q, big.NewInt(100)).FloatString(2)
}

func rat(s string) *big.Rat {
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		panic(s)
	}
	return r
}

// TestGrossPricesRoundingTables builds gross-price invoices with many lines and
// discounts at 23, 8 and 5 %: the VAT of each rate is gross × rate / (100 + rate) of
// that rate's gross total rounded half-up, its net is gross − VAT, and P_15 is the gross
// sum to the grosz. The expected figures come from exact fractions.
func TestGrossPricesRoundingTables(t *testing.T) {
	testenv.Xmllint(t)
	rates := []struct{ pct, p13, p14 string }{{"23", "P_13_1", "P_14_1"}, {"8", "P_13_2", "P_14_2"}, {"5", "P_13_3", "P_14_3"}}
	seed := uint32(7)
	next := func(n uint32) uint32 { seed = seed*1103515245 + 12345; return (seed >> 8) % n }
	for _, lines := range []int{1, 3, 17, 60} {
		for _, memo := range []bool{false, true} {
			name := fmt.Sprintf("%d lines", lines)
			if memo {
				name += ", credit memo"
			}
			t.Run(name, func(t *testing.T) {
				var items []map[string]any
				grossPer := map[string]*big.Rat{}
				total := new(big.Rat)
				for i := range lines {
					r := rates[i%len(rates)].pct
					qty := fmt.Sprint(1 + next(5))
					price := fmt.Sprintf("%d.%02d", 1+next(300), next(100))
					disc := ""
					lineGross := new(big.Rat).Mul(rat(qty), rat(price))
					if next(3) == 0 {
						disc = fmt.Sprintf("0.%02d", 1+next(99))
						lineGross.Sub(lineGross, rat(disc))
					}
					it := map[string]any{"name": fmt.Sprintf("Towar %d", i), "qty": qty, "price_incl_tax": price, "tax_percent": r}
					if disc != "" {
						it["discount_amount"] = disc
					}
					items = append(items, it)
					if grossPer[r] == nil {
						grossPer[r] = new(big.Rat)
					}
					grossPer[r].Add(grossPer[r], lineGross)
					total.Add(total, lineGross)
				}
				d := newDoc(items, total.FloatString(2))
				if memo {
					d["type"], d["invoice_increment_id"], d["original_issue_date"], d["original_ksef_number"] =
						"creditmemo", "INV-0", "2026-11-10", "5261040828-20261110-0100001AF629-47"
				}
				out, b := d.mustBuild(t)
				xsdValid(t, b)
				sign := ""
				if memo {
					sign = "-"
				}
				fields := map[string]string{"P_13_1": out.Fa.P13_1, "P_14_1": out.Fa.P14_1, "P_13_2": out.Fa.P13_2,
					"P_14_2": out.Fa.P14_2, "P_13_3": out.Fa.P13_3, "P_14_3": out.Fa.P14_3}
				for _, r := range rates {
					g := grossPer[r.pct]
					if g == nil {
						if fields[r.p13] != "" {
							t.Errorf("%s = %s for a rate with no lines", r.p13, fields[r.p13])
						}
						continue
					}
					p := rat(r.pct)
					vat := rat(ratFixed(new(big.Rat).Quo(new(big.Rat).Mul(g, p), new(big.Rat).Add(big.NewRat(100, 1), p))))
					net := new(big.Rat).Sub(g, vat)
					if want := sign + vat.FloatString(2); fields[r.p14] != want {
						t.Errorf("%s (VAT %s%% of gross %s) = %s, want %s", r.p14, r.pct, g.FloatString(2), fields[r.p14], want)
					}
					if want := sign + net.FloatString(2); fields[r.p13] != want {
						t.Errorf("%s = %s, want gross − VAT = %s", r.p13, fields[r.p13], want)
					}
				}
				if want := sign + total.FloatString(2); out.Fa.P15 != want {
					t.Errorf("P_15 = %s, want the gross sum %s", out.Fa.P15, want)
				}
				for i, w := range out.Fa.FaWiersz {
					if w.P9B == "" || w.P11A == "" || w.P9A != "" || w.P11 != "" {
						t.Errorf("line %d: want P_9B/P_11A only, got P_9A=%q P_9B=%q P_11=%q P_11A=%q", i+1, w.P9A, w.P9B, w.P11, w.P11A)
					}
				}
			})
		}
	}
}

// A gross discount is subtracted from the gross line value, and shipping.amount is
// gross in a gross document.
func TestGrossDiscountAndShipping(t *testing.T) {
	d := newDoc([]map[string]any{{"name": "Kubek", "qty": "2", "price": "10.00", "tax_percent": "23", "discount_amount": "1.00"}}, "33.00")
	d["prices_include_tax"] = true
	d["shipping"] = map[string]any{"amount": "14.00", "tax_percent": "23"}
	out, _ := d.mustBuild(t)
	w := out.Fa.FaWiersz
	if w[0].P9B != "10.00" || w[0].P10 != "1.00" || w[0].P11A != "19.00" || w[1].P11A != "14.00" {
		t.Errorf("lines: %+v", w)
	}
	// 33.00 × 23/123 = 6.1707… → 6.17; net 26.83.
	if out.Fa.P14_1 != "6.17" || out.Fa.P13_1 != "26.83" || out.Fa.P15 != "33.00" {
		t.Errorf("P_13_1 %s P_14_1 %s P_15 %s", out.Fa.P13_1, out.Fa.P14_1, out.Fa.P15)
	}
}

// The split payment mechanism (P_18A): "auto" marks invoices above 15,000 PLN gross with
// an Annex 15 line to a buyer with a Polish NIP — exactly 15,000 is not above it — and
// converts a foreign currency with the invoice's rate; true and false force it.
func TestSplitPaymentThreshold(t *testing.T) {
	annex := func(price string) map[string]any {
		return item("Laptop", "1", price, "23", "annex15", true)
	}
	cases := []struct {
		name  string
		doc   doc
		split any
		want  string
	}{
		// 12195.12 × 1.23 = 14999.9976 → VAT 2804.88, gross 15000.00: at the threshold.
		{"exactly 15,000.00 PLN", newDoc([]map[string]any{annex("12195.12")}, "15000.00"), nil, "2"},
		{"15,000.01 PLN", newDoc([]map[string]any{annex("12195.13")}, "15000.01"), nil, "1"},
		{"above, but no Annex 15 line", newDoc([]map[string]any{item("Laptop", "1", "20000.00", "23")}, "24600.00"), nil, "2"},
		{"above, consumer", func() doc {
			d := newDoc([]map[string]any{annex("20000.00")}, "24600.00")
			d["buyer"] = consumerBuyer
			return d
		}(), nil, "2"},
		{"above, forced off", newDoc([]map[string]any{annex("20000.00")}, "24600.00"), false, "2"},
		{"below, forced on", newDoc([]map[string]any{item("Kabel", "1", "10.00", "23")}, "12.30"), true, "1"},
		{"auto spelled out", newDoc([]map[string]any{annex("20000.00")}, "24600.00"), "auto", "1"},
	}
	// EUR at 4.2500: gross 3529.41 EUR = 14,999.99 PLN (not above); 3529.42 EUR = 15,000.035 PLN (above).
	for _, c := range []struct{ net, gross, want string }{{"2869.44", "3529.41", "2"}, {"2869.45", "3529.42", "1"}} {
		d := newDoc([]map[string]any{annex(c.net)}, c.gross)
		d["currency"], d["exchange_rate"] = "EUR", "4.2500"
		cases = append(cases, struct {
			name  string
			doc   doc
			split any
			want  string
		}{"EUR " + c.gross + " at 4.2500", d, nil, c.want})
	}
	testenv.Xmllint(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.split != nil {
				tc.doc["split_payment"] = tc.split
			}
			out, b := tc.doc.mustBuild(t)
			if out.Fa.Adnotacje.P18A != tc.want {
				t.Errorf("P_18A = %s, want %s (P_15 %s %s)", out.Fa.Adnotacje.P18A, tc.want, out.Fa.P15, out.Fa.KodWaluty)
			}
			xsdValid(t, b)
		})
	}
}

// OSS lines go to P_12_XII with the destination country's rate, P_13_5/P_14_5, and the
// WSTO_EE procedure unless another is given; VAT follows the rate of each country.
func TestOSSThreeCountries(t *testing.T) {
	testenv.Xmllint(t)
	cases := []struct {
		country, pct, price, vat, gross string
		inclTax                         bool
	}{
		{"DE", "19", "100.00", "19.00", "119.00", false},
		{"FR", "20", "99.99", "20.00", "119.99", false},
		// Gross prices: 127.00 × 27/127 = 27.00.
		{"HU", "27", "127.00", "27.00", "127.00", true},
		{"GR", "24", "50.00", "12.00", "62.00", false},
	}
	for _, c := range cases {
		t.Run(c.country, func(t *testing.T) {
			d := newDoc([]map[string]any{{"name": "Kubek", "qty": "1", "price": c.price, "tax_code": "oss", "tax_percent": c.pct}}, c.gross)
			d["buyer"] = consumerIn(c.country)
			d["currency"], d["exchange_rate"] = "EUR", "4.25"
			d["prices_include_tax"] = c.inclTax
			out, b := d.mustBuild(t)
			xsdValid(t, b)
			w := out.Fa.FaWiersz[0]
			if w.P12 != "" || w.P12XII != c.pct || w.Procedura != "WSTO_EE" {
				t.Errorf("line: P_12=%q P_12_XII=%q Procedura=%q", w.P12, w.P12XII, w.Procedura)
			}
			if out.Fa.P14_5 != c.vat || out.Fa.P15 != c.gross || out.Fa.P13_1 != "" {
				t.Errorf("P_13_5 %s P_14_5 %s P_15 %s, want VAT %s gross %s", out.Fa.P13_5, out.Fa.P14_5, out.Fa.P15, c.vat, c.gross)
			}
		})
	}
	// An explicit procedure is kept.
	d := newDoc([]map[string]any{{"name": "E-book", "qty": "1", "price": "10.00", "tax_code": "oss", "tax_percent": "19", "procedure": "I_42"}}, "11.90")
	d["buyer"] = consumerIn("DE")
	if out, _ := d.mustBuild(t); out.Fa.FaWiersz[0].Procedura != "I_42" {
		t.Errorf("Procedura = %q, want I_42", out.Fa.FaWiersz[0].Procedura)
	}
}

// Bad feature input is refused before anything is built, naming the field.
func TestFeatureRefusals(t *testing.T) {
	base := func() doc { return newDoc([]map[string]any{item("Towar", "1", "100.00", "23")}, "123.00") }
	cases := []struct {
		name  string
		edit  func(d doc)
		field string
		msg   string
	}{
		{"MPP forced for a consumer", func(d doc) { d["buyer"], d["split_payment"] = consumerBuyer, true }, "split_payment", "the buyer has no Polish NIP"},
		{"bad split_payment", func(d doc) { d["split_payment"] = "yes" }, "split_payment", "not a split_payment value"},
		{"split_payment a number", func(d doc) { d["split_payment"] = 1 }, "split_payment", `must be true, false or "auto"`},
		{"OSS to a Polish buyer", func(d doc) {
			d["items"] = []map[string]any{{"name": "Towar", "qty": "1", "price": "100.00", "tax_code": "oss", "tax_percent": "19"}}
		}, "items[0].tax_code", "buyer.address.country_id is PL"},
		{"OSS outside the EU", func(d doc) {
			d["buyer"] = consumerIn("NO")
			d["items"] = []map[string]any{{"name": "Towar", "qty": "1", "price": "100.00", "tax_code": "oss", "tax_percent": "25"}}
		}, "items[0].tax_code", "NO is not in the EU"},
		{"OSS to a business with an EU VAT number", func(d doc) {
			d["buyer"] = map[string]any{"name": "GmbH", "vat_id": "DE123456789",
				"address": map[string]any{"street": "Hauptstraße 5", "city": "Berlin", "postcode": "10115", "country_id": "DE"}}
			d["items"] = []map[string]any{{"name": "Towar", "qty": "1", "price": "100.00", "tax_code": "oss", "tax_percent": "19"}}
		}, "items[0].tax_code", "intra-EU supply"},
		{"OSS without a rate", func(d doc) {
			d["buyer"] = consumerIn("DE")
			d["items"] = []map[string]any{{"name": "Towar", "qty": "1", "price": "100.00", "tax_code": "oss"}}
		}, "items[0].tax_percent", "required with tax_code \"oss\""},
		{"unknown GTU", func(d doc) { d["items"] = []map[string]any{item("Towar", "1", "100.00", "23", "gtu", "GTU_14")} }, "items[0].gtu", "not a GTU code"},
		{"unknown procedure", func(d doc) { d["items"] = []map[string]any{item("Towar", "1", "100.00", "23", "procedure", "MPP")} }, "items[0].procedure", "not a procedure code"},
		{"bad IBAN checksum", func(d doc) {
			d["payment"] = map[string]any{"bank_account": map[string]any{"iban": "PL61109010140000071219812875"}}
		}, "payment.bank_account.iban", "not a valid IBAN"},
		{"bad SWIFT", func(d doc) {
			d["payment"] = map[string]any{"bank_account": map[string]any{"iban": "PL61109010140000071219812874", "swift": "WBK1"}}
		}, "payment.bank_account.swift", "SWIFT"},
		{"price and price_incl_tax", func(d doc) {
			d["items"] = []map[string]any{item("Towar", "1", "100.00", "23", "price_incl_tax", "123.00")}
		}, "items[0].price_incl_tax", "either price or price_incl_tax"},
		{"net and gross items mixed", func(d doc) {
			d["items"] = []map[string]any{item("Towar", "1", "100.00", "23"), {"name": "B", "qty": "1", "price_incl_tax": "23.00", "tax_percent": "23"}}
		}, "items[0].price", "give price_incl_tax on every item"},
		{"margin with a tax rate", func(d doc) { d["margin_scheme"] = "used_goods" }, "items[0]", "shows no VAT rate"},
		{"unknown margin scheme", func(d doc) { d["margin_scheme"] = "used" }, "margin_scheme", "not a margin scheme"},
		{"receipt without date", func(d doc) { d["receipt"] = map[string]any{"number": "P/1"} }, "receipt.date", "required"},
		{"partial and paid", func(d doc) {
			d["payment"] = map[string]any{"paid": true, "partial": []map[string]any{{"amount": "10.00", "date": "2026-11-20"}}}
		}, "payment.partial", "not both"},
		{"partial above the total", func(d doc) {
			d["payment"] = map[string]any{"partial": []map[string]any{{"amount": "100.00", "date": "2026-11-20"}, {"amount": "23.01", "date": "2026-11-20"}}}
		}, "payment.partial", "more than grand_total 123.00"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := base()
			tc.edit(d)
			_, _, err := d.build(t)
			var ies InputErrors
			if !errors.As(err, &ies) {
				t.Fatalf("err = %v, want InputErrors", err)
			}
			for _, e := range ies {
				if e.Field == tc.field && strings.Contains(e.Msg, tc.msg) {
					return
				}
			}
			t.Errorf("no problem %s: …%s…; got %v", tc.field, tc.msg, err)
		})
	}
	// A bad IBAN in the seller's configuration is named as such.
	s := testSeller
	s.BankAccount = "PL00109010140000071219812874"
	_, _, err := base().build(t, s)
	var ies InputErrors
	if !errors.As(err, &ies) || ies[0].Field != "seller.bank_account" || !strings.Contains(ies[0].Msg, "configuration") {
		t.Errorf("seller bank account: %v", err)
	}
}

// The seller's configured account is printed when the document gives none and is not
// paid in full; the document's own account wins.
func TestSellerBankAccountFallback(t *testing.T) {
	s := testSeller
	s.BankAccount, s.BankSWIFT, s.BankName = "PL61109010140000071219812874", "WBKPPLPP", "Santander Bank Polska S.A."
	nrb := func(d *Document) string {
		if d.Fa.Platnosc == nil || len(d.Fa.Platnosc.RachunekBankowy) == 0 {
			return ""
		}
		return d.Fa.Platnosc.RachunekBankowy[0].Children[0].Text
	}
	due := newDoc([]map[string]any{item("Towar", "1", "100.00", "23")}, "123.00")
	due["payment"] = map[string]any{"method": "banktransfer", "due_date": "2026-12-04"}
	out, b := due.mustBuild(t, s)
	if nrb(out) != s.BankAccount || !strings.Contains(string(b), "<SWIFT>WBKPPLPP</SWIFT>") {
		t.Errorf("due invoice: account %q", nrb(out))
	}
	none := newDoc([]map[string]any{item("Towar", "1", "100.00", "23")}, "123.00")
	if out, _ := none.mustBuild(t, s); nrb(out) != s.BankAccount {
		t.Errorf("no payment section: account %q", nrb(out))
	}
	paid := newDoc([]map[string]any{item("Towar", "1", "100.00", "23")}, "123.00")
	paid["payment"] = map[string]any{"method": "stripe_payments", "paid": true}
	if out, _ := paid.mustBuild(t, s); nrb(out) != "" {
		t.Errorf("paid invoice: account %q, want none", nrb(out))
	}
	own := newDoc([]map[string]any{item("Towar", "1", "100.00", "23")}, "123.00")
	own["payment"] = map[string]any{"bank_account": map[string]any{"iban": "61 1090 1014 0000 0712 1981 2874"}}
	out, _ = own.mustBuild(t, s)
	if nrb(out) != "PL61109010140000071219812874" || len(out.Fa.Platnosc.RachunekBankowy[0].Children) != 1 {
		t.Errorf("document's account: %+v", out.Fa.Platnosc.RachunekBankowy)
	}
}

// Two or more partial payments that settle grand_total are "paid in full in parts" (2).
func TestPartialPaymentsSettlingTheTotal(t *testing.T) {
	d := newDoc([]map[string]any{item("Towar", "1", "100.00", "23")}, "123.00")
	d["payment"] = map[string]any{"partial": []map[string]any{{"amount": "100.00", "date": "2026-11-01"}, {"amount": "23.00", "date": "2026-11-20"}}}
	out, b := d.mustBuild(t)
	if out.Fa.Platnosc.ZnacznikZaplatyCzesciowej != "2" || len(out.Fa.Platnosc.ZaplataCzesciowa) != 2 {
		t.Errorf("Platnosc: %+v", out.Fa.Platnosc)
	}
	testenv.Xmllint(t)
	xsdValid(t, b)
}

// Margin-scheme invoices carry P_13_11 and the scheme's marker, and no VAT.
func TestMarginSchemes(t *testing.T) {
	testenv.Xmllint(t)
	markers := map[string]func(PMarzy) string{
		"used_goods": func(m PMarzy) string { return m.PPMarzy3_1 }, "works_of_art": func(m PMarzy) string { return m.PPMarzy3_2 },
		"antiques": func(m PMarzy) string { return m.PPMarzy3_3 }, "travel": func(m PMarzy) string { return m.PPMarzy2 },
	}
	for scheme, marker := range markers {
		t.Run(scheme, func(t *testing.T) {
			d := newDoc([]map[string]any{{"name": "Przedmiot", "qty": "1", "price": "500.00"}}, "500.00")
			d["buyer"], d["margin_scheme"] = consumerBuyer, scheme
			out, b := d.mustBuild(t)
			xsdValid(t, b)
			m := out.Fa.Adnotacje.PMarzy
			if m.PPMarzy != "1" || marker(m) != "1" || m.PPMarzyN != "" {
				t.Errorf("PMarzy = %+v", m)
			}
			if out.Fa.P13_11 != "500.00" || out.Fa.P15 != "500.00" || out.Fa.P14_1 != "" || out.Fa.FaWiersz[0].P12 != "" {
				t.Errorf("P_13_11 %s P_15 %s line %+v", out.Fa.P13_11, out.Fa.P15, out.Fa.FaWiersz[0])
			}
		})
	}
}
