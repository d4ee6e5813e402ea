package ksefsim

import (
	"net/http"
	"strconv"
)

// handleGetInvoice serves GET /invoices/ksef/{ksefNumber}: the invoice document as
// received, for invoices whose seller is the caller's context.
func (s *Server) handleGetInvoice(w http.ResponseWriter, r *http.Request) {
	c, ok := s.requireAccess(w, r, permsRead)
	if !ok {
		return
	}
	kn := r.PathValue("ksefNumber")
	s.st.mu.Lock()
	var body []byte
	var hash string
	if inv := s.st.sessions.byKSeF[kn]; inv != nil && c.ContextType == "Nip" && inv.facts.sellerNIP == c.ContextValue {
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
