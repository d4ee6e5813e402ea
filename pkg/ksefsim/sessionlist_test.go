package ksefsim

import (
	"testing"

	"github.com/ksefpl/ksefpl/pkg/kcert"
)

// TestSessionListScope: GET /sessions shows every session of the context to
// Introspection, and only the caller's own sessions to InvoiceWrite alone.
func TestSessionListScope(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{})
	const pesel = "88102341294"
	if err := e.sim.GrantPermissions(PermissionGrant{ContextNIP: testNIP, SubjectType: "Pesel", Value: pesel, Permissions: &[]string{"InvoiceWrite"}}); err != nil {
		t.Fatal(err)
	}
	person, _ := e.xadesLogin(e.testCert(kcert.TestCertOptions{Kind: kcert.KindPersonal, PESEL: pesel, KeyType: kcert.KeyEC}), testNIP, "certificateSubject")
	owner, _ := e.xadesLogin(e.seal(testNIP, kcert.KeyEC), testNIP, "certificateSubject") // owner: Introspection
	mine := e.openSession(person)
	e.openSession(owner)
	list := func(access string) []string {
		var out struct {
			Sessions []struct{ ReferenceNumber string }
		}
		r := e.call("GET", "/v2/sessions?sessionType=Online", nil, bearer(access)...)
		if r.status != 200 {
			t.Fatalf("GET /sessions: %d %s", r.status, r.body)
		}
		r.decode(t, &out)
		var refs []string
		for _, s := range out.Sessions {
			refs = append(refs, s.ReferenceNumber)
		}
		return refs
	}
	if got := list(person); len(got) != 1 || got[0] != mine.ref {
		t.Fatalf("InvoiceWrite sees %v, want only its own %s", got, mine.ref)
	}
	if got := list(owner); len(got) != 2 {
		t.Fatalf("Introspection sees %v, want both sessions", got)
	}
	e.noViolations()
}
