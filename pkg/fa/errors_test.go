package fa

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ksefpl/ksefpl/pkg/failure"
	"github.com/ksefpl/ksefpl/pkg/testenv"
)

// validInput is a small correct invoice that the cases below break one field at a time.
const validInput = `{"type":"invoice","increment_id":"INV-1","created_at":"2026-11-20T10:15:00+01:00","currency":"PLN",
 "buyer":{"name":"Klient S.A.","vat_id":"8567346215","address":{"street":"ul. Krzywa 2","city":"Kraków","postcode":"30-001","country_id":"PL"}},
 "items":[{"sku":"A","name":"Towar","qty":"2","price":"100.00","tax_percent":"23"}],
 "grand_total":"246.00"}`

func TestBadInputIsTyped(t *testing.T) {
	cases := []struct {
		name, old, new, field, msg string
	}{
		{"malformed JSON", `"currency":"PLN",`, `"currency":"PLN"`, "", "malformed JSON"},
		{"missing buyer address", `,"address":{"street":"ul. Krzywa 2","city":"Kraków","postcode":"30-001","country_id":"PL"}`, ``, "buyer.address", "required"},
		{"negative qty", `"qty":"2"`, `"qty":"-2"`, "items[0].qty", "must be positive on an invoice"},
		{"unknown tax code", `"tax_percent":"23"`, `"tax_code":"0 XX"`, "items[0].tax_code", "is not a tax code"},
		{"unknown currency", `"currency":"PLN"`, `"currency":"ABC"`, "currency", "not a currency code"},
		{"comma decimal", `"price":"100.00"`, `"price":"100,00"`, "items[0].price", "dot as the decimal separator"},
		{"unknown field", `"type":"invoice"`, `"type":"invoice","taxcode":"x"`, "taxcode", "unknown field"},
		{"bad buyer NIP", `"vat_id":"8567346215"`, `"vat_id":"8567346216"`, "buyer.vat_id", "not a valid Polish NIP"},
		{"0 WDT to a Polish buyer", `"tax_percent":"23"`, `"tax_code":"0 WDT"`, "items[0]", "requires a buyer vat_id from another EU country"},
		{"zw without basis", `"tax_percent":"23"`, `"tax_code":"zw"`, "exemption_basis", "required when a line has tax_code"},
		{"memo fields on invoice", `"type":"invoice"`, `"type":"invoice","reason":"x"`, "reason", "only allowed on a creditmemo"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := strings.Replace(validInput, tc.old, tc.new, 1)
			if src == validInput {
				t.Fatal("test case did not change the input")
			}
			_, err := ParseInput(strings.NewReader(src))
			var list InputErrors
			if !errors.As(err, &list) || !failure.Is(err, failure.Invalid) {
				t.Fatalf("got %v, want InputErrors", err)
			}
			var ie *InputError
			if !errors.As(err, &ie) {
				t.Fatal("errors.As(*InputError) failed")
			}
			for _, e := range list {
				if e.Field == tc.field && strings.Contains(e.Msg, tc.msg) {
					return
				}
			}
			t.Errorf("no problem on %q mentioning %q in: %v", tc.field, tc.msg, err)
		})
	}
}

func TestValidInputParses(t *testing.T) {
	in, err := ParseInput(strings.NewReader(validInput))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, ok := in.NeedsRate(); ok {
		t.Error("PLN invoice must not need a rate")
	}
}

func TestBuildErrors(t *testing.T) {
	ctx := context.Background()
	parse := func(s string) *Input {
		in, err := ParseInput(strings.NewReader(s))
		if err != nil {
			t.Fatal(err)
		}
		return in
	}
	// Totals mismatch names both figures.
	_, err := Build(ctx, parse(strings.Replace(validInput, `"246.00"`, `"246.50"`, 1)), BuildOptions{Seller: testSeller, Now: fixedNow})
	var tm *TotalsMismatchError
	if !errors.As(err, &tm) || !failure.Is(err, failure.Invalid) || !strings.Contains(err.Error(), "246.00") || !strings.Contains(err.Error(), "246.50") {
		t.Errorf("totals: got %v, want *TotalsMismatchError naming 246.00 and 246.50", err)
	}
	// Within 0.01 per rate bucket is accepted.
	if _, err := Build(ctx, parse(strings.Replace(validInput, `"246.00"`, `"246.01"`, 1)), BuildOptions{Seller: testSeller, Now: fixedNow}); err != nil {
		t.Errorf("0.01 difference must be tolerated: %v", err)
	}
	// Invalid seller NIP.
	bad := testSeller
	bad.NIP = "1234567890"
	_, err = Build(ctx, parse(validInput), BuildOptions{Seller: bad, Now: fixedNow})
	var ie *InputError
	if !errors.As(err, &ie) || !failure.Is(err, failure.Invalid) || !strings.Contains(err.Error(), "seller.nip") {
		t.Errorf("seller NIP: got %v, want an InputError on seller.nip", err)
	}
	// Foreign currency without a rate.
	eur := parse(strings.Replace(validInput, `"currency":"PLN"`, `"currency":"EUR"`, 1))
	if cur, tp, ok := eur.NeedsRate(); !ok || cur != "EUR" || tp.Format("2006-01-02") != "2026-11-20" {
		t.Errorf("NeedsRate = %s %v %v, want EUR 2026-11-20 true", cur, tp, ok)
	}
	_, err = Build(ctx, eur, BuildOptions{Seller: testSeller, Now: fixedNow})
	var re *RateError
	if !errors.As(err, &re) || !failure.Is(err, failure.Invalid) {
		t.Errorf("missing rate: got %v, want *RateError", err)
	}
	// A lookup failure is passed through, not classified as invalid input.
	memo := parse(strings.Replace(strings.Replace(validInput, `"type":"invoice"`, `"type":"creditmemo"`, 1), `"grand_total"`, `"invoice_increment_id":"INV-0","grand_total"`, 1))
	boom := errors.New("store unavailable")
	_, err = Build(ctx, memo, BuildOptions{Seller: testSeller, Now: fixedNow, LookupOriginal: func(context.Context, string) (string, time.Time, bool, error) {
		return "", time.Time{}, false, boom
	}})
	if !errors.Is(err, boom) || failure.Is(err, failure.Invalid) {
		t.Errorf("lookup failure: got %v", err)
	}
	// Credit memo whose original is unknown and has no issue date.
	_, err = Build(ctx, memo, BuildOptions{Seller: testSeller, Now: fixedNow})
	if !errors.As(err, &ie) || !strings.Contains(err.Error(), "original_issue_date") {
		t.Errorf("memo without original date: got %v", err)
	}
}

