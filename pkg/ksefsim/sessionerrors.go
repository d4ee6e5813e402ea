package ksefsim

import (
	"fmt"
	"net/http"
	"slices"
)

// Exception codes of the session, invoice and UPO endpoints (open-api.json 400
// descriptions; research §8.3).
const (
	codeInvoiceLimit    = 21155
	codeInvoiceNotFound = 21164
	codeSessionNotFound = 21173
	codeUPONotFound     = 21178
	codeSessionStatus   = 21180
	codeBadSize         = 21402
	codeBadHash         = 21403
	codeBadContinuation = 21418
	descInvoiceLimit    = "Przekroczono dozwoloną liczbę faktur w sesji."
	descInvoiceNotFound = "Faktura o podanym identyfikatorze nie istnieje."
	descSessionNotFound = "Brak sesji o wskazanym numerze referencyjnym."
	descUPONotFound     = "Nie znaleziono UPO dla podanych kryteriów."
	descSessionStatus   = "Status sesji nie pozwala na wykonanie operacji."
	descBadSize         = "Nieprawidłowy rozmiar pliku."
	descBadHash         = "Nieprawidłowy skrót pliku."
	descBadContinuation = "Przekazany token kontynuacji ma nieprawidłowy format."
)

// Permissions (open-api.json x-required-permissions).
var (
	permsWrite  = []string{"InvoiceWrite", "PefInvoiceWrite", "EnforcementOperations"}
	permsStatus = []string{"InvoiceWrite", "Introspection", "PefInvoiceWrite", "EnforcementOperations"}
	permsRead   = []string{"InvoiceRead"}
)

func sessionNotFound(ref string) apiError {
	return apiError{Code: codeSessionNotFound, Description: descSessionNotFound,
		Details: []string{"Sesja o numerze referencyjnym " + ref + " nie została odnaleziona."}}
}

// forbiddenProblem is ForbiddenProblemDetails.
type forbiddenProblem struct {
	Title      string         `json:"title"`
	Status     int            `json:"status"`
	Detail     string         `json:"detail"`
	Instance   string         `json:"instance"`
	ReasonCode string         `json:"reasonCode"`
	Security   map[string]any `json:"security,omitempty"`
	Timestamp  string         `json:"timestamp"`
	TraceID    string         `json:"traceId"`
}

// requireAccess checks the Bearer access token and that the KSeF token behind it
// holds one of the wanted permissions; on failure it answers 401 or 403.
func (s *Server) requireAccess(w http.ResponseWriter, r *http.Request, anyOf []string) (claims, bool) {
	c, ok := s.requireBearer(w, r, tokenTypeContext)
	if !ok {
		return c, false
	}
	s.st.mu.Lock()
	var present []string
	if op := s.st.auth.ops[c.OperationRef]; op != nil {
		if t := s.st.tokens.byValue[op.tokenValue]; t != nil {
			present = slices.Clone(t.permissions)
		}
	}
	s.st.mu.Unlock()
	for _, p := range anyOf {
		if slices.Contains(present, p) {
			return c, true
		}
	}
	if present == nil {
		present = []string{}
	}
	writeJSON(w, http.StatusForbidden, contentTypeProblem, forbiddenProblem{
		Title: "Forbidden", Status: http.StatusForbidden, Instance: r.URL.Path, ReasonCode: "missing-permissions",
		Detail:    fmt.Sprintf("Brak wymaganych uprawnień do wykonania operacji w bieżącym kontekście (wymagane jedno z: %v).", anyOf),
		Security:  map[string]any{"requiredAnyOfPermissions": anyOf, "presentPermissions": present},
		Timestamp: formatTime(s.now()), TraceID: randomHex(16),
	})
	return c, false
}

// tokenRefOf is the reference number of the KSeF token behind an access token.
// Caller holds the lock.
func (s *Server) tokenRefOf(c claims) string {
	if op := s.st.auth.ops[c.OperationRef]; op != nil {
		if t := s.st.tokens.byValue[op.tokenValue]; t != nil {
			return t.ref
		}
	}
	return ""
}

// sessionFor finds a session of the caller's context. Caller holds the lock.
func (s *Server) sessionFor(c claims, ref string) *onlineSession {
	ss := s.st.sessions.byRef[ref]
	if ss == nil || ss.ctxType != c.ContextType || ss.ctxValue != c.ContextValue {
		return nil
	}
	return ss
}
