package ksefsim

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// cMetadata is InvoiceMetadata as a client reads it.
type cMetadata struct {
	KsefNumber, InvoiceNumber, IssueDate, InvoicingDate, AcquisitionDate, PermanentStorageDate string
	Seller                                                                                     struct{ Nip, Name string }
	Buyer                                                                                      struct {
		Identifier struct{ Type, Value string }
		Name       string
	}
	NetAmount, GrossAmount, VatAmount json.Number
	Currency, InvoicingMode           string
	InvoiceType                       string
	FormCode                          struct{ SystemCode, SchemaVersion, Value string }
	IsSelfInvoicing, HasAttachment    bool
	InvoiceHash                       string
	ThirdSubjects                     []struct {
		Identifier struct{ Type, Value string }
		Role       int
	}
}

type cMetadataPage struct {
	HasMore, IsTruncated    bool
	PermanentStorageHwmDate *string
	Invoices                []cMetadata
}

// fa3Amounts is fa3 with net, VAT and gross amounts and the given buyer NIP.
func fa3Amounts(seller, buyer, number string, issued time.Time) []byte {
	s := strings.Replace(string(fa3(seller, number, issued)), "<P_15>123.00</P_15>",
		"<P_13_1>100.00</P_13_1><P_14_1>23.00</P_14_1><P_15>123.00</P_15>", 1)
	s = strings.Replace(s, "<Podmiot2>\n\t\t<DaneIdentyfikacyjne><NIP>"+otherNIP, "<Podmiot2>\n\t\t<DaneIdentyfikacyjne><NIP>"+buyer, 1)
	return []byte(s)
}

// queryMetadata posts filters with a query string and decodes a 200 page.
func (e *env) queryMetadata(access, query string, filters any) cMetadataPage {
	e.t.Helper()
	r := e.call("POST", "/v2/invoices/query/metadata"+query, filters, bearer(access)...)
	if r.status != 200 {
		e.t.Fatalf("query metadata%s: %d %s", query, r.status, r.body)
	}
	var p cMetadataPage
	r.decode(e.t, &p)
	return p
}

func dateRange(typ string, from time.Time, to *time.Time) map[string]any {
	dr := map[string]any{"dateType": typ, "from": from.Format(time.RFC3339Nano)}
	if to != nil {
		dr["to"] = to.Format(time.RFC3339Nano)
	}
	return dr
}

