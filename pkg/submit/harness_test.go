package submit

import (
	"context"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ksefpl/ksefpl/pkg/config"
	"github.com/ksefpl/ksefpl/pkg/ksef"
	"github.com/ksefpl/ksefpl/pkg/ksefsim"
	"github.com/ksefpl/ksefpl/pkg/secret"
	"github.com/ksefpl/ksefpl/pkg/store"
)

// harness is a real store in a temp dir, configured against a real simulator over HTTP.
type harness struct {
	t    *testing.T
	sim  *ksefsim.Server
	srv  *httptest.Server
	path string
	db   *store.DB
	keys *secret.Keyring
	cfg  *config.Service
}

const (
	nipBase  = "5261040828"
	nipShop2 = "7740001454"
)

func newHarness(t *testing.T, simCfg ksefsim.Config) *harness {
	t.Helper()
	sim, err := ksefsim.New(simCfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	h := &harness{t: t, sim: sim, srv: srv, path: filepath.Join(t.TempDir(), "ksefpl.db")}
	h.keys, err = secret.ParseKeys("6wRADHwwCBGgdxbcHhovGB0upmg0mbsN")
	if err != nil {
		t.Fatal(err)
	}
	h.db = h.open()
	h.cfg = config.New(h.db, h.keys, nil)
	h.configure(config.Default, nipBase)
	return h
}

func (h *harness) open() *store.DB {
	db, err := store.Open(context.Background(), h.path, store.Options{})
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { db.Close() })
	return db
}

// configure sets environment, base URL, seller and a fresh token at scope.
func (h *harness) configure(sc config.Scope, nip string) {
	h.t.Helper()
	tok, err := h.sim.IssueToken(nip)
	if err != nil {
		h.t.Fatal(err)
	}
	for p, v := range map[string]string{
		config.PathEnvironment: "local", config.PathBaseURL: h.srv.URL + "/v2", config.PathSellerNIP: nip,
		config.PathSellerName: "Sprzedawca " + nip, config.PathSellerAddress1: "ul. Prosta 1", config.PathSellerAddress2: "00-001 Warszawa",
		config.PathAPIToken: tok,
	} {
		if _, err := h.cfg.Set(context.Background(), p, v, sc); err != nil {
			h.t.Fatal(err)
		}
	}
}

func (h *harness) addWebsite(code, nip string) config.Scope {
	h.t.Helper()
	if _, err := h.db.CreateWebsite(context.Background(), code, code); err != nil {
		h.t.Fatal(err)
	}
	sc, err := h.cfg.WebsiteScope(context.Background(), code)
	if err != nil {
		h.t.Fatal(err)
	}
	h.configure(sc, nip)
	return sc
}

func (h *harness) env() Env {
	return Env{Config: h.cfg, DB: h.db, Keys: h.keys, Version: "test",
		// Pacing on, with its clock 1000 times faster than real time.
		Pacer: ksef.NewPacer(ksef.PacerOptions{TimeScale: 1000}),
		Retry: ksef.RetryPolicy{BaseBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, RateLimitCeiling: 2 * time.Second}}
}

func opts() Options {
	return Options{Wait: 10 * time.Second, PollInterval: 10 * time.Millisecond}
}

// invoiceJSON is a valid PLN invoice (23% and 8%) issued today.
func invoiceJSON(inc string) string {
	return fmt.Sprintf(`{"type":"invoice","increment_id":%q,"created_at":%q,"currency":"PLN",
 "buyer":{"name":"Klient S.A.","vat_id":"PL8567346215","address":{"street":"ul. Krzywa 2","city":"Kraków","postcode":"30-001","country_id":"PL"}},
 "items":[{"sku":"A","name":"Towar A","qty":"2","unit":"szt.","price":"100.00","tax_percent":"23"},
          {"sku":"B","name":"Towar B","qty":"1","price":"10.00","tax_percent":"8"}],
 "grand_total":"256.80"}`, inc, time.Now().Format(time.RFC3339))
}

// creditMemoJSON corrects invoice orig (one item A returned).
func creditMemoJSON(inc, orig string) string {
	return fmt.Sprintf(`{"type":"creditmemo","increment_id":%q,"created_at":%q,"currency":"PLN",
 "buyer":{"name":"Klient S.A.","vat_id":"PL8567346215","address":{"street":"ul. Krzywa 2","city":"Kraków","postcode":"30-001","country_id":"PL"}},
 "items":[{"sku":"A","name":"Towar A","qty":"1","unit":"szt.","price":"100.00","tax_percent":"23"}],
 "grand_total":"123.00","invoice_increment_id":%q,"reason":"Zwrot towaru"}`, inc, time.Now().Format(time.RFC3339), orig)
}

func (h *harness) enqueue(websiteID int64, typ, inc, input string) *store.Job {
	h.t.Helper()
	j, _, err := h.db.Enqueue(context.Background(), store.Job{WebsiteID: websiteID, EntityType: typ, IncrementID: inc,
		InputFormat: "json", Input: input, Status: store.JobPending}, false, store.AuditEntry{Event: store.EventTransition, Actor: "test", Reason: "QUEUED"})
	if err != nil {
		h.t.Fatal(err)
	}
	return j
}

func (h *harness) run(o Options) *Result {
	h.t.Helper()
	res, err := Run(context.Background(), h.env(), o)
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

func (h *harness) jobs(status ...string) []*store.Job {
	h.t.Helper()
	js, err := h.db.Jobs(context.Background(), store.JobFilter{Statuses: status})
	if err != nil {
		h.t.Fatal(err)
	}
	return js
}

// assertAllAccepted checks every job is ACCEPTED with a CRC-valid KSeF number, its
// invoice UPO stored, and a PENDING → SUBMITTED → ACCEPTED audit trail.
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
		upos, err := h.db.UPOs(ctx, store.UPOFilter{Kind: store.UPOInvoice, JobID: j.ID})
		if err != nil || len(upos) != 1 || !strings.Contains(string(upos[0].XML), j.KSeFNumber) {
			h.t.Errorf("job %d: invoice UPO %d rows (%v)", j.ID, len(upos), err)
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

func (h *harness) mustScope(code string) config.Scope {
	h.t.Helper()
	sc, err := h.cfg.WebsiteScope(context.Background(), code)
	if err != nil {
		h.t.Fatal(err)
	}
	return sc
}

func secretFingerprint(s string) string { return secret.Fingerprint(s) }

// rawClient closes batch sessions behind submit's back (to simulate a crash after close).
type rawClient struct {
	c   *ksef.Client
	tok string
}

func (h *harness) clientFor(ctx context.Context) (*rawClient, error) {
	w, err := websiteFor(ctx, h.env(), 1)
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
