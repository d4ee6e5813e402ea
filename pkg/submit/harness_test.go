package submit

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ksefpl/ksefpl/internal/ksefpltest"
	"github.com/ksefpl/ksefpl/pkg/config"
	"github.com/ksefpl/ksefpl/pkg/deps"
	"github.com/ksefpl/ksefpl/pkg/ksef"
	"github.com/ksefpl/ksefpl/pkg/ksefsim"
	"github.com/ksefpl/ksefpl/pkg/secret"
	"github.com/ksefpl/ksefpl/pkg/store"
)

// harness is the shared fixture (a real home configured against a real simulator over
// HTTP) with submit's own helpers.
type harness struct {
	*ksefpltest.Fixture
	t   testing.TB
	sim *ksefsim.Server
	db  *store.DB
	cfg *config.Service
}

const (
	nipBase  = ksefpltest.NIP
	nipShop2 = ksefpltest.NIPShop2
)

func newHarness(t *testing.T, simCfg ksefsim.Config, more ...ksefpltest.Option) *harness {
	t.Helper()
	f := ksefpltest.NewFixture(t, append([]ksefpltest.Option{ksefpltest.WithSim(simCfg)}, more...)...)
	return &harness{Fixture: f, t: t, sim: f.Sim, db: f.DB(), cfg: f.Config()}
}

func (h *harness) addWebsite(code, nip string) config.Scope { return h.AddWebsite(code, nip) }

func (h *harness) deps() *deps.Deps { return h.Deps }

// opts are a run's options: pacing on, with its clock 1000 times faster than real time.
func opts() Options {
	return Options{Wait: 10 * time.Second, PollInterval: 10 * time.Millisecond,
		RunSettings: RunSettings{Pacer: ksef.NewPacer(ksef.PacerOptions{TimeScale: 1000})}}
}

func invoiceJSON(inc string) string          { return ksefpltest.InvoiceJSON(inc) }
func creditMemoJSON(inc, orig string) string { return ksefpltest.CreditMemoJSON(inc, orig) }

func (h *harness) enqueue(websiteID int64, typ, inc, input string) *store.Job {
	h.t.Helper()
	return h.EnqueueRaw(store.Job{WebsiteID: websiteID, EntityType: typ, IncrementID: inc, Input: input})
}

func (h *harness) run(o Options) *Result {
	h.t.Helper()
	res, err := Run(context.Background(), h.deps(), o)
	if err != nil {
		h.t.Fatal(err)
	}
	for _, w := range res.Websites {
		if w.Error != "" {
			h.t.Fatalf("website %s: %s", w.Website, w.Error)
		}
	}
	return res
}

func (h *harness) jobs(status ...string) []*store.Job { return h.Jobs(status...) }

