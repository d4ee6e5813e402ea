package fa

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ksefpl/ksefpl/pkg/failure"
)

// inputProblems parses src and returns every problem as "field: message"; it fails
// the test unless the error is an InputErrors of class invalid.
func inputProblems(t *testing.T, src string) []string {
	t.Helper()
	var (
		in  *Input
		err error
	)
	done := make(chan struct{})
	go func() {
		defer close(done)
		in, err = ParseInput(strings.NewReader(src))
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("ParseInput did not return within 10s")
	}
	if err == nil {
		t.Fatalf("ParseInput accepted the input: %+v", in)
	}
	var list InputErrors
	if !errors.As(err, &list) || !failure.Is(err, failure.Invalid) {
		t.Fatalf("got %T %v, want InputErrors of class invalid", err, err)
	}
	out := make([]string, len(list))
	for i, e := range list {
		out[i] = e.Error()
	}
	return out
}

// edit replaces old with new in validInput exactly once.
func edit(t *testing.T, pairs ...string) string {
	t.Helper()
	src := validInput
	for i := 0; i < len(pairs); i += 2 {
		if !strings.Contains(src, pairs[i]) {
			t.Fatalf("validInput has no %q", pairs[i])
		}
		src = strings.Replace(src, pairs[i], pairs[i+1], 1)
	}
	return src
}

