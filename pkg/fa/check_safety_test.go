package fa

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ksefpl/ksefpl/pkg/testenv"
)

// goldenXML is a correct invoice that the cases below break.
func goldenXML(t *testing.T) string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(testenv.ModuleRoot(t), "testdata", "invoices", "domestic_b2b.golden.xml"))
	if err != nil {
		t.Fatal(err)
	}
	if ps := Check(src); ps != nil {
		t.Fatalf("golden invoice has problems: %v", ps)
	}
	return string(src)
}

func replaced(t *testing.T, src string, pairs ...string) string {
	t.Helper()
	for i := 0; i < len(pairs); i += 2 {
		if !strings.Contains(src, pairs[i]) {
			t.Fatalf("the document has no %q", pairs[i])
		}
		src = strings.Replace(src, pairs[i], pairs[i+1], 1)
	}
	return src
}

// checkStrings renders Check's findings, warnings prefixed with "warning: ".
func checkStrings(b []byte) []string {
	var out []string
	for _, p := range Check(b) {
		if p.Warning {
			out = append(out, "warning: "+p.String())
			continue
		}
		out = append(out, p.String())
	}
	return out
}

// C0 control characters (other than tab, CR, LF) are not XML 1.0 characters: an
// error. DEL and C1 characters are legal XML that KSeF accepts, so a ready XML
// carrying one gets a warning naming the spot — except in the invoice number (P_2),
// the job's key in the queue, where any control character is an error.
func TestCheckControlCharactersWithLineAndPath(t *testing.T) {
	g := goldenXML(t)
	const p2 = "<P_2>INV-000123</P_2>" // line 39
	const kod = `wersjaSchemy="1-0E"`  // line 4
	xmlCtl := func(line, path, code string) string {
		return "line " + line + ": " + path + ": " + strings.Replace(ctl, "%s", code, 1)
	}
	legal := func(line, path, code string) string {
		return "warning: line " + line + ": " + path + ": contains the control character U+" + code +
			", which XML allows but no invoice text needs: probably text decoded in the wrong encoding (Windows-1250 read as UTF-8?); check how it prints"
	}
	cases := []struct {
		name  string
		pairs []string
		want  []string
	}{
		{"raw ESC in P_2 (the audit's case)", []string{p2, "<P_2>INV\x1b[31mRED</P_2>"},
			[]string{xmlCtl("39", "Faktura/Fa/P_2", "001B")}},
		{"hex reference to ESC", []string{p2, "<P_2>INV&#x1B;[31mRED</P_2>"},
			[]string{xmlCtl("39", "Faktura/Fa/P_2", "001B")}},
		{"decimal reference to NUL", []string{p2, "<P_2>INV&#0;</P_2>"},
			[]string{xmlCtl("39", "Faktura/Fa/P_2", "0000")}},
		{"raw DEL", []string{p2, "<P_2>INV\x7f</P_2>"},
			[]string{xmlCtl("39", "Faktura/Fa/P_2", "007F")}},
		{"reference to DEL", []string{p2, "<P_2>INV&#127;</P_2>"},
			[]string{xmlCtl("39", "Faktura/Fa/P_2", "007F")}},
		{"raw C1 NEL", []string{p2, "<P_2>INV\u0085</P_2>"},
			[]string{xmlCtl("39", "Faktura/Fa/P_2", "0085")}},
		{"reference to C1 CSI", []string{p2, "<P_2>INV&#x9B;2J</P_2>"},
			[]string{xmlCtl("39", "Faktura/Fa/P_2", "009B")}},
		{"on a later line of a multi-line text", []string{"<P_7>Kurier DPD</P_7>", "<P_7>Kurier\nDPD\n\x01</P_7>"},
			[]string{xmlCtl("104", "Faktura/Fa/FaWiersz[4]/P_7", "0001")}},
		{"raw control in an attribute value", []string{kod, "wersjaSchemy=\"1-\x1b0E\""},
			[]string{xmlCtl("4", "Faktura/Naglowek/KodFormularza/@wersjaSchemy", "001B")}},
		{"C1 in a line name: a warning", []string{"<P_7>Kurier DPD</P_7>", "<P_7>Kurier\u0085DPD</P_7>"},
			[]string{legal("102", "Faktura/Fa/FaWiersz[4]/P_7", "0085")}},
		{"C1 in an attribute value", []string{kod, "wersjaSchemy=\"1-\u00850E\""},
			[]string{legal("4", "Faktura/Naglowek/KodFormularza/@wersjaSchemy", "0085")}},
		{"every element at once, and the other checks still run", []string{p2, "<P_2>INV&#x1B;</P_2>", "<P_7>Kurier DPD</P_7>", "<P_7>Kurier\u0090DPD</P_7>", "<P_15>342.44</P_15>", "<P_15>342.45</P_15>"},
			[]string{xmlCtl("39", "Faktura/Fa/P_2", "001B"), legal("102", "Faktura/Fa/FaWiersz[4]/P_7", "0090"),
				"warning: line 47: Faktura/Fa/P_15: P_15 is 342.45 but the P_13_x and P_14_x amounts add up to 342.44 (KSeF does not check this; ksefpl does for invoices it builds)"}},
		{"raw control inside a tag", []string{"<P_2>", "<P_2\x1b>"},
			[]string{xmlCtl("39", "Faktura/Fa", "001B")}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sameProblems(t, checkStrings([]byte(replaced(t, g, tc.pairs...))), tc.want)
		})
	}
	// Tab, CR and LF (also as references) are text; references inside CDATA and
	// comments are literal text, not characters.
	ok := replaced(t, g, p2, "<P_2>INV&#9;000123&#10;</P_2>", "<P_7>Kurier DPD</P_7>", "<P_7>Kurier\tDPD<![CDATA[ &#27; ]]></P_7><!-- &#1; -->")
	if ps := Check([]byte(ok)); ps != nil {
		t.Errorf("tab, LF and literal references: %v", ps)
	}
}

