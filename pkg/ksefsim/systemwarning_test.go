package ksefsim

import (
	"strings"
	"testing"

	"github.com/ksefpl/ksefpl/pkg/kcert"
)

func TestSystemWarningsOnChosenEndpoints(t *testing.T) {
	e := newEnv(t, Config{})
	sig := SystemWarning{Code: "sig-001", Message: "Podpis XAdES w profilu, który wkrótce nie będzie akceptowany."}
	e.sim.SetFaults(Faults{SystemWarnings: map[string][]SystemWarning{
		"POST /v2/auth/xades-signature": {sig},
		"/v2/auth/{referenceNumber}":    {{Code: "auth-1", Message: "first"}, {Code: "auth-2", Message: "second"}},
	}})
	const folded = "[sig-001]: Podpis XAdES w profilu, ktory wkrotce nie bedzie akceptowany."
	if sig.String() != folded {
		t.Fatalf("rendered %q, want the ASCII-folded %q", sig.String(), folded)
	}

	m := e.seal(testNIP, kcert.KeyEC)
	r := e.postXades(e.signedRequest(m, testNIP, "certificateSubject"), "")
	if r.status != 202 || r.header.Get("X-System-Warning") != folded {
		t.Fatalf("xades-signature: %d warning %q %s", r.status, r.header.Get("X-System-Warning"), r.body)
	}
	var in cInit
	r.decode(t, &in)
	// A pattern without a method applies to every method; several warnings are joined.
	r = e.call("GET", "/v2/auth/"+in.ReferenceNumber, nil, bearer(in.AuthenticationToken.Token)...)
	if got := r.header.Get("X-System-Warning"); r.status != 200 || got != "[auth-1]: first | [auth-2]: second" {
		t.Fatalf("auth status: %d warning %q", r.status, got)
	}
	// Endpoints without a plan get no header; the X-Test-System-Warning echo is kept
	// and follows the configured warnings.
	if r := e.call("POST", "/v2/auth/challenge", nil); r.header.Get("X-System-Warning") != "" {
		t.Fatalf("challenge got a warning %q", r.header.Get("X-System-Warning"))
	}
	r = e.call("POST", "/v2/auth/challenge", nil, "X-Test-System-Warning", "[xml-002]: test")
	if got := r.header.Get("X-System-Warning"); got != "[xml-002]: test" {
		t.Fatalf("echo: %q", got)
	}
	r = e.postXades(e.signedRequest(m, testNIP, "certificateSubject"), "", "X-Test-System-Warning", "[t-1]: echo")
	if got := r.header.Get("X-System-Warning"); r.status != 202 || got != folded+" | [t-1]: echo" {
		t.Fatalf("configured and echoed: %d %q", r.status, got)
	}

	// "*" covers every endpoint outside /sim/; the plan is read back through /sim/faults.
	cc := &ControlClient{URL: e.url}
	if err := cc.SetFaults(t.Context(), Faults{SystemWarnings: map[string][]SystemWarning{"*": {{Code: "all", Message: "everywhere"}}}}); err != nil {
		t.Fatal(err)
	}
	if r := e.call("GET", "/v2/security/public-key-certificates", nil); r.header.Get("X-System-Warning") != "[all]: everywhere" {
		t.Fatalf("wildcard: %q", r.header.Get("X-System-Warning"))
	}
	if r := e.call("GET", "/sim/health", nil); r.header.Get("X-System-Warning") != "" {
		t.Fatal("a control endpoint got a warning")
	}
	got, err := cc.Faults(t.Context())
	if err != nil || len(got.SystemWarnings["*"]) != 1 || got.SystemWarnings["*"][0].Code != "all" {
		t.Fatalf("ControlClient.Faults: %+v, %v", got, err)
	}
	// Malformed warnings are refused with a clear error.
	r = e.call("PUT", "/sim/faults", map[string]any{"systemWarnings": map[string]any{"*": []map[string]string{{"code": "a|b", "message": "x"}}}})
	if r.status != 400 || !strings.Contains(string(r.body), "code") {
		t.Fatalf("bad warning accepted: %d %s", r.status, r.body)
	}
	e.noViolations()
}
