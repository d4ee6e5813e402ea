package ksefsim

import (
	"fmt"
	"strconv"
	"testing"
)

// TestSessionTemporarilyUnavailable21184 covers the maintenance answer of API 2.8.0:
// the armed session refuses sends from the N-th on, stays open, and what it accepted
// before is processed, numbered and confirmed by the close as usual.
func TestSessionTemporarilyUnavailable21184(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{})
	access := e.loggedIn(testNIP)
	e.sim.SetFaults(Faults{Sessions: SessionFaults{UnavailableAtSend: 3}})
	cs := e.openSession(access)
	if f := e.sim.Faults(); f.Sessions.UnavailableAtSend != 0 {
		t.Fatalf("the fault was not consumed by the session it armed: %+v", f.Sessions)
	}
	refs := []string{cs.send(fa3(testNIP, "FP/1", e.today())), cs.send(fa3(testNIP, "FP/2", e.today()))}
	const detail = "Trwają prace serwisowe i sesja %s jest tymczasowo niedostępna. Spróbuj ponownie później lub otwórz nową sesję, aby wysłać kolejne faktury."
	for i := 3; i <= 4; i++ {
		r := cs.sendRaw(cs.sendBody(fa3(testNIP, "FP/"+strconv.Itoa(i), e.today())))
		code, details := exceptionCode(t, r)
		if r.status != 400 || code != 21184 || len(details) != 1 || details[0] != fmt.Sprintf(detail, cs.ref) {
			t.Fatalf("send %d: %d %s", i, r.status, r.body)
		}
	}
	// Problem details carry the same error.
	r := e.call("POST", "/v2/sessions/online/"+cs.ref+"/invoices", cs.sendBody(fa3(testNIP, "FP/5", e.today())),
		append(bearer(access), "X-Error-Format", "problem-details")...)
	var p cProblem
	r.decode(t, &p)
	if r.status != 400 || len(p.Errors) != 1 || p.Errors[0].Code != 21184 || p.Errors[0].Description != "Sesja tymczasowo niedostępna." {
		t.Fatalf("problem details: %d %s", r.status, r.body)
	}
	// The session is still open, and the two accepted invoices settle by polling.
	if st := cs.status(); st.Status.Code != 100 || st.InvoiceCount != 2 {
		t.Fatalf("session after 21184: %+v", st)
	}
	for _, ref := range refs {
		if v, seen := cs.waitInvoice(ref); v.Status.Code != 200 || v.KsefNumber == "" {
			t.Fatalf("invoice %s after 21184: %v %+v", ref, seen, v)
		}
	}
	cs.close()
	if st, seen := cs.waitSession(); st.Status.Code != 200 || st.SuccessfulInvoiceCount != 2 || st.UPO == nil {
		t.Fatalf("session close after 21184: %v %+v", seen, st)
	}
	// A new session is not affected.
	cs2 := e.openSession(access)
	cs2.send(fa3(testNIP, "FP/3", e.today()))

	// UnavailableSends pauses the next N sends anywhere, then sends go through again.
	if err := (&ControlClient{URL: e.url}).SetFaults(t.Context(), Faults{Sessions: SessionFaults{UnavailableSends: 1}}); err != nil {
		t.Fatal(err)
	}
	r = cs2.sendRaw(cs2.sendBody(fa3(testNIP, "FP/4", e.today())))
	if code, _ := exceptionCode(t, r); r.status != 400 || code != 21184 {
		t.Fatalf("paused send: %d %s", r.status, r.body)
	}
	cs2.send(fa3(testNIP, "FP/4", e.today()))
	if n := len(e.sim.Invoices()); n != 4 {
		t.Fatalf("the judge saw %d invoices, want the 4 accepted", n)
	}
	e.noViolations()
}
