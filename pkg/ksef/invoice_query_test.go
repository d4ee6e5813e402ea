package ksef

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ksefpl/ksefpl/pkg/failure"
	"github.com/shopspring/decimal"
)

// fakeInvoiceStore is one invoice a fakeQuery holds.
type fakeInvoiceStore struct {
	ksef, number, issue string // issue: YYYY-MM-DD
	invoicing, stored   time.Time
	mode                string
}

// queryRequest is one POST /invoices/query/metadata the fake received.
type queryRequest struct {
	offset, size int
	sort         string
	dateType     string
	from         time.Time
	to           *time.Time
}

// fakeQuery is a test-local KSeF serving POST /invoices/query/metadata over
// real HTTP, every exchange checked against open-api-2.8.1.json. It filters
// by the date range of the asked type, sorts by that date, and applies KSeF's
// technical limit — at most `limit` records per filter set (10 000 in KSeF,
// scaled down here), after which the last page says isTruncated — and pages
// by page index (pageOffset) and pageSize.
type fakeQuery struct {
	t     *testing.T
	srv   *httptest.Server
	limit int

	mu       sync.Mutex
	invoices []fakeInvoiceStore
	requests []queryRequest
	hwm      time.Time
}

func newFakeQuery(t *testing.T, limit int, invoices []fakeInvoiceStore) *fakeQuery {
	t.Helper()
	f := &fakeQuery{t: t, limit: limit, invoices: invoices, hwm: time.Date(2026, 9, 30, 12, 0, 0, 0, time.UTC)}
	chk := ContractChecker(t)
	f.srv = httptest.NewServer(chk.Middleware(http.HandlerFunc(f.serve)))
	t.Cleanup(func() {
		f.srv.Close()
		for _, v := range chk.Violations() {
			t.Errorf("contract violation: %s", v)
		}
	})
	return f
}

// client is a client whose clock is the fake's now (its HWM), so that open
// ranges are measured as KSeF measures them.
func (f *fakeQuery) client(t *testing.T, mod func(*Options)) *Client {
	return newTestClient(t, f.srv.URL+"/v2", func(o *Options) {
		o.Clock = func() time.Time { return f.hwm }
		if mod != nil {
			mod(o)
		}
	})
}

func (f *fakeQuery) log() []queryRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]queryRequest(nil), f.requests...)
}

// warsawSummer is Polish time for issue dates (a fixed +02:00 is enough for the
// summer dates the tests use).
var warsawSummer = time.FixedZone("CEST", 2*3600)

// dateOf is the invoice's instant for a date type (an issue date is its
// midnight in Polish time).
func (inv fakeInvoiceStore) dateOf(dateType string) time.Time {
	switch dateType {
	case "Invoicing":
		return inv.invoicing
	case "PermanentStorage":
		return inv.stored
	}
	d, _ := time.ParseInLocation(time.DateOnly, inv.issue, warsawSummer)
	return d
}

