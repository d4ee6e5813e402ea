package submit

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ksefpl/ksefpl/internal/ksefpltest"
	"github.com/ksefpl/ksefpl/pkg/config"
	"github.com/ksefpl/ksefpl/pkg/failure"
	"github.com/ksefpl/ksefpl/pkg/ksefsim"
	"github.com/ksefpl/ksefpl/pkg/store"
)

func TestFiftyDocumentsTwoWebsitesAllAccepted(t *testing.T) {
	h := newHarness(t, ksefsim.Config{})
	shop2 := h.addWebsite("shop2", nipShop2)
	for i := 1; i <= 24; i++ {
		h.enqueue(1, "invoice", fmt.Sprintf("INV-%03d", i), invoiceJSON(fmt.Sprintf("INV-%03d", i)))
		h.enqueue(shop2.WebsiteID, "invoice", fmt.Sprintf("S2-%03d", i), invoiceJSON(fmt.Sprintf("S2-%03d", i)))
	}
	h.enqueue(1, "creditmemo", "CM-001", creditMemoJSON("CM-001", "INV-001"))
	h.enqueue(shop2.WebsiteID, "creditmemo", "S2-CM-001", creditMemoJSON("S2-CM-001", "S2-001"))

	// Run until everything settles; the credit memos wait for their originals' numbers.
	for i := 0; i < 4 && len(h.jobs(store.JobAccepted)) < 50; i++ {
		h.run(opts())
	}
	h.assertAllAccepted()
	h.assertOneNumberPerDocument()

	ctx := context.Background()
	// Two websites, two NIPs, separate sessions.
	s1, _ := h.db.Sessions(ctx, 1)
	s2, _ := h.db.Sessions(ctx, shop2.WebsiteID)
	if len(s1) == 0 || len(s2) == 0 {
		t.Fatalf("sessions: base %d, shop2 %d", len(s1), len(s2))
	}
	for _, s := range append(s1, s2...) {
		if s.Status != store.SessionClosed {
			t.Errorf("session %s is %s", s.Reference, s.Status)
		}
		upos, _ := h.db.UPOs(ctx, store.UPOFilter{Kind: store.UPOSession, SessionReference: s.Reference})
		if len(upos) == 0 {
			t.Errorf("session %s has no UPO", s.Reference)
		}
	}
	for _, j := range h.jobs() {
		wantNIP := nipBase
		if j.WebsiteID == shop2.WebsiteID {
			wantNIP = nipShop2
		}
		if !strings.HasPrefix(j.KSeFNumber, wantNIP+"-") {
			t.Errorf("job %d (website %d) has KSeF number %s", j.ID, j.WebsiteID, j.KSeFNumber)
		}
	}
	// The credit memo references its original's KSeF number.
	for _, pair := range [][2]string{{"CM-001", "INV-001"}, {"S2-CM-001", "S2-001"}} {
		cm, _ := h.db.Jobs(ctx, store.JobFilter{IncrementID: pair[0]})
		orig, _ := h.db.Jobs(ctx, store.JobFilter{IncrementID: pair[1]})
		if len(cm) != 1 || len(orig) != 1 {
			t.Fatalf("jobs for %v", pair)
		}
		x := string(cm[0].XML)
		if !strings.Contains(x, "<NrKSeFFaKorygowanej>"+orig[0].KSeFNumber+"</NrKSeFFaKorygowanej>") {
			t.Errorf("credit memo %s does not reference %s's KSeF number %s", pair[0], pair[1], orig[0].KSeFNumber)
		}
	}
}