func sameProblems(t *testing.T, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("problems:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

const ctl = "contains the control character U+%s: remove it (only tab, CR and LF are allowed)"

func ctlMsg(field, code string) string { return field + ": " + strings.Replace(ctl, "%s", code, 1) }

func TestParseInputRefusesControlCharacters(t *testing.T) {
	cases := []struct {
		name  string
		edits []string
		want  []string
	}{
		{"escaped ESC in increment_id (the audit's case)", []string{`"INV-1"`, `"INV\u001b[31mRED"`},
			[]string{ctlMsg("increment_id", "001B")}},
		{"raw ESC byte in increment_id", []string{`"INV-1"`, "\"INV\x1b[31mRED\""},
			[]string{ctlMsg("increment_id", "001B")}},
		{"NUL in the buyer name", []string{`"Klient S.A."`, `"Klient\u0000 S.A."`},
			[]string{ctlMsg("buyer.name", "0000")}},
		{"DEL in a sku", []string{`"sku":"A"`, `"sku":"A\u007f"`},
			[]string{ctlMsg("items[0].sku", "007F")}},
		{"raw DEL byte in a unit", []string{`"sku":"A"`, "\"sku\":\"A\",\"unit\":\"szt\x7f\""},
			[]string{ctlMsg("items[0].unit", "007F")}},
		{"C1 NEL in a street line", []string{`"street":"ul. Krzywa 2"`, `"street":["ul. Krzywa 2","lok.\u0085 5"]`},
			[]string{ctlMsg("buyer.address.street[1]", "0085")}},
		{"C1 CSI in a one-line street", []string{`"street":"ul. Krzywa 2"`, `"street":"ul. \u009b2J"`},
			[]string{ctlMsg("buyer.address.street", "009B")}},
		{"control in a city and a postcode", []string{`"Kraków"`, `"Kra\u0007ków"`, `"30-001"`, `"30\u0008-001"`},
			[]string{ctlMsg("buyer.address.city", "0007"), ctlMsg("buyer.address.postcode", "0008")}},
		{"control inside a decimal kept as text", []string{`"price":"100.00"`, `"price":"100.00\u0000"`},
			[]string{ctlMsg("items[0].price", "0000")}},
		{"C1 NEL that white-space trimming would drop", []string{`"price":"100.00"`, `"price":"100.00\u0085"`, `"qty":"2"`, `"qty":"\u00852"`},
			[]string{ctlMsg("items[0].qty", "0085"), ctlMsg("items[0].price", "0085")}},
		{"control in a reason is reported, not the derived rule", []string{`"grand_total"`, `"reason":"x\u001by","grand_total"`},
			[]string{ctlMsg("reason", "001B")}},
		{"control in a tax code is reported once", []string{`"tax_percent":"23"`, `"tax_code":"zw\u0001"`},
			[]string{ctlMsg("items[0].tax_code", "0001")}},
		{"control in the currency is reported once", []string{`"currency":"PLN"`, `"currency":"PL\u001bN"`},
			[]string{ctlMsg("currency", "001B")}},
		{"several fields at once", []string{`"INV-1"`, `"\u0001INV-1"`, `"name":"Towar"`, `"name":"To\u009fwar"`, `"grand_total"`, `"order_increment_id":"\u001f","grand_total"`},
			[]string{ctlMsg("increment_id", "0001"), ctlMsg("order_increment_id", "001F"), ctlMsg("items[0].name", "009F")}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sameProblems(t, inputProblems(t, edit(t, tc.edits...)), tc.want)
		})
	}

	// Tab, CR and LF are text, not refused.
	in, err := ParseInput(strings.NewReader(edit(t, `"name":"Towar"`, `"name":"Towar\tA\r\nB"`)))
	if err != nil || in.Items[0].Name != "Towar\tA\r\nB" {
		t.Fatalf("tab/CR/LF: %v %+v", err, in)
	}
	// Other non-ASCII text, including U+FFFD, is not a control character.
	if _, err := ParseInput(strings.NewReader(edit(t, `"Towar"`, `"Tow\ufffdar ąę €"`))); err != nil {
		t.Fatalf("U+FFFD and letters: %v", err)
	}
}

func TestBuildRefusesControlCharactersOfAnInputMadeInGo(t *testing.T) {
	in, err := ParseInput(strings.NewReader(validInput))
	if err != nil {
		t.Fatal(err)
	}
	in.IncrementID = "INV\x1b[31mRED"
	in.Items[0].Unit = "szt\u0085"
	seller := testSeller
	seller.Name = "Sklep\x00"
	_, err = Build(context.Background(), in, BuildOptions{Seller: seller, Now: fixedNow})
	var list InputErrors
	if !errors.As(err, &list) {
		t.Fatalf("got %v, want InputErrors", err)
	}
	got := make([]string, len(list))
	for i, e := range list {
		got[i] = e.Error()
	}
	sameProblems(t, got, []string{ctlMsg("increment_id", "001B"), ctlMsg("items[0].unit", "0085"), ctlMsg("seller.name", "0000")})
}

func TestParseInputRefusesDuplicateKeys(t *testing.T) {
	cases := []struct {
		name  string
		edits []string
		want  []string
	}{
		{"increment_id twice (the last one must not win)", []string{`"increment_id":"INV-1"`, `"increment_id":"INV-1","increment_id":"INV-2"`},
			[]string{"increment_id: duplicate key: give each field once"}},
		{"nested in the buyer address", []string{`"city":"Kraków"`, `"city":"Kraków","city":"Gdańsk"`},
			[]string{"buyer.address.city: duplicate key: give each field once"}},
		{"in the second item", []string{`"grand_total":"246.00"`, `"grand_total":"246.00"`,
			`"items":[{"sku":"A","name":"Towar","qty":"2","price":"100.00","tax_percent":"23"}]`,
			`"items":[{"sku":"A","name":"Towar","qty":"2","price":"100.00","tax_percent":"23"},{"name":"B","qty":"1","price":"1.00","price":"9.00","tax_percent":"23"}]`},
			[]string{"items[1].price: duplicate key: give each field once"}},
		{"three times is one problem", []string{`"currency":"PLN"`, `"currency":"PLN","currency":"EUR","currency":"USD"`},
			[]string{"currency: duplicate key: give each field once"}},
		{"a case variant is not an alias", []string{`"increment_id":"INV-1"`, `"increment_id":"INV-1","INCREMENT_ID":"INV-2"`},
			[]string{`INCREMENT_ID: unknown field: names are case-sensitive, did you mean "increment_id"? (see docs/invoice-json.md)`}},
		{"several at once, with an unknown field", []string{`"type":"invoice"`, `"type":"invoice","type":"creditmemo","colour":"red"`, `"qty":"2"`, `"qty":"2","qty":"3"`},
			[]string{"type: duplicate key: give each field once", "colour: unknown field (see docs/invoice-json.md for the accepted fields)", "items[0].qty: duplicate key: give each field once"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sameProblems(t, inputProblems(t, edit(t, tc.edits...)), tc.want)
		})
	}
	// The same key in different objects is not a duplicate.
	src := edit(t, `"items":[{"sku":"A","name":"Towar","qty":"2","price":"100.00","tax_percent":"23"}]`,
		`"items":[{"sku":"A","name":"Towar","qty":"1","price":"100.00","tax_percent":"23"},{"sku":"A","name":"Towar","qty":"1","price":"100.00","tax_percent":"23"}]`)
	if _, err := ParseInput(strings.NewReader(src)); err != nil {
		t.Fatalf("two items with the same keys: %v", err)
	}
}

func TestParseInputListsEveryUnknownField(t *testing.T) {
	src := edit(t, `"type":"invoice"`, `"type":"invoice","colour":"red","size":{"a":[1,{"b":2}]}`,
		`"name":"Klient S.A."`, `"name":"Klient S.A.","nickname":"K"`,
		`"country_id":"PL"`, `"country_id":"PL","region":null`,
		`"tax_percent":"23"`, `"tax_percent":"23","tax_rate":"23"`,
		`"grand_total":"246.00"`, `"grand_total":"246.00","\u001b[31m":1`)
	sameProblems(t, inputProblems(t, src), []string{
		"colour: unknown field (see docs/invoice-json.md for the accepted fields)",
		"size: unknown field (see docs/invoice-json.md for the accepted fields)",
		"buyer.nickname: unknown field (see docs/invoice-json.md for the accepted fields)",
		"buyer.address.region: unknown field (see docs/invoice-json.md for the accepted fields)",
		"items[0].tax_rate: unknown field (see docs/invoice-json.md for the accepted fields)",
		`"\x1b[31m": unknown field (see docs/invoice-json.md for the accepted fields)`,
	})
}

func TestInvalidLineValueIsReportedOnce(t *testing.T) {
	memo := func(t *testing.T, pairs ...string) string {
		return edit(t, append([]string{`"type":"invoice"`, `"type":"creditmemo"`, `"grand_total"`, `"invoice_increment_id":"INV-0","original_issue_date":"2026-11-01","grand_total"`}, pairs...)...)
	}
	cases := []struct {
		name string
		src  string
		want []string
	}{
		{"negative qty", edit(t, `"qty":"2"`, `"qty":"-2"`),
			[]string{"items[0].qty: must be positive on an invoice, got -2: refunds belong in a creditmemo document"}},
		{"negative price", edit(t, `"price":"100.00"`, `"price":"-100.00"`),
			[]string{"items[0].price: must not be negative, got -100"}},
		{"negative price with a discount", edit(t, `"price":"100.00"`, `"price":"-100.00","discount_amount":"5"`),
			[]string{"items[0].price: must not be negative, got -100"}},
		{"zero qty", edit(t, `"qty":"2"`, `"qty":"0"`),
			[]string{"items[0].qty: must be positive on an invoice, got 0: refunds belong in a creditmemo document"}},
		{"negative qty on a credit memo", memo(t, `"qty":"2"`, `"qty":"-2"`),
			[]string{"items[0].qty: must be positive, got -2: give refunded quantities as positive numbers; ksefpl writes the negative difference"}},
		{"qty with 7 decimals", edit(t, `"qty":"2"`, `"qty":"-0.0000001"`),
			[]string{"items[0].qty: must be positive on an invoice, got -0.0000001: refunds belong in a creditmemo document"}},
		{"price that is not a number", edit(t, `"price":"100.00"`, `"price":"abc","discount_amount":"5"`),
			[]string{`items[0].price: "abc" is not a decimal number`}},
		{"price with 9 decimals", edit(t, `"price":"100.00"`, `"price":"-0.000000001"`),
			[]string{"items[0].price: must not be negative, got -0.000000001"}},
		{"negative discount", edit(t, `"price":"100.00"`, `"price":"100.00","discount_amount":"-5"`),
			[]string{"items[0].discount_amount: must not be negative, got -5"}},
		{"bad qty and bad price", edit(t, `"qty":"2"`, `"qty":"-2"`, `"price":"100.00"`, `"price":"-1"`),
			[]string{"items[0].qty: must be positive on an invoice, got -2: refunds belong in a creditmemo document", "items[0].price: must not be negative, got -1"}},
		// With a valid qty and price the line value is still checked.
		{"discount over the line value", edit(t, `"price":"100.00"`, `"price":"100.00","discount_amount":"500"`),
			[]string{"items[0].discount_amount: discount 500 exceeds the line value 200.00"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sameProblems(t, inputProblems(t, tc.src), tc.want)
		})
	}
}

func TestAbsurdNumbersGiveOneShortProblem(t *testing.T) {
	const plain = `not a plain decimal amount: at most 16 digits before the decimal point and 20 after it, e.g. "12.50"`
	long := strings.Repeat("9", 10000)
	cases := []struct{ name, field, value, want string }{
		{"1e400", "items[0].price", `1e400`, plain},
		{"1e99999", "items[0].price", `1e99999`, plain},
		{"string 1e99999", "items[0].price", `"1e99999"`, plain},
		{"exponent beyond int32", "items[0].price", `1e99999999999999999999`, plain},
		{"tiny", "items[0].price", `1e-400`, plain},
		{"negative huge", "items[0].qty", `-1E+400`, plain},
		{"10000 digits", "items[0].price", long, plain},
		{"10000 digits in a string", "items[0].qty", `"` + long + `"`, plain},
		{"10000 decimals", "grand_total", `0.` + long, plain},
		{"17 digits", "grand_total", `12345678901234567`, plain},
		{"10000 characters of text", "items[0].price", `"` + strings.Repeat("x", 10000) + `"`, plain},
		{"10000 commas", "items[0].price", `"` + strings.Repeat("1,", 5000) + `"`, plain},
		{"short text", "items[0].price", `"12 zł"`, `"12 zł" is not a decimal number`},
		{"NaN", "items[0].price", `"NaN"`, `"NaN" is not a decimal number`},
		{"hex", "items[0].price", `"0x10"`, `"0x10" is not a decimal number`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var src string
			switch tc.field {
			case "items[0].price":
				src = edit(t, `"price":"100.00"`, `"price":`+tc.value)
			case "items[0].qty":
				src = edit(t, `"qty":"2"`, `"qty":`+tc.value)
			case "grand_total":
				src = edit(t, `"grand_total":"246.00"`, `"grand_total":`+tc.value)
			}
			got := inputProblems(t, src)
			sameProblems(t, got, []string{tc.field + ": " + tc.want})
			if len(strings.Join(got, "")) > 200 {
				t.Errorf("message is %d bytes long", len(strings.Join(got, "")))
			}
		})
	}
	// Exponents that give an ordinary amount are accepted (PHP writes 0.00001 as 1.0e-5),
	// and money stays decimal.
	in, err := ParseInput(strings.NewReader(edit(t, `"price":"100.00"`, `"price":1.0e2`)))
	if err != nil {
		t.Fatal(err)
	}
	d, err := Build(context.Background(), in, BuildOptions{Seller: testSeller, Now: fixedNow})
	if err != nil || d.Fa.FaWiersz[0].P9A != "100.00" || d.Fa.P15 != "246.00" {
		t.Fatalf("price 1.0e2: %v %+v", err, d)
	}
}

