package ksefsim

import (
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Faults describes injected failures. Keys of PerEndpoint name an endpoint by its
// route pattern with or without the method ("POST /v2/auth/challenge",
// "/v2/auth/{referenceNumber}", "POST /api/online/Session/AuthorisationToken"), or
// "*" for every endpoint outside /sim/. The most specific key wins: method+pattern,
// then pattern, then "*". Control endpoints (/sim/...) never fail.
//
// Sessions holds the session and invoice faults; they are independent of endpoints.
//
// SystemWarnings makes endpoints answer with an X-System-Warning header carrying the
// given warnings ("[code]: message | …"), on every answer while the plan is
// installed; its keys name endpoints like those of PerEndpoint (most specific wins).
// A request header X-Test-System-Warning is echoed after them, as on KSeF's TEST.
type Faults struct {
	PerEndpoint    map[string]EndpointFault   `json:"perEndpoint,omitempty"`
	Sessions       SessionFaults              `json:"sessions,omitzero"`
	SystemWarnings map[string][]SystemWarning `json:"systemWarnings,omitempty"`
}

// EndpointFault is the fault plan of one endpoint. Counters ("next N calls") are
// deterministic and are consumed in this order: TooManyRequests, FailNext, HTMLNext.
// When no counter is pending, HTML and then ErrorRate apply. Latency delays every call
// (also the failing ones). In JSON, durations are Go duration strings ("250ms", "2s")
// or integer nanoseconds.
type EndpointFault struct {
	ErrorRate       float64       `json:"errorRate,omitempty"`       // probability (0..1) that a call answers FailStatus
	FailNext        int           `json:"failNext,omitempty"`        // the next N calls answer FailStatus
	FailStatus      int           `json:"failStatus,omitempty"`      // 5xx status for ErrorRate/FailNext; default 500
	Latency         time.Duration `json:"latency,omitempty"`         // added before answering
	TooManyRequests int           `json:"tooManyRequests,omitempty"` // the next N calls answer 429
	RetryAfter      time.Duration `json:"retryAfter,omitempty"`      // Retry-After for those 429s; default 1s
	HTML            bool          `json:"html,omitempty"`            // every call answers the WAF HTML page
	HTMLNext        int           `json:"htmlNext,omitempty"`        // the next N calls answer the WAF HTML page
}

// endpointFaultJSON mirrors EndpointFault with string durations.
type endpointFaultJSON struct {
	ErrorRate       float64         `json:"errorRate,omitempty"`
	FailNext        int             `json:"failNext,omitempty"`
	FailStatus      int             `json:"failStatus,omitempty"`
	Latency         json.RawMessage `json:"latency,omitempty"`
	TooManyRequests int             `json:"tooManyRequests,omitempty"`
	RetryAfter      json.RawMessage `json:"retryAfter,omitempty"`
	HTML            bool            `json:"html,omitempty"`
	HTMLNext        int             `json:"htmlNext,omitempty"`
}

// MarshalJSON writes durations as Go duration strings.
func (f EndpointFault) MarshalJSON() ([]byte, error) {
	j := endpointFaultJSON{
		ErrorRate: f.ErrorRate, FailNext: f.FailNext, FailStatus: f.FailStatus,
		TooManyRequests: f.TooManyRequests, HTML: f.HTML, HTMLNext: f.HTMLNext,
	}
	if f.Latency != 0 {
		j.Latency, _ = json.Marshal(f.Latency.String())
	}
	if f.RetryAfter != 0 {
		j.RetryAfter, _ = json.Marshal(f.RetryAfter.String())
	}
	return json.Marshal(j)
}

// UnmarshalJSON accepts durations as strings ("1.5s") or integer nanoseconds.
func (f *EndpointFault) UnmarshalJSON(b []byte) error {
	var j endpointFaultJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	lat, err := parseJSONDuration("latency", j.Latency)
	if err != nil {
		return err
	}
	ra, err := parseJSONDuration("retryAfter", j.RetryAfter)
	if err != nil {
		return err
	}
	*f = EndpointFault{
		ErrorRate: j.ErrorRate, FailNext: j.FailNext, FailStatus: j.FailStatus, Latency: lat,
		TooManyRequests: j.TooManyRequests, RetryAfter: ra, HTML: j.HTML, HTMLNext: j.HTMLNext,
	}
	return nil
}

func parseJSONDuration(field string, raw json.RawMessage) (time.Duration, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return 0, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		d, err := time.ParseDuration(s)
		if err != nil {
			return 0, fmt.Errorf("%s: %w (use a Go duration such as \"250ms\" or \"2s\")", field, err)
		}
		return d, nil
	}
	var n int64
	if err := json.Unmarshal(raw, &n); err != nil {
		return 0, fmt.Errorf("%s: want a duration string such as \"2s\" or integer nanoseconds", field)
	}
	return time.Duration(n), nil
}

