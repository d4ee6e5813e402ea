package submit

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ksefpl/ksefpl/internal/ksefpltest"
	"github.com/ksefpl/ksefpl/pkg/config"
	"github.com/ksefpl/ksefpl/pkg/ksef"
	"github.com/ksefpl/ksefpl/pkg/ksefsim"
	"github.com/ksefpl/ksefpl/pkg/store"
)

// 21184 "Sesja tymczasowo niedostępna" mid-backlog: the job is not failed, the rest of
// the backlog goes through a new session in the same run, what the paused session had
// accepted is settled by the in-flight polling, and every document gets one number.
func TestSessionUnavailableMidBacklogLosesNothing(t *testing.T) {
	h := newHarness(t, ksefsim.Config{})
	f := h.sim.Faults()
	f.Sessions.UnavailableAtSend = 3
	h.sim.SetFaults(f)
	for i := range 8 {
		inc := "U-" + string(rune('A'+i))
		h.enqueue(1, "invoice", inc, invoiceJSON(inc))
	}
	o := opts()
	o.Mode = ModeOnline
	res := h.run(o)
	h.assertAllAccepted()
	h.assertOneNumberPerDocument()
	if n := len(res.Websites[0].Sessions); n < 2 {
		t.Errorf("%d sessions, want the paused one and a new one", n)
	}
	held := 0
	for _, j := range h.jobs() {
		for _, e := range h.Trail(j.ID) {
			if e.Reason == ReasonSessionUnavailable {
				held++
			}
			if e.ToStatus == store.JobFailed {
				t.Errorf("job %d went FAILED: %s", j.ID, e.Message)
			}
		}
	}
	if held != 1 {
		t.Errorf("%d SESSION_UNAVAILABLE rows, want 1 (the send that hit 21184)", held)
	}
}

// Each distinct X-System-Warning is recorded once per run (an audit warning row) and
// reported in the run's warnings, however many answers carry it.
func TestSystemWarningsAreRecordedOncePerRun(t *testing.T) {
	h := newHarness(t, ksefsim.Config{})
	f := h.sim.Faults()
	f.SystemWarnings = map[string][]ksefsim.SystemWarning{"*": {{Code: "xml-002", Message: "Niezalecane znaki Unicode w fakturze"}}}
	h.sim.SetFaults(f)
	for _, inc := range []string{"W-1", "W-2"} {
		h.enqueue(1, "invoice", inc, invoiceJSON(inc))
	}
	res := h.run(opts())
	h.assertAllAccepted()
	var got []string
	for _, w := range res.Websites[0].Warnings {
		if strings.Contains(w, "xml-002") {
			got = append(got, w)
		}
	}
	if len(got) != 1 || !strings.Contains(got[0], "Niezalecane znaki Unicode") {
		t.Fatalf("run warnings %q, want the KSeF warning once", res.Websites[0].Warnings)
	}
	rows, err := h.db.Audit(context.Background(), store.AuditFilter{WebsiteID: 1})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range rows {
		if e.Reason == ReasonSystemWarning {
			n++
			if e.Event != store.EventWarning || !strings.Contains(e.Message, "xml-002") {
				t.Errorf("audit row %+v", e)
			}
		}
	}
	if n != 1 {
		t.Errorf("%d %s audit rows, want 1", n, ReasonSystemWarning)
	}
}

// With validate_subject_identifiers on, sessions ask KSeF to validate the parties'
// identifiers: a document with a buyer NIP that fails its checksum (frozen by an older
// release, bypassing ksefpl's own checks) fails with its reason; without the switch
// KSeF does not look.
func TestSubjectIdentifierValidation(t *testing.T) {
	golden := ksefpltest.Testdata(t, "invoices", "domestic_b2b.golden.xml")
	bad := []byte(strings.Replace(string(golden), "<NIP>8567346215</NIP>", "<NIP>8567346216</NIP>", 1))
	frozenJob := func(h *harness) *store.Job {
		j := h.EnqueueRaw(store.Job{WebsiteID: 1, EntityType: "invoice", IncrementID: "INV-000123", InputFormat: "xml", Input: string(bad)})
		j, err := h.db.UpdateJob(context.Background(), j.ID, nil, func(x *store.Job) error {
			x.XML, x.InvoiceHash, x.FrozenAt, x.IssueDate = bad, ksef.SHA256Base64(bad), time.Now(), "2026-11-20"
			return nil
		}, store.AuditEntry{})
		if err != nil {
			t.Fatal(err)
		}
		return j
	}

	off := newHarness(t, ksefsim.Config{})
	j := frozenJob(off)
	off.run(opts())
	if j, _ = off.db.JobByID(context.Background(), j.ID); j.Status != store.JobAccepted {
		t.Fatalf("without validation: %s %s %s", j.Status, j.Reason, j.ReasonDetail)
	}

	on := newHarness(t, ksefsim.Config{})
	on.Set(config.PathValidateSubjectIdentifiers, "1", config.Default)
	j = frozenJob(on)
	res := on.run(opts())
	if j, _ = on.db.JobByID(context.Background(), j.ID); j.Status != store.JobFailed || j.Reason != ReasonSubjectIdentifier ||
		!strings.Contains(j.ReasonDetail, "8567346216") {
		t.Fatalf("with validation: %s %s %q", j.Status, j.Reason, j.ReasonDetail)
	}
	if res.Websites[0].Failed != 1 {
		t.Errorf("result %+v", res.Websites[0])
	}
}