func TestTypeErrorsNameWhatTheDocumentNeeds(t *testing.T) {
	top := "the document must be a JSON object (one invoice or credit memo), not "
	cases := []struct {
		name string
		src  string
		want []string
	}{
		{"top-level array", `[` + validInput + `]`, []string{top + "an array"}},
		{"top-level string", `"invoice"`, []string{top + "a string"}},
		{"top-level number", `42`, []string{top + "a number"}},
		{"top-level null", `null`, []string{top + "null"}},
		{"buyer as a string", edit(t, `"buyer":{"name":"Klient S.A.","vat_id":"8567346215","address":{"street":"ul. Krzywa 2","city":"Kraków","postcode":"30-001","country_id":"PL"}}`, `"buyer":"Klient S.A."`),
			[]string{"buyer: must be an object, not a string"}},
		{"address as an array", edit(t, `"address":{"street":"ul. Krzywa 2","city":"Kraków","postcode":"30-001","country_id":"PL"}`, `"address":["ul. Krzywa 2"]`),
			[]string{"buyer.address: must be an object, not an array"}},
		{"items as an object", edit(t, `"items":[{"sku":"A","name":"Towar","qty":"2","price":"100.00","tax_percent":"23"}]`, `"items":{"sku":"A"}`),
			[]string{"items: must be an array, not an object"}},
		{"an item as a string", edit(t, `"items":[{"sku":"A","name":"Towar","qty":"2","price":"100.00","tax_percent":"23"}]`, `"items":["Towar"]`),
			[]string{"items[0]: must be an object, not a string"}},
		{"increment_id as a number", edit(t, `"increment_id":"INV-1"`, `"increment_id":1`),
			[]string{"increment_id: must be a string, not a number"}},
		{"qty as an object", edit(t, `"qty":"2"`, `"qty":{"value":2}`),
			[]string{`items[0].qty: must be a decimal amount (a string such as "12.50" or a number), not an object`}},
		{"price as true", edit(t, `"price":"100.00"`, `"price":true`),
			[]string{`items[0].price: must be a decimal amount (a string such as "12.50" or a number), not true/false`}},
		{"street lines with a number", edit(t, `"street":"ul. Krzywa 2"`, `"street":["ul. Krzywa 2",5]`),
			[]string{"buyer.address.street[1]: must be a string, not a number"}},
		{"street as an object", edit(t, `"street":"ul. Krzywa 2"`, `"street":{"a":1}`),
			[]string{"buyer.address.street: must be a string or an array of strings, not an object"}},
		{"paid as a string", edit(t, `"grand_total"`, `"payment":{"paid":"yes"},"grand_total"`),
			[]string{"payment.paid: must be true or false, not a string"}},
		{"shipping as a number", edit(t, `"grand_total"`, `"shipping":15,"grand_total"`),
			[]string{"shipping: must be an object, not a number"}},
		{"all at once", edit(t, `"increment_id":"INV-1"`, `"increment_id":["INV-1"]`, `"qty":"2"`, `"qty":[2]`, `"currency":"PLN"`, `"currency":"PLN","extra":1`),
			[]string{"increment_id: must be a string, not an array", "extra: unknown field (see docs/invoice-json.md for the accepted fields)", `items[0].qty: must be a decimal amount (a string such as "12.50" or a number), not an array`}},
	}
	goWords := []string{"fa.", "Input", "Buyer", "Item", "struct", "[]", "map[", "float64", "int64", "json:", "Go "}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := inputProblems(t, tc.src)
			sameProblems(t, got, tc.want)
			for _, p := range got {
				for _, w := range goWords {
					if strings.Contains(p, w) {
						t.Errorf("%q names a Go type (%q)", p, w)
					}
				}
			}
		})
	}
}

