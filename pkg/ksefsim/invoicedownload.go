package ksefsim

import (
	"net/http"
	"strconv"
)

// handleGetInvoice serves GET /invoices/ksef/{ksefNumber}: the invoice document as
// received, for invoices on which the caller's context is a party (seller, buyer,
// third party or authorized party, the subject types of the metadata query).
func (s *Server) handleGetInvoice(w http.ResponseWriter, r *http.Request) {
	c, ok := s.requireAccess(w, r, permsRead)
	if !ok {
		return
	}
	kn := r.PathValue("ksefNumber")
	s.st.mu.Lock()
	var body []byte
	var hash string
	if inv := s.st.sessions.byKSeF[kn]; inv != nil && isParty(c, inv.facts) {
		body, hash = inv.content, inv.hash
	}
	s.st.mu.Unlock()
	if body == nil {
		s.writeBadRequest(w, r, apiError{Code: codeInvoiceNotFound, Description: descInvoiceNotFound,
			Details: []string{"Faktura o numerze KSeF " + kn + " nie została znaleziona."}})
		return
	}
	w.Header().Set("Content-Type", contentTypeXML)
	w.Header().Set(headerMetaHash, hash)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// isParty reports whether the caller's context appears on the invoice in any role.
func isParty(c claims, f invoiceFacts) bool {
	for _, st := range subjectTypes {
		if involves(st, c.ContextType, c.ContextValue, f) {
			return true
		}
	}
	return false
}
