package queue

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/ksefpl/ksefpl/pkg/failure"
	"github.com/ksefpl/ksefpl/pkg/store"
)

// refused enqueues data and returns the problems of the *InvalidError it must give;
// nothing may be stored.
func (f *fixture) refused(kind string, data []byte) []string {
	f.t.Helper()
	r, err := f.enqueue(f.base, kind, data, false)
	var ie *InvalidError
	if !errors.As(err, &ie) || !failure.Is(err, failure.Invalid) {
		f.t.Fatalf("got %v (result %+v), want an *InvalidError of class invalid", err, r)
	}
	if n := len(f.jobs()); n != 0 {
		f.t.Fatalf("a refused document stored %d jobs", n)
	}
	if es, _ := f.db.Audit(f.ctx, store.AuditFilter{}); len(es) != 0 {
		f.t.Fatalf("a refused document wrote audit rows: %+v", es)
	}
	return ie.Problems
}

const controlProblem = "contains the control character U+%s: remove it (only tab, CR and LF are allowed)"

func control(code string) string { return strings.Replace(controlProblem, "%s", code, 1) }

func TestQueueXMLRefusesControlCharactersDoctypeAndNonXML(t *testing.T) {
	x := string(buildXML(t, invoiceJSON(t, "domestic_b2b"), "5261040828"))
	if !strings.Contains(x, "<P_2>INV-000123</P_2>") {
		t.Fatal("built XML has no P_2 INV-000123")
	}
	line := func(s string) string {
		return "line " + strconv.Itoa(strings.Count(x[:strings.Index(x, s)], "\n")+1) + ": "
	}
	p2 := line("<P_2>") + "Faktura/Fa/P_2: "
	notXML := " (an FA(3)/FA(2) invoice document starts with <Faktura …>)"
	cases := []struct {
		name string
		data string
		want []string
	}{
		{"raw ESC in the invoice number", strings.Replace(x, "<P_2>INV-000123", "<P_2>INV\x1b[31mRED", 1), []string{p2 + control("001B")}},
		{"ESC as a character reference", strings.Replace(x, "<P_2>INV-000123", "<P_2>INV&#x1b;[31mRED", 1), []string{p2 + control("001B")}},
		{"C1 in the invoice number", strings.Replace(x, "<P_2>INV-000123", "<P_2>INV\u009b31mRED", 1), []string{p2 + control("009B")}},
		{"DEL in the invoice number", strings.Replace(x, "<P_2>INV-000123", "<P_2>INV&#127;", 1), []string{p2 + control("007F")}},
		{"a DOCTYPE with an internal subset", strings.Replace(x, "?>\n<Faktura", "?>\n<!DOCTYPE Faktura [<!ENTITY e \"x\">]>\n<Faktura", 1),
			[]string{"line 2: a DOCTYPE declaration is not allowed: KSeF does not accept one, and its entities or defaults could make the invoice read differently; remove <!DOCTYPE …>"}},
		{"an empty file", "", []string{"the file is empty, not XML" + notXML}},
		{"white space", "\n  \n", []string{"the file is empty, not XML" + notXML}},
		{"shop JSON", string(invoiceJSON(t, "domestic_b2b")),
			[]string{"the file is not XML" + notXML + "; it looks like shop JSON: queue that with ksefpl queue invoice or ksefpl queue creditmemo"}},
		{"binary garbage", "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", []string{"the file is not XML" + notXML}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			got := f.refused(KindXML, []byte(tc.data))
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("problems:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
		})
	}
}

func TestQueueJSONRefusesControlCharactersAndDuplicateKeys(t *testing.T) {
	data := invoiceJSON(t, "domestic_b2b")
	edit := func(old, new string) []byte {
		t.Helper()
		if !bytes.Contains(data, []byte(old)) {
			t.Fatalf("fixture has no %q", old)
		}
		return bytes.Replace(data, []byte(old), []byte(new), 1)
	}
	cases := []struct {
		name string
		data []byte
		want []string
	}{
		// Queued, this was stored as INV\x1b[31mRED while KSeF got INV\uFFFD[31mRED.
		{"ESC in the increment_id", edit(`"increment_id": "INV-000123"`, `"increment_id": "INV\u001b[31mRED"`),
			[]string{"increment_id: " + control("001B")}},
		{"C1 in an item name and DEL in its unit", edit(`"name": "Koszulka bawełniana M", "qty": "2", "unit": "szt."`, `"name": "Koszulka\u0085", "qty": "2", "unit": "szt\u007f"`),
			[]string{"items[0].name: " + control("0085"), "items[0].unit: " + control("007F")}},
		{"control characters in two address fields", edit(`"city": "Kraków", "postcode": "30-001"`, `"city": "Kra\u0000ków", "postcode": "30\u001b001"`),
			[]string{"buyer.address.city: " + control("0000"), "buyer.address.postcode: " + control("001B")}},
		{"a second increment_id", edit(`"increment_id": "INV-000123",`, `"increment_id": "INV-000123", "increment_id": "INV-999",`),
			[]string{"increment_id: duplicate key: give each field once"}},
		{"a duplicated price", edit(`"price": "12.99"`, `"price": "12.99", "price": "0.01"`),
			[]string{"items[2].price: duplicate key: give each field once"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			got := f.refused(KindInvoice, tc.data)
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("problems:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
		})
	}
}