func TestParseInputSyntaxProblems(t *testing.T) {
	cases := []struct{ name, src, want string }{
		{"empty", "", "empty input: expected a JSON invoice or credit memo object"},
		{"white space", " \n\t", "empty input: expected a JSON invoice or credit memo object"},
		{"truncated", `{"type":"invoice","increment_id":`, "malformed JSON: unexpected end of input"},
		{"two documents", validInput + validInput, "unexpected data after the JSON object: send one invoice per document"},
		{"a stray brace", validInput + "}", "unexpected data after the JSON object: send one invoice per document"},
		{"deep nesting", strings.Repeat("[", 100000) + strings.Repeat("]", 100000), "the document is nested more than 64 levels deep: it is not an invoice or credit memo"},
		{"deep nesting in a field", edit(t, `"grand_total"`, `"x":`+strings.Repeat(`{"a":`, 5000)+`1`+strings.Repeat("}", 5000)+`,"grand_total"`), "the document is nested more than 64 levels deep: it is not an invoice or credit memo"},
		{"raw tab inside a string", edit(t, `"INV-1"`, "\"INV\t1\""), `increment_id: malformed JSON at byte 34: invalid character '\t' in string literal: write a tab or line break inside a string as \t, \r or \n`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sameProblems(t, inputProblems(t, tc.src), []string{tc.want})
		})
	}
}

// A syntax error after raw control characters is located in the file as given,
// not in the copy where they were escaped.
func TestSyntaxErrorOffsetIgnoresEscapedControls(t *testing.T) {
	withControls := inputProblems(t, "{\"increment_id\":\"\x01\x02\x03\", \"type\" \"invoice\"}")
	plain := inputProblems(t, `{"increment_id":"abc", "type" "invoice"}`)
	if len(withControls) != 1 || len(plain) != 1 || withControls[0] != plain[0] || !strings.Contains(plain[0], "malformed JSON at byte") {
		t.Errorf("with raw controls %q, without %q: want the same single syntax problem", withControls, plain)
	}
}

// A Windows-1250 export is refused with the line, instead of becoming U+FFFD.
func TestParseInputRefusesInvalidUTF8(t *testing.T) {
	doc := "{\n  \"increment_id\": \"INV-1\",\n  \"buyer\": {\"name\": \"Kowalski i syn \xb3\xf3d\xbc\"}\n}"
	_, err := ParseInput(strings.NewReader(doc))
	var errs InputErrors
	if !errors.As(err, &errs) || len(errs) != 1 || !strings.Contains(errs[0].Error(), "line 3: the file is not UTF-8") {
		t.Fatalf("err = %v", err)
	}
}
