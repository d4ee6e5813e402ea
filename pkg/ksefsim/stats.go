package ksefsim

import (
	"maps"
	"net/http"
	"strings"
)

// GroupStats counts the calls of one endpoint group.
type GroupStats struct {
	Requests        int `json:"requests"`
	TooManyRequests int `json:"tooManyRequests"` // answers with HTTP 429 (rate limit or injected)
}

// Stats counts the API calls the simulator answered since it started (or since
// ResetStats): in total and per endpoint group (the Group* names). Control calls under
// /sim/ are not counted. Invoices is the number of invoices received in online and
// batch sessions, so that "API calls per invoice" is Requests / Invoices.
type Stats struct {
	Requests        int                   `json:"requests"`
	TooManyRequests int                   `json:"tooManyRequests"`
	Invoices        int                   `json:"invoices"`
	Groups          map[string]GroupStats `json:"groups"`
}

// statsState is the running count behind Stats.
type statsState struct {
	groups        map[string]GroupStats
	invoicesSince int // len(sessions.invoices) when the stats were last reset
}

// groupOf names the statistics group of a request routed to pattern ("" = no route).
func groupOf(path, pattern string) string {
	switch {
	case pattern == "":
		return GroupUnknown
	case strings.HasPrefix(path, "/v2/"):
		return limitFor(pattern).group
	case strings.HasPrefix(path, "/storage/"):
		return GroupStorage
	case strings.HasPrefix(path, "/latarnia/"):
		return GroupLatarnia
	case strings.HasPrefix(path, "/qr/"):
		return GroupQR
	case strings.HasPrefix(path, "/api/"):
		return GroupLegacy
	default:
		return GroupUnknown
	}
}

// countRequest records one answered API call.
func (s *Server) countRequest(group string, status int) {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	if s.st.stats.groups == nil {
		s.st.stats.groups = map[string]GroupStats{}
	}
	g := s.st.stats.groups[group]
	g.Requests++
	if status == http.StatusTooManyRequests {
		g.TooManyRequests++
	}
	s.st.stats.groups[group] = g
}

// Stats returns the request counters.
func (s *Server) Stats() Stats {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	out := Stats{Groups: maps.Clone(s.st.stats.groups), Invoices: len(s.st.sessions.invoices) - s.st.stats.invoicesSince}
	if out.Groups == nil {
		out.Groups = map[string]GroupStats{}
	}
	for _, g := range out.Groups {
		out.Requests += g.Requests
		out.TooManyRequests += g.TooManyRequests
	}
	return out
}

// ResetStats sets every counter back to zero.
func (s *Server) ResetStats() {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	s.st.stats = statsState{invoicesSince: len(s.st.sessions.invoices)}
}

// handleSimStats serves GET /sim/stats -> Stats.
func (s *Server) handleSimStats(w http.ResponseWriter, _ *http.Request) {
	writeOK(w, http.StatusOK, s.Stats())
}

// handleSimResetStats serves DELETE /sim/stats -> 204.
func (s *Server) handleSimResetStats(w http.ResponseWriter, _ *http.Request) {
	s.ResetStats()
	w.WriteHeader(http.StatusNoContent)
}
