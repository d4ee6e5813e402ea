package monitor

import (
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ksefpl/ksefpl/internal/ksefpltest"
	"github.com/ksefpl/ksefpl/pkg/config"
	"github.com/ksefpl/ksefpl/pkg/offline"
	"github.com/ksefpl/ksefpl/pkg/store"
)

// clock is a settable clock for the fixture.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// checker is a fixture (a real home and simulator) with a settable clock, and
// thresholds that leave on only the measures a test names.
type checker struct {
	*ksefpltest.Fixture
	clock *clock
}

func newChecker(t *testing.T, at time.Time) *checker {
	t.Helper()
	c := &clock{t: at}
	return &checker{Fixture: ksefpltest.NewFixture(t, ksefpltest.WithNow(c.now)), clock: c}
}

// check runs Check and returns the base website's measure name (nil when absent).
func (c *checker) check(name string) (*Report, *Measure) {
	c.T.Helper()
	rep, err := Check(c.Ctx, c.Deps, Options{Website: "base"})
	if err != nil {
		c.T.Fatal(err)
	}
	for i, m := range rep.Websites[0].Measures {
		if m.Name == name {
			return rep, &rep.Websites[0].Measures[i]
		}
	}
	return rep, nil
}

// expect checks the state of measure name, of the website and of the report.
func (c *checker) expect(name string, want State, reason string) *Report {
	c.T.Helper()
	rep, m := c.check(name)
	if m == nil {
		c.T.Fatalf("%s: not measured; measures %+v", name, rep.Websites[0].Measures)
	}
	if m.State != want || rep.State != want || rep.Websites[0].State != want {
		c.T.Fatalf("%s: %s (website %s, report %s), want %s: %s", name, m.State, rep.Websites[0].State, rep.State, want, m.Reason)
	}
	if reason != "" && !strings.Contains(m.Reason, reason) {
		c.T.Errorf("%s: reason %q does not say %q", name, m.Reason, reason)
	}
	return rep
}

