package ksefsim

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"time"
)

// Wire shape of InvoiceQueryFilters (open-api-2.8.1.json): the filters of POST
// /invoices/query/metadata and of POST /invoices/exports. Pointers tell "missing"
// from "empty".
type (
	invoiceQueryFilters struct {
		SubjectType     *string          `json:"subjectType"`
		DateRange       *queryDateRange  `json:"dateRange"`
		KsefNumber      *string          `json:"ksefNumber"`
		InvoiceNumber   *string          `json:"invoiceNumber"`
		Amount          *queryAmount     `json:"amount"`
		SellerNip       *string          `json:"sellerNip"`
		BuyerIdentifier *queryIdentifier `json:"buyerIdentifier"`
		CurrencyCodes   []string         `json:"currencyCodes"`
		InvoicingMode   *string          `json:"invoicingMode"`
		IsSelfInvoicing *bool            `json:"isSelfInvoicing"`
		FormType        *string          `json:"formType"`
		InvoiceTypes    []string         `json:"invoiceTypes"`
		HasAttachment   *bool            `json:"hasAttachment"`
	}
	queryDateRange struct {
		DateType                          *string `json:"dateType"`
		From                              *string `json:"from"`
		To                                *string `json:"to"`
		RestrictToPermanentStorageHwmDate *bool   `json:"restrictToPermanentStorageHwmDate"`
	}
	queryAmount struct {
		Type *string      `json:"type"`
		From *json.Number `json:"from"`
		To   *json.Number `json:"to"`
	}
	queryIdentifier struct {
		Type  *string `json:"type"`
		Value *string `json:"value"`
	}
)

// Date types of InvoiceQueryDateType.
const (
	dateIssue            = "Issue"
	dateInvoicing        = "Invoicing"
	datePermanentStorage = "PermanentStorage"
)

// Query limits (InvoiceQueryFilters.dateRange; the metadata and export limits).
const (
	maxQueryRange       = 100 * 24 * time.Hour // "Maksymalny dozwolony okres wynosi 100 dni w strefie UTC"
	defaultQueryLimit   = 10000                // records per filter set / invoices per export package
	codeRangeAfterHWM   = 21183
	descRangeAfterHWM   = "Zakres filtrowania wykracza poza dostępny zakres danych."
	detailRangeAfterHWM = "Parametr dateRange.from jest późniejszy niż PermanentStorageHwmDate przy włączonym restrictToPermanentStorageHwmDate."
)

var (
	subjectTypes     = []string{"Subject1", "Subject2", "Subject3", "SubjectAuthorized"}
	dateTypes        = []string{dateIssue, dateInvoicing, datePermanentStorage}
	amountTypes      = []string{"Brutto", "Netto", "Vat"}
	buyerIDTypes     = []string{"Nip", "VatUe", "Other", "None"}
	invoicingModes   = []string{"Online", "Offline"}
	formTypes        = []string{"FA", "PEF", "FA_RR"}
	invoiceTypeNames = []string{"Vat", "Zal", "Kor", "Roz", "Upr", "KorZal", "KorRoz", "VatPef", "VatPefSp", "KorPef", "VatRr", "KorVatRr"}
)

// invoiceQuery is a validated filter set.
type invoiceQuery struct {
	f        invoiceQueryFilters
	subject  string
	dateType string
	from, to time.Time
	hasTo    bool
	restrict bool
}

// parseQueryTime reads a dateRange bound: ISO 8601 with Z or an offset; without an
// offset it is Polish local time, as the contract described it up to API 2.7.
func (s *Server) parseQueryTime(v string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999Z0700"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, true
		}
	}
	for _, layout := range []string{"2006-01-02T15:04:05.999999999", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, v, s.loc); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// oneOf appends a 21405 detail when v is set and not one of allowed.
func oneOf(d []string, field string, v *string, allowed []string) []string {
	if v != nil && !slices.Contains(allowed, *v) {
		d = append(d, fmt.Sprintf("Wartość '%s' pola '%s' jest niedozwolona (dozwolone: %s).", *v, field, strings.Join(allowed, ", ")))
	}
	return d
}

