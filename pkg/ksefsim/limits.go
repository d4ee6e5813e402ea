package ksefsim

import "net/http"

// maxCollectiveInvoices is the number of invoices one collective identifier may
// group (EffectiveContextLimits.collectiveIdentifier, API 2.7.0+; the simulator does
// not serve the collective-identifier operations, it only reports the limit).
const maxCollectiveInvoices = 500

// Wire shapes of GET /limits/context (EffectiveContextLimits) and GET /limits/subject
// (EffectiveSubjectLimits).
type (
	sessionContextLimits struct {
		MaxInvoiceSizeInMB               int `json:"maxInvoiceSizeInMB"`
		MaxInvoiceWithAttachmentSizeInMB int `json:"maxInvoiceWithAttachmentSizeInMB"`
		MaxInvoices                      int `json:"maxInvoices"`
	}
	collectiveContextLimits struct {
		MaxInvoices int `json:"maxInvoices"`
	}
	effectiveContextLimits struct {
		OnlineSession        sessionContextLimits    `json:"onlineSession"`
		BatchSession         sessionContextLimits    `json:"batchSession"`
		CollectiveIdentifier collectiveContextLimits `json:"collectiveIdentifier"`
	}
	enrollmentSubjectLimits struct {
		MaxEnrollments int `json:"maxEnrollments"`
	}
	certificateSubjectLimits struct {
		MaxCertificates int `json:"maxCertificates"`
	}
	effectiveSubjectLimits struct {
		Enrollment  *enrollmentSubjectLimits  `json:"enrollment"`
		Certificate *certificateSubjectLimits `json:"certificate"`
	}
)

// handleContextLimits serves GET /limits/context: the session limits of the context
// (limity/limity.md "Limity na kontekst": 1 MB, 3 MB with attachments, 10 000
// invoices per session) and, since API 2.8.1, the collective-identifier limit.
func (s *Server) handleContextLimits(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.requireBearer(w, r, tokenTypeContext); !ok {
		return
	}
	session := sessionContextLimits{
		MaxInvoiceSizeInMB:               maxInvoiceSize / 1_000_000,
		MaxInvoiceWithAttachmentSizeInMB: maxInvoiceAttachSize / 1_000_000,
		MaxInvoices:                      maxInvoicesPerSession,
	}
	writeOK(w, http.StatusOK, effectiveContextLimits{
		OnlineSession: session, BatchSession: session,
		CollectiveIdentifier: collectiveContextLimits{MaxInvoices: maxCollectiveInvoices},
	})
}

// handleSubjectLimits serves GET /limits/subject: the certificate limits of the
// authenticated subject (the same values as GET /certificates/limits).
func (s *Server) handleSubjectLimits(w http.ResponseWriter, r *http.Request) {
	cc, ok := s.requireCertCaller(w, r)
	if !ok {
		return
	}
	s.st.mu.Lock()
	enroll, certs := s.limitsOf(cc.subject)
	s.st.mu.Unlock()
	writeOK(w, http.StatusOK, effectiveSubjectLimits{
		Enrollment:  &enrollmentSubjectLimits{MaxEnrollments: enroll},
		Certificate: &certificateSubjectLimits{MaxCertificates: certs},
	})
}
