package submit

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ksefpl/ksefpl/pkg/config"
	"github.com/ksefpl/ksefpl/pkg/failure"
	"github.com/ksefpl/ksefpl/pkg/ksef"
	"github.com/ksefpl/ksefpl/pkg/store"
	"github.com/ksefpl/ksefpl/pkg/website"
)

// websiteRun is the state of one website's processing within a run.
type websiteRun struct {
	env    env
	o      Options
	s      *website.Settings
	client *ksef.Client
	res    *WebsiteResult
	// own marks sessions opened by this run (still being sent into); owned the sessions
	// this run owns (opened or claimed: see store.ClaimSession).
	own, owned map[string]bool
	// online holds the online sessions of the sending phase.
	online *sender
	// chores says this run holds the website's lease, for the once-per-website work
	// (offline deadlines); sending and settling need no lease, only claims.
	chores bool
	// sending is how many jobs this run took up to send (the progress total).
	sending int
	// stopped ends the sending phase early (KSeF unstable, rate limited, session lost).
	stopped bool
	// listed caches whole session invoice listings within one pass (recovery); walked
	// marks the sessions whose listing a pass walked to settle jobs.
	listed map[string]*listing
	walked map[string]bool
	// notOwned marks, within one pass, the sessions another process owns, so that a
	// pass asks the database once per session, not once per job of it.
	notOwned map[string]bool
	// sweptSubmitted says this run looked for SUBMITTED jobs outside the unfinished
	// sessions (once per run); alsoSettle are the sessions outside them that passes
	// settle (see pollJobs).
	sweptSubmitted bool
	alsoSettle     map[string]bool
	// kinds remembers the kinds of sessions looked up (online or batch).
	kinds map[string]string
	// statuses caches session statuses within one pass.
	statuses map[string]*ksef.SessionStatus
	// warned keeps repeated polls from repeating a warning.
	warned map[string]bool
	// started is when the website's processing began; lastSettle, lastBeat and
	// lastRenew when statuses were last polled while sending, the last heartbeat was
	// given and the claims were last renewed.
	started, lastSettle, lastBeat, lastRenew time.Time
}

func runWebsite(ctx context.Context, env env, o Options, sc config.Scope, explicit bool) WebsiteResult {
	res := WebsiteResult{Website: sc.WebsiteCode}
	s, err := env.Website(ctx, sc)
	if err != nil {
		res.fail(err)
		return res
	}
	if m := s.Missing(); len(m) > 0 && s.TokenErr == nil {
		if explicit {
			res.fail(&ksef.ConfigError{Field: "configuration", Msg: fmt.Sprintf("website %s is missing %v: run ksefpl test-connection --website %s", sc.WebsiteCode, m, sc.WebsiteCode)})
		} else {
			res.Skipped = "not configured (no NIP, or no token or certificate)"
		}
		return res
	}
	if s.TokenErr != nil && !s.UsesCertificate() {
		res.Error, res.Class = s.TokenErr.Error(), failure.Auth
		return res
	}
	if c := s.AuthCert; s.UsesCertificate() && c != nil && c.Err != nil {
		res.fail(c.Err)
		return res
	}
	if s.APIVersion == "legacy" {
		res.fail(&ksef.ConfigError{Field: config.PathAPIVersion, Msg: "the legacy profile only tests connections; sending invoices needs KSeF 2.0: ksefpl config:set " + config.PathAPIVersion + " 2"})
		return res
	}
	if err := productionGuard(ctx, env, s); err != nil {
		res.fail(err)
		return res
	}
	if err := warnCertificateExpiry(ctx, env, s, &res); err != nil {
		res.fail(err)
		return res
	}
	chores, err := acquire(ctx, env, o, s.WebsiteID)
	if err != nil {
		res.fail(err)
		return res
	}
	if chores {
		defer env.DB.ReleaseLease(context.WithoutCancel(ctx), leaseName(s.WebsiteID), env.Holder)
	}
	// Whatever this run still holds when it ends is free for any other process at once.
	defer env.DB.ReleaseClaims(context.WithoutCancel(ctx), env.Holder)

	warnings := &systemWarnings{ctx: context.WithoutCancel(ctx), env: env, websiteID: s.WebsiteID, seen: map[string]bool{}}
	copts := clientOptions(env)
	copts.OnSystemWarning = warnings.add
	client, err := s.Client(copts)
	if err != nil {
		res.fail(err)
		return res
	}
	now := env.Clock()
	w := &websiteRun{env: env, o: o, s: s, client: client, res: &res, own: map[string]bool{}, owned: map[string]bool{}, chores: chores,
		started: now, lastSettle: now, lastBeat: now, lastRenew: now}
	if err := w.process(ctx); err != nil {
		res.fail(err)
	}
	w.countWaiting(ctx)
	res.Warnings = append(res.Warnings, warnings.drain()...)
	return res
}

