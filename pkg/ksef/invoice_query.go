package ksef

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"net/url"
	"strconv"
	"time"

	"github.com/ksefpl/ksefpl/pkg/failure"
	"github.com/shopspring/decimal"
)

// InvoiceSubjectType says in which role the authenticated context appears on
// the invoices a query looks for (InvoiceQuerySubjectType).
type InvoiceSubjectType string

// The subject types of an invoice query.
const (
	SubjectTypeSeller     InvoiceSubjectType = "Subject1"          // Podmiot 1: invoices the context issued
	SubjectTypeBuyer      InvoiceSubjectType = "Subject2"          // Podmiot 2: invoices the context received
	SubjectTypeThirdParty InvoiceSubjectType = "Subject3"          // Podmiot 3
	SubjectTypeAuthorized InvoiceSubjectType = "SubjectAuthorized" // Podmiot upoważniony
)

// InvoiceDateType is the date a query's range applies to (InvoiceQueryDateType).
type InvoiceDateType string

// The date types of an invoice query.
const (
	DateTypeIssue            InvoiceDateType = "Issue"            // the issue date (P_1)
	DateTypeInvoicing        InvoiceDateType = "Invoicing"        // when KSeF accepted the invoice for processing
	DateTypePermanentStorage InvoiceDateType = "PermanentStorage" // when KSeF stored it permanently (use it for incremental download)
)

// SortOrder orders the results of an invoice query by the range's date type.
type SortOrder string

// The sort orders (SortOrder); the empty value is KSeF's default, Asc.
const (
	SortAsc  SortOrder = "Asc"
	SortDesc SortOrder = "Desc"
)

// MaxInvoiceQueryRange is the longest date range of one invoice query: 100
// days in UTC (API 2.7.0+; it was three months before).
const MaxInvoiceQueryRange = 100 * 24 * time.Hour

// Invoice query page sizes (pageSize 10..250, default 10).
const (
	MinInvoiceQueryPageSize = 10
	MaxInvoiceQueryPageSize = 250
)

// InvoiceQueryDateRange is the query's date range (InvoiceQueryDateRange).
// The dates are sent in RFC 3339 with their offset (API 2.8.1 no longer
// documents dates without one).
type InvoiceQueryDateRange struct {
	DateType InvoiceDateType `json:"dateType"`
	From     time.Time       `json:"from"`
	// To is the end of the range (nil: now, as KSeF sees it).
	To *time.Time `json:"to,omitempty"`
	// RestrictToPermanentStorageHwmDate caps the range at KSeF's
	// PermanentStorageHwmDate (PermanentStorage queries only).
	RestrictToPermanentStorageHwmDate bool `json:"restrictToPermanentStorageHwmDate,omitempty"`
}

// InvoiceQueryAmount filters by an amount (InvoiceQueryAmount).
type InvoiceQueryAmount struct {
	// Type is Brutto, Netto or Vat.
	Type string `json:"type"`
	// From and To are decimal amounts (json.Number keeps their digits exact: money is
	// never a float here).
	From json.Number `json:"from,omitempty"`
	To   json.Number `json:"to,omitempty"`
}

// InvoiceQueryBuyerIdentifier filters by the buyer (InvoiceQueryBuyerIdentifier).
type InvoiceQueryBuyerIdentifier struct {
	// Type is Nip, VatUe, Other or None.
	Type  string `json:"type"`
	Value string `json:"value,omitempty"`
}

