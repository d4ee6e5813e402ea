package fa

import (
	"context"
	"encoding/xml"
	"fmt"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/ksefpl/ksefpl/pkg/nip"
)

// Seller is the issuing company, from configuration.
type Seller struct {
	NIP          string // 10 digits; "PL" prefix and dashes are accepted
	Name         string
	AddressLine1 string // street and number
	AddressLine2 string // postcode and city
	CountryCode  string // ISO 3166 alpha-2; "" means PL
	// BankAccount (an IBAN), BankSWIFT and BankName go to Platnosc/RachunekBankowy
	// when the document gives no payment.bank_account and is not paid in full.
	BankAccount string
	BankSWIFT   string
	BankName    string
}

// Rate is an exchange rate: 1 unit of Currency = Value PLN, from NBP table Table
// (e.g. "214/A/NBP/2026") published on Date. It has the same fields as nbp.Rate,
// so callers convert with fa.Rate(r).
type Rate struct {
	Currency string
	Value    decimal.Decimal
	Table    string
	Date     time.Time
}

// BuildOptions are the caller-supplied parts of a build.
type BuildOptions struct {
	Schema Schema // FA3 (default when empty) or FA2
	Seller Seller
	// Rate is the NBP rate for a foreign-currency invoice (see Input.NeedsRate);
	// nil for PLN or when the input carries a manual exchange_rate.
	Rate *Rate
	// LookupOriginal finds the KSeF number and issue date of an invoice ksefpl
	// sent earlier, by its increment_id; ok=false when unknown. May be nil.
	LookupOriginal func(ctx context.Context, incrementID string) (ksefNumber string, issueDate time.Time, ok bool, err error)
	// Now stamps DataWytworzeniaFa; nil means time.Now.
	Now func() time.Time
	// SystemInfo goes to Naglowek/SystemInfo; "" means "ksefpl".
	SystemInfo string
}

// rateInfo describes the P_12 codes: bucket and VAT percentage.
type rateInfo struct {
	bucket string // "1".."4", "6_1", "6_2", "6_3", "7".."10"
	pct    int64  // VAT percent, 0 for non-VAT buckets
	fa2    string // FA(2) spelling
}

var rateCodes = map[string]rateInfo{
	"23": {"1", 23, "23"}, "22": {"1", 22, "22"}, "8": {"2", 8, "8"}, "7": {"2", 7, "7"},
	"5": {"3", 5, "5"}, "4": {"4", 4, "4"}, "3": {"4", 3, "3"},
	"0 KR": {"6_1", 0, "0"}, "0 WDT": {"6_2", 0, "0"}, "0 EX": {"6_3", 0, "0"},
	"zw": {"7", 0, "zw"}, "np I": {"8", 0, "np"}, "np II": {"9", 0, "np"}, "oo": {"10", 0, "oo"},
}

// codeOrder is the order rate codes appear in Summary and errors.
var codeOrder = []string{"23", "22", "8", "7", "5", "4", "3", "0 KR", "0 WDT", "0 EX", "zw", "np I", "np II", "oo"}

// bucketAmounts is one P_13_x/P_14_x group.
type bucketAmounts struct {
	net, vat decimal.Decimal
	used     bool
}

