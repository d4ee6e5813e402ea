package ksefsim

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Exception codes used by the simulator (open-api.json 400 descriptions; research §8.3).
const (
	codeUnexpected        = 500   // "Wystąpił nieoczekiwany błąd." (observed with HTTP 500)
	codeInvalidChallenge  = 21111 // Nieprawidłowe wyzwanie autoryzacyjne.
	codeNotAuthorized     = 21301 // Brak autoryzacji.
	codeAuthNotFound      = 21304 // Brak uwierzytelnienia.
	codeValidation        = 21405 // Błąd walidacji danych wejściowych.
	codeUnknownPublicKey  = 21470 // Przesłany identyfikator klucza jest nieznany lub wskazuje na wycofany klucz.
	descUnexpected        = "Wystąpił nieoczekiwany błąd."
	descInvalidChallenge  = "Nieprawidłowe wyzwanie autoryzacyjne."
	descNotAuthorized     = "Brak autoryzacji."
	descAuthNotFound      = "Brak uwierzytelnienia."
	descValidation        = "Błąd walidacji danych wejściowych."
	descUnknownPublicKey  = "Przesłany identyfikator klucza jest nieznany lub wskazuje na wycofany klucz."
	headerErrorFormat     = "X-Error-Format"
	errorFormatProblem    = "problem-details"
	contentTypeJSON       = "application/json; charset=utf-8"
	contentTypeProblem    = "application/problem+json; charset=utf-8"
	detailBadRequest      = "Żądanie jest nieprawidłowe."
	detailUnauthenticated = "Wymagane jest uwierzytelnienie."
)

// apiError is one entry of a 400 answer: an exception code, its fixed description and
// free-text details.
type apiError struct {
	Code        int
	Description string
	Details     []string
}

// Wire shapes of the error bodies (open-api.json components.schemas).
type (
	exceptionResponse struct {
		Exception exceptionInfo `json:"exception"`
	}
	exceptionInfo struct {
		ExceptionDetailList []exceptionDetails `json:"exceptionDetailList"`
		ReferenceNumber     string             `json:"referenceNumber"`
		ServiceCode         string             `json:"serviceCode"`
		ServiceCtx          string             `json:"serviceCtx"`
		ServiceName         string             `json:"serviceName"`
		Timestamp           string             `json:"timestamp"`
	}
	exceptionDetails struct {
		ExceptionCode        int      `json:"exceptionCode"`
		ExceptionDescription string   `json:"exceptionDescription"`
		Details              []string `json:"details,omitempty"`
	}
	badRequestProblem struct {
		Title     string        `json:"title"`
		Status    int           `json:"status"`
		Instance  string        `json:"instance"`
		Detail    string        `json:"detail"`
		Errors    []problemItem `json:"errors"`
		Timestamp string        `json:"timestamp"`
		TraceID   string        `json:"traceId"`
	}
	problemItem struct {
		Code        int      `json:"code"`
		Description string   `json:"description"`
		Details     []string `json:"details,omitempty"`
	}
	simpleProblem struct {
		Title     string `json:"title"`
		Status    int    `json:"status"`
		Detail    string `json:"detail"`
		Instance  string `json:"instance"`
		Timestamp string `json:"timestamp"`
		TraceID   string `json:"traceId"`
	}
	tooManyRequestsResponse struct {
		Status tooManyStatus `json:"status"`
	}
	tooManyStatus struct {
		Code        int      `json:"code"`
		Description string   `json:"description"`
		Details     []string `json:"details"`
	}
)

// wantsProblem reports whether the caller asked for RFC 7807 bodies for 400/429.
func wantsProblem(r *http.Request) bool {
	return strings.EqualFold(strings.TrimSpace(r.Header.Get(headerErrorFormat)), errorFormatProblem)
}

// formatTime renders a timestamp the way the service does: UTC, 7 fractional digits,
// explicit +00:00 offset.
func formatTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.0000000-07:00")
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func randomUUID() string {
	h := randomHex(16)
	return h[0:8] + "-" + h[8:12] + "-4" + h[13:16] + "-a" + h[17:20] + "-" + h[20:32]
}