// InvoiceQueryFilters are the filters of POST /invoices/query/metadata
// (InvoiceQueryFilters). SubjectType and DateRange are required; zero values
// of the others do not filter.
type InvoiceQueryFilters struct {
	SubjectType   InvoiceSubjectType    `json:"subjectType"`
	DateRange     InvoiceQueryDateRange `json:"dateRange"`
	KSeFNumber    string                `json:"ksefNumber,omitempty"`
	InvoiceNumber string                `json:"invoiceNumber,omitempty"`
	Amount        *InvoiceQueryAmount   `json:"amount,omitempty"`
	SellerNIP     string                `json:"sellerNip,omitempty"`
	// BuyerIdentifier filters by the buyer's identifier.
	BuyerIdentifier *InvoiceQueryBuyerIdentifier `json:"buyerIdentifier,omitempty"`
	CurrencyCodes   []string                     `json:"currencyCodes,omitempty"`
	// InvoicingMode is Online or Offline.
	InvoicingMode   string `json:"invoicingMode,omitempty"`
	IsSelfInvoicing *bool  `json:"isSelfInvoicing,omitempty"`
	// FormType is FA, PEF or FA_RR.
	FormType string `json:"formType,omitempty"`
	// InvoiceTypes are Vat, Zal, Kor, Roz, Upr, KorZal, KorRoz, VatPef,
	// VatPefSp, KorPef, VatRr, KorVatRr.
	InvoiceTypes  []string `json:"invoiceTypes,omitempty"`
	HasAttachment *bool    `json:"hasAttachment,omitempty"`
}

// InvoiceQueryPaging selects one page of an invoice query.
type InvoiceQueryPaging struct {
	// PageOffset is the index of the page (0 is the first page), not of a
	// record.
	PageOffset int
	// PageSize is 10..250 (0: KSeF's default, 10).
	PageSize int
	// SortOrder is SortAsc or SortDesc ("": KSeF's default, Asc).
	SortOrder SortOrder
}

// InvoiceParty is a seller, buyer or authorised subject in invoice metadata.
type InvoiceParty struct {
	NIP  string `json:"nip"`
	Name string `json:"name"`
}

// InvoicePartyIdentifier identifies a buyer or a third party: Type is Nip,
// InternalId (third parties), VatUe, Other or None.
type InvoicePartyIdentifier struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

// InvoiceBuyer is the buyer in invoice metadata (InvoiceMetadataBuyer).
type InvoiceBuyer struct {
	Identifier InvoicePartyIdentifier `json:"identifier"`
	Name       string                 `json:"name"`
}

// InvoiceThirdSubject is a third party in invoice metadata
// (InvoiceMetadataThirdSubject); Role is the FA role code (1 factor, 2
// recipient, 4 additional buyer, 5 issuer …).
type InvoiceThirdSubject struct {
	Identifier InvoicePartyIdentifier `json:"identifier"`
	Name       string                 `json:"name"`
	Role       int                    `json:"role"`
}

// InvoiceAuthorizedSubject is the authorised subject in invoice metadata
// (InvoiceMetadataAuthorizedSubject); Role 1 enforcement body, 2 bailiff, 3
// tax representative.
type InvoiceAuthorizedSubject struct {
	NIP  string `json:"nip"`
	Name string `json:"name"`
	Role int    `json:"role"`
}

// InvoiceMetadata is one invoice of a metadata query (InvoiceMetadata).
type InvoiceMetadata struct {
	KSeFNumber string `json:"ksefNumber"`
	// InvoiceNumber is the issuer's number (P_2).
	InvoiceNumber string `json:"invoiceNumber"`
	// IssueDate is the issue date (P_1) as KSeF writes it: YYYY-MM-DD.
	IssueDate string `json:"issueDate"`
	// InvoicingDate is when KSeF accepted the invoice for processing.
	InvoicingDate time.Time `json:"invoicingDate"`
	// AcquisitionDate is when the KSeF number was assigned.
	AcquisitionDate time.Time `json:"acquisitionDate"`
	// PermanentStorageDate is when KSeF stored the invoice permanently.
	PermanentStorageDate time.Time    `json:"permanentStorageDate"`
	Seller               InvoiceParty `json:"seller"`
	Buyer                InvoiceBuyer `json:"buyer"`
	// NetAmount, GrossAmount and VatAmount (in PLN) are KSeF's totals, decoded
	// exactly from the JSON numbers.
	NetAmount   decimal.Decimal `json:"netAmount"`
	GrossAmount decimal.Decimal `json:"grossAmount"`
	VatAmount   decimal.Decimal `json:"vatAmount"`
	Currency    string          `json:"currency"`
	// InvoicingMode is Online or Offline.
	InvoicingMode string `json:"invoicingMode"`
	// InvoiceType is Vat, Kor, Zal … (see InvoiceQueryFilters.InvoiceTypes).
	InvoiceType     string   `json:"invoiceType"`
	FormCode        FormCode `json:"formCode"`
	IsSelfInvoicing bool     `json:"isSelfInvoicing"`
	HasAttachment   bool     `json:"hasAttachment"`
	// InvoiceHash is the Base64 SHA-256 of the invoice XML.
	InvoiceHash string `json:"invoiceHash"`
	// HashOfCorrectedInvoice is set for technical corrections of offline
	// invoices.
	HashOfCorrectedInvoice string                    `json:"hashOfCorrectedInvoice"`
	ThirdSubjects          []InvoiceThirdSubject     `json:"thirdSubjects"`
	AuthorizedSubject      *InvoiceAuthorizedSubject `json:"authorizedSubject"`
}

