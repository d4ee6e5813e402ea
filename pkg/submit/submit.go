// Package submit owns the main job: one cron-safe run that, per website, advances what is
// in flight (invoice statuses, KSeF numbers, session closing, UPOs), freezes and sends new
// PENDING jobs through online sessions, and waits a bounded time for results. Every
// remote call is recorded before and after in the store, so a crash at any point loses
// nothing and never sends a document twice; the next run finishes the work.
package submit

import (
	"context"
	"fmt"
	"time"

	"github.com/ksefpl/ksefpl/pkg/config"
	"github.com/ksefpl/ksefpl/pkg/deps"
	"github.com/ksefpl/ksefpl/pkg/ksef"
	"github.com/ksefpl/ksefpl/pkg/notify"
	"github.com/ksefpl/ksefpl/pkg/queue"
	"github.com/ksefpl/ksefpl/pkg/store"
)

// env is a run's dependencies and run-wide settings with their defaults filled in.
type env struct {
	*deps.Deps
	RunSettings
}

// RunSettings are the options every part of a run reads: who it is, how it reports, how
// it paces.
type RunSettings struct {
	// Actor is written into audit rows (default "submit").
	Actor string
	// Progress, when set, is told about each job as it moves.
	Progress func(Progress)
	// Holder identifies this run in leases (default host|pid|random).
	Holder string
	// Hooks are for tests that simulate crashes.
	Hooks Hooks
	// Pacer keeps every call within KSeF's rate limits (per context NIP) instead of
	// running into 429s; nil gives the run its own pacer over the official table,
	// updated from GET /rate-limits. NoPace turns pacing off.
	Pacer  *ksef.Pacer
	NoPace bool
	// Heartbeat, when set, is told a website's counts at most once per HeartbeatEvery
	// (default 1 min) while the run goes on, so that a log shows life.
	Heartbeat      func(Heartbeat)
	HeartbeatEvery time.Duration
	// deadline is when MaxDuration runs out (zero: never).
	deadline time.Time
}

// Heartbeat is a website's counts in the middle of a run.
type Heartbeat struct {
	Website  string
	Sent     int
	Accepted int
	Failed   int
	// Pending is how many jobs still wait to be sent.
	Pending int
	Elapsed time.Duration
}

// Hooks let tests stop a run at precise points, as a crash would.
type Hooks struct {
	// AfterSend runs right after KSeF acknowledged a send and before the
	// acknowledgement is recorded; an error aborts the run there.
	AfterSend func(jobID int64) error
	// BeforeBatchClose runs after a batch package was uploaded and before the session is
	// closed; an error aborts the run there.
	BeforeBatchClose func(sessionRef string) error
}

// Options tune a run.
type Options struct {
	// Website limits the run to one website code ("" = every website that has a NIP and
	// a token).
	Website string
	// Limit caps how many new jobs are sent per website (0 = no cap).
	Limit int
	// Wait is how long to wait for results after sending (default 2m; 0 after
	// defaults means no waiting: set NoWait).
	Wait   time.Duration
	NoWait bool
	// AutoRetry requeues jobs that failed with SESSION_TERMINATED.
	AutoRetry bool
	// PollInterval is the pause between status polls while waiting (default 2s).
	PollInterval time.Duration
	// MaxDuration bounds the whole run (0: no bound): when it passes the run stops
	// sending, settles what it can and ends; the next run continues.
	MaxDuration time.Duration
	// SettleEvery is how often, while sending, the statuses of invoices already sent are
	// polled, so that KSeF numbers arrive as KSeF assigns them (default 30s).
	SettleEvery time.Duration
	// LeaseTTL is how long a website's lease, and this run's claims on jobs and
	// sessions, last without renewal (default 15m); a run renews them while it works.
	LeaseTTL time.Duration
	// ClaimWindow is how many jobs an online sending phase claims at a time (default
	// 100): other submit processes of the same website, on this host or others sharing
	// the database, send the next windows in parallel.
	ClaimWindow int
	// Mode is ModeAuto (default), ModeOnline or ModeBatch.
	Mode string
	// BatchLimits bound batch packages (zero: KSeF's limits; tests use tiny parts).
	BatchLimits ksef.BatchLimits
	// UploadParallelism is how many batch parts upload at once (default 4).
	UploadParallelism int

	RunSettings
}

// Sending modes.
const (
	ModeAuto   = "auto"   // batch when a website's backlog exceeds ksefpl/submit/batch_threshold
	ModeOnline = "online" // always online sessions
	ModeBatch  = "batch"  // always batch sessions
)