func TestCheckFindsProblemsWithLines(t *testing.T) {
	src, err := os.ReadFile(filepath.Join(testenv.ModuleRoot(t), "testdata", "invoices", "domestic_b2b.golden.xml"))
	if err != nil {
		t.Fatal(err)
	}
	if ps := Check(src); ps != nil {
		t.Fatalf("golden invoice has problems: %v", ps)
	}
	broken := strings.Replace(string(src), "<NIP>5261040828</NIP>", "<NIP>5261040829</NIP>", 1)
	broken = strings.Replace(broken, "<P_15>342.44</P_15>", "<P_15>342.45</P_15>", 1)
	broken = "\xEF\xBB\xBF" + strings.Replace(broken, "<Faktura", "<?xml-stylesheet href=\"x.xsl\"?>\n<Faktura", 1)
	ps := Check([]byte(broken))
	want := map[string]bool{"BOM": false, "processing instruction": false, "seller NIP": false, "P_15 is 342.45": false}
	for _, p := range ps {
		for k := range want {
			if strings.Contains(p.Msg, k) || strings.Contains(p.Msg, strings.ToLower(k)) {
				want[k] = true
				if k == "seller NIP" && (p.Line != 12 || p.Path != "Faktura/Podmiot1/DaneIdentyfikacyjne/NIP") {
					t.Errorf("NIP problem at line %d path %s, want line 12 (after the inserted PI)", p.Line, p.Path)
				}
			}
		}
	}
	for k, found := range want {
		if !found {
			t.Errorf("Check did not report %q; got %v", k, ps)
		}
	}
	if ps := Check([]byte("<Faktura><Naglowek>")); len(ps) == 0 || !strings.Contains(ps[0].Msg, "malformed") {
		t.Errorf("malformed XML: got %v", ps)
	}
}

func TestValidateXSDReportsLinesAndTypedErrors(t *testing.T) {
	schemas := testenv.SharedPath(t, "schemas")
	testenv.Xmllint(t)
	src, err := os.ReadFile(filepath.Join(testenv.ModuleRoot(t), "testdata", "invoices", "domestic_b2b.golden.xml"))
	if err != nil {
		t.Fatal(err)
	}
	bad := strings.Replace(string(src), "<P_12>8</P_12>", "<P_12>0</P_12>", 1)
	ps, err := ValidateXSD(context.Background(), []byte(bad), schemas)
	if err != nil {
		t.Fatal(err)
	}
	wantLine := strings.Count(bad[:strings.Index(bad, "<P_12>0</P_12>")], "\n") + 1
	if len(ps) != 1 || ps[0].Line != wantLine || ps[0].Path != "P_12" || !strings.Contains(ps[0].Msg, "'0'") {
		t.Errorf("got %v, want one problem on line %d for P_12 '0'", ps, wantLine)
	}
	_, err = ValidateXSD(context.Background(), src, t.TempDir())
	var sd *SchemaDirError
	if !errors.As(err, &sd) || !strings.Contains(err.Error(), "FA3.xsd") {
		t.Errorf("empty schema dir: got %v, want *SchemaDirError", err)
	}
	t.Setenv("PATH", t.TempDir())
	_, err = ValidateXSD(context.Background(), src, schemas)
	var te *ToolError
	if !errors.As(err, &te) || !strings.Contains(err.Error(), "libxml2-utils") {
		t.Errorf("no xmllint: got %v, want *ToolError telling how to install it", err)
	}
}

func TestSummarize(t *testing.T) {
	d, err := ParseXML(buildCase(t, goldenCases[5])) // eur_nbp
	if err != nil {
		t.Fatal(err)
	}
	s := Summarize(d)
	if s.Currency != "EUR" || s.ExchangeRate != "4.2230" || s.Buyer.IDKind != "NIP" || s.Seller.ID != "5261040828" || len(s.Rates) != 2 {
		t.Fatalf("summary %+v", s)
	}
	if s.Rates[0].Label != "23% / 22%" || s.Rates[0].Net.String() != "109.98" || s.Rates[0].VATPLN != "106.84" {
		t.Errorf("first rate %+v", s.Rates[0])
	}
	if !s.Net.Add(s.VAT).Equal(s.Gross) || s.Gross.String() != "149.75" {
		t.Errorf("net %s + VAT %s != gross %s", s.Net, s.VAT, s.Gross)
	}
}