// IssueDay parses IssueDate as a calendar date (midnight UTC).
func (m *InvoiceMetadata) IssueDay() (time.Time, error) {
	return time.Parse(time.DateOnly, m.IssueDate)
}

// dateOf returns the record's date of the given type, for continuing a
// truncated query: a timestamp, or for the issue date the widest instant of
// that calendar day on the side the query continues from (asc: its start in
// Polish time, before midnight UTC; desc: midnight UTC of the next day, after
// the end of the day in Polish time), so that no record of that day is lost
// whichever zone KSeF reads the day in.
func (m *InvoiceMetadata) dateOf(t InvoiceDateType, order SortOrder) (time.Time, error) {
	switch t {
	case DateTypeInvoicing:
		return m.InvoicingDate, nil
	case DateTypePermanentStorage:
		return m.PermanentStorageDate, nil
	}
	d, err := m.IssueDay()
	if err != nil {
		return time.Time{}, fmt.Errorf("invoice %s has issue date %q: %w", m.KSeFNumber, m.IssueDate, err)
	}
	if order == SortDesc {
		return d.AddDate(0, 0, 1), nil
	}
	if loc, err := time.LoadLocation("Europe/Warsaw"); err == nil {
		return time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, loc), nil
	}
	return d.Add(-2 * time.Hour), nil // Polish time is at most UTC+2
}

// dateKey is the record's own value of the date type (what "the same date"
// means when a truncated query does not advance).
func (m *InvoiceMetadata) dateKey(t InvoiceDateType) string {
	switch t {
	case DateTypeInvoicing:
		return m.InvoicingDate.UTC().Format(time.RFC3339Nano)
	case DateTypePermanentStorage:
		return m.PermanentStorageDate.UTC().Format(time.RFC3339Nano)
	}
	return m.IssueDate
}

// InvoiceMetadataPage is one page of POST /invoices/query/metadata
// (QueryInvoicesMetadataResponse).
type InvoiceMetadataPage struct {
	// HasMore says more results follow (on the next page, or — when
	// IsTruncated — past the 10 000 records one filter set may return).
	HasMore bool `json:"hasMore"`
	// IsTruncated says the query reached KSeF's technical limit of 10 000
	// records: continue with the range narrowed from the last record's date
	// and PageOffset 0 (AllInvoiceMetadata does it).
	IsTruncated bool `json:"isTruncated"`
	// PermanentStorageHwmDate is, for PermanentStorage queries, the instant up
	// to which KSeF guarantees the results complete (nil for other types).
	PermanentStorageHwmDate *time.Time        `json:"permanentStorageHwmDate"`
	Invoices                []InvoiceMetadata `json:"invoices"`
}