// Build turns a validated shop document into an FA(3) or FA(2) invoice. It
// returns InputErrors for bad input or seller configuration, *RateError when a
// foreign-currency invoice has no rate, *TotalsMismatchError when the computed
// gross disagrees with grand_total, and the lookup's error (wrapped) when
// LookupOriginal fails.
func Build(ctx context.Context, in *Input, opts BuildOptions) (*Document, error) {
	if opts.Schema == "" {
		opts.Schema = FA3
	}
	si, err := opts.Schema.info()
	if err != nil {
		return nil, err
	}
	n, errs := in.normalize()
	c := &collector{errs: errs}
	seller := c.seller(opts.Seller)
	if opts.Schema == FA2 && n.currency != "" && !currencyCodesFA2[n.currency] {
		c.add("currency", "%s is not accepted by FA(2); use FA(3)", n.currency)
	}
	if opts.Schema == FA2 {
		for i, l := range n.lines {
			if utf8Len(l.name) > 256 {
				c.add(lineField(i, len(in.Items))+".name", "longer than 256 characters, the FA(2) limit")
			}
		}
	}
	if n.memo && len(c.errs) == 0 && (n.origKSeF == "" || n.origIssued.IsZero()) && opts.LookupOriginal != nil {
		num, issued, ok, err := opts.LookupOriginal(ctx, n.origNumber)
		if err != nil {
			return nil, fmt.Errorf("look up original invoice %s: %w", n.origNumber, err)
		}
		if ok {
			if n.origKSeF == "" {
				n.origKSeF = num
			}
			if n.origIssued.IsZero() && !issued.IsZero() {
				n.origIssued = dateIn(issued, warsaw())
			}
		}
	}
	if n.memo && n.origIssued.IsZero() && strings.TrimSpace(in.OriginalIssueDate) == "" {
		c.add("original_issue_date", "required: the issue date of invoice %q was not found among invoices ksefpl sent; give it as YYYY-MM-DD", n.origNumber)
	}
	if len(c.errs) > 0 {
		return nil, c.errs
	}

	// Exchange rate.
	var rate decimal.Decimal
	var rateNote string
	if n.currency != "PLN" {
		switch {
		case n.hasManual:
			rate = n.manualRate
			rateNote = fmt.Sprintf("kurs umowny/ręczny: 1 %s = %s PLN", n.currency, rate.String())
		case opts.Rate == nil:
			return nil, &RateError{Currency: n.currency, Msg: "no rate given: fetch the NBP table A rate for the day before the tax point (nbp.Client.RateFor with Input.NeedsRate) or set exchange_rate in the input"}
		case !strings.EqualFold(opts.Rate.Currency, n.currency):
			return nil, &RateError{Currency: n.currency, Msg: fmt.Sprintf("the rate passed is for %s, not %s", opts.Rate.Currency, n.currency)}
		case !opts.Rate.Value.IsPositive() || -opts.Rate.Value.Exponent() > 6:
			return nil, &RateError{Currency: n.currency, Msg: fmt.Sprintf("rate %s must be positive with at most 6 decimal places", opts.Rate.Value)}
		default:
			rate = opts.Rate.Value
			rateNote = fmt.Sprintf("kurs średni NBP tabela %s z dnia %s: 1 %s = %s PLN (art. 31a ustawy o VAT)",
				opts.Rate.Table, opts.Rate.Date.Format(time.DateOnly), n.currency, rate.StringFixed(4))
		}
	}

	sign := decimal.NewFromInt(1)
	if n.memo {
		sign = sign.Neg()
	}

	t := computeTotals(n)
	if t.total.Sub(n.grandTotal).Abs().GreaterThan(t.tolerance) {
		return nil, &TotalsMismatchError{Computed: t.total.StringFixed(2), Declared: n.grandTotal.StringFixed(2),
			Tolerance: t.tolerance.StringFixed(2), Buckets: t.labels, Gross: n.gross}
	}
	buckets, total := t.buckets, t.total
	for k, b := range buckets {
		buckets[k] = &bucketAmounts{net: b.net.Mul(sign), vat: b.vat.Mul(sign), used: true}
	}
	foreign := n.currency != "PLN"
	mpp := false
	switch n.split {
	case "true":
		mpp = true
	case "auto":
		inPLN := total
		if foreign {
			inPLN = total.Mul(rate)
		}
		mpp = n.buyer.pl && t.annex15 && inPLN.GreaterThan(mppThreshold)
	}

	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	created := now().UTC().Truncate(time.Second)
	sysInfo := opts.SystemInfo
	if sysInfo == "" {
		sysInfo = "ksefpl"
	}

	d := &Document{XMLName: xml.Name{Space: si.namespace, Local: "Faktura"}}
	d.Naglowek = Naglowek{
		KodFormularza:     KodFormularza{KodSystemowy: si.kodSystemowy, WersjaSchemy: "1-0E", Value: "FA"},
		WariantFormularza: si.wariant,
		DataWytworzeniaFa: created.Format("2006-01-02T15:04:05Z"),
		SystemInfo:        sysInfo,
	}
	d.Podmiot1 = Podmiot1{
		DaneIdentyfikacyjne: DaneSprzedawcy{NIP: seller.NIP, Nazwa: seller.Name},
		Adres:               Adres{KodKraju: seller.CountryCode, AdresL1: seller.AddressLine1, AdresL2: seller.AddressLine2},
	}
	if n.buyer.eu {
		d.Podmiot1.PrefiksPodatnika = "PL"
	}
	addr := n.buyer.addr
	d.Podmiot2 = Podmiot2{DaneIdentyfikacyjne: n.buyer.id, Adres: &addr}
	d.Podmiot2.DaneIdentyfikacyjne.Nazwa = n.buyer.name
	if n.buyer.email != "" {
		d.Podmiot2.DaneKontaktowe = []DaneKontaktowe{{Email: n.buyer.email}}
	}
	if opts.Schema == FA3 {
		d.Podmiot2.JST, d.Podmiot2.GV = "2", "2"
	}

	f := &d.Fa
	f.KodWaluty = n.currency
	f.P1 = n.issued.Format(time.DateOnly)
	f.P2 = n.number
	if !n.saleDate.IsZero() && !n.saleDate.Equal(n.issued) {
		f.P6 = n.saleDate.Format(time.DateOnly)
	}
	set := func(bucket string, p13, p14, p14w *string) {
		b := buckets[bucket]
		if b == nil {
			return
		}
		*p13 = b.net.StringFixed(2)
		if p14 != nil {
			*p14 = b.vat.StringFixed(2)
		}
		if p14w != nil && foreign {
			*p14w = b.vat.Mul(rate).Round(2).StringFixed(2)
		}
	}
	set("1", &f.P13_1, &f.P14_1, &f.P14_1W)
	set("2", &f.P13_2, &f.P14_2, &f.P14_2W)
	set("3", &f.P13_3, &f.P14_3, &f.P14_3W)
	set("4", &f.P13_4, &f.P14_4, &f.P14_4W)
	set("5", &f.P13_5, &f.P14_5, nil)
	set("6_1", &f.P13_6_1, nil, nil)
	set("6_2", &f.P13_6_2, nil, nil)
	set("6_3", &f.P13_6_3, nil, nil)
	set("7", &f.P13_7, nil, nil)
	set("8", &f.P13_8, nil, nil)
	set("9", &f.P13_9, nil, nil)
	set("10", &f.P13_10, nil, nil)
	set("11", &f.P13_11, nil, nil)
	f.P15 = total.Mul(sign).StringFixed(2)

	f.Adnotacje = Adnotacje{P16: "2", P17: "2", P18: "2", P18A: "2", P23: "2",
		Zwolnienie:           Zwolnienie{P19N: "1"},
		NoweSrodkiTransportu: NoweSrodkiTransportu{P22N: "1"},
		PMarzy:               PMarzy{PPMarzyN: "1"}}
	if n.reverseChrg {
		f.Adnotacje.P18 = "1"
	}
	if n.hasZw {
		f.Adnotacje.Zwolnienie = Zwolnienie{P19: "1", P19A: n.exemption}
	}
	if mpp {
		f.Adnotacje.P18A = "1"
	}
	if n.margin != "" {
		f.Adnotacje.PMarzy = marginMarker(n.margin)
	}

	f.RodzajFaktury = "VAT"
	if n.memo {
		f.RodzajFaktury = "KOR"
		f.PrzyczynaKorekty = n.reason
		f.TypKorekty = "2"
		dk := DaneFaKorygowanej{DataWystFaKorygowanej: n.origIssued.Format(time.DateOnly), NrFaKorygowanej: n.origNumber}
		if n.origKSeF != "" {
			dk.NrKSeF, dk.NrKSeFFaKorygowanej = "1", n.origKSeF
		} else {
			dk.NrKSeFN = "1"
		}
		f.DaneFaKorygowanej = []DaneFaKorygowanej{dk}
	}
	if n.order != "" {
		f.DodatkowyOpis = append(f.DodatkowyOpis, KluczWartosc{Klucz: "Numer zamówienia", Wartosc: n.order})
	}
	if rateNote != "" {
		f.DodatkowyOpis = append(f.DodatkowyOpis, KluczWartosc{Klucz: "Kurs waluty", Wartosc: rateNote})
	}
	if r := n.receipt; r != nil {
		f.FP = "1"
		f.DodatkowyOpis = append(f.DodatkowyOpis, KluczWartosc{Klucz: "Paragon fiskalny",
			Wartosc: fmt.Sprintf("faktura do paragonu nr %s z dnia %s", r.number, r.date.Format(time.DateOnly))})
	}
	if n.margin != "" {
		f.DodatkowyOpis = append(f.DodatkowyOpis, KluczWartosc{Klucz: "Procedura marży", Wartosc: marginSchemes[n.margin].words})
	}

	for i, l := range n.lines {
		f.FaWiersz = append(f.FaWiersz, line(i, l, n.gross, sign, opts.Schema, foreign, rate))
	}

	f.Platnosc = payment(n, seller, f.P1, opts.Schema)
	return d, nil
}

