package golive

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// SampleGross is the grand total of the built-in sample invoice: 1 × 100.00 at 23% and
// 2 × 10.00 at 8%, i.e. net 120.00 + VAT 24.60.
const SampleGross = "144.60"

// NewIncrementID returns a fresh increment id for a go-live test invoice:
// GOLIVE-<YYYYMMDDHHMMSS>-<4 hex>, the time in UTC; the random tail keeps two checks in the
// same second (or on KSeF's shared test environment) from colliding.
func NewIncrementID(now time.Time) string {
	var b [2]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go ≥ 1.24)
	return "GOLIVE-" + now.UTC().Format("20060102150405") + "-" + strings.ToUpper(hex.EncodeToString(b[:]))
}

// SampleInvoice returns the built-in go-live test invoice as shop JSON (docs/invoice-json.md):
// a small domestic PLN invoice issued at issued, with increment id incrementID, to a Polish
// business buyer, with two lines at 23% and 8% and a bank-transfer payment due in 14 days.
// The seller comes from the website's configuration when it is built.
func SampleInvoice(incrementID string, issued time.Time) ([]byte, error) {
	type addr struct {
		Street    string `json:"street"`
		City      string `json:"city"`
		Postcode  string `json:"postcode"`
		CountryID string `json:"country_id"`
	}
	type buyer struct {
		Name    string `json:"name"`
		VatID   string `json:"vat_id"`
		Address addr   `json:"address"`
	}
	type item struct {
		SKU        string `json:"sku"`
		Name       string `json:"name"`
		Qty        string `json:"qty"`
		Price      string `json:"price"`
		TaxPercent string `json:"tax_percent"`
	}
	type payment struct {
		Method  string `json:"method"`
		DueDate string `json:"due_date"`
		Paid    bool   `json:"paid"`
	}
	doc := struct {
		Type        string  `json:"type"`
		IncrementID string  `json:"increment_id"`
		CreatedAt   string  `json:"created_at"`
		Currency    string  `json:"currency"`
		Buyer       buyer   `json:"buyer"`
		Items       []item  `json:"items"`
		GrandTotal  string  `json:"grand_total"`
		Payment     payment `json:"payment"`
	}{
		Type: "invoice", IncrementID: incrementID, CreatedAt: issued.Format(time.RFC3339), Currency: "PLN",
		Buyer: buyer{Name: "Odbiorca Testowy sp. z o.o.", VatID: "PL8567346215",
			Address: addr{Street: "ul. Testowa 1", City: "Warszawa", Postcode: "00-950", CountryID: "PL"}},
		Items: []item{
			{SKU: "GOLIVE-23", Name: "Test wdrożenia KSeF — towar 23%", Qty: "1", Price: "100.00", TaxPercent: "23"},
			{SKU: "GOLIVE-8", Name: "Test wdrożenia KSeF — usługa 8%", Qty: "2", Price: "10.00", TaxPercent: "8"},
		},
		GrandTotal: SampleGross,
		Payment:    payment{Method: "banktransfer", DueDate: issued.AddDate(0, 0, 14).Format(time.DateOnly)},
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("golive: build the sample invoice: %w", err)
	}
	return b, nil
}
