package ksefsim

import (
	"strings"
	"testing"
)

// cRouteProblem is the RFC 9110 problem KSeF answers when no operation matches.
type cRouteProblem struct {
	Type, Title, Detail, Instance, Timestamp, TraceID string
	Status                                            int
}

func TestUnknownRoutesAnswerKSeFProblemDetails(t *testing.T) {
	e := newEnv(t, Config{})
	for _, tc := range []struct {
		method, path string
		status       int
		title, allow string
	}{
		{"GET", "/v2/no/such/operation", 404, "Not Found", ""},
		{"POST", "/v2/invoices/query/metadata/extra", 404, "Not Found", ""},
		{"GET", "/", 404, "Not Found", ""},
		{"GET", "/v2/invoices/exports", 405, "Method Not Allowed", "POST"},
		{"PUT", "/v2/tokens", 405, "Method Not Allowed", "GET, POST, HEAD"},
		{"POST", "/v2/sessions/20250625-SO-2C3E6C8000-B675CF5D68-07", 405, "Method Not Allowed", "GET, HEAD"},
	} {
		r := e.call(tc.method, tc.path, nil)
		var p cRouteProblem
		r.decode(t, &p)
		if r.status != tc.status || p.Status != tc.status || p.Title != tc.title || p.Instance != tc.path ||
			!strings.HasPrefix(p.Type, "https://tools.ietf.org/html/rfc9110#section-15.5.") || p.TraceID == "" || p.Detail == "" || p.Timestamp == "" {
			t.Errorf("%s %s: %d %s", tc.method, tc.path, r.status, r.body)
		}
		if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
			t.Errorf("%s %s: Content-Type %q", tc.method, tc.path, ct)
		}
		if got := r.header.Get("Allow"); got != tc.allow {
			t.Errorf("%s %s: Allow %q, want %q", tc.method, tc.path, got, tc.allow)
		}
	}
	// Unknown control endpoints answer in the control format, never Go's plain text.
	r := e.call("GET", "/sim/nothing", nil)
	var se struct{ Error string }
	r.decode(t, &se)
	if r.status != 404 || !strings.Contains(se.Error, "/sim/nothing") {
		t.Errorf("GET /sim/nothing: %d %s", r.status, r.body)
	}
	r = e.call("DELETE", "/sim/health", nil)
	r.decode(t, &se)
	if r.status != 405 || r.header.Get("Allow") != "GET, HEAD" || !strings.Contains(se.Error, "DELETE") {
		t.Errorf("DELETE /sim/health: %d %v %s", r.status, r.header, r.body)
	}
	if st := e.sim.Stats(); st.Groups[GroupUnknown].Requests != 6 {
		t.Errorf("unknown routes counted %+v", st.Groups)
	}
	// The contract has no such operations (request violations), and checks no answer.
	e.noResponseViolations()
}
