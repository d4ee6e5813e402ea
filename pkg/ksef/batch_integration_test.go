package ksef_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ksefpl/ksefpl/pkg/failure"

	"github.com/ksefpl/ksefpl/internal/oapicheck"
	"github.com/ksefpl/ksefpl/pkg/ksef"
	"github.com/ksefpl/ksefpl/pkg/ksefsim"
)

// Integration tests of batch sessions and pacing against the real simulator
// over loopback HTTP, every /v2/ exchange checked against open-api-2.8.1.json.

// limitedSim is a simulator (optionally with its rate limits on and a
// compressed rate-limit clock) behind the contract checker, recording the
// arrival time of every call per route.
type limitedSim struct {
	sim   *ksefsim.Server
	srv   *httptest.Server
	check *oapicheck.Checker
	c     *ksef.Client
	pacer *ksef.Pacer
	nip   string
	token string

	mu      sync.Mutex
	arrived map[string][]time.Time
}

func startLimitedSim(t *testing.T, nip string, cfg ksefsim.Config, pace bool) *limitedSim {
	t.Helper()
	sim, err := ksefsim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	chk := ksef.ContractChecker(t)
	e := &limitedSim{sim: sim, check: chk, nip: nip, arrived: map[string][]time.Time{}}
	inner := chk.Middleware(sim)
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		at := time.Now()
		route := r.Method + " " + r.URL.Path
		if seg := strings.Split(strings.Trim(r.URL.Path, "/"), "/"); len(seg) == 3 && seg[1] == "sessions" && seg[2] != "online" && seg[2] != "batch" {
			route = r.Method + " /v2/sessions/{ref}"
		}
		e.mu.Lock()
		e.arrived[route] = append(e.arrived[route], at)
		e.mu.Unlock()
		inner.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		e.srv.Close()
		for _, v := range chk.Violations() {
			t.Errorf("contract violation: %s", v)
		}
	})
	opts := ksef.Options{BaseURL: e.srv.URL + "/v2", Version: "itest",
		Retry:            ksef.RetryPolicy{MaxAttempts: 4, BaseBackoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond, RateLimitCeiling: 10 * time.Second},
		AuthPollInterval: 5 * time.Millisecond, StatusPollInterval: 5 * time.Millisecond, StatusPollTimeout: 30 * time.Second}
	if pace {
		e.pacer = ksef.NewPacer(ksef.PacerOptions{TimeScale: cfg.TimeScale})
		opts.Pacer = e.pacer
	}
	if e.c, err = ksef.NewClient(opts); err != nil {
		t.Fatal(err)
	}
	if e.token, err = sim.IssueToken(nip); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *limitedSim) access(t *testing.T) string {
	t.Helper()
	a, err := e.c.AccessToken(context.Background(), ksef.Credentials{Auth: ksef.TokenAuth{Token: e.token}, NIP: e.nip})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// batchInvoices yields n FA(3) invoices of the seller, named by number.
func batchInvoices(seller, prefix string, n int) iter.Seq2[string, []byte] {
	return func(yield func(string, []byte) bool) {
		for i := 1; i <= n; i++ {
			num := fmt.Sprintf("%s/%03d", prefix, i)
			if !yield(fmt.Sprintf("%s-%03d.xml", prefix, i), miniFA3(seller, num)) {
				return
			}
		}
	}
}

// packageIn3Parts builds the invoices into exactly three parts.
func packageIn3Parts(t *testing.T, files iter.Seq2[string, []byte]) *ksef.BatchPackage {
	t.Helper()
	_, size, _, err := ksef.WriteBatchZIP(context.Background(), io.Discard, files, 0)
	if err != nil {
		t.Fatal(err)
	}
	p, err := ksef.BuildBatchPackage(context.Background(), files, ksef.BatchPackageOptions{Dir: t.TempDir(),
		Limits: ksef.BatchLimits{MaxPartSize: (size + 2) / 3}})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Parts) != 3 {
		t.Fatalf("%d parts, want 3", len(p.Parts))
	}
	return p
}