func TestTerminatedSessionFailsThenRetrySucceeds(t *testing.T) {
	h := newHarness(t, ksefsim.Config{})
	for i := 1; i <= 3; i++ {
		h.enqueue(1, "invoice", fmt.Sprintf("T-%d", i), invoiceJSON(fmt.Sprintf("T-%d", i)))
	}
	f := h.sim.Faults()
	f.Sessions.TerminateAfterInvoices = 2
	h.sim.SetFaults(f)
	res := h.run(opts())
	failed := h.jobs(store.JobFailed)
	if len(failed) == 0 || res.Failed != len(failed) {
		t.Fatalf("failed jobs = %d, result.Failed = %d", len(failed), res.Failed)
	}
	for _, j := range failed {
		if j.Reason != ReasonSessionTerminated || j.KSeFNumber != "" {
			t.Errorf("job %d: %s %q", j.ID, j.Reason, j.KSeFNumber)
		}
	}
	sess, _ := h.db.Sessions(context.Background(), 1, store.SessionTerminated)
	if len(sess) != 1 {
		t.Fatalf("terminated sessions = %d", len(sess))
	}
	// queue retry --failed: FAILED → PENDING, same frozen bytes.
	for _, j := range failed {
		before := j.InvoiceHash
		nj, err := h.db.UpdateJob(context.Background(), j.ID, []string{store.JobFailed}, func(x *store.Job) error {
			x.Status, x.Reason = store.JobPending, ReasonRetry
			return nil
		}, store.AuditEntry{Event: store.EventTransition, Actor: "test", Reason: ReasonRetry})
		if err != nil || nj.InvoiceHash != before {
			t.Fatalf("retry: %v", err)
		}
	}
	h.run(opts())
	h.assertAllAccepted()
	h.assertOneNumberPerDocument()
}

func TestAutoRetryRequeuesTerminated(t *testing.T) {
	h := newHarness(t, ksefsim.Config{})
	h.enqueue(1, "invoice", "AR-1", invoiceJSON("AR-1"))
	f := h.sim.Faults()
	f.Sessions.TerminateAfterInvoices = 1
	h.sim.SetFaults(f)
	o := opts()
	o.AutoRetry = true
	res := h.run(o)
	if res.Failed != 0 || len(h.jobs(store.JobPending)) != 1 {
		t.Fatalf("auto-retry: failed %d, pending %d", res.Failed, len(h.jobs(store.JobPending)))
	}
	h.run(o)
	h.assertAllAccepted()
}

func TestFiveHundredAfterAcceptResolvedWithoutSecondNumber(t *testing.T) {
	h := newHarness(t, ksefsim.Config{})
	h.enqueue(1, "invoice", "D-1", invoiceJSON("D-1"))
	h.enqueue(1, "invoice", "D-2", invoiceJSON("D-2"))
	f := h.sim.Faults()
	f.Sessions.FailAfterAccept = 1
	h.sim.SetFaults(f)
	h.run(opts())
	h.assertAllAccepted()
	h.assertOneNumberPerDocument()
	// The first send got a 500 though KSeF had it; the resend was a 440 duplicate that
	// resolved to the same document.
	j, _ := h.db.Jobs(context.Background(), store.JobFilter{IncrementID: "D-1"})
	if j[0].Reason != ReasonDuplicateResolved {
		t.Errorf("D-1 reason = %q, want %s", j[0].Reason, ReasonDuplicateResolved)
	}
	received := 0
	for _, inv := range h.sim.Invoices() {
		if inv.InvoiceNumber == "D-1" {
			received++
		}
	}
	if received != 2 {
		t.Errorf("D-1 reached KSeF %d times, want 2 (the send and its resend)", received)
	}
}

func TestStalledInvoicesFinishedByLaterRun(t *testing.T) {
	h := newHarness(t, ksefsim.Config{})
	h.enqueue(1, "invoice", "S-1", invoiceJSON("S-1"))
	f := h.sim.Faults()
	f.Sessions.StallAll = true
	h.sim.SetFaults(f)
	o := opts()
	o.Wait = 200 * time.Millisecond
	res := h.run(o)
	if res.Waiting != 1 || len(h.jobs(store.JobSubmitted)) != 1 {
		t.Fatalf("first run: waiting %d, submitted %d", res.Waiting, len(h.jobs(store.JobSubmitted)))
	}
	f.Sessions.StallAll = false
	h.sim.SetFaults(f)
	h.sim.ReleaseStalledInvoices()
	h.run(opts())
	h.assertAllAccepted()
	if sent := h.sim.Invoices(); len(sent) != 1 {
		t.Fatalf("KSeF received %d invoices, want 1 (no resend of a submitted job)", len(sent))
	}
}