func writeJSON(w http.ResponseWriter, status int, contentType string, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "ksefsim: cannot encode response", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// writeOK writes a JSON success body.
func writeOK(w http.ResponseWriter, status int, v any) { writeJSON(w, status, contentTypeJSON, v) }

// writeExceptions writes an error in the ExceptionResponse shape regardless of the
// requested format (used for 500, which the contract does not describe).
func (s *Server) writeExceptions(w http.ResponseWriter, status int, errs ...apiError) {
	info := exceptionInfo{
		ReferenceNumber: randomUUID(),
		ServiceCode:     "00-" + randomHex(16) + "-" + randomHex(8) + "-00",
		ServiceCtx:      "srvKSEFSIM",
		ServiceName:     "Undefined",
		Timestamp:       formatTime(s.now()),
	}
	for _, e := range errs {
		info.ExceptionDetailList = append(info.ExceptionDetailList, exceptionDetails{
			ExceptionCode: e.Code, ExceptionDescription: e.Description, Details: e.Details,
		})
	}
	writeJSON(w, status, contentTypeJSON, exceptionResponse{Exception: info})
}

// writeBadRequest answers 400 with the given errors, as ExceptionResponse or, when the
// request carries X-Error-Format: problem-details, as BadRequestProblemDetails.
func (s *Server) writeBadRequest(w http.ResponseWriter, r *http.Request, errs ...apiError) {
	if !wantsProblem(r) {
		s.writeExceptions(w, http.StatusBadRequest, errs...)
		return
	}
	p := badRequestProblem{
		Title: "Bad Request", Status: http.StatusBadRequest, Instance: r.URL.Path,
		Detail: detailBadRequest, Timestamp: formatTime(s.now()), TraceID: randomHex(16),
	}
	for _, e := range errs {
		p.Errors = append(p.Errors, problemItem{Code: e.Code, Description: e.Description, Details: e.Details})
	}
	writeJSON(w, http.StatusBadRequest, contentTypeProblem, p)
}

// unknownPublicKey is 21470 for a publicKeyId that is not the current key.
func unknownPublicKey(id string) apiError {
	return apiError{Code: codeUnknownPublicKey, Description: descUnknownPublicKey,
		Details: []string{"Klucz o identyfikatorze " + id + " nie jest wspierany."}}
}

// validationError is a 21405 error with the validator's messages as details.
func validationError(details ...string) apiError {
	return apiError{Code: codeValidation, Description: descValidation, Details: details}
}

// writeUnauthorized answers 401; the contract makes 401 always problem+json.
func (s *Server) writeUnauthorized(w http.ResponseWriter, r *http.Request, detail string) {
	w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	writeJSON(w, http.StatusUnauthorized, contentTypeProblem, simpleProblem{
		Title: "Unauthorized", Status: http.StatusUnauthorized, Detail: detail, Instance: r.URL.Path,
		Timestamp: formatTime(s.now()), TraceID: randomHex(16),
	})
}

// writeTooManyRequests answers 429 with Retry-After in whole seconds (at least 1).
func (s *Server) writeTooManyRequests(w http.ResponseWriter, r *http.Request, retryAfter time.Duration, detail string) {
	secs := int((retryAfter + time.Second - 1) / time.Second)
	if secs < 1 {
		secs = 1
	}
	if detail == "" {
		detail = fmt.Sprintf("Przekroczono limit żądań. Spróbuj ponownie po %d sekundach.", secs)
	}
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	if wantsProblem(r) {
		writeJSON(w, http.StatusTooManyRequests, contentTypeProblem, simpleProblem{
			Title: "Too Many Requests", Status: http.StatusTooManyRequests, Detail: detail, Instance: r.URL.Path,
			Timestamp: formatTime(s.now()), TraceID: randomHex(16),
		})
		return
	}
	writeJSON(w, http.StatusTooManyRequests, contentTypeJSON, tooManyRequestsResponse{Status: tooManyStatus{
		Code: http.StatusTooManyRequests, Description: "Too Many Requests", Details: []string{detail},
	}})
}

// writeInternal answers a 5xx with the ExceptionResponse seen in production (ISS #704).
func (s *Server) writeInternal(w http.ResponseWriter, status int) {
	s.writeExceptions(w, status, apiError{Code: codeUnexpected, Description: descUnexpected})
}