func TestCheckRefusesDoctype(t *testing.T) {
	g := goldenXML(t)
	const decl = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	const doctype = "line 2: a DOCTYPE declaration is not allowed: KSeF does not accept one, and its entities or defaults could make the invoice read differently; remove <!DOCTYPE …>"
	cases := []struct {
		name, insert string
		want         []string
	}{
		{"internal subset only", "<!DOCTYPE Faktura [<!ATTLIST P_2 x CDATA \"y\">]>\n", []string{doctype}},
		{"an entity that is not used", "<!DOCTYPE Faktura [<!ENTITY nr \"INV-2\">]>\n", []string{doctype}},
		{"bare", "<!DOCTYPE Faktura>\n", []string{doctype}},
		{"external", "<!DOCTYPE Faktura SYSTEM \"http://example.invalid/fa.dtd\">\n", []string{doctype}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sameProblems(t, checkStrings([]byte(replaced(t, g, decl, decl+tc.insert))), tc.want)
		})
	}
	// A DOCTYPE does not hide the document's other problems.
	got := checkStrings([]byte(replaced(t, g, decl, decl+"<!DOCTYPE Faktura>\n", "<P_15>342.44</P_15>", "<P_15>342.45</P_15>")))
	if len(got) != 2 || got[0] != doctype || !strings.Contains(got[1], "P_15 is 342.45") {
		t.Errorf("DOCTYPE and P_15: %q", got)
	}
	// A DOCTYPE whose entity is used cannot even be read.
	got = checkStrings([]byte(replaced(t, g, decl, decl+"<!DOCTYPE Faktura [<!ENTITY nr \"INV-2\">]>\n", "<P_2>INV-000123</P_2>", "<P_2>&nr;</P_2>")))
	if len(got) != 2 || got[0] != doctype || !strings.Contains(got[1], "malformed XML") {
		t.Errorf("DOCTYPE with a used entity: %q", got)
	}
}

func TestCheckSaysWhenTheFileIsNotAnInvoice(t *testing.T) {
	g := goldenXML(t)
	hint := "(an FA(3)/FA(2) invoice document starts with <Faktura …>)"
	cases := []struct {
		name, src, want string
		parse           bool // ParseXML says the same
	}{
		{"empty", "", "the file is empty, not XML " + hint, true},
		{"white space", " \r\n\t \n", "the file is empty, not XML " + hint, true},
		{"a BOM only", "\xef\xbb\xbf", "the file is empty, not XML " + hint, true},
		{"shop JSON", `{"type":"invoice","increment_id":"INV-1"}`, "the file is not XML " + hint, true},
		{"binary garbage", "\x00\x01\x02PK\x03\x04\xff\xfe garbage", "the file is not XML " + hint, true},
		{"a PDF", "%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "the file is not XML " + hint, true},
		{"another XML document", "<?xml version=\"1.0\"?>\n<html><body/></html>", "line 2: the root element is <html>, not <Faktura>: the file is not an FA(3)/FA(2) invoice", false},
		{"a declaration only", "<?xml version=\"1.0\"?>\n<!-- nothing -->\n", "the file has no root element, so it is not an invoice " + hint, true},
		{"text after the invoice", g + "trailing text\n", "line 116: text outside the root element <Faktura> is not allowed: remove it", false},
		{"two invoices", g + g[strings.Index(g, "<Faktura"):], "line 117: a second root element <Faktura> follows the invoice: an XML document has one root element", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := checkStrings([]byte(tc.src))
			if strings.HasPrefix(tc.src, "\xef\xbb\xbf") {
				if len(got) == 0 || !strings.Contains(got[0], "byte-order mark") {
					t.Fatalf("BOM not reported: %q", got)
				}
				got = got[1:]
			}
			sameProblems(t, got, []string{tc.want})
			if !tc.parse {
				return
			}
			_, err := ParseXML([]byte(tc.src))
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Msg != strings.TrimPrefix(tc.want, "line 1: ") {
				t.Errorf("ParseXML: %v, want a *ParseError saying %q", err, tc.want)
			}
		})
	}
	_, err := ParseXML([]byte("<html><body/></html>"))
	if err == nil || err.Error() != "invoice XML: the root element is <html>, not <Faktura>: the file is not an FA(3)/FA(2) invoice" {
		t.Errorf("ParseXML of html: %v", err)
	}
}