func TestConcurrentRunsNeverSendTwice(t *testing.T) {
	h := newHarness(t, ksefsim.Config{})
	for i := 1; i <= 20; i++ {
		h.enqueue(1, "invoice", fmt.Sprintf("C-%02d", i), invoiceJSON(fmt.Sprintf("C-%02d", i)))
	}
	var wg sync.WaitGroup
	results := make([]*Result, 4)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := *h.deps()
			d.DB = h.OpenDB() // each "process" its own connection pool
			o := opts()
			o.Holder = fmt.Sprintf("test|%d|runner", 1_000_000+i)
			o.ClaimWindow = 3 // small windows, so that the runs share the backlog
			res, err := Run(context.Background(), &d, o)
			if err != nil {
				t.Error(err)
			}
			results[i] = res
		}()
	}
	wg.Wait()
	h.run(opts()) // finish whatever was left mid-flight
	h.assertAllAccepted()
	h.assertOneNumberPerDocument()
	if n := len(h.sim.Invoices()); n != 20 {
		t.Fatalf("KSeF received %d sends for 20 invoices", n)
	}
	assertOneSendEach(t, h)
	senders := 0
	for _, r := range results {
		if r != nil && r.Websites[0].Sent > 0 {
			senders++
		}
	}
	if senders < 2 {
		t.Log("note: only one run sent (the runs did not overlap)")
	}
}

// Two submit processes of one website send different jobs in parallel: A claims a
// window and stops mid-send (its first job SENDING in its open session), B sends every
// other window meanwhile and leaves A's job and session alone; A then finishes its
// window and settles what B left behind once B released it.
func TestTwoRunsSendDifferentJobsOfOneWebsiteInParallel(t *testing.T) {
	h := newHarness(t, ksefsim.Config{})
	for i := 1; i <= 20; i++ {
		h.enqueue(1, "invoice", fmt.Sprintf("P-%02d", i), invoiceJSON(fmt.Sprintf("P-%02d", i)))
	}
	paused, resume := make(chan int64, 1), make(chan struct{})
	var once sync.Once
	oa := opts()
	oa.ClaimWindow, oa.Holder = 5, "test|1000001|A"
	oa.Hooks.AfterSend = func(id int64) error {
		once.Do(func() { paused <- id; <-resume })
		return nil
	}
	var resA *Result
	done := make(chan struct{})
	go func() {
		defer close(done)
		d := *h.deps()
		d.DB = h.OpenDB()
		var err error
		if resA, err = Run(context.Background(), &d, oa); err != nil {
			t.Error(err)
		}
	}()
	first := <-paused
	ob := opts()
	ob.ClaimWindow, ob.Holder, ob.Wait = 5, "test|1000002|B", 300*time.Millisecond
	d := *h.deps()
	d.DB = h.OpenDB()
	resB, err := Run(context.Background(), &d, ob)
	if err != nil {
		t.Fatal(err)
	}
	if got := resB.Websites[0]; got.Sent != 15 || got.Error != "" {
		t.Fatalf("B sent %d jobs (error %q), want the 15 A had not claimed", got.Sent, got.Error)
	}
	j, err := h.db.JobByID(context.Background(), first)
	if err != nil || j.Status != store.JobSending {
		t.Fatalf("A's job %d mid-send is %v after B's run (%v): B must leave it to A", first, j, err)
	}
	close(resume)
	<-done
	if got := resA.Websites[0]; got.Sent != 5 || got.Error != "" {
		t.Fatalf("A sent %d jobs (error %q), want its window of 5", got.Sent, got.Error)
	}
	h.run(opts())
	h.assertAllAccepted()
	h.assertOneNumberPerDocument()
	if n := len(h.sim.Invoices()); n != 20 {
		t.Fatalf("KSeF received %d sends for 20 invoices, want 20", n)
	}
	assertOneSendEach(t, h)
	trail, err := h.db.Audit(context.Background(), store.AuditFilter{JobID: first})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range trail {
		if e.Reason == ReasonNotReceived || e.Reason == ReasonRecovered {
			t.Errorf("A's job %d was recovered by another run while A was sending it: %+v", first, e)
		}
	}
}

// assertOneSendEach checks that every job was sent exactly once (one SEND audit row).
func assertOneSendEach(t *testing.T, h *harness) {
	t.Helper()
	for _, j := range h.jobs() {
		trail, err := h.db.Audit(context.Background(), store.AuditFilter{JobID: j.ID})
		if err != nil {
			t.Fatal(err)
		}
		sends := 0
		for _, e := range trail {
			if e.Reason == ReasonSend {
				sends++
			}
		}
		if sends != 1 {
			t.Errorf("job %d %s was sent %d times", j.ID, j.IncrementID, sends)
		}
	}
}

