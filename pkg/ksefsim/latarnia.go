package ksefsim

import (
	"fmt"
	"net/http"
	"slices"
	"time"
)

// Latarnia (KSeF status service) statuses and message types, as in the official
// clients (C# KSeF.Client.Core/Models/Lighthouse KsefStatus.cs and MessageType.cs;
// research-clients.md). The real service lives on its own host
// (https://api-latarnia[-test].ksef.mf.gov.pl/status and /messages); the simulator
// serves it under /latarnia/.
const (
	LatarniaAvailable    = "AVAILABLE"
	LatarniaMaintenance  = "MAINTENANCE"
	LatarniaFailure      = "FAILURE"
	LatarniaTotalFailure = "TOTAL_FAILURE"

	LatarniaMsgFailureStart            = "FAILURE_START"
	LatarniaMsgFailureEnd              = "FAILURE_END"
	LatarniaMsgMaintenanceAnnouncement = "MAINTENANCE_ANNOUNCEMENT"
)

// LatarniaStatus is the body of GET /latarnia/status: the current availability and the
// messages that explain it (none while AVAILABLE).
type LatarniaStatus struct {
	Status   string            `json:"status"`
	Messages []LatarniaMessage `json:"messages,omitempty"`
}

// LatarniaMessage is one published communication. The field set is the simulator's
// reading of the official clients' models; treat it as plausible, not authoritative.
type LatarniaMessage struct {
	ID        string     `json:"id"`
	EventID   int        `json:"eventId"`
	Category  string     `json:"category"` // FAILURE, TOTAL_FAILURE or MAINTENANCE
	Type      string     `json:"type"`     // FAILURE_START, FAILURE_END, MAINTENANCE_ANNOUNCEMENT
	Title     string     `json:"title"`
	Text      string     `json:"text"`
	Start     time.Time  `json:"start"`
	End       *time.Time `json:"end,omitempty"`
	Version   int        `json:"version"`
	Published time.Time  `json:"published"`
}

// latarniaState is the status currently published.
type latarniaState struct {
	status LatarniaStatus
}

func validLatarniaStatus(s string) bool {
	return slices.Contains([]string{LatarniaAvailable, LatarniaMaintenance, LatarniaFailure, LatarniaTotalFailure}, s)
}

// SetLatarnia publishes a status (and its messages) on /latarnia/status and /latarnia/messages.
func (s *Server) SetLatarnia(st LatarniaStatus) error {
	if !validLatarniaStatus(st.Status) {
		return fmt.Errorf("ksefsim: unknown Latarnia status %q (want AVAILABLE, MAINTENANCE, FAILURE or TOTAL_FAILURE)", st.Status)
	}
	st.Messages = slices.Clone(st.Messages)
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	s.st.latarnia.status = st
	return nil
}

// Latarnia returns the published status.
func (s *Server) Latarnia() LatarniaStatus {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	st := s.st.latarnia.status
	st.Messages = slices.Clone(st.Messages)
	return st
}

func (s *Server) handleLatarniaStatus(w http.ResponseWriter, _ *http.Request) {
	writeOK(w, http.StatusOK, s.Latarnia())
}

func (s *Server) handleLatarniaMessages(w http.ResponseWriter, _ *http.Request) {
	msgs := s.Latarnia().Messages
	if msgs == nil {
		msgs = []LatarniaMessage{}
	}
	writeOK(w, http.StatusOK, msgs)
}
