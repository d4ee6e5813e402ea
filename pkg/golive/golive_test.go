package golive

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ksefpl/ksefpl/internal/ksefpltest"
	"github.com/ksefpl/ksefpl/pkg/certificate"
	"github.com/ksefpl/ksefpl/pkg/config"
	"github.com/ksefpl/ksefpl/pkg/conncheck"
	"github.com/ksefpl/ksefpl/pkg/fa"
	"github.com/ksefpl/ksefpl/pkg/failure"
	"github.com/ksefpl/ksefpl/pkg/kcert"
	"github.com/ksefpl/ksefpl/pkg/ksef"
	"github.com/ksefpl/ksefpl/pkg/ksefsim"
	"github.com/ksefpl/ksefpl/pkg/notify"
	"github.com/ksefpl/ksefpl/pkg/store"
	"github.com/ksefpl/ksefpl/pkg/testenv"
)

const sellerNIP = ksefpltest.NIP

// harness is the shared fixture (a real home configured against a real simulator over
// HTTP) with the seller name the checks look for.
type harness struct {
	*ksefpltest.Fixture
	t     *testing.T
	sim   *ksefsim.Server
	db    *store.DB
	cfg   *config.Service
	token string
}

const sellerName = "Sklep Przykładowy sp. z o.o."

func newHarness(t *testing.T) *harness {
	t.Helper()
	f := ksefpltest.NewFixture(t)
	h := &harness{Fixture: f, t: t, sim: f.Sim, db: f.DB(), cfg: f.Config(), token: f.Token}
	h.set(config.PathSellerName, sellerName)
	return h
}

func (h *harness) set(path, value string) { h.Set(path, value, config.Default) }

func (h *harness) scope() config.Scope { return h.Scope("base") }

func (h *harness) run(o Options) *Report {
	h.t.Helper()
	if o.Wait == 0 {
		o.Wait = 20 * time.Second
	}
	o.PollInterval = 20 * time.Millisecond
	r, err := Run(context.Background(), h.Deps, h.scope(), o)
	if err != nil {
		h.t.Fatal(err)
	}
	return r
}

// statuses returns "name=status" for every check, in order.
func statuses(r *Report) string {
	var out []string
	for _, c := range r.Checks {
		out = append(out, c.Name+"="+string(c.Status))
	}
	return strings.Join(out, ", ")
}