func TestCrashAfterSendIsRecoveredWithoutResend(t *testing.T) {
	h := newHarness(t, ksefsim.Config{})
	for i := 1; i <= 3; i++ {
		h.enqueue(1, "invoice", fmt.Sprintf("K-%d", i), invoiceJSON(fmt.Sprintf("K-%d", i)))
	}
	o := opts()
	crash := errors.New("simulated crash")
	o.Hooks.AfterSend = func(jobID int64) error {
		if jobID == 2 {
			return crash
		}
		return nil
	}
	res, err := Run(context.Background(), h.deps(), o)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(res.Websites[0].Error, "simulated crash") {
		t.Fatalf("run error = %q", res.Websites[0].Error)
	}
	j2, _ := h.db.JobByID(context.Background(), 2)
	if j2.Status != store.JobSending {
		t.Fatalf("job 2 after the crash is %s, want SENDING", j2.Status)
	}
	h.run(opts())
	h.assertAllAccepted()
	h.assertOneNumberPerDocument()
	if n := len(h.sim.Invoices()); n != 3 {
		t.Fatalf("KSeF received %d sends, want 3: the crashed job must be recovered, not resent", n)
	}
	trail, _ := h.db.Audit(context.Background(), store.AuditFilter{JobID: 2})
	recovered := false
	for _, e := range trail {
		recovered = recovered || e.Reason == ReasonRecovered
	}
	if !recovered {
		t.Error("no RECOVERED audit entry for the crashed job")
	}
}

func TestCrashBeforeSendResendsSameBytes(t *testing.T) {
	h := newHarness(t, ksefsim.Config{})
	j := h.enqueue(1, "invoice", "B-1", invoiceJSON("B-1"))
	// A run died after recording SENDING but before KSeF got anything: simulate by freezing
	// and marking SENDING in a session KSeF never saw.
	_, err := h.db.UpdateJob(context.Background(), j.ID, nil, func(x *store.Job) error {
		x.XML = []byte(nil)
		x.Status, x.SessionReference, x.Attempts = store.JobSending, "", 1
		return nil
	}, store.AuditEntry{Event: store.EventTransition, Actor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	h.run(opts())
	h.assertAllAccepted()
	if n := len(h.sim.Invoices()); n != 1 {
		t.Fatalf("KSeF received %d sends, want 1", n)
	}
}

func TestRevokedTokenRecordsOutcomeAndFailsWithAuthClass(t *testing.T) {
	h := newHarness(t, ksefsim.Config{})
	h.enqueue(1, "invoice", "R-1", invoiceJSON("R-1"))
	tok, _, err := h.cfg.Secret(context.Background(), "ksefpl/connection/api_token", h.mustScope("base"))
	if err != nil {
		t.Fatal(err)
	}
	if err := h.sim.RevokeToken(tok); err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), h.deps(), opts())
	if err != nil {
		t.Fatal(err)
	}
	if res.FirstErrorClass() != "auth" {
		t.Fatalf("class = %q (%s)", res.FirstErrorClass(), res.Websites[0].Error)
	}
	o, err := h.db.LastAuthOutcome(context.Background(), 1, "")
	if err != nil || o.Success || o.Reason != "TOKEN_REJECTED" {
		t.Fatalf("outcome = %+v, %v", o, err)
	}
	if len(h.jobs(store.JobPending)) != 1 {
		t.Fatal("the job must stay PENDING")
	}
}

