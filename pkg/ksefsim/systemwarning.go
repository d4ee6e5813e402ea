package ksefsim

import (
	"fmt"
	"net/http"
	"strings"
)

// headerSystemWarning carries KSeF's technical warnings (SystemWarning in
// open-api-2.8.1.json: "[code]: message | [code]: message", ASCII-folded). On TEST a
// request can force one with headerTestSystemWarning, whose value is echoed.
const (
	headerSystemWarning     = "X-System-Warning"
	headerTestSystemWarning = "X-Test-System-Warning"
)

// SystemWarning is one technical warning the simulator adds to the X-System-Warning
// header of the answers of chosen endpoints (Faults.SystemWarnings), for example
// {Code: "sig-001", Message: "..."} on POST /v2/auth/xades-signature for a signature
// profile KSeF will stop accepting. A warning never changes the answer otherwise.
type SystemWarning struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// validate checks that the warning can be rendered in the documented format (the
// parse regex is `\[(?<code>[^\]]+)\]: (?<message>[^|]+)`).
func (w SystemWarning) validate() error {
	switch {
	case strings.TrimSpace(w.Code) == "" || strings.ContainsAny(w.Code, "[]|\r\n"):
		return fmt.Errorf("code %q must be non-empty and must not contain [, ], | or line breaks", w.Code)
	case strings.TrimSpace(w.Message) == "" || strings.ContainsAny(w.Message, "|\r\n"):
		return fmt.Errorf("message %q must be non-empty and must not contain | or line breaks", w.Message)
	}
	return nil
}

// String renders the warning as KSeF does: "[code]: message", folded to ASCII.
func (w SystemWarning) String() string {
	return asciiFold("[" + strings.TrimSpace(w.Code) + "]: " + strings.TrimSpace(w.Message))
}

// renderWarnings joins warnings into one header value.
func renderWarnings(ws []SystemWarning) string {
	parts := make([]string, len(ws))
	for i, w := range ws {
		parts[i] = w.String()
	}
	return strings.Join(parts, " | ")
}

// foldMap maps the non-ASCII letters of Polish (and a few neighbours) to ASCII.
var foldMap = map[rune]string{
	'ą': "a", 'ć': "c", 'ę': "e", 'ł': "l", 'ń': "n", 'ó': "o", 'ś': "s", 'ź': "z", 'ż': "z",
	'Ą': "A", 'Ć': "C", 'Ę': "E", 'Ł': "L", 'Ń': "N", 'Ó': "O", 'Ś': "S", 'Ź': "Z", 'Ż': "Z",
	'ä': "a", 'ö': "o", 'ü': "u", 'ß': "ss", 'Ä': "A", 'Ö': "O", 'Ü': "U",
	'á': "a", 'é': "e", 'í': "i", 'ú': "u", 'č': "c", 'ř': "r", 'š': "s", 'ž': "z",
	'Á': "A", 'É': "E", 'Í': "I", 'Ú': "U", 'Č': "C", 'Ř': "R", 'Š': "S", 'Ž': "Z",
	'„': "\"", '”': "\"", '“': "\"", '–': "-", '—': "-", '’': "'",
}

// asciiFold makes a header value ASCII the way the contract describes ("normalizowana
// z użyciem ASCII folding"); characters without an ASCII form become '?'.
func asciiFold(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r < 0x80:
			b.WriteRune(r)
		case foldMap[r] != "":
			b.WriteString(foldMap[r])
		default:
			b.WriteByte('?')
		}
	}
	return b.String()
}

// systemWarningsFor picks the configured warnings of a route pattern: the most
// specific key wins, as for PerEndpoint faults. Caller holds no lock.
func (s *Server) systemWarningsFor(pattern string) []SystemWarning {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	plan := s.st.faults.warnings
	if len(plan) == 0 {
		return nil
	}
	if ws, ok := plan[pattern]; ok {
		return ws
	}
	if _, path, cut := strings.Cut(pattern, " "); cut {
		if ws, ok := plan[path]; ok {
			return ws
		}
	}
	return plan["*"]
}

// setSystemWarning puts the X-System-Warning header on the answer: the warnings
// configured for the route and, after them, the value of X-Test-System-Warning
// (echoed as on KSeF's TEST environment).
func (s *Server) setSystemWarning(w http.ResponseWriter, r *http.Request, pattern string) {
	var parts []string
	if pattern != "" {
		if ws := s.systemWarningsFor(pattern); len(ws) > 0 {
			parts = append(parts, renderWarnings(ws))
		}
	}
	if echo := strings.TrimSpace(r.Header.Get(headerTestSystemWarning)); echo != "" {
		parts = append(parts, asciiFold(echo))
	}
	if len(parts) > 0 {
		w.Header().Set(headerSystemWarning, strings.Join(parts, " | "))
	}
}