// assertAllAccepted checks every job is ACCEPTED with a CRC-valid KSeF number and a
// PENDING → SUBMITTED → ACCEPTED audit trail, with its UPO: an online session's invoice
// has its own stored, a batch session's invoice is named in the session's stored UPO
// (its own is fetched on demand) and none is due.
func (h *harness) assertAllAccepted() {
	h.t.Helper()
	ctx := context.Background()
	for _, j := range h.jobs() {
		if j.Status != store.JobAccepted {
			h.t.Fatalf("job %d %s is %s (%s %s)", j.ID, j.IncrementID, j.Status, j.Reason, j.ReasonDetail)
		}
		if err := ksef.ValidateKSeFNumber(j.KSeFNumber); err != nil {
			h.t.Errorf("job %d: KSeF number %q: %v", j.ID, j.KSeFNumber, err)
		}
		if j.UPODue {
			h.t.Errorf("job %d: its UPO is still due", j.ID)
		}
		sess, err := h.db.SessionByRef(ctx, j.SessionReference)
		if err != nil {
			h.t.Fatalf("job %d: session %s: %v", j.ID, j.SessionReference, err)
		}
		upos, err := h.db.UPOs(ctx, store.UPOFilter{Kind: store.UPOInvoice, JobID: j.ID})
		switch {
		case err != nil:
			h.t.Fatal(err)
		case sess.Kind == store.SessionBatch:
			if len(upos) != 0 {
				h.t.Errorf("job %d of batch session %s: %d invoice UPOs stored, want them on demand only", j.ID, sess.Reference, len(upos))
			}
			named := false
			session, err := h.db.UPOs(ctx, store.UPOFilter{Kind: store.UPOSession, SessionReference: sess.Reference})
			for _, u := range session {
				named = named || strings.Contains(string(u.XML), j.KSeFNumber)
			}
			if err != nil || !named {
				h.t.Errorf("job %d: %s is in no stored UPO of batch session %s (%d pages, %v)", j.ID, j.KSeFNumber, sess.Reference, len(session), err)
			}
		case len(upos) != 1 || !strings.Contains(string(upos[0].XML), j.KSeFNumber):
			h.t.Errorf("job %d: invoice UPO %d rows", j.ID, len(upos))
		}
		trail, err := h.db.Audit(ctx, store.AuditFilter{JobID: j.ID})
		if err != nil {
			h.t.Fatal(err)
		}
		if got := statusPath(trail); !containsInOrder(got, store.JobPending, store.JobSubmitted, store.JobAccepted) {
			h.t.Errorf("job %d: audit path %v lacks PENDING → SUBMITTED → ACCEPTED", j.ID, got)
		}
	}
}

// assertOneNumberPerDocument asks the simulator (the judge) that each document of a
// seller got exactly one KSeF number, and that the number is the one the job holds.
func (h *harness) assertOneNumberPerDocument() {
	h.t.Helper()
	numbers := map[string][]string{}
	for _, inv := range h.sim.Invoices() {
		if inv.KSeFNumber != "" {
			k := inv.SellerNIP + "|" + inv.InvoiceType + "|" + inv.InvoiceNumber
			numbers[k] = append(numbers[k], inv.KSeFNumber)
		}
	}
	for k, ns := range numbers {
		if len(ns) != 1 {
			h.t.Errorf("document %s has %d KSeF numbers: %v", k, len(ns), ns)
		}
	}
	for _, j := range h.jobs(store.JobAccepted) {
		found := false
		for _, ns := range numbers {
			if len(ns) == 1 && ns[0] == j.KSeFNumber {
				found = true
			}
		}
		if !found {
			h.t.Errorf("job %d's KSeF number %s is not the simulator's number for it", j.ID, j.KSeFNumber)
		}
	}
}

func statusPath(trail []store.AuditEntry) []string {
	var out []string
	for _, e := range trail {
		if e.Event == store.EventTransition && e.FromStatus != e.ToStatus {
			out = append(out, e.ToStatus)
		}
	}
	return out
}

func containsInOrder(seq []string, want ...string) bool {
	i := 0
	for _, s := range seq {
		if i < len(want) && s == want[i] {
			i++
		}
	}
	return i == len(want)
}

func (h *harness) mustScope(code string) config.Scope { return h.Scope(code) }

func secretFingerprint(s string) string { return secret.Fingerprint(s) }

// rawClient closes batch sessions behind submit's back (to simulate a crash after close).
type rawClient struct {
	c   *ksef.Client
	tok string
}

func (h *harness) clientFor(ctx context.Context) (*rawClient, error) {
	w, err := websiteFor(ctx, newEnv(h.deps(), Options{}, "test"), 1)
	if err != nil {
		return nil, err
	}
	tok, err := w.token(ctx)
	if err != nil {
		return nil, err
	}
	return &rawClient{c: w.client, tok: tok}, nil
}

func (r *rawClient) close(ctx context.Context, ref string) error {
	return r.c.CloseBatchSession(ctx, r.tok, ref)
}