func check(t *testing.T, r *Report, name string) Check {
	t.Helper()
	for _, c := range r.Checks {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no check %q in %s", name, statuses(r))
	return Check{}
}

func TestRunPassesEveryCheckAgainstTheSimulator(t *testing.T) {
	h := newHarness(t)
	r := h.run(Options{})
	want := CheckConnection + "=pass, " + CheckPreview + "=pass, " + CheckLifecycle + "=pass, " + CheckKSeFNumber + "=pass, " + CheckUPO + "=pass, " + CheckNotify + "=skip"
	if got := statuses(r); got != want || !r.Success {
		for _, c := range r.Checks {
			t.Logf("%s: %s %s %s", c.Name, c.Status, c.Detail, c.Hint)
		}
		t.Fatalf("checks %s (success %v), want %s", got, r.Success, want)
	}
	if !strings.HasPrefix(r.IncrementID, "GOLIVE-") || r.Input != "built-in sample" {
		t.Errorf("increment %q input %q: want the built-in GOLIVE- sample", r.IncrementID, r.Input)
	}
	// The preview line names the configured seller and the tax codes.
	prev := check(t, r, CheckPreview).Detail
	for _, s := range []string{"526-104-08-28", sellerName, "ul. Prosta 1, 00-001 Warszawa", "23, 8", SampleGross + " PLN", "XSD skipped"} {
		if !strings.Contains(prev, s) {
			t.Errorf("preview detail %q lacks %q", prev, s)
		}
	}

	// The simulator received exactly this invoice and numbered it as recorded.
	var got *ksefsim.ReceivedInvoice
	for _, inv := range h.sim.Invoices() {
		if inv.InvoiceNumber == r.IncrementID {
			got = &inv
		}
	}
	if got == nil || got.SellerNIP != sellerNIP || got.KSeFNumber != r.KSeFNumber {
		t.Fatalf("simulator received %+v; report has %s / %s", got, r.IncrementID, r.KSeFNumber)
	}
	j, err := h.db.JobByID(context.Background(), r.JobID)
	if err != nil {
		t.Fatal(err)
	}
	if j.Status != store.JobAccepted || j.KSeFNumber != r.KSeFNumber || j.IncrementID != r.IncrementID {
		t.Errorf("job %+v, report %s %s", j, r.KSeFNumber, r.IncrementID)
	}
	upos, err := h.db.UPOs(context.Background(), store.UPOFilter{Kind: store.UPOInvoice, JobID: r.JobID})
	if err != nil || len(upos) != 1 {
		t.Fatalf("UPOs %v %v", upos, err)
	}
	if r.UPOSHA256 != ksef.SHA256Base64(upos[0].XML) || !upos[0].HashVerified {
		t.Errorf("report UPO hash %s, stored %s (verified %v)", r.UPOSHA256, upos[0].SHA256, upos[0].HashVerified)
	}
	// The check ran test-connection, which recorded its outcome.
	o, err := h.db.LastAuthOutcome(context.Background(), h.scope().WebsiteID, "test-connection")
	if err != nil || !o.Success {
		t.Errorf("last test-connection outcome %+v %v", o, err)
	}

	// A second check sends a second, new invoice.
	r2 := h.run(Options{})
	if !r2.Success || r2.IncrementID == r.IncrementID || r2.KSeFNumber == r.KSeFNumber {
		t.Errorf("second run: success %v, %s / %s after %s / %s", r2.Success, r2.IncrementID, r2.KSeFNumber, r.IncrementID, r.KSeFNumber)
	}
}

func TestRunRefusesDemoAndProductionWithoutContactingAnything(t *testing.T) {
	for _, env := range []string{"production", "demo"} {
		t.Run(env, func(t *testing.T) {
			h := newHarness(t)
			// the real host would be used: it must not be contacted
			if err := h.cfg.Delete(context.Background(), config.PathBaseURL, config.Default); err != nil {
				t.Fatal(err)
			}
			h.set(config.PathEnvironment, env)
			r, err := Run(context.Background(), h.Deps, h.scope(), Options{})
			var ee *EnvironmentError
			if !errors.As(err, &ee) || r != nil {
				t.Fatalf("Run = %v, %v; want *EnvironmentError", r, err)
			}
			if ee.Environment != env || failure.Of(err) != failure.Invalid || !strings.Contains(err.Error(), "config:set ksefpl/connection/environment test") {
				t.Errorf("error %q (class %v)", err, failure.Of(err))
			}
			if n, _ := h.db.JobCounts(context.Background(), 0); len(n) != 0 {
				t.Errorf("jobs were queued: %v", n)
			}
			if _, err := h.db.LastAuthOutcome(context.Background(), h.scope().WebsiteID, ""); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("an authentication outcome was recorded: %v", err)
			}
		})
	}
}

func TestRunWithARevokedTokenFailsTheConnectionAndSendsNothing(t *testing.T) {
	h := newHarness(t)
	if err := h.sim.RevokeToken(h.token); err != nil {
		t.Fatal(err)
	}
	r := h.run(Options{})
	want := CheckConnection + "=fail, " + CheckPreview + "=pass, " + CheckLifecycle + "=skip, " + CheckKSeFNumber + "=skip, " + CheckUPO + "=skip, " + CheckNotify + "=skip"
	if got := statuses(r); got != want || r.Success {
		t.Fatalf("checks %s (success %v), want %s", got, r.Success, want)
	}
	c, _ := r.FirstFailure()
	if c.Name != CheckConnection || c.Class != failure.Auth || !strings.Contains(c.Detail, "450") {
		t.Errorf("first failure %+v: want test-connection, auth, KSeF 450", c)
	}
	if n, _ := h.db.JobCounts(context.Background(), 0); len(n) != 0 {
		t.Errorf("jobs were queued: %v", n)
	}
	if len(h.sim.Invoices()) != 0 {
		t.Errorf("the simulator received invoices: %v", h.sim.Invoices())
	}
}

func TestRunReportsAnInvoiceKSeFHasNotFinished(t *testing.T) {
	h := newHarness(t)
	f := h.sim.Faults()
	f.Sessions.StallAll = true
	h.sim.SetFaults(f)
	r := h.run(Options{Wait: 200 * time.Millisecond})
	c, failed := r.FirstFailure()
	if !failed || c.Name != CheckLifecycle || c.Class != failure.Unavailable || !strings.Contains(c.Detail, "still SUBMITTED") {
		t.Fatalf("first failure %+v (%s)", c, statuses(r))
	}
	if got := check(t, r, CheckUPO).Status; got != conncheck.Skip {
		t.Errorf("UPO check %s, want skip", got)
	}
	j, err := h.db.JobByID(context.Background(), r.JobID)
	if err != nil || j.Status != store.JobSubmitted {
		t.Errorf("job %+v %v: want SUBMITTED, left for the next submit", j, err)
	}
}

