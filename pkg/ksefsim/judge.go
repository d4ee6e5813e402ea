package ksefsim

import "net/http"

// ReceivedInvoice is the simulator's record of one invoice sent in a session: what
// tests assert against ("each document has exactly one KSeF number").
type ReceivedInvoice struct {
	SessionReferenceNumber string `json:"sessionReferenceNumber"`
	InvoiceReferenceNumber string `json:"invoiceReferenceNumber"`
	SellerNIP              string `json:"sellerNip"`     // Podmiot1 NIP read from the document
	InvoiceNumber          string `json:"invoiceNumber"` // P_2
	InvoiceType            string `json:"invoiceType"`   // RodzajFaktury
	InvoiceHash            string `json:"invoiceHash"`   // base64 SHA-256 of the document
	KSeFNumber             string `json:"ksefNumber,omitempty"`
	StatusCode             int    `json:"statusCode"`
	OfflineMode            bool   `json:"offlineMode"`             // offlineMode as declared on the send (or the batch open)
	InvoicingMode          string `json:"invoicingMode,omitempty"` // Online or Offline once numbered (auto-classification applied)
	HashOfCorrectedInvoice string `json:"hashOfCorrectedInvoice,omitempty"`
	// TechnicallyCorrectedBy is the KSeF number of the accepted technical correction
	// of this (rejected) invoice.
	TechnicallyCorrectedBy string `json:"technicallyCorrectedBy,omitempty"`
}

// Invoices lists every invoice received over the simulator's lifetime, in arrival
// order, with its current status. Reading it does not count as a status read.
func (s *Server) Invoices() []ReceivedInvoice {
	now := s.now()
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	s.settleAllLocked(now)
	out := make([]ReceivedInvoice, 0, len(s.st.sessions.invoices))
	for _, inv := range s.st.sessions.invoices {
		ri := ReceivedInvoice{
			SessionReferenceNumber: inv.sess.ref, InvoiceReferenceNumber: inv.ref,
			SellerNIP: inv.facts.sellerNIP, InvoiceNumber: inv.facts.number, InvoiceType: inv.facts.kind,
			InvoiceHash: inv.hash, KSeFNumber: inv.ksefNumber, StatusCode: inv.status.Code,
			OfflineMode: inv.offlineMode, HashOfCorrectedInvoice: inv.correctedHash,
		}
		if inv.status.Code == invSucceeded {
			ri.InvoicingMode = inv.invoicingMode()
		}
		if inv.correctedBy != nil {
			ri.TechnicallyCorrectedBy = inv.correctedBy.ksefNumber
		}
		out = append(out, ri)
	}
	return out
}

// handleSimInvoices serves GET /sim/invoices -> []ReceivedInvoice.
func (s *Server) handleSimInvoices(w http.ResponseWriter, _ *http.Request) {
	writeOK(w, http.StatusOK, s.Invoices())
}