func clientOptions(env env) website.ClientOptions {
	o := env.ClientOptions()
	if !env.NoPace {
		o.Pacer = env.Pacer
	}
	return o
}

// process runs the three phases.
func (w *websiteRun) process(ctx context.Context) error {
	if w.chores {
		if err := w.followOfflineDeadlines(ctx); err != nil {
			return err
		}
	}
	tok, err := w.token(ctx)
	if err != nil {
		return err
	}
	if !w.env.NoPace {
		// Pace by what KSeF says its limits are; the official table when it cannot say.
		if _, err := w.client.SyncRateLimits(ctx, tok); err != nil {
			w.warnOnce("rate-limits", err.Error())
		}
	}
	if err := w.advance(ctx); err != nil {
		return err
	}
	if err := w.send(ctx); err != nil {
		return err
	}
	deadline := w.env.Now().Add(w.o.Wait)
	if !w.env.deadline.IsZero() && w.env.deadline.Before(deadline) {
		deadline = w.env.deadline
	}
	for {
		if err := w.advance(ctx); err != nil {
			return err
		}
		if !w.anythingInFlight(ctx) || !w.env.Now().Before(deadline) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(w.o.PollInterval):
		}
		if err := w.renew(ctx); err != nil {
			return err
		}
		w.heartbeat(ctx)
	}
}

// pastDeadline reports whether --max-duration ran out; the first time it says so in the
// run's warnings.
func (w *websiteRun) pastDeadline(ctx context.Context) bool {
	if w.env.deadline.IsZero() || w.env.Clock().Before(w.env.deadline) {
		return false
	}
	left := 0
	if counts, err := w.env.DB.JobCounts(ctx, w.s.WebsiteID); err == nil {
		left = counts[store.JobPending]
	}
	w.warnOnce("max-duration", fmt.Sprintf("website %s: the run's --max-duration (%s) passed: it stopped sending and settled what it could; "+
		"%d job(s) wait for the next run", w.s.WebsiteCode, w.o.MaxDuration, left))
	w.stopped = true
	return true
}

// whileSending runs between two sends: it polls the statuses of what was sent (every
// SettleEvery), so that KSeF numbers arrive while a long backlog is still being sent, and
// gives the heartbeat.
func (w *websiteRun) whileSending(ctx context.Context) error {
	if now := w.env.Clock(); now.Sub(w.lastSettle) >= w.o.SettleEvery {
		w.lastSettle = now
		w.newPass()
		if err := w.pollJobs(ctx, true); err != nil {
			return err
		}
		if err := w.renew(ctx); err != nil {
			return err
		}
	}
	w.heartbeat(ctx)
	return nil
}

// newPass forgets what the previous polling pass listed and asked.
func (w *websiteRun) newPass() {
	w.listed = map[string]*listing{}
	w.walked = map[string]bool{}
	w.notOwned = map[string]bool{}
	w.statuses = map[string]*ksef.SessionStatus{}
}

// heartbeat tells Heartbeat the website's counts, at most once per HeartbeatEvery.
func (w *websiteRun) heartbeat(ctx context.Context) {
	now := w.env.Clock()
	if w.env.Heartbeat == nil || now.Sub(w.lastBeat) < w.o.HeartbeatEvery {
		return
	}
	w.lastBeat = now
	pending := 0
	if counts, err := w.env.DB.JobCounts(ctx, w.s.WebsiteID); err == nil {
		pending = counts[store.JobPending]
	}
	w.env.Heartbeat(Heartbeat{Website: w.s.WebsiteCode, Sent: w.res.Sent, Accepted: w.res.Accepted, Failed: w.res.Failed,
		Pending: pending, Elapsed: now.Sub(w.started)})
}