// validateQuery checks a filter set and returns it parsed, or the 21405 details.
func (s *Server) validateQuery(f *invoiceQueryFilters, prefix string) (invoiceQuery, []string) {
	q := invoiceQuery{f: *f}
	var d []string
	if f.SubjectType == nil {
		d = append(d, "Pole '"+prefix+"subjectType' jest wymagane.")
	} else {
		d = oneOf(d, prefix+"subjectType", f.SubjectType, subjectTypes)
		q.subject = *f.SubjectType
	}
	switch dr := f.DateRange; {
	case dr == nil:
		d = append(d, "Pole '"+prefix+"dateRange' jest wymagane.")
	default:
		if dr.DateType == nil {
			d = append(d, "Pole '"+prefix+"dateRange.dateType' jest wymagane.")
		} else {
			d = oneOf(d, prefix+"dateRange.dateType", dr.DateType, dateTypes)
			q.dateType = *dr.DateType
		}
		var ok bool
		if dr.From == nil {
			d = append(d, "Pole '"+prefix+"dateRange.from' jest wymagane.")
		} else if q.from, ok = s.parseQueryTime(*dr.From); !ok {
			d = append(d, "Pole '"+prefix+"dateRange.from' nie jest poprawną datą w formacie ISO 8601.")
		}
		if dr.To != nil {
			if q.to, ok = s.parseQueryTime(*dr.To); !ok {
				d = append(d, "Pole '"+prefix+"dateRange.to' nie jest poprawną datą w formacie ISO 8601.")
			}
			q.hasTo = true
		}
		q.restrict = dr.RestrictToPermanentStorageHwmDate != nil && *dr.RestrictToPermanentStorageHwmDate
	}
	if !q.from.IsZero() {
		end := q.to
		if !q.hasTo {
			end = s.now()
		}
		switch {
		case q.hasTo && !q.to.IsZero() && q.to.Before(q.from):
			d = append(d, "Data 'dateRange.to' nie może być wcześniejsza niż 'dateRange.from'.")
		case !end.IsZero() && end.Sub(q.from) > maxQueryRange:
			d = append(d, "Zakres dat 'dateRange' nie może przekraczać 100 dni.")
		}
	}
	if a := f.Amount; a != nil {
		if a.Type == nil {
			d = append(d, "Pole '"+prefix+"amount.type' jest wymagane.")
		}
		d = oneOf(d, prefix+"amount.type", a.Type, amountTypes)
	}
	if b := f.BuyerIdentifier; b != nil {
		if b.Type == nil {
			d = append(d, "Pole '"+prefix+"buyerIdentifier.type' jest wymagane.")
		}
		d = oneOf(d, prefix+"buyerIdentifier.type", b.Type, buyerIDTypes)
	}
	for _, c := range f.CurrencyCodes {
		if len(c) != 3 || strings.ToUpper(c) != c {
			d = append(d, "Wartość '"+c+"' pola '"+prefix+"currencyCodes' nie jest kodem waluty ISO 4217.")
		}
	}
	d = oneOf(d, prefix+"invoicingMode", f.InvoicingMode, invoicingModes)
	d = oneOf(d, prefix+"formType", f.FormType, formTypes)
	for _, t := range f.InvoiceTypes {
		d = oneOf(d, prefix+"invoiceTypes", &t, invoiceTypeNames)
	}
	return q, d
}

// hwm is the PermanentStorageHwmDate of a query at now: the simulator stores
// permanently at once, so everything numbered up to now is complete; a query whose
// range ends earlier gets its own end.
func (q invoiceQuery) hwm(now time.Time) time.Time {
	if q.hasTo && q.to.Before(now) {
		return q.to
	}
	return now
}

// end is the effective upper bound: dateRange.to (or now), capped at the HWM when
// restrictToPermanentStorageHwmDate asks for it.
func (q invoiceQuery) end(now time.Time) time.Time {
	end := now
	if q.hasTo {
		end = q.to
	}
	if q.restrict && q.dateType == datePermanentStorage {
		end = q.hwm(now)
	}
	return end
}

// dateOf is the date a query of dateType filters and sorts an invoice by.
func (s *Server) dateOf(inv *invoiceRec, dateType string) time.Time {
	switch dateType {
	case dateIssue:
		t, _ := time.ParseInLocation("2006-01-02", inv.facts.issueDate, s.loc)
		return t
	case dateInvoicing:
		return inv.invoicingDate()
	default:
		return inv.permanentStorage()
	}
}

// inRange reports whether the invoice's date lies in [from, end] (issue dates compare
// by Polish calendar day).
func (s *Server) inRange(q invoiceQuery, inv *invoiceRec, end time.Time) bool {
	t := s.dateOf(inv, q.dateType)
	if q.dateType == dateIssue {
		day := func(x time.Time) string { return x.In(s.loc).Format("2006-01-02") }
		return day(t) >= day(q.from) && day(t) <= day(end)
	}
	return !t.Before(q.from) && !t.After(end)
}