func (f *fakeQuery) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != "POST" || r.URL.Path != "/v2/invoices/query/metadata" {
		http.NotFound(w, r)
		return
	}
	if r.Header.Get("Authorization") != "Bearer acc" {
		problem401(w)
		return
	}
	q := r.URL.Query()
	req := queryRequest{size: 10, sort: "Asc"}
	if v := q.Get("pageOffset"); v != "" {
		req.offset, _ = strconv.Atoi(v)
	}
	if v := q.Get("pageSize"); v != "" {
		req.size, _ = strconv.Atoi(v)
	}
	if v := q.Get("sortOrder"); v != "" {
		req.sort = v
	}
	var body struct {
		SubjectType string `json:"subjectType"`
		DateRange   struct {
			DateType string     `json:"dateType"`
			From     time.Time  `json:"from"`
			To       *time.Time `json:"to"`
		} `json:"dateRange"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		problem400(w, 21405, "Błąd walidacji danych wejściowych.", err.Error())
		return
	}
	if body.SubjectType != "Subject1" {
		f.t.Errorf("subjectType %q, want Subject1 (the seller)", body.SubjectType)
	}
	req.dateType, req.from, req.to = body.DateRange.DateType, body.DateRange.From, body.DateRange.To
	to := f.hwm
	if req.to != nil {
		to = *req.to
	}
	if to.Sub(req.from) > 100*24*time.Hour {
		problem400(w, 21405, "Błąd walidacji danych wejściowych.", "Zakres dat przekracza 100 dni.")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, req)
	var set []fakeInvoiceStore
	for _, inv := range f.invoices {
		if d := inv.dateOf(req.dateType); !d.Before(req.from) && !d.After(to) {
			set = append(set, inv)
		}
	}
	sort.SliceStable(set, func(i, j int) bool {
		di, dj := set[i].dateOf(req.dateType), set[j].dateOf(req.dateType)
		if !di.Equal(dj) {
			return di.Before(dj) == (req.sort == "Asc")
		}
		return set[i].ksef < set[j].ksef
	})
	capped := set[:min(len(set), f.limit)]
	start := min(req.offset*req.size, len(capped))
	end := min(start+req.size, len(capped))
	reachedEnd := end >= len(capped)
	truncated := reachedEnd && len(set) > f.limit
	items := []map[string]any{}
	for _, inv := range capped[start:end] {
		items = append(items, fakeMetadata(inv))
	}
	resp := map[string]any{"hasMore": !reachedEnd || truncated, "isTruncated": truncated, "invoices": items}
	if req.dateType == "PermanentStorage" {
		resp["permanentStorageHwmDate"] = f.hwm.Format(time.RFC3339Nano)
	}
	writeJSON(w, 200, resp)
}

// fakeMetadata writes an invoice as KSeF's InvoiceMetadata, by hand (not with
// the client's struct), so that the contract checks the names.
func fakeMetadata(inv fakeInvoiceStore) map[string]any {
	return map[string]any{
		"ksefNumber": inv.ksef, "invoiceNumber": inv.number, "issueDate": inv.issue,
		"invoicingDate": inv.invoicing.Format(time.RFC3339Nano), "acquisitionDate": inv.invoicing.Add(time.Minute).Format(time.RFC3339Nano),
		"permanentStorageDate": inv.stored.Format(time.RFC3339Nano),
		"seller":               map[string]any{"nip": "5265877635", "name": "Sklep"},
		"buyer":                map[string]any{"identifier": map[string]any{"type": "Nip", "value": "7352765225"}, "name": "Nabywca"},
		"netAmount":            100.0, "grossAmount": 123.0, "vatAmount": 23.0, "currency": "PLN",
		"invoicingMode": inv.mode, "invoiceType": "Vat",
		"formCode":        map[string]any{"systemCode": "FA (3)", "schemaVersion": "1-0E", "value": "FA"},
		"isSelfInvoicing": false, "hasAttachment": false,
		"invoiceHash":       SHA256Base64([]byte(inv.number)),
		"thirdSubjects":     []map[string]any{{"identifier": map[string]any{"type": "InternalId", "value": "5265877635-12345"}, "name": "Oddział", "role": 2}},
		"authorizedSubject": map[string]any{"nip": "7352765225", "name": "Przedstawiciel", "role": 3},
	}
}

// storeOf builds n invoices: issued one a day from the first day, three
// invoices per day, accepted and stored in their order, with every fourth
// stored at the same instant as the one before.
func storeOf(n int, first time.Time) []fakeInvoiceStore {
	var out []fakeInvoiceStore
	stored := first.Add(time.Hour)
	for i := range n {
		day := first.AddDate(0, 0, i/3)
		if i%4 != 3 {
			stored = stored.Add(7 * time.Minute)
		}
		inv := day.Add(time.Duration(i) * time.Minute)
		out = append(out, fakeInvoiceStore{
			ksef:   NewKSeFNumber("5265877635", inv, fmt.Sprintf("%012X", i+1)),
			number: fmt.Sprintf("FV/%03d", i+1), issue: day.Format(time.DateOnly),
			invoicing: inv, stored: stored, mode: []string{"Online", "Offline"}[i%2],
		})
	}
	return out
}

func sellerQuery(dateType InvoiceDateType, from time.Time, to *time.Time) InvoiceQueryFilters {
	return InvoiceQueryFilters{SubjectType: SubjectTypeSeller, DateRange: InvoiceQueryDateRange{DateType: dateType, From: from, To: to}}
}

func TestQueryInvoiceMetadataOnePage(t *testing.T) {
	first := time.Date(2026, 7, 1, 8, 0, 0, 0, time.UTC)
	store := storeOf(12, first)
	f := newFakeQuery(t, 10_000, store)
	p := NewPacer(PacerOptions{})
	c := f.client(t, func(o *Options) { o.Pacer = p })
	to := first.AddDate(0, 0, 10)
	page, err := c.QueryInvoiceMetadata(context.Background(), "acc", sellerQuery(DateTypeInvoicing, first, &to),
		InvoiceQueryPaging{PageOffset: 1, PageSize: 10, SortOrder: SortDesc})
	if err != nil {
		t.Fatal(err)
	}
	if page.HasMore || page.IsTruncated || page.PermanentStorageHwmDate != nil || len(page.Invoices) != 2 {
		t.Fatalf("page %+v", page)
	}
	// Desc: the second page holds the two oldest, newest first.
	got := page.Invoices[0]
	want := store[1]
	if got.KSeFNumber != want.ksef || got.InvoiceNumber != want.number || got.IssueDate != want.issue || !got.InvoicingDate.Equal(want.invoicing) ||
		!got.PermanentStorageDate.Equal(want.stored) || got.InvoiceHash != SHA256Base64([]byte(want.number)) || got.FormCode != FormCodeFA3() ||
		got.InvoicingMode != want.mode || got.Seller.NIP != "5265877635" || got.Buyer.Identifier.Value != "7352765225" || !got.GrossAmount.Equal(decimal.NewFromInt(123)) {
		t.Errorf("decoded %+v, want %+v", got, want)
	}
	if len(got.ThirdSubjects) != 1 || got.ThirdSubjects[0].Identifier.Type != "InternalId" || got.ThirdSubjects[0].Role != 2 ||
		got.AuthorizedSubject == nil || got.AuthorizedSubject.Role != 3 {
		t.Errorf("parties %+v %+v", got.ThirdSubjects, got.AuthorizedSubject)
	}
	if d, err := got.IssueDay(); err != nil || d.Format(time.DateOnly) != want.issue {
		t.Errorf("IssueDay %v %v", d, err)
	}
	log := f.log()
	if len(log) != 1 || log[0].offset != 1 || log[0].size != 10 || log[0].sort != "Desc" || log[0].dateType != "Invoicing" ||
		!log[0].from.Equal(first) || log[0].to == nil || !log[0].to.Equal(to) {
		t.Errorf("requests %+v", log)
	}
	if st := p.Stats()[RateGroupInvoiceMetadata]; st.Calls != 1 {
		t.Errorf("the query was not paced in invoiceMetadata: %+v", p.Stats())
	}
}

// TestAllInvoiceMetadataFollowsPagesAndTruncation walks 57 invoices through a
// KSeF that returns at most 20 per filter set, 10 a page: the walk asks for
// the next page while hasMore and not isTruncated, and on isTruncated starts
// again at page 0 from the last record's date; every invoice comes exactly
// once, in order, in both sort orders and for every date type.
func TestAllInvoiceMetadataFollowsPagesAndTruncation(t *testing.T) {
	first := time.Date(2026, 7, 1, 8, 0, 0, 0, time.UTC)
	store := storeOf(57, first)
	for _, dt := range []InvoiceDateType{DateTypePermanentStorage, DateTypeInvoicing, DateTypeIssue} {
		for _, order := range []SortOrder{SortAsc, SortDesc} {
			t.Run(string(dt)+"/"+string(order), func(t *testing.T) {
				f := newFakeQuery(t, 20, store)
				c := f.client(t, nil)
				from := first.Add(-24 * time.Hour)
				to := first.AddDate(0, 0, 30)
				var got []string
				for m, err := range c.AllInvoiceMetadata(context.Background(), "acc", sellerQuery(dt, from, &to), 10, order) {
					if err != nil {
						t.Fatal(err)
					}
					got = append(got, m.KSeFNumber)
				}
				want := make([]string, 0, len(store))
				sorted := append([]fakeInvoiceStore(nil), store...)
				sort.SliceStable(sorted, func(i, j int) bool {
					di, dj := sorted[i].dateOf(string(dt)), sorted[j].dateOf(string(dt))
					if !di.Equal(dj) {
						return di.Before(dj) == (order == SortAsc)
					}
					return sorted[i].ksef < sorted[j].ksef
				})
				for _, inv := range sorted {
					want = append(want, inv.ksef)
				}
				if strings.Join(got, ",") != strings.Join(want, ",") {
					t.Fatalf("yielded %d invoices\n got %v\nwant %v", len(got), got, want)
				}
				log := f.log()
				restarts := 0
				for i, r := range log {
					if i == 0 {
						if r.offset != 0 || !r.from.Equal(from) || !r.to.Equal(to) || r.size != 10 || r.sort != string(order) {
							t.Fatalf("first request %+v", r)
						}
						continue
					}
					prev := log[i-1]
					switch {
					case r.offset == prev.offset+1:
						if !r.from.Equal(prev.from) || !r.to.Equal(*prev.to) {
							t.Errorf("request %d: the next page changed the range: %+v after %+v", i, r, prev)
						}
					case r.offset == 0:
						restarts++
						narrowed := r.from.After(prev.from) && r.to.Equal(*prev.to)
						if order == SortDesc {
							narrowed = r.to.Before(*prev.to) && r.from.Equal(prev.from)
						}
						if !narrowed {
							t.Errorf("request %d: a restart that does not narrow the range: %+v after %+v", i, r, prev)
						}
					default:
						t.Errorf("request %d: offset %d after %d", i, r.offset, prev.offset)
					}
				}
				if restarts < 2 {
					t.Errorf("only %d truncation restarts in %d requests; the fake truncates at 20", restarts, len(log))
				}
			})
		}
	}
}

// TestAllInvoiceMetadataSplitsLongRanges: a range over KSeF's 100 days is
// walked in windows of at most 100 days, each invoice once.
func TestAllInvoiceMetadataSplitsLongRanges(t *testing.T) {
	first := time.Date(2026, 1, 5, 8, 0, 0, 0, time.UTC)
	var store []fakeInvoiceStore
	for i, inv := range storeOf(90, first) {
		// Spread them over 267 days, one every three days.
		d := first.AddDate(0, 0, 3*i)
		inv.invoicing, inv.stored, inv.issue = d, d.Add(time.Minute), d.Format(time.DateOnly)
		inv.ksef = NewKSeFNumber("5265877635", d, fmt.Sprintf("%012X", i+1))
		store = append(store, inv)
	}
	for _, order := range []SortOrder{SortAsc, SortDesc} {
		f := newFakeQuery(t, 10_000, store)
		c := f.client(t, nil)
		to := first.AddDate(0, 0, 270)
		n := 0
		seen := map[string]bool{}
		for m, err := range c.AllInvoiceMetadata(context.Background(), "acc", sellerQuery(DateTypeInvoicing, first, &to), 0, order) {
			if err != nil {
				t.Fatal(err)
			}
			if seen[m.KSeFNumber] {
				t.Fatalf("%s yielded twice", m.KSeFNumber)
			}
			seen[m.KSeFNumber] = true
			n++
		}
		log := f.log()
		if n != len(store) || len(log) != 3 {
			t.Fatalf("%s: %d invoices in %d requests (%+v), want %d in 3 windows", order, n, len(log), log, len(store))
		}
		for _, r := range log {
			if r.to == nil || r.to.Sub(r.from) > MaxInvoiceQueryRange || r.size != MaxInvoiceQueryPageSize {
				t.Errorf("%s: request %+v", order, r)
			}
		}
		if order == SortDesc && !log[0].to.Equal(to) || order == SortAsc && !log[0].from.Equal(first) {
			t.Errorf("%s: the windows do not start at the %s end: %+v", order, order, log[0])
		}
	}
}

// TestAllInvoiceMetadataStopsWhenTruncationCannotAdvance: more records share
// one date than KSeF returns per filter set, so narrowing cannot advance.
func TestAllInvoiceMetadataStopsWhenTruncationCannotAdvance(t *testing.T) {
	first := time.Date(2026, 7, 1, 8, 0, 0, 0, time.UTC)
	store := storeOf(8, first)
	for i := range store {
		store[i].stored = first.Add(time.Hour)
	}
	f := newFakeQuery(t, 5, store)
	c := f.client(t, nil)
	var n int
	var last error
	for m, err := range c.AllInvoiceMetadata(context.Background(), "acc", sellerQuery(DateTypePermanentStorage, first, nil), 10, SortAsc) {
		if err != nil {
			last = err
			break
		}
		_ = m
		n++
	}
	var le *InvoiceQueryLimitError
	if !errors.As(last, &le) || le.DateType != DateTypePermanentStorage || le.Date != first.Add(time.Hour).Format(time.RFC3339Nano) {
		t.Fatalf("want an InvoiceQueryLimitError, got %v", last)
	}
	if failure.Of(last) != failure.Rejected || !strings.Contains(last.Error(), "narrow the filters") {
		t.Errorf("class %v, message %q", failure.Of(last), last)
	}
	if n != 5 || len(f.log()) != 2 {
		t.Errorf("%d invoices yielded in %d requests before giving up", n, len(f.log()))
	}
}

func TestQueryInvoiceMetadataChecksItsInput(t *testing.T) {
	from := time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)
	c := newTestClient(t, "http://127.0.0.1:1/v2", func(o *Options) { o.Clock = func() time.Time { return from.AddDate(0, 0, 10) } })
	long := from.Add(MaxInvoiceQueryRange + time.Second)
	back := from.Add(-time.Hour)
	cases := map[string]struct {
		f InvoiceQueryFilters
		p InvoiceQueryPaging
	}{
		"range over 100 days":   {sellerQuery(DateTypeIssue, from, &long), InvoiceQueryPaging{}},
		"open range too long":   {sellerQuery(DateTypeIssue, from.AddDate(0, 0, -95), nil), InvoiceQueryPaging{}},
		"range ends before":     {sellerQuery(DateTypeIssue, from, &back), InvoiceQueryPaging{}},
		"unknown date type":     {sellerQuery("Paid", from, nil), InvoiceQueryPaging{}},
		"no subject type":       {InvoiceQueryFilters{DateRange: InvoiceQueryDateRange{DateType: DateTypeIssue, From: from}}, InvoiceQueryPaging{}},
		"no start":              {sellerQuery(DateTypeIssue, time.Time{}, nil), InvoiceQueryPaging{}},
		"page size over 250":    {sellerQuery(DateTypeIssue, from, nil), InvoiceQueryPaging{PageSize: 300}},
		"page size under 10":    {sellerQuery(DateTypeIssue, from, nil), InvoiceQueryPaging{PageSize: 5}},
		"negative page offset":  {sellerQuery(DateTypeIssue, from, nil), InvoiceQueryPaging{PageOffset: -1}},
		"sort order lower-case": {sellerQuery(DateTypeIssue, from, nil), InvoiceQueryPaging{SortOrder: "asc"}},
	}
	for name, tc := range cases {
		_, err := c.QueryInvoiceMetadata(context.Background(), "acc", tc.f, tc.p)
		var ce *ConfigError
		if !errors.As(err, &ce) || failure.Of(err) != failure.Invalid {
			t.Errorf("%s: want a ConfigError, got %v", name, err)
		}
	}
}
