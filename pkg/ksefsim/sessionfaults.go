package ksefsim

import (
	"errors"
	"net/http"
)

// SessionFaults are the session and invoice faults, all deterministic. They are part
// of Faults (JSON "sessions" in /sim/faults); counters show what is still pending.
type SessionFaults struct {
	// TerminateAfterInvoices, when N > 0, arms the next session opened: once it has
	// accepted N invoices it is terminated as by TerminateSession (the N-th invoice
	// still gets its 202, then ends with 405 and no KSeF number).
	TerminateAfterInvoices int `json:"terminateAfterInvoices,omitempty"`
	// StallInvoices holds the next N invoices accepted at status 150 until
	// ReleaseStalledInvoices (POST /sim/invoices/release) is called.
	StallInvoices int `json:"stallInvoices,omitempty"`
	// StallAll holds every invoice at 150 while it is true.
	StallAll bool `json:"stallAll,omitempty"`
	// FailAfterAccept makes the next N invoice sends be accepted and processed
	// normally while the HTTP answer is a 500 (the "500, then the resend is a
	// duplicate" case).
	FailAfterAccept int `json:"failAfterAccept,omitempty"`
}

func (f SessionFaults) validate() error {
	if f.TerminateAfterInvoices < 0 || f.StallInvoices < 0 || f.FailAfterAccept < 0 {
		return errors.New("ksefsim: session faults: counts must not be negative")
	}
	return nil
}

// ReleaseStalledInvoices lifts the stall: invoices held at 150 by StallInvoices
// continue at their next status read (StallAll, if on, still holds every invoice).
// It returns how many invoices were released.
func (s *Server) ReleaseStalledInvoices() int {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	n := 0
	for _, inv := range s.st.sessions.invoices {
		if inv.stalled {
			inv.stalled = false
			if !inv.final() {
				n++
			}
		}
	}
	return n
}

type simReleaseResponse struct {
	Released int `json:"released"`
}

// handleSimRelease serves POST /sim/invoices/release -> {"released": N}.
func (s *Server) handleSimRelease(w http.ResponseWriter, _ *http.Request) {
	writeOK(w, http.StatusOK, simReleaseResponse{Released: s.ReleaseStalledInvoices()})
}

// handleSimTerminate serves POST /sim/sessions/{referenceNumber}/terminate -> 204.
func (s *Server) handleSimTerminate(w http.ResponseWriter, r *http.Request) {
	writeSimOutcome(w, s.TerminateSession(r.PathValue("referenceNumber")), ErrUnknownSession)
}
