package ksefsim

import (
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// ErrUnknownSession is returned by TerminateSession for a reference number the
// simulator never issued.
var ErrUnknownSession = errors.New("ksefsim: unknown session reference number (open a session with POST /v2/sessions/online first)")

// Wire shapes of the session endpoints (open-api.json components.schemas).
type (
	openSessionRequest struct {
		FormCode   *FormCode       `json:"formCode"`
		Encryption *encryptionInfo `json:"encryption"`
	}
	encryptionInfo struct {
		EncryptedSymmetricKey *string `json:"encryptedSymmetricKey"`
		InitializationVector  *string `json:"initializationVector"`
		PublicKeyID           *string `json:"publicKeyId"`
	}
	openSessionResponse struct {
		ReferenceNumber string `json:"referenceNumber"`
		ValidUntil      string `json:"validUntil"`
	}
	upoPage struct {
		ReferenceNumber           string `json:"referenceNumber"`
		DownloadURL               string `json:"downloadUrl"`
		DownloadURLExpirationDate string `json:"downloadUrlExpirationDate"`
	}
	upoResponse struct {
		Pages []upoPage `json:"pages"`
	}
	sessionStatusResponse struct {
		Status                 statusInfo   `json:"status"`
		DateCreated            string       `json:"dateCreated"`
		DateUpdated            string       `json:"dateUpdated"`
		ValidUntil             string       `json:"validUntil"`
		UPO                    *upoResponse `json:"upo,omitempty"`
		InvoiceCount           int          `json:"invoiceCount"`
		SuccessfulInvoiceCount int          `json:"successfulInvoiceCount"`
		FailedInvoiceCount     int          `json:"failedInvoiceCount"`
	}
	sessionListItem struct {
		ReferenceNumber        string     `json:"referenceNumber"`
		Status                 statusInfo `json:"status"`
		DateCreated            string     `json:"dateCreated"`
		DateUpdated            string     `json:"dateUpdated"`
		ValidUntil             string     `json:"validUntil"`
		TotalInvoiceCount      int        `json:"totalInvoiceCount"`
		SuccessfulInvoiceCount int        `json:"successfulInvoiceCount"`
		FailedInvoiceCount     int        `json:"failedInvoiceCount"`
	}
	sessionListResponse struct {
		ContinuationToken *string           `json:"continuationToken,omitempty"`
		Sessions          []sessionListItem `json:"sessions"`
	}
)

// validateOpenSession returns the 21405 details for a malformed body, and the
// decoded IV and wrapped key.
func (s *Server) validateOpenSession(req *openSessionRequest) (iv, wrapped []byte, d []string) {
	if req.FormCode == nil {
		d = append(d, "Pole 'formCode' jest wymagane.")
	} else if !slices.Contains(s.cfg.FormCodes, *req.FormCode) {
		var allowed []string
		for _, f := range s.cfg.FormCodes {
			allowed = append(allowed, formCodeText(f))
		}
		d = append(d, fmt.Sprintf("Kod formularza '%s' nie jest obsługiwany (obsługiwane: %s).", formCodeText(*req.FormCode), strings.Join(allowed, "; ")))
	}
	iv, wrapped, ed := validateEncryption(req.Encryption)
	return iv, wrapped, append(d, ed...)
}

// validateEncryption checks an EncryptionInfo (the AES key wrapped with the MF public
// key, the IV and the optional publicKeyId) and returns the decoded IV and wrapped
// key, or the 21405 details.
func validateEncryption(e *encryptionInfo) (iv, wrapped []byte, d []string) {
	if e == nil {
		return nil, nil, []string{"Pole 'encryption' jest wymagane."}
	}
	var err error
	switch {
	case e.EncryptedSymmetricKey == nil || *e.EncryptedSymmetricKey == "":
		d = append(d, "Pole 'encryption.encryptedSymmetricKey' jest wymagane.")
	default:
		if wrapped, err = base64.StdEncoding.DecodeString(*e.EncryptedSymmetricKey); err != nil {
			d = append(d, "Pole 'encryption.encryptedSymmetricKey' nie jest poprawnym ciągiem Base64.")
		}
	}
	switch {
	case e.InitializationVector == nil || *e.InitializationVector == "":
		d = append(d, "Pole 'encryption.initializationVector' jest wymagane.")
	default:
		iv, err = base64.StdEncoding.DecodeString(*e.InitializationVector)
		if err != nil || len(iv) != 16 {
			d = append(d, "Pole 'encryption.initializationVector' musi zawierać 16 bajtów zakodowanych w Base64.")
		}
	}
	if e.PublicKeyID != nil && len(*e.PublicKeyID) != 44 {
		d = append(d, "Pole 'encryption.publicKeyId' musi mieć długość 44 znaków.")
	}
	return iv, wrapped, d
}

// handleOpenSession serves POST /sessions/online. A symmetric key that cannot be
// unwrapped does not fail the call: the session is created and reports status 415
// "Błąd odszyfrowania dostarczonego klucza", as the status table documents.
func (s *Server) handleOpenSession(w http.ResponseWriter, r *http.Request) {
	c, ok := s.requireAccess(w, r, permsWrite)
	if !ok {
		return
	}
	var req openSessionRequest
	if !s.decodeRequest(w, r, &req, "OpenOnlineSessionRequest") {
		return
	}
	iv, wrapped, d := s.validateOpenSession(&req)
	if len(d) > 0 {
		s.writeBadRequest(w, r, validationError(d...))
		return
	}
	sym, ok := s.unwrapSessionKey(w, r, req.Encryption, wrapped)
	if !ok {
		return
	}
	now := s.now()
	ss := &onlineSession{
		ref: newRefNumber(now, infixOnline), ctxType: c.ContextType, ctxValue: c.ContextValue,
		form: *req.FormCode, key: sym, iv: iv, created: now, updated: now, validUntil: now.Add(onlineSessionTTL),
		status:      statusInfo{Code: sessionOpen, Description: descSessionOpen},
		validateIDs: wantsSubjectIDValidation(r),
	}
	if sym == nil {
		ss.status = statusInfo{Code: sessionKeyError, Description: descSessionKeyError}
	}
	s.st.mu.Lock()
	if n := s.st.faults.sessions.TerminateAfterInvoices; n > 0 && ss.key != nil {
		ss.terminateAfter = n
		s.st.faults.sessions.TerminateAfterInvoices = 0
	}
	if n := s.st.faults.sessions.UnavailableAtSend; n > 0 && ss.key != nil {
		ss.unavailableAt = n
		s.st.faults.sessions.UnavailableAtSend = 0
	}
	s.addSessionLocked(c, ss)
	s.st.mu.Unlock()
	writeOK(w, http.StatusCreated, openSessionResponse{ReferenceNumber: ss.ref, ValidUntil: formatTime(ss.validUntil)})
}

// unwrapSessionKey checks the publicKeyId of an open request against the current
// symmetric-key encryption key, answering 400 (21470) and reporting false when it
// names another, and unwraps the session's AES key. A key that cannot be unwrapped
// is nil: the session still opens and its processing fails with a key error status.
func (s *Server) unwrapSessionKey(w http.ResponseWriter, r *http.Request, enc *encryptionInfo, wrapped []byte) ([]byte, bool) {
	key := s.currentKey(usageSymmetricEncryption)
	if id := enc.PublicKeyID; id != nil && *id != key.keyID {
		s.writeBadRequest(w, r, unknownPublicKey(*id))
		return nil, false
	}
	sym, err := rsa.DecryptOAEP(sha256.New(), nil, key.priv, wrapped, nil)
	if err != nil || len(sym) != 32 {
		return nil, true
	}
	return sym, true
}

// addSessionLocked registers a new session opened by the caller. Caller holds the lock.
func (s *Server) addSessionLocked(c claims, ss *onlineSession) {
	ss.tokenRef = s.tokenRefOf(c)
	ss.authDocHash = s.authDocHashOf(c)
	if op := s.st.auth.ops[c.OperationRef]; op != nil {
		ss.creator = op.subject
	}
	s.st.sessions.byRef[ss.ref] = ss
	s.st.sessions.order = append(s.st.sessions.order, ss)
}

// handleCloseSession serves POST /sessions/online/{ref}/close: 204, then 170 and,
// once every invoice is final, 200 / 440 / 445.
func (s *Server) handleCloseSession(w http.ResponseWriter, r *http.Request) {
	c, ok := s.requireAccess(w, r, permsWrite)
	if !ok {
		return
	}
	now := s.now()
	// Batch sessions have their own close.
	ss, ok := s.lockOpenSession(w, r, c, r.PathValue("referenceNumber"), now, "jej zamknięcie")
	if !ok {
		return
	}
	ss.status = statusInfo{Code: sessionClosed, Description: descSessionClosed}
	ss.closedAt = now
	ss.touch(now)
	s.st.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// baseURL is the scheme and host the caller used to reach the simulator.
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// handleSessionStatus serves GET /sessions/{ref}.
func (s *Server) handleSessionStatus(w http.ResponseWriter, r *http.Request) {
	c, ok := s.requireAccess(w, r, permsStatus)
	if !ok {
		return
	}
	now := s.now()
	ss, ok := s.lockSession(w, r, c, r.PathValue("referenceNumber"), anySession)
	if !ok {
		return
	}
	s.observeSession(ss, now)
	total, okN, failed := ss.counts()
	out := sessionStatusResponse{
		Status: ss.status, DateCreated: formatTime(ss.created), DateUpdated: formatTime(ss.updated),
		ValidUntil: formatTime(ss.validUntil), InvoiceCount: total, SuccessfulInvoiceCount: okN, FailedInvoiceCount: failed,
	}
	if len(ss.upo) > 0 {
		out.UPO = &upoResponse{Pages: []upoPage{}}
		for _, p := range ss.upo {
			url, exp := s.presign(baseURL(r), ss.ref, "session-upo", p.ref+".xml", now)
			out.UPO.Pages = append(out.UPO.Pages, upoPage{ReferenceNumber: p.ref, DownloadURL: url, DownloadURLExpirationDate: formatTime(exp)})
		}
	}
	s.st.mu.Unlock()
	writeOK(w, http.StatusOK, out)
}

// commonStatus maps a session status to CommonSessionStatus.
func commonStatus(ss *onlineSession) string {
	if ss.active() {
		return "InProgress"
	}
	switch ss.status.Code {
	case sessionSucceeded:
		return "Succeeded"
	case sessionCancelled:
		return "Cancelled"
	default:
		return "Failed"
	}
}

// handleListSessions serves GET /sessions: the caller's context's online or batch
// sessions, newest first, filtered by statuses and dateCreatedFrom/To, paged. With
// Introspection or EnforcementOperations the caller sees every session of the
// context; with InvoiceWrite alone only the sessions its subject opened.
func (s *Server) handleListSessions(w http.ResponseWriter, r *http.Request) {
	c, ok := s.requireAccess(w, r, permsSessionList)
	if !ok {
		return
	}
	q := r.URL.Query()
	typ := q.Get("sessionType")
	if typ != "Online" && typ != "Batch" {
		s.writeBadRequest(w, r, validationError("Parametr 'sessionType' jest wymagany (Online lub Batch)."))
		return
	}
	statuses := q["statuses"]
	for _, st := range statuses {
		if !slices.Contains([]string{"InProgress", "Succeeded", "Failed", "Cancelled"}, st) {
			s.writeBadRequest(w, r, validationError("Wartość '"+st+"' parametru 'statuses' jest niedozwolona."))
			return
		}
	}
	var from, to time.Time
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"dateCreatedFrom", &from}, {"dateCreatedTo", &to}} {
		if v := q.Get(p.name); v != "" {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				s.writeBadRequest(w, r, validationError("Parametr '"+p.name+"' nie jest poprawną datą."))
				return
			}
			*p.dst = t
		}
	}
	scope := "sessions:" + c.ContextType + ":" + c.ContextValue + ":" + typ + ":" + strings.Join(statuses, ",")
	size, offset, ok := s.pageParams(w, r, scope)
	if !ok {
		return
	}
	now := s.now()
	items := []sessionListItem{}
	s.st.mu.Lock()
	{
		perms := s.callerPermissionsLocked(c)
		seesAll := slices.Contains(perms, "Introspection") || slices.Contains(perms, "EnforcementOperations")
		var self subjectID
		if op := s.st.auth.ops[c.OperationRef]; op != nil {
			self = op.subject
		}
		for i := len(s.st.sessions.order) - 1; i >= 0; i-- {
			ss := s.st.sessions.order[i]
			if ss.ctxType != c.ContextType || ss.ctxValue != c.ContextValue || (typ == "Batch") != (ss.batch != nil) ||
				!seesAll && ss.creator != self {
				continue
			}
			s.settleSession(ss, now)
			if len(statuses) > 0 && !slices.Contains(statuses, commonStatus(ss)) ||
				!from.IsZero() && ss.created.Before(from) || !to.IsZero() && ss.created.After(to) {
				continue
			}
			total, okN, failed := ss.counts()
			items = append(items, sessionListItem{
				ReferenceNumber: ss.ref, Status: ss.status, DateCreated: formatTime(ss.created), DateUpdated: formatTime(ss.updated),
				ValidUntil: formatTime(ss.validUntil), TotalInvoiceCount: total, SuccessfulInvoiceCount: okN, FailedInvoiceCount: failed,
			})
		}
	}
	s.st.mu.Unlock()
	out := sessionListResponse{}
	out.Sessions, out.ContinuationToken = page(items, scope, size, offset)
	writeOK(w, http.StatusOK, out)
}

// TerminateSession makes a session fail as if KSeF cancelled it: the session ends
// with status 440 "Sesja anulowana" (detail: terminated by the system), invoices still
// in processing end with 405 "Przetwarzanie anulowane z powodu błędu sesji" and never
// get a KSeF number, and further sends answer 21180. Invoices that already have a
// number keep it. Terminating a session that is already final changes nothing.
func (s *Server) TerminateSession(ref string) error {
	now := s.now()
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	ss := s.st.sessions.byRef[ref]
	if ss == nil {
		return fmt.Errorf("%w: %q", ErrUnknownSession, ref)
	}
	s.settleSession(ss, now)
	if ss.active() {
		s.terminateLocked(ss, now)
	}
	return nil
}