// checkInvoiceQuery validates the filters and paging locally.
func checkInvoiceQuery(f InvoiceQueryFilters, p InvoiceQueryPaging, now time.Time) error {
	bad := func(field, msg string) error { return &ConfigError{Field: "invoice query " + field, Msg: msg} }
	switch f.SubjectType {
	case SubjectTypeSeller, SubjectTypeBuyer, SubjectTypeThirdParty, SubjectTypeAuthorized:
	default:
		return bad("subject type", fmt.Sprintf("%q is not one of Subject1 (seller), Subject2 (buyer), Subject3, SubjectAuthorized", f.SubjectType))
	}
	switch f.DateRange.DateType {
	case DateTypeIssue, DateTypeInvoicing, DateTypePermanentStorage:
	default:
		return bad("date type", fmt.Sprintf("%q is not one of Issue, Invoicing, PermanentStorage", f.DateRange.DateType))
	}
	if f.DateRange.From.IsZero() {
		return bad("date range", "the start (from) is required")
	}
	end := now
	if f.DateRange.To != nil {
		end = *f.DateRange.To
		if end.Before(f.DateRange.From) {
			return bad("date range", fmt.Sprintf("it ends (%s) before it starts (%s)", end.Format(time.RFC3339), f.DateRange.From.Format(time.RFC3339)))
		}
	}
	if end.Sub(f.DateRange.From) > MaxInvoiceQueryRange {
		return bad("date range", fmt.Sprintf("%s to %s is longer than KSeF's 100 days; split it (AllInvoiceMetadata does)",
			f.DateRange.From.Format(time.RFC3339), end.Format(time.RFC3339)))
	}
	if p.PageOffset < 0 {
		return bad("page offset", fmt.Sprintf("%d is negative", p.PageOffset))
	}
	if p.PageSize != 0 && (p.PageSize < MinInvoiceQueryPageSize || p.PageSize > MaxInvoiceQueryPageSize) {
		return bad("page size", fmt.Sprintf("%d is outside %d..%d", p.PageSize, MinInvoiceQueryPageSize, MaxInvoiceQueryPageSize))
	}
	switch p.SortOrder {
	case "", SortAsc, SortDesc:
	default:
		return bad("sort order", fmt.Sprintf("%q is not Asc or Desc", p.SortOrder))
	}
	return nil
}

// QueryInvoiceMetadata calls POST /invoices/query/metadata for one page: the
// metadata of the invoices matching the filters, sorted by the range's date
// type (paced in the invoiceMetadata group: 8/s, 16/min, 20/h). One filter
// set returns at most 10 000 records: past them the page says IsTruncated,
// and the query must go on with a narrowed range — AllInvoiceMetadata walks
// every page and does it. The call is read-only and retried like a GET.
func (c *Client) QueryInvoiceMetadata(ctx context.Context, accessToken string, f InvoiceQueryFilters, p InvoiceQueryPaging) (*InvoiceMetadataPage, error) {
	if err := checkInvoiceQuery(f, p, c.now()); err != nil {
		return nil, err
	}
	q := url.Values{}
	if p.PageOffset > 0 {
		q.Set("pageOffset", strconv.Itoa(p.PageOffset))
	}
	if p.PageSize != 0 {
		q.Set("pageSize", strconv.Itoa(p.PageSize))
	}
	if p.SortOrder != "" {
		q.Set("sortOrder", string(p.SortOrder))
	}
	path := "/invoices/query/metadata"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var page InvoiceMetadataPage
	if _, err := c.do(ctx, call{method: "POST", path: path, body: f, bearer: accessToken, idempotent: true, out: &page}); err != nil {
		return nil, err
	}
	return &page, nil
}

// InvoiceQueryLimitError is returned by AllInvoiceMetadata when the
// documented continuation of a truncated query cannot advance: more than
// 10 000 invoices share one date of the range's type.
type InvoiceQueryLimitError struct {
	DateType InvoiceDateType
	// Date is the shared date: YYYY-MM-DD for DateTypeIssue, else an RFC 3339
	// timestamp in UTC.
	Date string
}

// Class is failure.Rejected: KSeF cannot list these invoices with these
// filters.
func (e *InvoiceQueryLimitError) Class() failure.Class { return failure.Rejected }

// Error describes the failure and what to do about it.
func (e *InvoiceQueryLimitError) Error() string {
	return fmt.Sprintf("KSeF lists at most 10 000 invoices per query and more than that share the %s date %s, so the listing cannot continue; narrow the filters (for example by invoice type or buyer) or query by another date type",
		e.DateType, e.Date)
}

// maxQueryPages bounds one AllInvoiceMetadata walk.
const maxQueryPages = 100_000