// TestQueryInvoiceMetadata pages through a seller's invoices as queue:reconcile does
// and checks every field a reconciliation compares, the filters, the sort orders,
// the 10 000-record limit (lowered to 11) and the other parties' views.
func TestQueryInvoiceMetadata(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{InvoiceStepPolls: -1, QueryResultLimit: 11})
	start := e.clock.Now()
	seller := e.loggedIn(testNIP)
	cs := e.openSession(seller)
	docs := map[string][]byte{} // invoice number -> document
	for i := 1; i <= 12; i++ {
		issued := e.today()
		if i <= 3 {
			issued = issued.AddDate(0, 0, -1)
		}
		n := fmt.Sprintf("FQ/%02d", i)
		docs[n] = fa3Amounts(testNIP, otherNIP, n, issued)
		cs.send(docs[n])
		e.clock.Advance(time.Minute)
	}
	buyerSide := e.loggedIn(otherNIP)
	other := e.openSession(buyerSide)
	other.send(fa3Amounts(otherNIP, testNIP, "OT/1", e.today()))
	e.clock.Advance(time.Minute)
	ksef := map[string]string{} // invoice number -> KSeF number, from the judge
	for _, inv := range e.sim.Invoices() {
		ksef[inv.InvoiceNumber] = inv.KSeFNumber
	}
	// Permanent storage follows the KSeF number by a second: until then a
	// PermanentStorage query that ends now does not see OT/1, numbered just now; an
	// Invoicing query does.
	filters := map[string]any{"subjectType": "Subject2", "dateRange": dateRange("PermanentStorage", start, nil)}
	if p := e.queryMetadata(seller, "", filters); len(p.Invoices) != 0 || p.HasMore {
		t.Fatalf("before permanent storage: %+v", p)
	}
	if p := e.queryMetadata(seller, "", map[string]any{"subjectType": "Subject2", "dateRange": dateRange("Invoicing", start, nil)}); len(p.Invoices) != 1 {
		t.Fatalf("Invoicing query before permanent storage: %+v", p)
	}
	e.clock.Advance(2 * time.Second)
	filters["subjectType"] = "Subject1"

	p0 := e.queryMetadata(seller, "?pageSize=10", filters)
	if len(p0.Invoices) != 10 || !p0.HasMore || p0.IsTruncated || p0.PermanentStorageHwmDate == nil {
		t.Fatalf("page 0: %d invoices, hasMore %v, truncated %v, hwm %v", len(p0.Invoices), p0.HasMore, p0.IsTruncated, p0.PermanentStorageHwmDate)
	}
	p1 := e.queryMetadata(seller, "?pageSize=10&pageOffset=1", filters)
	if len(p1.Invoices) != 1 || !p1.HasMore || !p1.IsTruncated {
		t.Fatalf("page 1 at the limit of 11: %d invoices, hasMore %v, truncated %v", len(p1.Invoices), p1.HasMore, p1.IsTruncated)
	}
	got := append(p0.Invoices, p1.Invoices...)
	for i, m := range got {
		n := fmt.Sprintf("FQ/%02d", i+1)
		// Issued before the day KSeF received them: invoicing mode Offline.
		issue, mode := e.today().Format("2006-01-02"), "Online"
		if i < 3 {
			issue, mode = start.AddDate(0, 0, -1).Format("2006-01-02"), "Offline"
		}
		if m.InvoiceNumber != n || m.KsefNumber != ksef[n] || m.InvoiceHash != b64sha(docs[n]) || m.IssueDate != issue ||
			m.Seller.Nip != testNIP || m.Seller.Name != "Sklep testowy sp. z o.o." || m.Buyer.Identifier.Type != "Nip" ||
			m.Buyer.Identifier.Value != otherNIP || m.Buyer.Name != "Nabywca" || m.GrossAmount != "123.00" || m.NetAmount != "100.00" ||
			m.VatAmount != "23.00" || m.Currency != "PLN" || m.InvoicingMode != mode || m.InvoiceType != "Vat" ||
			m.FormCode.SystemCode != "FA (3)" || m.FormCode.Value != "FA" || m.ThirdSubjects == nil {
			t.Fatalf("record %d: %+v", i, m)
		}
		ps, _ := time.Parse(time.RFC3339Nano, m.PermanentStorageDate)
		acq, _ := time.Parse(time.RFC3339Nano, m.AcquisitionDate)
		inv, _ := time.Parse(time.RFC3339Nano, m.InvoicingDate)
		if !ps.After(acq) || acq.Before(inv) {
			t.Fatalf("record %d dates: invoicing %s, acquisition %s, permanent storage %s", i, m.InvoicingDate, m.AcquisitionDate, m.PermanentStorageDate)
		}
	}
	// The client narrows the range past the last record and starts again at page 0.
	last := got[len(got)-1].PermanentStorageDate
	rest := e.queryMetadata(seller, "?pageSize=10", map[string]any{"subjectType": "Subject1",
		"dateRange": map[string]any{"dateType": "PermanentStorage", "from": last}})
	if len(rest.Invoices) != 2 || rest.HasMore || rest.IsTruncated || rest.Invoices[1].InvoiceNumber != "FQ/12" {
		t.Fatalf("after narrowing: %+v", rest)
	}

	if d := e.queryMetadata(seller, "?sortOrder=Desc&pageSize=10", filters); d.Invoices[0].InvoiceNumber != "FQ/12" || d.Invoices[9].InvoiceNumber != "FQ/03" {
		t.Fatalf("Desc: first %s, tenth %s", d.Invoices[0].InvoiceNumber, d.Invoices[9].InvoiceNumber)
	}
	// Issue dates filter by calendar day: yesterday holds FQ/01-03.
	yday := start.AddDate(0, 0, -1)
	endOfYday := time.Date(yday.Year(), yday.Month(), yday.Day(), 20, 0, 0, 0, time.UTC)
	if d := e.queryMetadata(seller, "", map[string]any{"subjectType": "Subject1", "dateRange": dateRange("Issue", yday, &endOfYday)}); len(d.Invoices) != 3 || d.PermanentStorageHwmDate != nil {
		t.Fatalf("Issue range: %+v", d)
	}
	exact := func(field, value string) int {
		f := map[string]any{"subjectType": "Subject1", "dateRange": dateRange("Invoicing", start, nil), field: value}
		return len(e.queryMetadata(seller, "", f).Invoices)
	}
	if exact("ksefNumber", ksef["FQ/07"]) != 1 || exact("invoiceNumber", "FQ/08") != 1 || exact("invoiceNumber", "FQ/99") != 0 {
		t.Fatal("exact-match filters")
	}
	amount := func(from, to float64) int {
		f := map[string]any{"subjectType": "Subject1", "dateRange": dateRange("Invoicing", start, nil),
			"amount": map[string]any{"type": "Brutto", "from": from, "to": to}, "currencyCodes": []string{"PLN"}, "invoicingMode": "Online"}
		return len(e.queryMetadata(seller, "?pageSize=20", f).Invoices)
	}
	if amount(100, 200) != 9 || amount(200, 300) != 0 {
		t.Fatal("amount filter")
	}
	parties := func(buyer string) int {
		f := map[string]any{"subjectType": "Subject1", "dateRange": dateRange("Invoicing", start, nil),
			"buyerIdentifier": map[string]any{"type": "Nip", "value": buyer}, "sellerNip": testNIP, "invoiceTypes": []string{"Vat"},
			"formType": "FA", "hasAttachment": false, "isSelfInvoicing": false}
		return len(e.queryMetadata(seller, "?pageSize=20", f).Invoices)
	}
	if parties(otherNIP) != 11 || parties(testNIP) != 0 {
		t.Fatal("party filters")
	}

	// The buyer's context sees the invoice as Subject2; the seller's own sale is not
	// its Subject2. GET /invoices/ksef works for the buyer too.
	if d := e.queryMetadata(seller, "", map[string]any{"subjectType": "Subject2", "dateRange": dateRange("Invoicing", start, nil)}); len(d.Invoices) != 1 || d.Invoices[0].InvoiceNumber != "OT/1" {
		t.Fatalf("Subject2 of %s: %+v", testNIP, d)
	}
	if d := e.queryMetadata(buyerSide, "?pageSize=20", map[string]any{"subjectType": "Subject2", "dateRange": dateRange("Invoicing", start, nil)}); len(d.Invoices) != 11 {
		t.Fatalf("Subject2 of %s: %d", otherNIP, len(d.Invoices))
	}
	if r := e.call("GET", "/v2/invoices/ksef/"+ksef["FQ/01"], nil, bearer(buyerSide)...); r.status != 200 || b64sha(r.body) != b64sha(docs["FQ/01"]) {
		t.Fatalf("buyer download: %d", r.status)
	}
	e.noViolations()
}

func TestQueryInvoiceMetadataErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{})
	access := e.loggedIn(testNIP)
	now := e.clock.Now()
	bad := func(query string, filters any, code int) {
		t.Helper()
		r := e.call("POST", "/v2/invoices/query/metadata"+query, filters, bearer(access)...)
		if c, _ := exceptionCode(t, r); r.status != 400 || c != code {
			t.Errorf("%s %v: %d %s", query, filters, r.status, r.body)
		}
	}
	ok := map[string]any{"subjectType": "Subject1", "dateRange": dateRange("Invoicing", now.Add(-time.Hour), nil)}
	bad("?pageSize=5", ok, 21405)
	bad("?pageSize=251", ok, 21405)
	bad("?pageOffset=-1", ok, 21405)
	bad("?sortOrder=Up", ok, 21405)
	bad("", map[string]any{"dateRange": ok["dateRange"]}, 21405)
	bad("", map[string]any{"subjectType": "Subject1", "dateRange": dateRange("Invoicing", now.AddDate(0, 0, -101), nil)}, 21405)
	bad("", map[string]any{"subjectType": "Subject9", "dateRange": ok["dateRange"]}, 21405)
	future := now.Add(time.Hour)
	bad("", map[string]any{"subjectType": "Subject1", "dateRange": map[string]any{"dateType": "PermanentStorage",
		"from": future.Format(time.RFC3339), "restrictToPermanentStorageHwmDate": true}}, 21183)
	// InvoiceRead is required.
	tok, err := e.sim.IssueTokenWithPermissions(testNIP, "InvoiceWrite")
	if err != nil {
		t.Fatal(err)
	}
	_, tk := e.login(tok, testNIP)
	if r := e.call("POST", "/v2/invoices/query/metadata", ok, bearer(tk.AccessToken.Token)...); r.status != 403 {
		t.Errorf("without InvoiceRead: %d %s", r.status, r.body)
	}
	e.noResponseViolations()
}
