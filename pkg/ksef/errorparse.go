package ksef

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
)

// wireError is the union of every KSeF error body shape.
type wireError struct {
	// ExceptionResponse (default 400 format, also KSeF 1.0).
	Exception *struct {
		ExceptionDetailList []struct {
			ExceptionCode        int      `json:"exceptionCode"`
			ExceptionDescription string   `json:"exceptionDescription"`
			Details              []string `json:"details"`
		} `json:"exceptionDetailList"`
		ReferenceNumber string `json:"referenceNumber"`
		ServiceCode     string `json:"serviceCode"`
		ServiceCtx      string `json:"serviceCtx"`
		ServiceName     string `json:"serviceName"`
	} `json:"exception"`
	// problem+json (400/401/403/410/429); status is an int there but an
	// object in TooManyRequestsResponse.
	Title    string          `json:"title"`
	Status   json.RawMessage `json:"status"`
	Detail   string          `json:"detail"`
	Instance string          `json:"instance"`
	TraceID  string          `json:"traceId"`
	Errors   []struct {
		Code        int      `json:"code"`
		Description string   `json:"description"`
		Details     []string `json:"details"`
	} `json:"errors"`
	ReasonCode string         `json:"reasonCode"`
	Security   map[string]any `json:"security"`
}

// ParseErrorBody turns a KSeF error body (ExceptionResponse, problem+json or
// TooManyRequestsResponse) into an *APIError with HTTPStatus set. A body that
// is not JSON yields an APIError whose Detail is the start of the body.
func ParseErrorBody(status int, body []byte) *APIError {
	e := &APIError{HTTPStatus: status}
	var w wireError
	if err := json.Unmarshal(body, &w); err != nil {
		t := strings.TrimSpace(string(body))
		if len(t) > 200 {
			t = t[:200] + "…"
		}
		e.Title = http.StatusText(status)
		e.Detail = t
		return e
	}
	if x := w.Exception; x != nil {
		for _, d := range x.ExceptionDetailList {
			e.Exceptions = append(e.Exceptions, ExceptionDetail{Code: d.ExceptionCode, Description: d.ExceptionDescription, Details: d.Details})
		}
		e.ReferenceNumber = x.ReferenceNumber
		e.ServiceCode = x.ServiceCode
		e.ServiceCtx = x.ServiceCtx
		e.ServiceName = x.ServiceName
	}
	e.Title, e.Detail, e.Instance, e.TraceID = w.Title, w.Detail, w.Instance, w.TraceID
	e.ReasonCode, e.Security = w.ReasonCode, w.Security
	for _, d := range w.Errors {
		e.Exceptions = append(e.Exceptions, ExceptionDetail{Code: d.Code, Description: d.Description, Details: d.Details})
	}
	if s := bytes.TrimSpace(w.Status); len(s) > 0 && s[0] == '{' {
		var st struct {
			Code        int      `json:"code"`
			Description string   `json:"description"`
			Details     []string `json:"details"`
		}
		if json.Unmarshal(s, &st) == nil {
			if e.Title == "" {
				e.Title = st.Description
			}
			if e.Detail == "" {
				e.Detail = strings.Join(st.Details, "; ")
			}
		}
	}
	return e
}