// token returns a valid access token; a refused token is recorded as an authentication
// outcome so that the queue's pre-flight holds new jobs.
func (w *websiteRun) token(ctx context.Context) (string, error) {
	tok, err := w.client.AccessToken(ctx, w.s.Credentials())
	if err == nil {
		return tok, nil
	}
	if failure.Of(err) == failure.Auth || isTokenFormat(err) {
		_, _ = w.env.DB.RecordAuthOutcome(ctx, store.AuthOutcome{WebsiteID: w.s.WebsiteID, Source: "submit",
			Environment: w.s.EnvironmentName, TokenFingerprint: w.s.CredentialFingerprint, Success: false,
			Reason: "TOKEN_REJECTED", Message: err.Error()})
		_ = w.env.DB.AppendAudit(ctx, store.AuditEntry{WebsiteID: w.s.WebsiteID, Event: store.EventAuth, Actor: w.env.Actor,
			Reason: "TOKEN_REJECTED", Message: err.Error()})
	}
	return "", fmt.Errorf("authenticate website %s: %w", w.s.WebsiteCode, err)
}

func isTokenFormat(err error) bool {
	var tf *ksef.TokenFormatError
	return errors.As(err, &tf)
}

// renew extends this run's claims (and the website's lease when it holds it), at most
// four times per LeaseTTL. A lease lost meanwhile only ends this run's chores.
func (w *websiteRun) renew(ctx context.Context) error {
	now := w.env.Clock()
	if now.Sub(w.lastRenew) < w.o.LeaseTTL/4 {
		return nil
	}
	w.lastRenew = now
	if err := w.env.DB.RenewClaims(ctx, w.env.Holder, w.o.LeaseTTL); err != nil {
		return err
	}
	if w.chores && w.env.DB.AcquireLease(ctx, leaseName(w.s.WebsiteID), w.env.Holder, w.o.LeaseTTL) != nil {
		w.chores = false
	}
	return nil
}

// checkClaim refuses a change to a job this run has not claimed (another process
// claimed it after this run's claim expired): store.ErrConflict.
func (w *websiteRun) checkClaim(j *store.Job) error {
	if j.ClaimedBy != w.env.Holder {
		return fmt.Errorf("job %d is claimed by %q, not this run: %w", j.ID, j.ClaimedBy, store.ErrConflict)
	}
	return nil
}

// ownsSession reports whether this run owns session ref, claiming it when it is free
// (store.ClaimSession): only the owner closes a session, settles its jobs or recovers
// what was left mid-send in it.
func (w *websiteRun) ownsSession(ctx context.Context, ref string) (bool, error) {
	switch {
	case ref == "" || w.owned[ref]:
		return true, nil
	case w.notOwned[ref]:
		return false, nil
	}
	ok, err := w.env.DB.ClaimSession(ctx, ref, w.env.Holder, w.o.LeaseTTL)
	switch {
	case ok:
		w.owned[ref] = true
	case err == nil && w.notOwned != nil:
		w.notOwned[ref] = true
	}
	return ok, err
}

// anythingInFlight reports whether jobs of the website still wait for KSeF, or
// sessions still close.
func (w *websiteRun) anythingInFlight(ctx context.Context) bool {
	jobs, err := w.env.DB.Jobs(ctx, store.JobFilter{WebsiteID: w.s.WebsiteID, Statuses: []string{store.JobSubmitted, store.JobSending}, Limit: 1, WithoutDocuments: true})
	if err != nil || len(jobs) > 0 {
		return true
	}
	sess, err := w.env.DB.Sessions(ctx, w.s.WebsiteID, store.InFlightSessionStatuses...)
	if err != nil || len(sess) > 0 {
		return true
	}
	missing, err := w.env.DB.JobsWithUPODue(ctx, w.s.WebsiteID, 1)
	return err != nil || len(missing) > 0
}

