package fa

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Input is the shop's invoice or credit memo, shaped after Magento's sales
// documents (see docs/invoice-json.md). Amounts are decimal strings or JSON
// numbers kept as text (Num) and never pass through float64.
type Input struct {
	Type               string    `json:"type"` // "invoice" or "creditmemo"
	IncrementID        string    `json:"increment_id"`
	CreatedAt          string    `json:"created_at"`
	SaleDate           string    `json:"sale_date,omitempty"`
	OrderIncrementID   string    `json:"order_increment_id,omitempty"`
	Currency           string    `json:"currency"`
	ExchangeRate       Num       `json:"exchange_rate,omitempty"`
	Buyer              Buyer     `json:"buyer"`
	Items              []Item    `json:"items"`
	Shipping           *Shipping `json:"shipping,omitempty"`
	GrandTotal         Num       `json:"grand_total"`
	Payment            *Payment  `json:"payment,omitempty"`
	ExemptionBasis     string    `json:"exemption_basis,omitempty"`
	InvoiceIncrementID string    `json:"invoice_increment_id,omitempty"`
	OriginalKSeFNumber string    `json:"original_ksef_number,omitempty"`
	OriginalIssueDate  string    `json:"original_issue_date,omitempty"`
	Reason             string    `json:"reason,omitempty"`
	// PricesIncludeTax means every item price and shipping.amount is gross: the
	// invoice carries P_9B/P_11A and the VAT of each rate is computed from its
	// gross total (art. 106e ust. 7–8 of the VAT Act).
	PricesIncludeTax bool `json:"prices_include_tax,omitempty"`
	// SplitPayment is "auto" (the default: P_18A=1 above 15,000 PLN gross with an
	// annex15 line and a buyer with a Polish NIP), "true" or "false".
	SplitPayment Switch `json:"split_payment,omitempty"`
	// Receipt names the fiscal receipt an invoice is issued for (FP=1).
	Receipt *Receipt `json:"receipt,omitempty"`
	// MarginScheme puts every line under a margin scheme (art. 119/120):
	// "used_goods", "works_of_art", "antiques" or "travel".
	MarginScheme string `json:"margin_scheme,omitempty"`
}

// Receipt identifies a fiscal receipt (paragon fiskalny).
type Receipt struct {
	Number string `json:"number"`
	Date   string `json:"date"`
}

// Switch is a JSON value that is true, false or a keyword string such as "auto",
// kept as its text ("true", "false", "auto"); absent is "".
type Switch string

// Input document types.
const (
	TypeInvoice    = "invoice"
	TypeCreditMemo = "creditmemo"
)

// Buyer is the customer; an empty VatID means a consumer (BrakID).
type Buyer struct {
	Name    string   `json:"name"`
	VatID   string   `json:"vat_id,omitempty"`
	Address *Address `json:"address"`
	Email   string   `json:"email,omitempty"`
}

// Address is the buyer's billing address. Street may be a string or, as in
// Magento, an array of lines (joined with ", ").
type Address struct {
	Street    Lines  `json:"street"`
	City      string `json:"city"`
	Postcode  string `json:"postcode,omitempty"`
	CountryID string `json:"country_id"`
}

// Item is one invoiced product line. Price is the unit price: net, or gross when
// the document has prices_include_tax; PriceInclTax is a gross unit price given
// instead of Price.
type Item struct {
	SKU            string `json:"sku,omitempty"`
	Name           string `json:"name"`
	Qty            Num    `json:"qty"`
	Unit           string `json:"unit,omitempty"`
	Price          Num    `json:"price,omitempty"`
	PriceInclTax   Num    `json:"price_incl_tax,omitempty"`
	TaxPercent     Num    `json:"tax_percent,omitempty"`
	TaxCode        string `json:"tax_code,omitempty"`
	DiscountAmount Num    `json:"discount_amount,omitempty"`
	// Annex15 marks goods or services listed in Annex 15 to the VAT Act (P_12_Zal_15).
	Annex15 bool `json:"annex15,omitempty"`
	// GTU is the goods/services group code GTU_01 … GTU_13.
	GTU string `json:"gtu,omitempty"`
	// Procedure is a Procedura code such as WSTO_EE or I_42.
	Procedure string `json:"procedure,omitempty"`
}

// Shipping is the delivery charge, invoiced as its own line (net amount).
type Shipping struct {
	Description string `json:"description,omitempty"`
	Amount      Num    `json:"amount"`
	TaxPercent  Num    `json:"tax_percent,omitempty"`
	TaxCode     string `json:"tax_code,omitempty"`
}

// Payment carries the payment method and terms.
type Payment struct {
	Method      string           `json:"method,omitempty"`
	DueDate     string           `json:"due_date,omitempty"`
	Paid        bool             `json:"paid,omitempty"`
	PaidAt      string           `json:"paid_at,omitempty"`
	BankAccount *BankAccount     `json:"bank_account,omitempty"`
	Partial     []PartialPayment `json:"partial,omitempty"`
}

// BankAccount is the account the buyer pays to (Platnosc/RachunekBankowy).
type BankAccount struct {
	IBAN     string `json:"iban"`
	SWIFT    string `json:"swift,omitempty"`
	BankName string `json:"bank_name,omitempty"`
}

// PartialPayment is one part of the amount already paid (ZaplataCzesciowa).
type PartialPayment struct {
	Amount Num    `json:"amount"`
	Date   string `json:"date"`
}

// Num is a decimal amount from JSON, accepted as a string ("12.50") or a number
// literal (12.50) and kept as its exact text; null or absent is "".
type Num string