func TestProductionBlockedUntilProductionConnectionTestPasses(t *testing.T) {
	h := newHarness(t, ksefsim.Config{}, ksefpltest.WithOfficialHosts())
	h.enqueue(1, "invoice", "P-1", invoiceJSON("P-1"))
	ctx := context.Background()
	// Production at its official host, which the simulator answers (through a proxy,
	// trusting a test CA).
	h.UseOfficialHost(h.mustScope("base"), "production")
	res, err := Run(ctx, h.deps(), opts())
	if err != nil {
		t.Fatal(err)
	}
	if res.FirstErrorClass() != "invalid" || !strings.Contains(res.Websites[0].Error, "ksefpl test-connection --website base") {
		t.Fatalf("first run: %q (%s)", res.FirstErrorClass(), res.Websites[0].Error)
	}
	if n := len(h.sim.Invoices()); n != 0 {
		t.Fatalf("%d invoices reached KSeF before the production test", n)
	}
	// A passed test against another environment, or with another token, does not count.
	s, _ := h.db.WebsiteByCode(ctx, "base")
	fp := func() string {
		tok, _, _ := h.cfg.Secret(ctx, "ksefpl/connection/api_token", h.mustScope("base"))
		return secretFingerprint(tok)
	}
	for _, o := range []store.AuthOutcome{
		{WebsiteID: s.ID, Source: "test-connection", Environment: "test", TokenFingerprint: fp(), Success: true},
		{WebsiteID: s.ID, Source: "test-connection", Environment: "production", TokenFingerprint: "other", Success: true},
	} {
		if _, err := h.db.RecordAuthOutcome(ctx, o); err != nil {
			t.Fatal(err)
		}
		if res, _ := Run(ctx, h.deps(), opts()); res.FirstErrorClass() != "invalid" {
			t.Fatalf("outcome %+v unblocked production", o)
		}
	}
	if _, err := h.db.RecordAuthOutcome(ctx, store.AuthOutcome{WebsiteID: s.ID, Source: "test-connection", Environment: "production", TokenFingerprint: fp(), Success: true}); err != nil {
		t.Fatal(err)
	}
	h.run(opts())
	h.assertAllAccepted()
}

func TestProductionThroughACustomHostNeedsATestThroughThatHost(t *testing.T) {
	h := newHarness(t, ksefsim.Config{}, ksefpltest.WithOfficialHosts())
	ctx := context.Background()
	base := h.mustScope("base")
	h.UseOfficialHost(base, "production")
	// A corporate proxy in front of KSeF (any *.ksef.mf.gov.pl host reaches the
	// simulator here): refused until allow_custom_host is 1.
	const proxy = "https://ksef-proxy.ksef.mf.gov.pl/v2"
	var ie *config.InvalidValueError
	if _, err := h.cfg.Set(ctx, config.PathBaseURL, proxy, base); !errors.As(err, &ie) {
		t.Fatalf("custom host without allow_custom_host: %v", err)
	}
	h.Set(config.PathAllowCustomHost, "1", base)
	h.Set(config.PathBaseURL, proxy, base)
	s, err := h.Deps.Website(ctx, base)
	if err != nil || s.CustomHost != "ksef-proxy.ksef.mf.gov.pl" || s.Target() != "production via ksef-proxy.ksef.mf.gov.pl" {
		t.Fatalf("settings: custom host %q, target %q, %v", s.CustomHost, s.Target(), err)
	}
	// A passed test against production itself (the official host) does not unlock
	// the custom host.
	if _, err := h.db.RecordAuthOutcome(ctx, store.AuthOutcome{WebsiteID: base.WebsiteID, Source: "test-connection",
		Environment: "production", TokenFingerprint: s.CredentialFingerprint, Success: true}); err != nil {
		t.Fatal(err)
	}
	h.enqueue(1, "invoice", "C-1", invoiceJSON("C-1"))
	res, err := Run(ctx, h.deps(), opts())
	if err != nil || res.FirstErrorClass() != failure.Invalid || !strings.Contains(res.Websites[0].Error, "production via ksef-proxy.ksef.mf.gov.pl") {
		t.Fatalf("guard: %+v, %v", res.Websites[0], err)
	}
	if _, err := h.db.RecordAuthOutcome(ctx, store.AuthOutcome{WebsiteID: base.WebsiteID, Source: "test-connection",
		Environment: s.Target(), TokenFingerprint: s.CredentialFingerprint, Success: true}); err != nil {
		t.Fatal(err)
	}
	// Now it sends, and says where to on every run.
	var warnings []string
	d := *h.deps()
	d.Warn = func(msg string) { warnings = append(warnings, msg) }
	if _, err := Run(ctx, &d, opts()); err != nil {
		t.Fatal(err)
	}
	h.assertAllAccepted()
	if len(warnings) == 0 || !strings.Contains(warnings[0], "ksef-proxy.ksef.mf.gov.pl") || !strings.Contains(warnings[0], "api.ksef.mf.gov.pl") {
		t.Fatalf("warnings = %q", warnings)
	}
}

