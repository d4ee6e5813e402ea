package fa

import (
	"strings"

	"github.com/shopspring/decimal"
)

// Summary is what a preview shows: who, what kind, and the amounts per rate.
type Summary struct {
	Schema       Schema
	Kind         string // RodzajFaktury: VAT, KOR, …
	Number       string // P_2
	IssueDate    string // P_1
	SaleDate     string // P_6 ("" when equal to the issue date)
	Currency     string
	ExchangeRate string // KursWaluty of the first line that has one
	Seller       Party
	Buyer        Party
	Rates        []RateTotal // one per non-empty P_13_x bucket, in schema order
	Net          decimal.Decimal
	VAT          decimal.Decimal
	Gross        decimal.Decimal // P_15
	Lines        int
	Corrected    []DaneFaKorygowanej // for KOR
}

// Party is a seller or buyer as shown in a preview.
type Party struct {
	IDKind  string // "NIP", "VAT-UE", "ID" or "none" (consumer)
	ID      string // NIP, KodUE+NrVatUE, KodKraju+NrID
	Name    string
	Country string
	Address []string
}

// RateTotal is one P_13_x/P_14_x bucket.
type RateTotal struct {
	Bucket string          // e.g. "P_13_1"
	Label  string          // e.g. "23% / 22%", "0% WDT", "zw"
	Net    decimal.Decimal // P_13_x
	VAT    decimal.Decimal // P_14_x (zero for buckets without VAT)
	VATPLN string          // P_14_xW when present
}

// Summarize extracts the preview figures; it works on built and parsed documents
// alike (unparsable amounts count as zero; Check reports them).
func Summarize(d *Document) Summary {
	f := &d.Fa
	s := Summary{
		Schema: d.Schema(), Kind: f.RodzajFaktury, Number: f.P2, IssueDate: f.P1, SaleDate: f.P6,
		Currency: f.KodWaluty, Lines: len(f.FaWiersz), Corrected: f.DaneFaKorygowanej,
	}
	for _, w := range f.FaWiersz {
		if w.KursWaluty != "" {
			s.ExchangeRate = w.KursWaluty
			break
		}
	}
	p1 := d.Podmiot1
	s.Seller = Party{IDKind: "NIP", ID: p1.DaneIdentyfikacyjne.NIP, Name: p1.DaneIdentyfikacyjne.Nazwa,
		Country: p1.Adres.KodKraju, Address: nonEmpty(p1.Adres.AdresL1, p1.Adres.AdresL2)}
	b := d.Podmiot2.DaneIdentyfikacyjne
	s.Buyer = Party{Name: b.Nazwa}
	switch {
	case b.NIP != "":
		s.Buyer.IDKind, s.Buyer.ID = "NIP", b.NIP
	case b.NrVatUE != "":
		s.Buyer.IDKind, s.Buyer.ID = "VAT-UE", b.KodUE+b.NrVatUE
	case b.NrID != "":
		s.Buyer.IDKind, s.Buyer.ID = "ID", b.KodKraju+" "+b.NrID
	default:
		s.Buyer.IDKind = "none"
	}
	if a := d.Podmiot2.Adres; a != nil {
		s.Buyer.Country = a.KodKraju
		s.Buyer.Address = nonEmpty(a.AdresL1, a.AdresL2)
	}
	for _, bk := range bucketsOf(f) {
		if bk.net == "" {
			continue
		}
		rt := RateTotal{Bucket: bk.name, Label: bk.label, Net: amount(bk.net), VAT: amount(bk.vat), VATPLN: bk.vatW}
		s.Rates = append(s.Rates, rt)
		s.Net = s.Net.Add(rt.Net)
		s.VAT = s.VAT.Add(rt.VAT)
	}
	s.Gross = amount(f.P15)
	return s
}

// bucketView names one P_13_x bucket's fields.
type bucketView struct {
	name, label    string
	net, vat, vatW string
	codes          []string // P_12 codes that belong here (FA(3) and FA(2) spellings)
}

func bucketsOf(f *FaSection) []bucketView {
	return []bucketView{
		{"P_13_1", "23% / 22%", f.P13_1, f.P14_1, f.P14_1W, []string{"23", "22"}},
		{"P_13_2", "8% / 7%", f.P13_2, f.P14_2, f.P14_2W, []string{"8", "7"}},
		{"P_13_3", "5%", f.P13_3, f.P14_3, f.P14_3W, []string{"5"}},
		{"P_13_4", "4% / 3% (taxi)", f.P13_4, f.P14_4, f.P14_4W, []string{"4", "3"}},
		{"P_13_5", "OSS", f.P13_5, f.P14_5, "", nil},
		{"P_13_6_1", "0% KR", f.P13_6_1, "", "", []string{"0 KR", "0"}},
		{"P_13_6_2", "0% WDT", f.P13_6_2, "", "", []string{"0 WDT"}},
		{"P_13_6_3", "0% EX", f.P13_6_3, "", "", []string{"0 EX"}},
		{"P_13_7", "zw", f.P13_7, "", "", []string{"zw"}},
		{"P_13_8", "np I", f.P13_8, "", "", []string{"np I", "np"}},
		{"P_13_9", "np II", f.P13_9, "", "", []string{"np II"}},
		{"P_13_10", "oo", f.P13_10, "", "", []string{"oo"}},
		{"P_13_11", "marża", f.P13_11, "", "", nil},
	}
}

// amount parses a TKwotowy value; "" or garbage is zero.
func amount(s string) decimal.Decimal {
	d, err := decimal.NewFromString(strings.TrimSpace(s))
	if err != nil {
		return decimal.Zero
	}
	return d
}

func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}