// validate checks a fault plan before it is installed.
func (f Faults) validate() error {
	if err := f.Sessions.validate(); err != nil {
		return err
	}
	for k, ws := range f.SystemWarnings {
		if len(ws) == 0 {
			return fmt.Errorf("ksefsim: system warnings %q: give at least one warning (or leave the key out)", k)
		}
		for _, w := range ws {
			if err := w.validate(); err != nil {
				return fmt.Errorf("ksefsim: system warnings %q: %w", k, err)
			}
		}
	}
	for k, e := range f.PerEndpoint {
		if e.ErrorRate < 0 || e.ErrorRate > 1 {
			return fmt.Errorf("ksefsim: fault %q: errorRate must be between 0 and 1", k)
		}
		if e.FailStatus != 0 && (e.FailStatus < 500 || e.FailStatus > 599) {
			return fmt.Errorf("ksefsim: fault %q: failStatus must be a 5xx status", k)
		}
		if e.FailNext < 0 || e.TooManyRequests < 0 || e.HTMLNext < 0 || e.Latency < 0 || e.RetryAfter < 0 {
			return fmt.Errorf("ksefsim: fault %q: counts and durations must not be negative", k)
		}
	}
	return nil
}

// faultState is the installed plan; its counters are consumed as calls arrive.
type faultState struct {
	plan     map[string]EndpointFault
	sessions SessionFaults
	warnings map[string][]SystemWarning
}

// SetFaults replaces the fault plan. Invalid plans (rates outside 0..1, non-5xx
// failStatus, negative counts) are ignored; use PUT /sim/faults to get the error.
func (s *Server) SetFaults(f Faults) {
	_ = s.setFaults(f)
}

func (s *Server) setFaults(f Faults) error {
	if err := f.validate(); err != nil {
		return err
	}
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	s.st.faults.plan = maps.Clone(f.PerEndpoint)
	s.st.faults.sessions = f.Sessions
	s.st.faults.warnings = cloneWarnings(f.SystemWarnings)
	return nil
}

// Faults returns the current plan, with counters showing what is still pending.
func (s *Server) Faults() Faults {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	return Faults{PerEndpoint: maps.Clone(s.st.faults.plan), Sessions: s.st.faults.sessions,
		SystemWarnings: cloneWarnings(s.st.faults.warnings)}
}

// cloneWarnings copies a warning plan so that callers never share its slices.
func cloneWarnings(m map[string][]SystemWarning) map[string][]SystemWarning {
	if m == nil {
		return nil
	}
	out := make(map[string][]SystemWarning, len(m))
	for k, ws := range m {
		out[k] = slices.Clone(ws)
	}
	return out
}

// faultAction is what one call suffers.
type faultAction struct {
	latency    time.Duration
	kind       int // 0 none, 1 429, 2 5xx, 3 html
	status     int
	retryAfter time.Duration
}

// nextFault picks the fault for a call to pattern and consumes counters.
func (s *Server) nextFault(pattern string) faultAction {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	plan := s.st.faults.plan
	if len(plan) == 0 {
		return faultAction{}
	}
	key := pattern
	f, ok := plan[key]
	if !ok {
		if _, path, cut := strings.Cut(pattern, " "); cut {
			key = path
			f, ok = plan[key]
		}
	}
	if !ok {
		key = "*"
		if f, ok = plan[key]; !ok {
			return faultAction{}
		}
	}
	a := faultAction{latency: f.Latency, status: f.FailStatus, retryAfter: f.RetryAfter}
	if a.status == 0 {
		a.status = http.StatusInternalServerError
	}
	if a.retryAfter == 0 {
		a.retryAfter = time.Second
	}
	switch {
	case f.TooManyRequests > 0:
		f.TooManyRequests--
		a.kind = 1
	case f.FailNext > 0:
		f.FailNext--
		a.kind = 2
	case f.HTMLNext > 0:
		f.HTMLNext--
		a.kind = 3
	case f.HTML:
		a.kind = 3
	case f.ErrorRate > 0 && rand.Float64() < f.ErrorRate:
		a.kind = 2
	}
	plan[key] = f
	return a
}

// wafPage imitates the Imperva/Incapsula block page that sits in front of KSeF (ISS #740).
const wafPage = `<html style="height:100%"><head><META NAME="ROBOTS" CONTENT="NOINDEX, NOFOLLOW"><meta name="format-detection" content="telephone=no"><meta name="viewport" content="initial-scale=1.0"><meta http-equiv="X-UA-Compatible" content="IE=edge,chrome=1"></head><body style="margin:0px;height:100%"><iframe id="main-iframe" src="/_Incapsula_Resource?CWUDNSAI=23&xinfo=ksefsim" frameborder=0 width="100%" height="100%" marginheight="0px" marginwidth="0px">Request unsuccessful. Incapsula incident ID: 0-ksefsim</iframe></body></html>`

// injectFault applies the fault plan to a call; it reports whether it answered.
func (s *Server) injectFault(w http.ResponseWriter, r *http.Request, pattern string) bool {
	a := s.nextFault(pattern)
	if a.latency > 0 {
		t := time.NewTimer(a.latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return true
		}
	}
	switch a.kind {
	case 1:
		s.writeTooManyRequests(w, r, a.retryAfter, "")
	case 2:
		s.writeInternal(w, a.status)
	case 3:
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("X-Iinfo", "0-0-0 NNNN CT(0 0 0) RT(0 0) q(0 0 0 -1) r(0 0) U5")
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(wafPage))
	default:
		return false
	}
	return true
}
