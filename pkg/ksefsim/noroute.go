package ksefsim

import (
	"net/http"
	"slices"
	"strings"
)

// routeProblem is the body KSeF answers when no operation matches a request: the
// ASP.NET Core problem details of RFC 9110 (seen on the real service for paths not
// yet deployed, CIRFMF/ksef-api issue #620: {"type": "…rfc9110#section-15.5.5",
// "title": "Not Found", "status": 404, "traceId": "…"}), always as
// application/problem+json whatever X-Error-Format says. The simulator adds detail,
// instance and timestamp so that the answer says what was not found.
type routeProblem struct {
	Type      string `json:"type"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Detail    string `json:"detail"`
	Instance  string `json:"instance"`
	Timestamp string `json:"timestamp"`
	TraceID   string `json:"traceId"`
}

// probeMethods are the methods tried to tell 405 from 404.
var probeMethods = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch}

// allowedMethods lists the methods mux has a route for at r's path (none: the path is
// unknown).
func allowedMethods(mux *http.ServeMux, r *http.Request) []string {
	var allowed []string
	for _, m := range probeMethods {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := mux.Handler(probe); pattern != "" {
			allowed = append(allowed, m)
		}
	}
	if slices.Contains(allowed, http.MethodGet) {
		allowed = append(allowed, http.MethodHead)
	}
	return allowed
}

// writeNoRoute answers a request no API route matches: 405 with Allow when the path
// exists for other methods, else 404, as KSeF-shaped problem details.
func (s *Server) writeNoRoute(w http.ResponseWriter, r *http.Request) {
	p := routeProblem{
		Type: "https://tools.ietf.org/html/rfc9110#section-15.5.5", Title: "Not Found", Status: http.StatusNotFound,
		Detail:   "Nie znaleziono zasobu " + r.URL.Path + ".",
		Instance: r.URL.Path, Timestamp: formatTime(s.now()), TraceID: traceParent(),
	}
	if allowed := allowedMethods(s.api, r); len(allowed) > 0 {
		p.Type, p.Title, p.Status = "https://tools.ietf.org/html/rfc9110#section-15.5.6", "Method Not Allowed", http.StatusMethodNotAllowed
		p.Detail = "Metoda " + r.Method + " nie jest obsługiwana dla zasobu " + r.URL.Path + " (dozwolone: " + strings.Join(allowed, ", ") + ")."
		w.Header().Set("Allow", strings.Join(allowed, ", "))
	}
	writeJSON(w, p.Status, contentTypeProblem, p)
}

// writeSimNoRoute is writeNoRoute for the control endpoints, in their {"error": "…"}
// format.
func (s *Server) writeSimNoRoute(w http.ResponseWriter, r *http.Request) {
	if allowed := allowedMethods(s.control, r); len(allowed) > 0 {
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		writeSimError(w, http.StatusMethodNotAllowed, "method "+r.Method+" is not allowed on "+r.URL.Path+" (allowed: "+strings.Join(allowed, ", ")+")")
		return
	}
	writeSimError(w, http.StatusNotFound, "no control endpoint "+r.Method+" "+r.URL.Path+" (see the ksefsim package documentation for the /sim/ endpoints)")
}

// traceParent is a trace identifier in the W3C traceparent shape ASP.NET Core puts
// in problem details ("00-<32 hex>-<16 hex>-00").
func traceParent() string {
	return "00-" + randomHex(16) + "-" + randomHex(8) + "-00"
}