func TestGetUPOFetchesWhatIsNotStored(t *testing.T) {
	h := newHarness(t, ksefsim.Config{})
	h.enqueue(1, "invoice", "U-1", invoiceJSON("U-1"))
	// UPO downloads fail during the run (HTML pages are not retried): the job is accepted
	// without its UPO, and the session keeps waiting for its collective UPO.
	down := ksefsim.EndpointFault{HTML: true}
	h.sim.SetFaults(ksefsim.Faults{PerEndpoint: map[string]ksefsim.EndpointFault{
		"GET /storage/{sessionRef}/{kind}/{file}":                                  down,
		"GET /v2/sessions/{referenceNumber}/invoices/ksef/{ksefNumber}/upo":        down,
		"GET /v2/sessions/{referenceNumber}/upo/{upoReferenceNumber}":              down,
		"GET /v2/sessions/{referenceNumber}/invoices/{invoiceReferenceNumber}/upo": down,
	}})
	o := opts()
	o.Wait = 300 * time.Millisecond
	if _, err := Run(context.Background(), h.deps(), o); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	j := h.jobs(store.JobAccepted)
	if len(j) != 1 {
		t.Fatalf("accepted = %d", len(j))
	}
	if u, _ := h.db.UPOs(ctx, store.UPOFilter{}); len(u) != 0 {
		t.Fatalf("%d UPOs stored despite the failing downloads", len(u))
	}
	h.sim.SetFaults(ksefsim.Faults{})
	for _, sel := range []UPOSelector{{KSeFNumber: j[0].KSeFNumber}, {JobID: j[0].ID}, {Session: j[0].SessionReference}} {
		upos, err := GetUPO(ctx, h.deps(), sel)
		if err != nil || len(upos) == 0 || !upos[0].HashVerified {
			t.Fatalf("GetUPO(%+v) = %v, %v", sel, upos, err)
		}
		if sel.Session == "" && !strings.Contains(string(upos[0].XML), j[0].KSeFNumber) {
			t.Errorf("invoice UPO lacks the KSeF number")
		}
	}
	if u, _ := h.db.UPOs(ctx, store.UPOFilter{}); len(u) != 2 {
		t.Fatalf("stored UPOs = %d, want the invoice's and the session's", len(u))
	}
	if _, err := GetUPO(ctx, h.deps(), UPOSelector{JobID: 999}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown job: %v", err)
	}
}

func TestSessionPastValidUntilIsMarkedExpiredThenClosed(t *testing.T) {
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	h := newHarness(t, ksefsim.Config{Clock: clock})
	h.enqueue(1, "invoice", "E-1", invoiceJSON("E-1"))
	f := h.sim.Faults()
	f.Sessions.StallAll = true
	h.sim.SetFaults(f)
	env := *h.deps()
	env.Now = clock
	o := opts()
	o.NoWait = true
	if _, err := Run(context.Background(), &env, o); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	now = now.Add(13 * time.Hour)
	mu.Unlock()
	if _, err := Run(context.Background(), &env, o); err != nil {
		t.Fatal(err)
	}
	ss, _ := h.db.Sessions(context.Background(), 1)
	if len(ss) != 1 || ss[0].Status != store.SessionExpired {
		t.Fatalf("session after its 12 hours: %+v", ss)
	}
	f.Sessions.StallAll = false
	h.sim.SetFaults(f)
	h.sim.ReleaseStalledInvoices()
	o.NoWait = false
	o.Wait = 5 * time.Second
	res, err := Run(context.Background(), &env, o)
	if err != nil || res.Websites[0].Error != "" {
		t.Fatalf("%v %+v", err, res)
	}
	h.assertAllAccepted()
	ss, _ = h.db.Sessions(context.Background(), 1)
	if ss[0].Status != store.SessionClosed {
		t.Fatalf("session = %s, want closed once KSeF finished it", ss[0].Status)
	}
	trail, _ := h.db.Audit(context.Background(), store.AuditFilter{SessionReference: ss[0].Reference})
	if !containsInOrder(sessionPath(trail), store.SessionExpired, store.SessionClosed) {
		t.Fatalf("session trail %v", sessionPath(trail))
	}
}

func sessionPath(trail []store.AuditEntry) []string {
	var out []string
	for _, e := range trail {
		if e.Event == store.EventSession && e.FromStatus != e.ToStatus {
			out = append(out, e.ToStatus)
		}
	}
	return out
}
