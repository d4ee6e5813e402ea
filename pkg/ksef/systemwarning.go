package ksef

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/ksefpl/ksefpl/internal/lazyre"
)

// SystemWarningHeader is the response header in which KSeF sends technical
// warnings (API 2.6.0+, schema SystemWarning).
const SystemWarningHeader = "X-System-Warning"

// testSystemWarningHeader asks KSeF's TEST environment to answer with the
// given X-System-Warning (Options.TestSystemWarning).
const testSystemWarningHeader = "X-Test-System-Warning"

// SystemWarning is one technical warning KSeF sent in the X-System-Warning
// response header: something the integration does that works today but may be
// refused in a later version (for example characters KSeF will stop accepting
// in an invoice). A warning never changes the outcome of the call that carried
// it. KSeF folds the text to ASCII.
type SystemWarning struct {
	// Code is KSeF's warning code, e.g. "xml-002"; empty when the header did
	// not follow the documented "[code]: message" form (the whole text is then
	// in Message).
	Code string
	// Message is the warning text.
	Message string
	// Method and Path identify the call that received the warning: the path
	// relative to the API base, or for a pre-signed link the link without its
	// query (its signature).
	Method string
	Path   string
	// HTTPStatus is the status of the answer that carried the warning.
	HTTPStatus int
}

// Key identifies the warning itself, whatever call carried it: the code and
// the message. Callers that report each distinct warning once use it.
func (w SystemWarning) Key() string { return w.Code + "\x00" + w.Message }

// String renders the warning for people.
func (w SystemWarning) String() string {
	code := ""
	if w.Code != "" {
		code = " [" + w.Code + "]"
	}
	return fmt.Sprintf("KSeF warning%s on %s %s: %s", code, w.Method, w.Path, w.Message)
}

// oneWarning matches one documented warning: "[code]: message".
var oneWarning = lazyre.New(`^\[([^\]]+)\]:\s*(.*)$`)

// ParseSystemWarnings splits an X-System-Warning value of the documented form
// "[code]: message | [code]: message" into its warnings. Nothing is dropped: a
// piece without the "[code]: " prefix becomes a warning with an empty Code
// and the piece as its Message. Method, Path and HTTPStatus are left empty.
func ParseSystemWarnings(value string) []SystemWarning {
	var out []SystemWarning
	for _, piece := range strings.Split(value, "|") {
		piece = strings.TrimSpace(piece)
		if piece == "" {
			continue
		}
		if m := oneWarning.FindStringSubmatch(piece); m != nil {
			out = append(out, SystemWarning{Code: strings.TrimSpace(m[1]), Message: strings.TrimSpace(m[2])})
			continue
		}
		out = append(out, SystemWarning{Message: piece})
	}
	return out
}

// systemWarnings reads every X-System-Warning header of an answer.
func systemWarnings(method, path string, status int, h http.Header) []SystemWarning {
	var out []SystemWarning
	for _, v := range h.Values(SystemWarningHeader) {
		for _, w := range ParseSystemWarnings(v) {
			w.Method, w.Path, w.HTTPStatus = method, path, status
			out = append(out, w)
		}
	}
	return out
}

// reportWarnings hands the warnings of one answer to Options.OnSystemWarning
// and returns them.
func (c *Client) reportWarnings(method, path string, status int, h http.Header) []SystemWarning {
	ws := systemWarnings(method, path, status, h)
	if c.onWarning != nil {
		for _, w := range ws {
			c.onWarning(w)
		}
	}
	return ws
}