func TestRunWithAFile(t *testing.T) {
	h := newHarness(t)
	now := time.Now()
	inv, err := SampleInvoice("FILE-1", now)
	if err != nil {
		t.Fatal(err)
	}
	r := h.run(Options{Input: inv, InputName: "inv.json"})
	if !r.Success || r.IncrementID != "FILE-1" || r.Input != "inv.json" {
		t.Fatalf("run with a file: %s, %s %s", statuses(r), r.IncrementID, r.Input)
	}
	// The same file again: already queued, the check refuses to pass on an old invoice.
	r = h.run(Options{Input: inv, InputName: "inv.json"})
	c, _ := r.FirstFailure()
	if c.Name != CheckLifecycle || c.Class != failure.Invalid || !strings.Contains(c.Detail, "already queued") {
		t.Errorf("second run first failure %+v", c)
	}
	// A credit memo is not a test invoice.
	memo := []byte(strings.Replace(string(inv), `"type": "invoice"`, `"type": "creditmemo"`, 1))
	r = h.run(Options{Input: memo})
	c, _ = r.FirstFailure()
	if c.Name != CheckPreview || c.Class != failure.Invalid || check(t, r, CheckLifecycle).Status != conncheck.Skip {
		t.Errorf("credit memo: first failure %+v (%s)", c, statuses(r))
	}
}

func TestRunNamesMissingSellerSettings(t *testing.T) {
	h := newHarness(t)
	if err := h.cfg.Delete(context.Background(), config.PathSellerAddress1, config.Default); err != nil {
		t.Fatal(err)
	}
	r := h.run(Options{})
	c, _ := r.FirstFailure()
	if c.Name != CheckPreview || !strings.Contains(c.Detail, "seller.address_line1") || !strings.Contains(c.Hint, "config:set") {
		t.Errorf("first failure %+v (%s)", c, statuses(r))
	}
	if check(t, r, CheckConnection).Status != conncheck.Pass {
		t.Errorf("the connection should still pass: %s", statuses(r))
	}
}

func TestRunValidatesAgainstTheOfficialXSD(t *testing.T) {
	dir := testenv.SharedPath(t, "schemas")
	testenv.Xmllint(t)
	h := newHarness(t)
	r := h.run(Options{SchemaDir: dir, SchemaDirExplicit: true})
	if !r.Success || r.XSD != "validated against "+dir {
		t.Fatalf("%s; xsd %q", statuses(r), r.XSD)
	}
	// FA(2) validates against FA2.xsd, and the report warns that production needs FA(3).
	h.set(config.PathInvoiceSchema, string(fa.FA2))
	r = h.run(Options{SchemaDir: dir, SchemaDirExplicit: true})
	if !r.Success || !strings.Contains(check(t, r, CheckPreview).Detail, "FA2 ") || len(r.Warnings) == 0 || !strings.Contains(r.Warnings[0], "FA3") {
		t.Fatalf("%s; preview %q; warnings %v", statuses(r), check(t, r, CheckPreview).Detail, r.Warnings)
	}
	// A named directory without the schemas is a failure, not a silent skip.
	r = h.run(Options{SchemaDir: t.TempDir(), SchemaDirExplicit: true})
	if c, _ := r.FirstFailure(); c.Name != CheckPreview || !strings.Contains(c.Detail, "FA") {
		t.Errorf("empty schema dir: first failure %+v", c)
	}
}

// golive:check works the same on a website that authenticates with a certificate.
func TestRunPassesWithACertificate(t *testing.T) {
	h := newHarness(t)
	m, err := kcert.NewTestCertificate(kcert.TestCertOptions{Kind: "seal", NIP: sellerNIP})
	if err != nil {
		t.Fatal(err)
	}
	p12, _ := kcert.EncodePKCS12(m, "")
	if _, err := certificate.Import(h.Ctx, h.Deps, certificate.ImportRequest{Scope: h.scope(), Usage: certificate.Authentication, PKCS12: p12}); err != nil {
		t.Fatal(err)
	}
	h.set(config.PathAuthMethod, config.AuthCertificate)
	r := h.run(Options{})
	if !r.Success || r.Connection == nil || r.Connection.AuthMethod != config.AuthCertificate ||
		!strings.Contains(check(t, r, CheckConnection).Detail, "certificate fingerprint "+kcert.Fingerprint(m.Cert)[:12]) {
		t.Fatalf("%s\n%+v", statuses(r), r.Checks)
	}
}