// seller validates the configured seller and returns it normalised.
func (c *collector) seller(s Seller) Seller {
	out := s
	for _, f := range [][2]string{{"seller.nip", s.NIP}, {"seller.name", s.Name}, {"seller.address_line1", s.AddressLine1},
		{"seller.address_line2", s.AddressLine2}, {"seller.country_code", s.CountryCode},
		{"seller.bank_account", s.BankAccount}, {"seller.bank_swift", s.BankSWIFT}, {"seller.bank_name", s.BankName}} {
		c.control(f[0], f[1])
	}
	v, err := nip.Parse(s.NIP)
	if err != nil {
		c.add("seller.nip", "invalid seller NIP in configuration: %v", err)
	}
	out.NIP = v
	out.Name = c.text("seller.name", s.Name, 512, true)
	out.AddressLine1 = c.text("seller.address_line1", s.AddressLine1, 512, true)
	out.AddressLine2 = c.text("seller.address_line2", s.AddressLine2, 512, false)
	c.sellerBank(s, &out)
	out.CountryCode = strings.ToUpper(strings.TrimSpace(s.CountryCode))
	if out.CountryCode == "" {
		out.CountryCode = "PL"
	}
	if !countryCodes[out.CountryCode] {
		c.add("seller.country_code", "%s is not a country code KSeF accepts", quote(s.CountryCode))
	}
	return out
}

// fmtPrice renders a unit price with at least 2 and at most 8 decimal places.
func fmtPrice(p decimal.Decimal) string {
	if p.Exponent() >= -2 {
		return p.StringFixed(2)
	}
	return p.String()
}

// fmtRate renders an exchange rate with at least 4 decimal places, as NBP publishes it.
func fmtRate(r decimal.Decimal) string {
	if r.Exponent() >= -4 {
		return r.StringFixed(4)
	}
	return r.String()
}

func utf8Len(s string) int { return len([]rune(s)) }
