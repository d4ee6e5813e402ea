package qr

import (
	"errors"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ksefpl/ksefpl/pkg/failure"
	"github.com/ksefpl/ksefpl/pkg/ksef"
	"github.com/ksefpl/ksefpl/pkg/testenv"
)

// The KOD I example of kody-qr.md ("Generowanie linku"): its inputs and its link.
const (
	docDate = "01-02-2026"
	docNIP  = "1111111111"
	docHash = "UtQp9Gpc51y-u3xApZjIjgkpZ01js-J8KflSPW8WzIE"
	docLink = "https://qr-test.ksef.mf.gov.pl/invoice/1111111111/01-02-2026/UtQp9Gpc51y-u3xApZjIjgkpZ01js-J8KflSPW8WzIE"
)

func mustDate(t *testing.T, layout, s string) time.Time {
	t.Helper()
	d, err := time.Parse(layout, s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestInvoiceLinkMatchesDocumentedExample(t *testing.T) {
	test, err := ksef.EnvTest.Endpoints("")
	if err != nil {
		t.Fatal(err)
	}
	got, err := InvoiceLink(test.QR, docNIP, mustDate(t, "02-01-2006", docDate), docHash)
	if err != nil {
		t.Fatal(err)
	}
	if got != docLink {
		t.Fatalf("link\n got %s\nwant %s", got, docLink)
	}
}

// TestInvoiceLinkAgainstOfficialDoc reads the inputs and the link out of kody-qr.md
// itself, so that a change of the documented format is noticed.
func TestInvoiceLinkAgainstOfficialDoc(t *testing.T) {
	b, err := os.ReadFile(testenv.SharedPath(t, "ksef-docs", "kody-qr.md"))
	if err != nil {
		t.Fatal(err)
	}
	// The file has CRLF line ends and a no-break space in "KOD II".
	doc := strings.ReplaceAll(string(b), "\r\n", "\n")
	end := regexp.MustCompile(`(?m)^### 2\.`).FindStringIndex(doc)
	if end == nil {
		t.Fatal("kody-qr.md: no section 2 (KOD II) heading")
	}
	kod1 := doc[:end[0]]
	field := func(re string) string {
		m := regexp.MustCompile(re).FindStringSubmatch(kod1)
		if m == nil {
			t.Fatalf("kody-qr.md: %s not found in the KOD I section", re)
		}
		return m[1]
	}
	date := field(`data wystawienia: "([0-9-]+)"`)
	seller := field(`NIP sprzedawcy: "([0-9]+)"`)
	hash := field(`skrót SHA-256 w formacie Base64URL: "([A-Za-z0-9_-]+)"`)
	want := field("```\n(https://qr-test[^\n]+/invoice/[^\n]+)\n```")
	got, err := InvoiceLink("https://qr-test.ksef.mf.gov.pl", seller, mustDate(t, "02-01-2006", date), hash)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Fatalf("link\n got %s\nwant %s (kody-qr.md)", got, want)
	}
}

func TestInvoiceLinkHostPerEnvironment(t *testing.T) {
	for env, host := range map[ksef.Environment]string{
		ksef.EnvTest: "https://qr-test.ksef.mf.gov.pl", ksef.EnvDemo: "https://qr-demo.ksef.mf.gov.pl",
		ksef.EnvProduction: "https://qr.ksef.mf.gov.pl", ksef.EnvLocal: "http://127.0.0.1:8089/qr",
	} {
		e, err := env.Endpoints("http://127.0.0.1:8089/v2")
		if err != nil {
			t.Fatal(err)
		}
		got, err := InvoiceLink(e.QR+"/", docNIP, mustDate(t, time.DateOnly, "2026-02-01"), docHash)
		if err != nil {
			t.Fatal(err)
		}
		if want := host + "/invoice/1111111111/01-02-2026/" + docHash; got != want {
			t.Errorf("%s: got %s, want %s", env, got, want)
		}
	}
}

func TestHashBase64URL(t *testing.T) {
	// FIPS 180-2 test vector: SHA-256("abc") = ba7816bf…15ad.
	if got, want := HashBase64URL([]byte("abc")), "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0"; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
	// It is KSeF's invoiceHash (standard Base64) in the URL alphabet without padding.
	x := []byte("<Faktura/>\n\xff\xfe")
	std := ksef.SHA256Base64(x)
	conv := strings.NewReplacer("+", "-", "/", "_", "=", "").Replace(std)
	if got := HashBase64URL(x); got != conv || len(got) != 43 {
		t.Fatalf("got %s (len %d), want %s", got, len(got), conv)
	}
}

func TestInvoiceLinkRefusesBadValues(t *testing.T) {
	day := mustDate(t, time.DateOnly, "2026-02-01")
	for _, c := range []struct {
		name, base, nip string
		date            time.Time
		hash, field     string
	}{
		{"checksum", "https://qr-test.ksef.mf.gov.pl", "1111111112", day, docHash, "seller NIP"},
		{"short nip", "https://qr-test.ksef.mf.gov.pl", "111111111", day, docHash, "seller NIP"},
		{"no date", "https://qr-test.ksef.mf.gov.pl", docNIP, time.Time{}, docHash, "issue date"},
		{"padded hash", "https://qr-test.ksef.mf.gov.pl", docNIP, day, docHash + "=", "invoice hash"},
		{"std alphabet", "https://qr-test.ksef.mf.gov.pl", docNIP, day, strings.ReplaceAll(docHash, "-", "+"), "invoice hash"},
		{"short hash", "https://qr-test.ksef.mf.gov.pl", docNIP, day, docHash[:40], "invoice hash"},
		{"no scheme", "qr-test.ksef.mf.gov.pl", docNIP, day, docHash, "QR base URL"},
		{"query", "https://qr-test.ksef.mf.gov.pl?x=1", docNIP, day, docHash, "QR base URL"},
	} {
		_, err := InvoiceLink(c.base, c.nip, c.date, c.hash)
		var ie *InputError
		if !errors.As(err, &ie) || ie.Field != c.field {
			t.Errorf("%s: got %v, want an InputError on %s", c.name, err, c.field)
			continue
		}
		if !failure.Is(err, failure.Invalid) {
			t.Errorf("%s: IsInvalid(%v) = false", c.name, err)
		}
	}
}

func TestLabel(t *testing.T) {
	if got := Label(""); got != "OFFLINE" {
		t.Errorf("no number: %q", got)
	}
	if got := Label(" 5265877635-20250826-0100001AF629-AF "); got != "5265877635-20250826-0100001AF629-AF" {
		t.Errorf("number: %q", got)
	}
}

func TestReadInvoiceFromOfficialExample(t *testing.T) {
	b, err := os.ReadFile(testenv.SharedPath(t, "examples", "fa3", "qr_test__nip.xml"))
	if err != nil {
		t.Fatal(err)
	}
	inv, err := ReadInvoice(b)
	if err != nil {
		t.Fatal(err)
	}
	want := "https://qr-test.ksef.mf.gov.pl/invoice/3731383632/13-11-2025/" +
		strings.NewReplacer("+", "-", "/", "_", "=", "").Replace(ksef.SHA256Base64(b))
	got, err := inv.Link("https://qr-test.ksef.mf.gov.pl")
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
	// One byte more (a trailing newline) is another file: another hash, same NIP and date.
	inv2, err := ReadInvoice(append(append([]byte{}, b...), '\n'))
	if err != nil {
		t.Fatal(err)
	}
	if inv2.Hash == inv.Hash || inv2.SellerNIP != inv.SellerNIP || !inv2.IssueDate.Equal(inv.IssueDate) {
		t.Fatalf("changed bytes: %+v vs %+v", inv2, inv)
	}
}

func TestReadInvoiceRefusesNonInvoices(t *testing.T) {
	for name, x := range map[string]string{
		"not xml":       "hello",
		"wrong ns":      `<Faktura xmlns="urn:other"><Fa><P_1>2026-01-01</P_1></Fa></Faktura>`,
		"no seller nip": `<Faktura xmlns="http://crd.gov.pl/wzor/2025/06/25/13775/"><Fa><P_1>2026-01-01</P_1></Fa></Faktura>`,
		"bad p_1":       `<Faktura xmlns="http://crd.gov.pl/wzor/2025/06/25/13775/"><Podmiot1><DaneIdentyfikacyjne><NIP>1111111111</NIP></DaneIdentyfikacyjne></Podmiot1><Fa><P_1>01.01.2026</P_1></Fa></Faktura>`,
	} {
		if _, err := ReadInvoice([]byte(x)); !failure.Is(err, failure.Invalid) {
			t.Errorf("%s: got %v, want an invalid-input error", name, err)
		}
	}
}
