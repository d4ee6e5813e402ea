package ksefsim

import (
	"fmt"
	"net/http"
	"slices"
	"time"
)

// Exception codes of the session, invoice and UPO endpoints (open-api.json 400
// descriptions; research §8.3).
const (
	codeInvoiceLimit    = 21155
	codeInvoiceNotFound = 21164
	codeSessionNotFound = 21173
	codeUPONotFound     = 21178
	codeSessionStatus   = 21180
	codeSessionPaused   = 21184
	codeBadSize         = 21402
	codeBadHash         = 21403
	codeBadContinuation = 21418
	descInvoiceLimit    = "Przekroczono dozwoloną liczbę faktur w sesji."
	descInvoiceNotFound = "Faktura o podanym identyfikatorze nie istnieje."
	descSessionNotFound = "Brak sesji o wskazanym numerze referencyjnym."
	descUPONotFound     = "Nie znaleziono UPO dla podanych kryteriów."
	descSessionStatus   = "Status sesji nie pozwala na wykonanie operacji."
	descSessionPaused   = "Sesja tymczasowo niedostępna."
	descBadSize         = "Nieprawidłowy rozmiar pliku."
	descBadHash         = "Nieprawidłowy skrót pliku."
	descBadContinuation = "Przekazany token kontynuacji ma nieprawidłowy format."
)

// Permissions (open-api.json x-required-permissions).
var (
	permsWrite  = []string{"InvoiceWrite", "PefInvoiceWrite", "EnforcementOperations"}
	permsStatus = []string{"InvoiceWrite", "Introspection", "PefInvoiceWrite", "EnforcementOperations"}
	permsRead   = []string{"InvoiceRead"}
	// GET /sessions: Introspection or EnforcementOperations see every session of the
	// context, InvoiceWrite only the sessions the authenticated subject opened.
	permsSessionList = []string{"InvoiceWrite", "Introspection", "EnforcementOperations"}
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

// requireAccess checks the Bearer access token and that the KSeF token behind it (or,
// after XAdES, the subject's permissions in the context) holds one of the wanted
// permissions; on failure it answers 401 or 403.
func (s *Server) requireAccess(w http.ResponseWriter, r *http.Request, anyOf []string) (claims, bool) {
	c, ok := s.requireBearer(w, r, tokenTypeContext)
	if !ok {
		return c, false
	}
	s.st.mu.Lock()
	present := s.callerPermissionsLocked(c)
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

// callerPermissionsLocked is what the caller may do in its context: the permissions
// of the KSeF token it authenticated with, or those it had at its XAdES
// authentication. Caller holds the lock.
func (s *Server) callerPermissionsLocked(c claims) []string {
	op := s.st.auth.ops[c.OperationRef]
	if op == nil {
		return nil
	}
	if t := s.st.tokens.byValue[op.tokenValue]; t != nil {
		return slices.Clone(t.permissions)
	}
	return slices.Clone(op.permissions)
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

// authDocHashOf is the hash of the signed AuthTokenRequest behind an access token
// (XAdES authentications; "" for a KSeF token). Caller holds the lock.
func (s *Server) authDocHashOf(c claims) string {
	if op := s.st.auth.ops[c.OperationRef]; op != nil {
		return op.docHash
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

// sessionKind is the kind of session an endpoint serves: to an endpoint of one kind a
// session of the other kind does not exist (21173).
type sessionKind int

const (
	anySession sessionKind = iota
	onlineOnly
	batchOnly
)

func (k sessionKind) fits(ss *onlineSession) bool {
	switch k {
	case onlineOnly:
		return ss.batch == nil
	case batchOnly:
		return ss.batch != nil
	default:
		return true
	}
}

// lockSession locks the state and finds the caller's session ref of the given kind.
// When there is none it unlocks and answers 400 (21173) and reports false; otherwise
// the caller holds the lock and must unlock it.
func (s *Server) lockSession(w http.ResponseWriter, r *http.Request, c claims, ref string, kind sessionKind) (*onlineSession, bool) {
	s.st.mu.Lock()
	ss := s.sessionFor(c, ref)
	if ss == nil || !kind.fits(ss) {
		s.unlockBadRequest(w, r, sessionNotFound(ref))
		return nil, false
	}
	return ss, true
}

// lockSettledSession is lockSession followed by settleSession at now: the session
// as the endpoints that act on its current state see it.
func (s *Server) lockSettledSession(w http.ResponseWriter, r *http.Request, c claims, ref string, kind sessionKind, now time.Time) (*onlineSession, bool) {
	ss, ok := s.lockSession(w, r, c, ref, kind)
	if ok {
		s.settleSession(ss, now)
	}
	return ss, ok
}

// lockOpenSession is lockSettledSession for an online session that must still be
// open (100): when it is not, it unlocks and answers 400 (21180) saying that the
// status forbids the operation (e.g. "wysyłkę faktur").
func (s *Server) lockOpenSession(w http.ResponseWriter, r *http.Request, c claims, ref string, now time.Time, operation string) (*onlineSession, bool) {
	ss, ok := s.lockSettledSession(w, r, c, ref, onlineOnly, now)
	if ok && ss.status.Code != sessionOpen {
		s.unlockBadRequest(w, r, sessionStatusError(ss.status.Code, operation))
		return nil, false
	}
	return ss, ok
}

// sessionPaused is 21184 (API 2.8.0): the session is temporarily unavailable for
// sends; the detail is the contract's.
func sessionPaused(ref string) apiError {
	return apiError{Code: codeSessionPaused, Description: descSessionPaused, Details: []string{
		"Trwają prace serwisowe i sesja " + ref + " jest tymczasowo niedostępna. Spróbuj ponownie później lub otwórz nową sesję, aby wysłać kolejne faktury."}}
}

// sessionStatusError is 21180: the session's status code forbids the operation.
func sessionStatusError(code int, operation string) apiError {
	return apiError{Code: codeSessionStatus, Description: descSessionStatus,
		Details: []string{fmt.Sprintf("Status sesji %d uniemożliwia %s.", code, operation)}}
}

// unlockBadRequest unlocks the state, then answers 400 with errs (built by the
// caller while it still held the lock): no answer is written under the lock.
func (s *Server) unlockBadRequest(w http.ResponseWriter, r *http.Request, errs ...apiError) {
	s.st.mu.Unlock()
	s.writeBadRequest(w, r, errs...)
}