// UnmarshalJSON accepts a JSON string, number or null without converting to float.
func (n *Num) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case string(b) == "null":
		*n = ""
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		if _, ok := firstControl(s); !ok {
			s = strings.TrimSpace(s) // a control character is kept, for normalize to report
		}
		*n = Num(s)
	case len(b) > 0 && (b[0] == '-' || (b[0] >= '0' && b[0] <= '9')):
		*n = Num(b)
	default:
		return errors.New(`expected a decimal amount: a string such as "12.50" or a number`)
	}
	return nil
}

// Lines is a string or an array of strings in JSON (Magento street lines).
type Lines []string

// UnmarshalJSON accepts a JSON string, an array of strings or null.
func (l *Lines) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		*l = nil
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*l = Lines{s}
		return nil
	}
	var arr []string
	if err := json.Unmarshal(b, &arr); err != nil {
		return errors.New("expected a string or an array of strings")
	}
	*l = arr
	return nil
}

// Joined returns the non-empty lines joined with ", ".
func (l Lines) Joined() string {
	var parts []string
	for _, s := range l {
		if s = strings.TrimSpace(s); s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, ", ")
}

// ParseInput decodes and validates the shop JSON. Decoding is strict: unknown
// fields are rejected (a misspelt "tax_code" must not silently change the tax),
// field names match exactly (no case folding), a key given twice is rejected (the
// last one must not silently win), and so is trailing data and any control
// character in a string. Every problem found is returned in one InputErrors; when
// the document's shape is wrong (unknown fields, duplicate keys, wrong JSON types)
// only those problems are listed, since the field checks would be guesses.
func ParseInput(r io.Reader) (*Input, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read invoice input: %w", err)
	}
	if !utf8.Valid(data) {
		// encoding/json would turn every invalid byte into U+FFFD: names and addresses
		// would reach KSeF garbled.
		line := 1 + bytes.Count(data[:invalidUTF8At(data)], []byte("\n"))
		return nil, InputErrors{{Msg: fmt.Sprintf("line %d: the file is not UTF-8 (a Windows-1250 or ISO-8859-2 export?): "+
			"save it as UTF-8; KSeF documents are UTF-8", line)}}
	}
	doc, perr := parseJSONDocument(data)
	if perr != nil {
		return nil, InputErrors{perr}
	}
	if doc.kind != jsonObject {
		return nil, InputErrors{{Msg: "the document must be a JSON object (one invoice or credit memo), not " + doc.kind.describe()}}
	}
	var in Input
	d := &inputDecoder{}
	d.decode(doc, reflect.ValueOf(&in).Elem(), "")
	if len(d.errs) > 0 {
		c := &collector{bad: d.bad}
		c.controls(reflect.ValueOf(&in).Elem(), "")
		return nil, append(d.errs, c.errs...)
	}
	if _, errs := in.normalize(); len(errs) > 0 {
		return nil, errs
	}
	return &in, nil
}

// NeedsRate reports whether the invoice needs an NBP exchange rate (foreign
// currency without a manual exchange_rate), and the art. 31a tax point whose
// preceding business day's table A rate applies: the sale date if given, else
// (for a credit memo) the original invoice's issue date if given, else the issue
// date — all as dates in Europe/Warsaw.
func (in *Input) NeedsRate() (currency string, taxPoint time.Time, ok bool) {
	cur := strings.ToUpper(strings.TrimSpace(in.Currency))
	if cur == "" || cur == "PLN" || strings.TrimSpace(string(in.ExchangeRate)) != "" {
		return cur, time.Time{}, false
	}
	loc := warsaw()
	for _, s := range []string{in.SaleDate, originalDateIfMemo(in)} {
		if s == "" {
			continue
		}
		if d, err := time.ParseInLocation(time.DateOnly, strings.TrimSpace(s), loc); err == nil {
			return cur, d, true
		}
	}
	issued, err := parseIssued(in.CreatedAt, loc)
	if err != nil {
		return cur, time.Time{}, false
	}
	return cur, issued, true
}

func originalDateIfMemo(in *Input) string {
	if in.Type == TypeCreditMemo {
		return in.OriginalIssueDate
	}
	return ""
}

// parseIssued reads created_at as RFC 3339, Magento's "2006-01-02 15:04:05"
// (UTC, as Magento stores it) or a bare date, and returns the calendar date in loc.
func parseIssued(s string, loc *time.Location) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return dateIn(t, loc), nil
	}
	if t, err := time.Parse(time.DateTime, s); err == nil {
		return dateIn(t, loc), nil
	}
	if t, err := time.ParseInLocation(time.DateOnly, s, loc); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%s is not a date-time: use RFC 3339 (2026-11-20T10:15:00+01:00), Magento's UTC \"2026-11-20 09:15:00\" or a date 2026-11-20", quote(s))
}

// dateIn returns midnight of t's calendar date in loc.
func dateIn(t time.Time, loc *time.Location) time.Time {
	y, m, d := t.In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, loc)
}

// warsaw returns the Europe/Warsaw zone (embedded tzdata guarantees it loads).
func warsaw() *time.Location { return warsawLocation() }

// Warsaw is Poland's time zone (Europe/Warsaw), in which invoice dates are read.
func Warsaw() *time.Location { return warsawLocation() }

// warsawLocation loads the zone once; the result never changes.
var warsawLocation = sync.OnceValue(func() *time.Location {
	loc, err := time.LoadLocation("Europe/Warsaw")
	if err != nil {
		return time.FixedZone("CET", 3600)
	}
	return loc
})

// invalidUTF8At is the offset of the first byte of data that is not valid UTF-8.
func invalidUTF8At(data []byte) int {
	for i := 0; i < len(data); {
		r, n := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return len(data)
}