// only turns off the duration checks other than keep (the counts stay at 0 when
// nothing fails).
func (c *checker) only(keep ...string) {
	c.T.Helper()
	for _, p := range []string{config.PathMonitorMaxPendingAge, config.PathMonitorCertExpiryWarn, config.PathMonitorOfflineDeadlineWarn,
		config.PathMonitorMaxSinceLastSubmit} {
		if !contains(keep, p) {
			c.Set(p, "0", config.Default)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (c *checker) move(j *store.Job, to string) {
	c.T.Helper()
	if _, err := c.DB().UpdateJob(c.Ctx, j.ID, nil, func(x *store.Job) error {
		x.Status = to
		return nil
	}, store.AuditEntry{Event: store.EventTransition, Actor: "test", Reason: "TEST"}); err != nil {
		c.T.Fatal(err)
	}
}

// The oldest PENDING job's age: WARNING past max_pending_age, CRITICAL past twice it,
// OK again once it is sent.
func TestPendingAgeCrossedAndRecovered(t *testing.T) {
	c := newChecker(t, time.Now())
	c.only(config.PathMonitorMaxPendingAge)
	j := c.EnqueueRaw(store.Job{WebsiteID: 1, EntityType: "invoice", IncrementID: "INV-1", Input: "{}"})
	c.expect(MeasurePendingAge, OK, "")
	c.clock.set(j.CreatedAt.Add(31 * time.Minute))
	rep := c.expect(MeasurePendingAge, Warning, "pending_age 31m > 30m")
	if !strings.HasPrefix(rep.Summary, "KSEFPL WARNING - base: pending_age 31m > 30m") || !strings.Contains(rep.Summary, "| 'base_pending_age'=1860s;1800;3600") {
		t.Errorf("summary %q", rep.Summary)
	}
	c.clock.set(j.CreatedAt.Add(61 * time.Minute))
	c.expect(MeasurePendingAge, Critical, "pending_age 1h1m > 2×30m")
	c.Set(config.PathMonitorMaxPendingAge, "2h", c.Scope("base")) // a website's own threshold
	c.expect(MeasurePendingAge, OK, "")
	c.Set(config.PathMonitorMaxPendingAge, "30m", c.Scope("base"))
	c.move(j, store.JobSubmitted)
	c.expect(MeasurePendingAge, OK, "")
}

// FAILED jobs above max_failed are a WARNING; AUTH_ERROR jobs are CRITICAL; both recover
// when the jobs move on.
func TestFailedAndAuthErrorCrossedAndRecovered(t *testing.T) {
	c := newChecker(t, time.Now())
	c.only()
	a := c.EnqueueRaw(store.Job{WebsiteID: 1, EntityType: "invoice", IncrementID: "INV-1", Input: "{}"})
	b := c.EnqueueRaw(store.Job{WebsiteID: 1, EntityType: "invoice", IncrementID: "INV-2", Input: "{}"})
	c.expect(MeasureFailed, OK, "0 FAILED jobs")
	c.move(a, store.JobFailed)
	c.expect(MeasureFailed, Warning, "failed 1 > 0")
	c.Set(config.PathMonitorMaxFailed, "1", config.Default)
	c.expect(MeasureFailed, OK, "")
	c.Set(config.PathMonitorMaxFailed, "0", config.Default)
	c.move(a, store.JobPending) // queue retry
	c.expect(MeasureFailed, OK, "")

	c.move(b, store.JobAuthError)
	c.expect(MeasureAuthError, Critical, "1 jobs held as AUTH_ERROR")
	c.move(b, store.JobPending) // released by a passed test-connection
	c.expect(MeasureAuthError, OK, "")
}

// Dead job events above max_dead_events are a WARNING, OK again once retried.
func TestDeadEventsCrossedAndRecovered(t *testing.T) {
	c := newChecker(t, time.Now())
	c.only()
	j := c.EnqueueRaw(store.Job{WebsiteID: 1, EntityType: "invoice", IncrementID: "INV-1", Input: "{}"})
	c.move(j, store.JobFailed) // writes job.failed
	evs, err := c.DB().Events(c.Ctx, store.EventFilter{WebsiteID: 1})
	if err != nil || len(evs) != 1 {
		t.Fatalf("events %v %v", evs, err)
	}
	c.move(j, store.JobPending)
	c.expect(MeasureDeadEvents, OK, "0 dead job events")
	if err := c.DB().FinishDelivery(c.Ctx, evs[0].ID, "receiver down", true); err != nil {
		t.Fatal(err)
	}
	c.expect(MeasureDeadEvents, Warning, "dead_events 1 > 0")
	if _, err := c.DB().RetryEvents(c.Ctx, nil, true, 1); err != nil {
		t.Fatal(err)
	}
	c.expect(MeasureDeadEvents, OK, "")
}

// Without a successful submit run recorded the check warns; a run makes it OK; it
// warns past max_since_last_submit and is CRITICAL past twice it, OK after the next
// successful run. A failed run does not count as one.
func TestSinceLastSubmitCrossedAndRecovered(t *testing.T) {
	t0 := time.Now()
	c := newChecker(t, t0)
	c.only(config.PathMonitorMaxSinceLastSubmit)
	rep, m := c.check(MeasureSinceLastSubmit)
	if m == nil || m.State != Warning || m.Value != nil || !strings.Contains(m.Reason, "no successful submit run recorded") ||
		!strings.Contains(rep.Summary, "'base_since_last_submit'=U;900;1800") {
		t.Fatalf("before any run: %+v, %q", m, rep.Summary)
	}
	record := func(at time.Time, ok bool) {
		t.Helper()
		r := store.RunRecord{WebsiteID: 1, StartedAt: at.Add(-time.Second), FinishedAt: at, Success: ok}
		if !ok {
			r.ErrorClass = "unavailable"
		}
		if err := c.DB().RecordSubmitRun(c.Ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	record(t0, false)
	c.expect(MeasureSinceLastSubmit, Warning, "the last one failed (unavailable)")
	record(t0, true)
	c.expect(MeasureSinceLastSubmit, OK, "")
	c.clock.set(t0.Add(16 * time.Minute))
	c.expect(MeasureSinceLastSubmit, Warning, "since_last_submit 16m > 15m")
	record(t0.Add(16*time.Minute), false)
	c.clock.set(t0.Add(31 * time.Minute))
	c.expect(MeasureSinceLastSubmit, Critical, "the last run failed (unavailable)")
	record(t0.Add(31*time.Minute), true)
	c.expect(MeasureSinceLastSubmit, OK, "")
}

// A website that is not configured (no NIP or credential) is skipped by submit, so no
// run is expected of it.
func TestSinceLastSubmitSkipsUnconfiguredWebsites(t *testing.T) {
	c := &checker{Fixture: ksefpltest.NewFixture(t, ksefpltest.Unconfigured()), clock: &clock{t: time.Now()}}
	if _, m := c.check(MeasureSinceLastSubmit); m != nil {
		t.Errorf("an unconfigured website is measured: %+v", m)
	}
}

// The nearest offline deadline: WARNING under offline_deadline_warn, CRITICAL once
// missed, gone when the document is accepted.
func TestOfflineDeadlineCrossedAndRecovered(t *testing.T) {
	// Tuesday 1 December 2026, noon in Warsaw: an offline24 invoice of today is due by
	// the end of Wednesday.
	c := newChecker(t, time.Date(2026, 12, 1, 12, 0, 0, 0, offline.Warsaw()))
	c.only(config.PathMonitorOfflineDeadlineWarn)
	j := c.EnqueueRaw(store.Job{WebsiteID: 1, EntityType: "invoice", IncrementID: "OFF-1", Input: "{}", OfflineMode: "offline24",
		IssueDate: "2026-12-01", Deadline: "2026-12-02"})
	c.expect(MeasureOfflineDeadline, OK, "1d12h left")
	c.clock.set(time.Date(2026, 12, 2, 21, 0, 0, 0, offline.Warsaw()))
	rep := c.expect(MeasureOfflineDeadline, Warning, "offline_deadline 3h < 4h")
	if !strings.Contains(rep.Summary, "'base_offline_deadline'=10800s;14400:;0:") {
		t.Errorf("summary %q", rep.Summary)
	}
	c.clock.set(time.Date(2026, 12, 3, 1, 0, 0, 0, offline.Warsaw()))
	c.expect(MeasureOfflineDeadline, Critical, "ended 1h ago")
	c.move(j, store.JobAccepted)
	if _, m := c.check(MeasureOfflineDeadline); m != nil {
		t.Errorf("an accepted document still measured: %+v", m)
	}
}

// Authentication with a KSeF token ends with 2026: WARNING within cert_expiry_warn of
// its end, CRITICAL after it; a website that signs with a certificate is not measured.
func TestTokenExpiryCrossedAndRecovered(t *testing.T) {
	c := newChecker(t, time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC))
	c.only(config.PathMonitorCertExpiryWarn)
	c.expect(MeasureTokenExpiry, OK, "")
	c.clock.set(time.Date(2026, 12, 15, 12, 0, 0, 0, time.UTC))
	c.expect(MeasureTokenExpiry, Warning, "authentication with a KSeF token ends on 2026-12-31")
	c.clock.set(time.Date(2027, 1, 2, 12, 0, 0, 0, time.UTC))
	c.expect(MeasureTokenExpiry, Critical, "ended 1d13h ago")
	c.Set(config.PathMonitorCertExpiryWarn, "0", config.Default)
	if rep, m := c.check(MeasureTokenExpiry); m != nil || rep.State != OK {
		t.Errorf("with cert_expiry_warn 0: %+v, %s", m, rep.State)
	}
}

// The Offline certificate (KOD II): WARNING within cert_expiry_warn of its NotAfter,
// CRITICAL after it, OK before.
func TestCertificateExpiryCrossedAndRecovered(t *testing.T) {
	// A day on: the import checks the certificate's validity on the fixture's clock,
	// which must not be before the simulator issued it.
	c := newChecker(t, time.Now().Add(24*time.Hour))
	m := c.ImportOfflineCertificate("base", ksefpltest.NIP, "ec")
	c.only(config.PathMonitorCertExpiryWarn)
	// Without a token the website has no token_expiry, which would end first.
	if err := c.Config().Delete(c.Ctx, config.PathAPIToken, config.Default); err != nil {
		t.Fatal(err)
	}
	end := m.Cert.NotAfter
	c.clock.set(end.Add(-60 * 24 * time.Hour))
	c.expect(MeasureCertExpiry, OK, "")
	c.clock.set(end.Add(-10 * 24 * time.Hour))
	rep := c.expect(MeasureCertExpiry, Warning, "cert_expiry 10d < 30d; the offline certificate")
	if !regexp.MustCompile(`'base_cert_expiry'=864000s;2592000:;0:`).MatchString(rep.Summary) {
		t.Errorf("summary %q", rep.Summary)
	}
	c.clock.set(end.Add(time.Hour))
	c.expect(MeasureCertExpiry, Critical, "ended 1h ago")
	c.clock.set(end.Add(-60 * 24 * time.Hour)) // a renewed certificate: far from its end again
	c.expect(MeasureCertExpiry, OK, "")
}

func TestHuman(t *testing.T) {
	for d, want := range map[time.Duration]string{0: "0s", 45 * time.Second: "45s", 30 * time.Minute: "30m", 90 * time.Minute: "1h30m",
		30 * 24 * time.Hour: "30d", 76 * time.Hour: "3d4h", -2 * time.Hour: "-2h"} {
		if got := Human(d); got != want {
			t.Errorf("Human(%s) = %q, want %q", d, got, want)
		}
	}
}