// countWaiting fills the result's waiting count: jobs of the website not yet final.
func (w *websiteRun) countWaiting(ctx context.Context) {
	counts, err := w.env.DB.JobCounts(ctx, w.s.WebsiteID)
	if err != nil {
		return
	}
	w.res.Waiting = counts[store.JobPending] + counts[store.JobSending] + counts[store.JobSubmitted]
}

// warnOnce adds a warning to the result once per key.
func (w *websiteRun) warnOnce(key, msg string) {
	if w.warned == nil {
		w.warned = map[string]bool{}
	}
	if !w.warned[key] {
		w.warned[key] = true
		w.res.Warnings = append(w.res.Warnings, msg)
	}
}

func (w *websiteRun) progress(jobID int64, session, status string) {
	if w.env.Progress != nil {
		w.env.Progress(Progress{Website: w.s.WebsiteCode, JobID: jobID, Session: session, Status: status, Total: w.sending})
	}
}

// audit is a job transition audit entry.
func (w *websiteRun) audit(reason, msg string) store.AuditEntry {
	return store.AuditEntry{Event: store.EventTransition, Actor: w.env.Actor, Reason: reason, Message: msg}
}

// ReasonCertificateExpires is the daily audit warning about an authentication
// certificate near its expiry.
const ReasonCertificateExpires = "CERTIFICATE_EXPIRES_SOON"

// certificateWarnDays is how close to its expiry the authentication certificate is warned
// about.
const certificateWarnDays = 30

// warnCertificateExpiry warns, once a day, in the run's output and the audit log, when
// the authentication certificate in use expires within 30 days.
func warnCertificateExpiry(ctx context.Context, env env, s *website.Settings, res *WebsiteResult) error {
	c := s.AuthCert
	if !s.UsesCertificate() || c == nil || c.Certificate == nil || c.Certificate.Raw == nil {
		return nil
	}
	now := env.Clock()
	days := c.DaysLeft(now)
	if days >= certificateWarnDays {
		return nil
	}
	msg := fmt.Sprintf("the authentication certificate %s of website %s expires on %s (%d days left): renew it with ksefpl certificate:enroll --type authentication --website %s",
		c.Serial, s.WebsiteCode, c.Certificate.NotAfter.UTC().Format(time.DateOnly), days, s.WebsiteCode)
	last, ok, err := env.DB.LastAuditOf(ctx, s.WebsiteID, ReasonCertificateExpires)
	if err != nil || (ok && now.Sub(last) < 24*time.Hour) {
		return err
	}
	res.Warnings = append(res.Warnings, msg)
	return env.DB.AppendAudit(ctx, store.AuditEntry{WebsiteID: s.WebsiteID, Event: store.EventWarning, Actor: env.Actor,
		Reason: ReasonCertificateExpires, Message: msg})
}

// productionGuard refuses to send to production until test-connection has succeeded
// against production with the current credential (the seed's "green indicator
// required"). Through a custom host (allow_custom_host) the test must have passed
// through that same host: Target is "production via HOST" then, which a test against
// another host, or the official one, does not match.
func productionGuard(ctx context.Context, env env, s *website.Settings) error {
	if s.Environment != ksef.EnvProduction {
		return nil
	}
	o, err := env.DB.LastAuthOutcome(ctx, s.WebsiteID, "test-connection")
	if err == nil && o.Success && o.Environment == s.Target() && o.TokenFingerprint == s.CredentialFingerprint {
		return nil
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return &ProductionGuardError{Website: s.WebsiteCode, Target: s.Target()}
}

// ProductionGuardError is returned for a production website whose current token has not
// passed test-connection against production.
type ProductionGuardError struct {
	Website string
	// Target is where the website's traffic goes (Settings.Target).
	Target string
}

func (e *ProductionGuardError) Error() string {
	target := "production"
	if e.Target != "" {
		target = e.Target
	}
	return fmt.Sprintf("submit does not send to production for website %s until a connection test against %s with the current credential has passed: run ksefpl test-connection --website %s",
		e.Website, target, e.Website)
}

// Class is failure.Invalid: the configuration is not ready for production (exit 3).
func (e *ProductionGuardError) Class() failure.Class { return failure.Invalid }
