package ksefsim

import (
	"net/http"
	"strconv"
)

// queryMetadataResponse is QueryInvoicesMetadataResponse.
type queryMetadataResponse struct {
	HasMore                 bool              `json:"hasMore"`
	IsTruncated             bool              `json:"isTruncated"`
	PermanentStorageHwmDate *string           `json:"permanentStorageHwmDate,omitempty"`
	Invoices                []invoiceMetadata `json:"invoices"`
}

// queryPaging reads sortOrder (Asc|Desc, default Asc), pageOffset (a page index, 0 =
// the first page) and pageSize (10..250, default 10) of POST /invoices/query/metadata.
func queryPaging(r *http.Request) (desc bool, offset, size int, d []string) {
	q := r.URL.Query()
	switch v := q.Get("sortOrder"); v {
	case "", "Asc":
	case "Desc":
		desc = true
	default:
		d = append(d, "Wartość '"+v+"' parametru 'sortOrder' jest niedozwolona (dozwolone: Asc, Desc).")
	}
	size = 10
	if v := q.Get("pageSize"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 10 || n > 250 {
			d = append(d, "Parametr 'pageSize' musi być liczbą z zakresu 10-250.")
		}
		size = n
	}
	if v := q.Get("pageOffset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			d = append(d, "Parametr 'pageOffset' musi być liczbą nieujemną.")
		}
		offset = n
	}
	return desc, offset, size, d
}

// queryLimit is the technical limit of records per filter set and of invoices per
// export package.
func (s *Server) queryLimit() int {
	if s.cfg.QueryResultLimit > 0 {
		return s.cfg.QueryResultLimit
	}
	return defaultQueryLimit
}

// handleQueryMetadata serves POST /invoices/query/metadata: the metadata of the
// numbered invoices of the caller's context that match the filters, sorted by the
// filter's date type, a page at a time. At most QueryResultLimit (10 000) records of
// one filter set are reachable: the page that reaches the limit while more records
// match says isTruncated = true (the client then moves dateRange past the last
// record and starts again at pageOffset 0); hasMore says whether records follow the
// page. permanentStorageHwmDate is reported for dateType PermanentStorage.
func (s *Server) handleQueryMetadata(w http.ResponseWriter, r *http.Request) {
	c, ok := s.requireAccess(w, r, permsRead)
	if !ok {
		return
	}
	desc, pageOffset, pageSize, d := queryPaging(r)
	var f invoiceQueryFilters
	if !s.decodeRequest(w, r, &f, "InvoiceQueryFilters") {
		return
	}
	q, fd := s.validateQuery(&f, "")
	if d = append(d, fd...); len(d) > 0 {
		s.writeBadRequest(w, r, validationError(d...))
		return
	}
	now := s.now()
	if q.restrict && q.dateType == datePermanentStorage && q.from.After(q.hwm(now)) {
		s.writeBadRequest(w, r, apiError{Code: codeRangeAfterHWM, Description: descRangeAfterHWM, Details: []string{detailRangeAfterHWM}})
		return
	}
	limit := s.queryLimit()
	s.st.mu.Lock()
	all := s.selectInvoices(c, q, now, desc)
	window := all[:min(len(all), limit)]
	start := len(window) // a page index beyond the limit reaches nothing
	if pageOffset <= limit {
		start = min(pageOffset*pageSize, len(window))
	}
	end := min(start+pageSize, len(window))
	out := queryMetadataResponse{
		Invoices:    make([]invoiceMetadata, 0, end-start),
		HasMore:     end < len(all),
		IsTruncated: len(all) > limit && end >= len(window),
	}
	for _, inv := range window[start:end] {
		out.Invoices = append(out.Invoices, inv.metadata())
	}
	s.st.mu.Unlock()
	if q.dateType == datePermanentStorage {
		h := formatTime(q.hwm(now))
		out.PermanentStorageHwmDate = &h
	}
	writeOK(w, http.StatusOK, out)
}