// Jobs that were PENDING before the check are reported for what the run did with them:
// two went out with it (one of them released from AUTH_ERROR by the check's connection
// test), and a credit memo was held back because its invoice had no KSeF number yet when
// the run froze it. They are never all called "sent".
func TestRunReportsOtherJobsAsSentOrDeferred(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	other := h.EnqueueRaw(store.Job{WebsiteID: 1, EntityType: "invoice", IncrementID: "OTHER-1", Input: ksefpltest.InvoiceJSON("OTHER-1")})
	held := h.EnqueueRaw(store.Job{WebsiteID: 1, EntityType: "invoice", IncrementID: "HELD-1", Input: ksefpltest.InvoiceJSON("HELD-1"),
		Status: store.JobAuthError})
	memo := h.EnqueueRaw(store.Job{WebsiteID: 1, EntityType: "creditmemo", IncrementID: "CM-1", Input: ksefpltest.CreditMemoJSON("CM-1", "HELD-1")})
	r := h.run(Options{})
	if !r.Success {
		t.Fatalf("checks %s", statuses(r))
	}
	all := strings.Join(r.Warnings, "\n")
	for _, want := range []string{
		fmt.Sprintf("2 other job(s) of website base that were PENDING went out with the same submit run: job %d (OTHER-1) now ACCEPTED; job %d (HELD-1) now ACCEPTED", other.ID, held.ID),
		fmt.Sprintf("1 other job(s) of website base were held back (deferred, still PENDING): job %d (CM-1) WAITING_FOR_ORIGINAL: ", memo.ID),
		"waits for the KSeF number of invoice HELD-1",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("warnings lack %q:\n%s", want, all)
		}
	}
	j, err := h.db.JobByID(ctx, memo.ID)
	if err != nil || j.Status != store.JobPending || j.Reason != "WAITING_FOR_ORIGINAL" {
		t.Fatalf("memo %+v, %v", j, err)
	}
	// The deferral is in the memo's audit trail once.
	n := 0
	for _, e := range h.Trail(memo.ID) {
		if e.Reason == "WAITING_FOR_ORIGINAL" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d WAITING_FOR_ORIGINAL audit rows, want 1", n)
	}
}

// With a webhook configured, the test invoice's ACCEPTED event must reach it, signed, and
// be acknowledged; a receiver that keeps failing fails the step.
func TestRunDeliversTheAcceptedEventToTheShop(t *testing.T) {
	const secret = "golive-webhook-secret"
	var got []string
	fail := false
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		if err := notify.Verify(r.Header.Get(notify.HeaderSignature), secret, body, time.Now(), 5*time.Minute); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		if fail {
			http.Error(w, "database down", http.StatusInternalServerError)
			return
		}
		got = append(got, r.Header.Get(notify.HeaderEventType)+" "+string(body))
	}))
	t.Cleanup(srv.Close)
	h := newHarness(t)
	h.set(config.PathNotifyWebhookURL, srv.URL+"/hook")
	h.set(config.PathNotifySecret, secret)
	r := h.run(Options{})
	c := check(t, r, CheckNotify)
	if c.Status != conncheck.Pass || !r.Success {
		t.Fatalf("%s: %s %s (%s)", CheckNotify, c.Status, c.Detail, statuses(r))
	}
	mu.Lock()
	if len(got) != 1 || !strings.HasPrefix(got[0], store.EventAccepted+" ") || !strings.Contains(got[0], r.KSeFNumber) {
		t.Errorf("receiver got %q, want one job.accepted with %s", got, r.KSeFNumber)
	}
	fail = true
	mu.Unlock()
	r = h.run(Options{})
	c = check(t, r, CheckNotify)
	if c.Status != conncheck.Fail || c.Class != failure.Unavailable || !strings.Contains(c.Detail, "500") || r.Success {
		t.Errorf("%s with a failing receiver: %s %s", CheckNotify, c.Status, c.Detail)
	}
}
