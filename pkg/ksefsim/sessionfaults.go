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
	// UnavailableAtSend, when N > 0, arms the next online session opened: its N-th
	// invoice send and every later one answer 400 with 21184 "Sesja tymczasowo
	// niedostępna" (KSeF's maintenance of a running session, API 2.8.0); sends 1..N-1
	// are accepted as usual. The session stays open (status 100) and nothing it
	// accepted is lost: those invoices are processed and numbered as usual, status
	// reads and UPOs work, and a close ends the session with 200 and a UPO of what it
	// accepted (without a close it ends when validUntil passes). The client must open
	// a new session for the rest, as the 21184 detail says.
	UnavailableAtSend int `json:"unavailableAtSend,omitempty"`
	// UnavailableSends makes the next N invoice sends, in any open online session,
	// answer 21184; after them sends are accepted again (the maintenance is over).
	// The sessions stay open as with UnavailableAtSend.
	UnavailableSends int `json:"unavailableSends,omitempty"`
}

func (f SessionFaults) validate() error {
	if f.TerminateAfterInvoices < 0 || f.StallInvoices < 0 || f.FailAfterAccept < 0 ||
		f.UnavailableAtSend < 0 || f.UnavailableSends < 0 {
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