// Progress is one job event for a progress display.
type Progress struct {
	Website string
	JobID   int64
	// Session is the reference of the session the job went through ("" when none).
	Session string
	Status  string
	// Total is the number of jobs this run is working on for the website (sent or waited for).
	Total int
}

// Reasons recorded on jobs and audit rows.
const (
	ReasonSessionTerminated  = "SESSION_TERMINATED"
	ReasonDuplicate          = queue.ReasonDuplicate
	ReasonDuplicateResolved  = "DUPLICATE_OF_SAME_DOCUMENT"
	ReasonRejected           = "KSEF_REJECTED"
	ReasonSubjectIdentifier  = "SUBJECT_IDENTIFIER_INVALID" // rejected by KSeF's subject identifier validation (validate_subject_identifiers)
	ReasonInvalid            = "INVALID"
	ReasonNotReceived        = "NOT_RECEIVED"
	ReasonRecovered          = "RECOVERED"
	ReasonSessionGone        = "SESSION_GONE"
	ReasonSessionUnavailable = "SESSION_UNAVAILABLE" // 21184: the session is paused for maintenance; sent again in a new one
	ReasonOffline            = "OFFLINE_CLASSIFICATION"
	ReasonRetry              = "RETRY"
	ReasonRateLimited        = "RATE_LIMITED"
	ReasonFrozen             = "FROZEN"
	ReasonSend               = "SEND"
	ReasonSubmitted          = "SUBMITTED"
	ReasonAccepted           = "ACCEPTED"
	ReasonResent             = "RESENT"
)

// Run processes every selected website and returns the summary. The error is non-nil
// only for problems that stop the whole run (storage, unknown website); per-website
// failures are in the result.
func Run(ctx context.Context, d *deps.Deps, o Options) (*Result, error) {
	env := newEnv(d, o, "submit")
	if o.MaxDuration > 0 {
		env.deadline = env.Clock().Add(o.MaxDuration)
	}
	if o.Wait == 0 && !o.NoWait {
		o.Wait = 2 * time.Minute
	}
	if o.NoWait {
		o.Wait = 0
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 2 * time.Second
	}
	if o.SettleEvery <= 0 {
		o.SettleEvery = 30 * time.Second
	}
	if o.HeartbeatEvery <= 0 {
		o.HeartbeatEvery = time.Minute
	}
	if o.LeaseTTL <= 0 {
		o.LeaseTTL = 15 * time.Minute
	}
	if o.ClaimWindow <= 0 {
		o.ClaimWindow = 100
	}
	switch o.Mode {
	case "":
		o.Mode = ModeAuto
	case ModeAuto, ModeOnline, ModeBatch:
	default:
		return nil, fmt.Errorf("unknown mode %q: use auto, online or batch", o.Mode)
	}
	if o.UploadParallelism <= 0 {
		o.UploadParallelism = 4
	}
	scopes, explicit, err := websites(ctx, env, o.Website)
	if err != nil {
		return nil, err
	}
	// Claims of processes of this node that were killed mid-run are free at once.
	if _, err := env.DB.ExpireDeadClaims(ctx); err != nil {
		return nil, err
	}
	res := &Result{}
	for _, sc := range scopes {
		started := env.Clock()
		wr := runWebsite(ctx, env, o, sc, explicit)
		record(ctx, env, sc, started, &wr)
		res.add(wr)
		if ctx.Err() != nil {
			break
		}
	}
	recordAPICalls(ctx, env, res)
	if ctx.Err() == nil {
		// The shop learns what happened: the events of this run (and any earlier ones
		// still due) go out, within the run's time bound. A failing receiver never
		// fails the run: its events wait for the next one.
		rep, err := notify.Deliver(ctx, env.Deps, o.Website, notify.Options{Until: env.deadline})
		if err != nil {
			res.Warnings = append(res.Warnings, "delivering job events: "+err.Error())
		}
		if rep.Websites > 0 {
			res.Notify = &rep
		}
	}
	return res, nil
}

// newEnv fills the run's defaults: the clock, the actor (defaultActor), the lease holder
// and a pacer over the official table.
func newEnv(d *deps.Deps, o Options, defaultActor string) env {
	e := env{Deps: d.WithDefaults(), RunSettings: o.RunSettings}
	if e.Actor == "" {
		e.Actor = defaultActor
	}
	if e.Holder == "" {
		e.Holder = store.NewLeaseHolder()
	}
	if e.Pacer == nil && !e.NoPace {
		e.Pacer = ksef.NewPacer(ksef.PacerOptions{})
	}
	return e
}

// websites resolves the selection: one website (explicit), or every website.
func websites(ctx context.Context, env env, code string) ([]config.Scope, bool, error) {
	scopes, err := env.Config.WebsiteScopes(ctx, code)
	return scopes, code != "", err
}