// TestSimBatch25InvoicesIn3Parts sends 25 invoices in a 3-part package with
// the simulator's rate limits on (compressed 20×) and a paced client: the
// session ends 200, every invoice is numbered and listed under its file
// name with its hash, and no call was answered 429.
func TestSimBatch25InvoicesIn3Parts(t *testing.T) {
	const nip = "5265877635"
	e := startLimitedSim(t, nip, ksefsim.Config{RateLimits: true, TimeScale: 20}, true)
	ctx := context.Background()
	acc := e.access(t)
	files := batchInvoices(nip, "FB", 25)
	p := packageIn3Parts(t, files)
	bs, err := e.c.OpenBatchSession(ctx, acc, ksef.FormCodeFA3(), p, ksef.BatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.c.UploadBatchParts(ctx, bs, p.Parts, 3); err != nil {
		t.Fatal(err)
	}
	if err := e.c.CloseBatchSession(ctx, acc, bs.ReferenceNumber); err != nil {
		t.Fatal(err)
	}
	st, err := e.c.WaitForSession(ctx, acc, bs.ReferenceNumber)
	if err != nil {
		t.Fatal(err)
	}
	if !st.Succeeded() || st.SuccessfulInvoiceCount != 25 || st.InvoiceCount != 25 {
		t.Fatalf("session %s: status %d %q, %d/%d invoices successful", bs.ReferenceNumber, st.Status.Code, st.Status.Description, st.SuccessfulInvoiceCount, st.InvoiceCount)
	}
	byName := map[string]ksef.BatchEntry{}
	for _, en := range p.Entries {
		byName[en.FileName] = en
	}
	seen := map[string]bool{}
	for inv, err := range e.c.AllSessionInvoices(ctx, acc, bs.ReferenceNumber, 10) {
		if err != nil {
			t.Fatal(err)
		}
		en, ok := byName[inv.InvoiceFileName]
		switch {
		case !ok:
			t.Errorf("KSeF lists file %q, not in the package", inv.InvoiceFileName)
		case inv.InvoiceHash != en.Hash:
			t.Errorf("%s: hash %s, sent %s", inv.InvoiceFileName, inv.InvoiceHash, en.Hash)
		case !inv.Status.Succeeded() || ksef.ValidateKSeFNumber(inv.KSeFNumber) != nil:
			t.Errorf("%s: status %d, KSeF number %q", inv.InvoiceFileName, inv.Status.Code, inv.KSeFNumber)
		}
		seen[inv.InvoiceFileName] = true
	}
	if len(seen) != 25 {
		t.Errorf("%d invoices listed, want 25", len(seen))
	}
	for inv, err := range e.c.AllFailedSessionInvoices(ctx, acc, bs.ReferenceNumber, 10) {
		if err != nil {
			t.Fatal(err)
		}
		t.Errorf("failed invoice listed: %s %d", inv.InvoiceFileName, inv.Status.Code)
	}
	if n := len(e.sim.Invoices()); n != 25 {
		t.Errorf("the simulator received %d invoices, want 25", n)
	}
	if s := e.sim.Stats(); s.TooManyRequests != 0 {
		t.Errorf("the simulator answered 429 %d times to a paced client: %+v", s.TooManyRequests, s.Groups)
	}
	if tot := e.pacer.Stats().Total(); tot.TooManyRequests != 0 || tot.Calls == 0 {
		t.Errorf("pacer stats %+v", tot)
	}
}

// TestSimBatchWrongPartHash declares a part hash that does not match the
// uploaded bytes: the storage accepts the upload, and KSeF fails the
// session with the official status 405.
func TestSimBatchWrongPartHash(t *testing.T) {
	const nip = "7010002137"
	e := startLimitedSim(t, nip, ksefsim.Config{}, false)
	ctx := context.Background()
	acc := e.access(t)
	p := packageIn3Parts(t, batchInvoices(nip, "FH", 6))
	p.Parts[1].FileHash = p.Parts[0].FileHash
	bs, err := e.c.OpenBatchSession(ctx, acc, ksef.FormCodeFA3(), p, ksef.BatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.c.UploadBatchParts(ctx, bs, p.Parts, 3); err != nil {
		t.Fatal(err)
	}
	if err := e.c.CloseBatchSession(ctx, acc, bs.ReferenceNumber); err != nil {
		t.Fatal(err)
	}
	st, err := e.c.WaitForSession(ctx, acc, bs.ReferenceNumber)
	if err != nil {
		t.Fatal(err)
	}
	var sf *ksef.SessionFailedError
	if !errors.As(st.Err(), &sf) || sf.Code != ksef.SessionPackageInvalid || failure.Of(st.Err()) != failure.Rejected {
		t.Fatalf("session with a wrong part hash: status %d %q (%v)", st.Status.Code, st.Status.Description, st.Err())
	}
	if !strings.Contains(st.Err().Error(), "rebuild the package") {
		t.Errorf("message gives no advice: %v", st.Err())
	}
	if n := len(e.sim.Invoices()); n != 0 {
		t.Errorf("%d invoices were accepted from an invalid package", n)
	}
}

// TestSimBatchWrongPartSizeRefusedAtClose declares sizes that add up but do
// not match what is uploaded (16 bytes moved from part 2 to part 3): closing
// is refused with 21157.
func TestSimBatchWrongPartSizeRefusedAtClose(t *testing.T) {
	const nip = "7010002137"
	e := startLimitedSim(t, nip, ksefsim.Config{}, false)
	ctx := context.Background()
	acc := e.access(t)
	p := packageIn3Parts(t, batchInvoices(nip, "FS", 6))
	declared := p.Parts
	bad := append([]ksef.BatchPart(nil), p.Parts...)
	bad[2].FileSize += 16
	bad[1].FileSize -= 16
	p.Parts = bad
	bs, err := e.c.OpenBatchSession(ctx, acc, ksef.FormCodeFA3(), p, ksef.BatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.c.UploadBatchParts(ctx, bs, declared, 3); err != nil {
		t.Fatal(err)
	}
	err = e.c.CloseBatchSession(ctx, acc, bs.ReferenceNumber)
	var ae *ksef.APIError
	if !errors.As(err, &ae) || !ae.HasCode(ksef.ErrCodeBatchPartSize) {
		t.Fatalf("close with a wrong declared size: %v", err)
	}
}

// TestSimPaced200StatusCallsWithoutA429 makes 200 session-status calls from
// four goroutines against the simulator with its rate limits on (windows
// compressed 20×): no call is answered 429, and counted from the arrival
// times at the server, no second holds more than 10 calls and no minute
// more than 120 (sessionMisc: 10/s, 120/min, 1200/h).
func TestSimPaced200StatusCallsWithoutA429(t *testing.T) {
	const nip, scale = "5265877635", 20
	e := startLimitedSim(t, nip, ksefsim.Config{RateLimits: true, TimeScale: scale}, true)
	ctx := context.Background()
	acc := e.access(t)
	s, err := e.c.OpenOnlineSession(ctx, acc, ksef.FormCodeFA3())
	if err != nil {
		t.Fatal(err)
	}
	const n = 200
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; i < n; i += 4 {
				if _, err := e.c.SessionStatus(ctx, acc, s.ReferenceNumber); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	e.mu.Lock()
	times := append([]time.Time(nil), e.arrived["GET /v2/sessions/{ref}"]...)
	e.mu.Unlock()
	if len(times) != n {
		t.Fatalf("%d status calls arrived, want %d", len(times), n)
	}
	if st := e.sim.Stats(); st.TooManyRequests != 0 || st.Groups["sessionMisc"].Requests != n {
		t.Errorf("simulator stats %+v", st)
	}
	for _, w := range []struct {
		span  time.Duration
		limit int
	}{{time.Second / scale, 10}, {time.Minute / scale, 120}} {
		if m := mostInWindow(times, w.span); m > w.limit {
			t.Errorf("%d calls arrived within %s (a compressed window), limit %d", m, w.span, w.limit)
		}
	}
	ps := e.pacer.Stats()[ksef.RateGroupSessionMisc]
	if ps.Calls != n || ps.TooManyRequests != 0 || ps.Waits == 0 {
		t.Errorf("pacer stats %+v", ps)
	}
}

// mostInWindow is the largest number of arrivals in any window of length
// span that starts at an arrival (times in arrival order).
func mostInWindow(times []time.Time, span time.Duration) int {
	best := 0
	for i, start := range times {
		n := 0
		for _, at := range times[i:] {
			if at.Sub(start) < span {
				n++
			}
		}
		best = max(best, n)
	}
	return best
}