// AllInvoiceMetadata walks every invoice matching f, yielding each once
// (deduplicated by KSeF number); on an error it yields (nil, err) once and
// stops. It follows KSeF's documented scenario: while HasMore and not
// IsTruncated it asks for the next page (PageOffset+1); when IsTruncated it
// narrows the range to start (SortAsc) or end (SortDesc) at the last record's
// date of the range's type and starts again from PageOffset 0 — the records on
// that date come again and are skipped; it stops when HasMore is false. A range
// longer than MaxInvoiceQueryRange (up to now when f.DateRange.To is nil) is
// walked in consecutive windows, in the sort order. pageSize 0 means 250 (the
// fewest calls: the group allows only 20 an hour); order "" means SortAsc.
func (c *Client) AllInvoiceMetadata(ctx context.Context, accessToken string, f InvoiceQueryFilters, pageSize int, order SortOrder) iter.Seq2[*InvoiceMetadata, error] {
	return func(yield func(*InvoiceMetadata, error) bool) {
		if pageSize == 0 {
			pageSize = MaxInvoiceQueryPageSize
		}
		if order == "" {
			order = SortAsc
		}
		windows := queryWindows(f.DateRange, c.now(), order)
		seen := map[string]bool{}
		pages := 0
		for _, w := range windows {
			wf := f
			wf.DateRange = w
			offset := 0
			lastKey := ""
			for {
				if pages++; pages > maxQueryPages {
					yield(nil, &ResponseError{Method: "POST", Path: "/invoices/query/metadata", Err: fmt.Errorf("more than %d pages; the listing does not end", maxQueryPages)})
					return
				}
				page, err := c.QueryInvoiceMetadata(ctx, accessToken, wf, InvoiceQueryPaging{PageOffset: offset, PageSize: pageSize, SortOrder: order})
				if err != nil {
					yield(nil, err)
					return
				}
				for i := range page.Invoices {
					m := &page.Invoices[i]
					if seen[m.KSeFNumber] {
						continue
					}
					seen[m.KSeFNumber] = true
					if !yield(m, nil) {
						return
					}
				}
				if !page.HasMore {
					break
				}
				if !page.IsTruncated {
					offset++
					continue
				}
				if err := narrow(&wf.DateRange, page, order, &lastKey); err != nil {
					yield(nil, err)
					return
				}
				offset = 0
			}
		}
	}
}

// narrow moves the range's start (asc) or end (desc) to the last record's
// date of a truncated page (never backwards). It fails when the last record's
// date is the one the previous truncation ended on: more than 10 000 records
// share it, and narrowing cannot advance.
func narrow(r *InvoiceQueryDateRange, page *InvoiceMetadataPage, order SortOrder, lastKey *string) error {
	if len(page.Invoices) == 0 {
		return &ResponseError{Method: "POST", Path: "/invoices/query/metadata", Err: errors.New("a truncated page without invoices; the listing cannot continue")}
	}
	last := &page.Invoices[len(page.Invoices)-1]
	at, err := last.dateOf(r.DateType, order)
	if err != nil {
		return &ResponseError{Method: "POST", Path: "/invoices/query/metadata", Err: err}
	}
	key := last.dateKey(r.DateType)
	if key == *lastKey {
		return &InvoiceQueryLimitError{DateType: r.DateType, Date: key}
	}
	*lastKey = key
	if order == SortDesc {
		if r.To == nil || at.Before(*r.To) {
			r.To = &at
		}
		return nil
	}
	if at.After(r.From) {
		r.From = at
	}
	return nil
}

// queryWindows splits a range into windows of at most MaxInvoiceQueryRange,
// in the sort order. Adjacent windows share their boundary (a record on it is
// listed twice and skipped the second time). The last window keeps an open
// end (To nil) when the range had one.
func queryWindows(r InvoiceQueryDateRange, now time.Time, order SortOrder) []InvoiceQueryDateRange {
	end := now
	if r.To != nil {
		end = *r.To
	}
	if r.From.IsZero() || end.Sub(r.From) <= MaxInvoiceQueryRange {
		return []InvoiceQueryDateRange{r}
	}
	var out []InvoiceQueryDateRange
	for from := r.From; ; {
		w := r
		w.From = from
		to := from.Add(MaxInvoiceQueryRange)
		if !to.Before(end) {
			out = append(out, w) // To stays as given (nil: up to now)
			break
		}
		w.To = &to
		out = append(out, w)
		from = to
	}
	if order == SortDesc {
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
	}
	return out
}