// involves reports whether the caller's context is the invoice's party of the
// query's subject type (Subject1 seller, Subject2 buyer, Subject3 a third party,
// SubjectAuthorized the authorized party).
func involves(subject, ctxType, ctxValue string, f invoiceFacts) bool {
	switch {
	case ctxType == "Nip" && subject == "Subject1":
		return f.sellerNIP == ctxValue
	case ctxType == "Nip" && subject == "Subject2":
		return f.buyer.nip == ctxValue
	case subject == "Subject3":
		for _, t := range f.third {
			if ctxType == "Nip" && t.id.nip == ctxValue || ctxType == "InternalId" && t.id.internalID == ctxValue {
				return true
			}
		}
	case ctxType == "Nip" && subject == "SubjectAuthorized":
		return f.authorized != nil && f.authorized.nip == ctxValue
	}
	return false
}

// matches applies the optional filters (all exact matches, amounts inclusive).
func (q invoiceQuery) matches(inv *invoiceRec) bool {
	f, facts := q.f, inv.facts
	if f.KsefNumber != nil && *f.KsefNumber != inv.ksefNumber ||
		f.InvoiceNumber != nil && *f.InvoiceNumber != facts.number ||
		f.SellerNip != nil && *f.SellerNip != facts.sellerNIP ||
		f.InvoicingMode != nil && *f.InvoicingMode != inv.invoicingMode() ||
		f.IsSelfInvoicing != nil && *f.IsSelfInvoicing != facts.selfInvoicing ||
		f.HasAttachment != nil && *f.HasAttachment != facts.hasAttachment ||
		f.FormType != nil && *f.FormType != inv.sess.form.Value ||
		len(f.CurrencyCodes) > 0 && !slices.Contains(f.CurrencyCodes, facts.currencyCode()) ||
		len(f.InvoiceTypes) > 0 && !slices.Contains(f.InvoiceTypes, facts.invoiceType()) {
		return false
	}
	if b := f.BuyerIdentifier; b != nil && b.Type != nil {
		id := facts.buyer.identifier()
		if id.Type != *b.Type || b.Value != nil && (id.Value == nil || *id.Value != *b.Value) {
			return false
		}
	}
	if a := f.Amount; a != nil && a.Type != nil {
		v := map[string]*big.Rat{"Brutto": facts.grossAmount(), "Netto": facts.netAmount(), "Vat": facts.vatAmount()}[*a.Type]
		if v == nil || outside(v, a.From, a.To) {
			return false
		}
	}
	return true
}

// settleAllLocked brings every session up to now (no read is counted), so that
// queries see every invoice that has its KSeF number by now. Caller holds the lock.
func (s *Server) settleAllLocked(now time.Time) {
	for _, ss := range s.st.sessions.order {
		s.settleSession(ss, now)
	}
}

// selectInvoices returns the numbered invoices of the caller's context that the query
// selects at now, sorted by the query's date (descending when desc), then by
// arrival. Caller holds the lock.
func (s *Server) selectInvoices(c claims, q invoiceQuery, now time.Time, desc bool) []*invoiceRec {
	s.settleAllLocked(now)
	end := q.end(now)
	var out []*invoiceRec
	for _, inv := range s.st.sessions.invoices {
		if inv.status.Code != invSucceeded || inv.ksefNumber == "" || !involves(q.subject, c.ContextType, c.ContextValue, inv.facts) ||
			!s.inRange(q, inv, end) || !q.matches(inv) {
			continue
		}
		out = append(out, inv)
	}
	slices.SortStableFunc(out, func(a, b *invoiceRec) int {
		r := s.dateOf(a, q.dateType).Compare(s.dateOf(b, q.dateType))
		if r == 0 {
			r = cmp.Compare(a.seq, b.seq)
		}
		if desc {
			return -r
		}
		return r
	})
	return out
}

// outside reports whether v lies below from or above to (nil: that end is open; an
// unreadable bound excludes nothing, the request check reports it).
func outside(v *big.Rat, from, to *json.Number) bool {
	if from != nil {
		if f, ok := new(big.Rat).SetString(string(*from)); ok && v.Cmp(f) < 0 {
			return true
		}
	}
	if to != nil {
		if t, ok := new(big.Rat).SetString(string(*to)); ok && v.Cmp(t) > 0 {
			return true
		}
	}
	return false
}
