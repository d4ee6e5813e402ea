// Package status owns the per-website status report (ksefpl status): for each website its
// environment, seller NIP, where its token comes from and its fingerprint, the last
// connection test, queue counts by status, sessions in flight, the age of the oldest
// pending job, the last submit run, the job events and their delivery to the shop (dead
// ones warned about), and the documents issued offline with their deadlines — read from
// configuration and the store, with one network call only when a website has offline
// documents still to send: KSeF's status service (Latarnia), whose failure announcements
// move their deadlines.
package status

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ksefpl/ksefpl/pkg/config"
	"github.com/ksefpl/ksefpl/pkg/deps"
	"github.com/ksefpl/ksefpl/pkg/kcert"
	"github.com/ksefpl/ksefpl/pkg/offline"
	"github.com/ksefpl/ksefpl/pkg/store"
	"github.com/ksefpl/ksefpl/pkg/website"
)

// JobStatuses are the queue statuses every report lists, zero or not, in life order.
var JobStatuses = []string{store.JobPending, store.JobAuthError, store.JobSending, store.JobSubmitted, store.JobAccepted, store.JobFailed}

// Options select what Collect reports.
type Options struct {
	// Website limits the report to one website code ("" = every website).
	Website string
}

// Token says where a website's token comes from, never the token itself.
type Token struct {
	// Configured is false when no token is set at any level.
	Configured bool `json:"configured"`
	// Source is "websites/CODE" or "default" (stored, encrypted) or the environment
	// variable's name (KSEFPL_API_TOKEN, KSEFPL_API_TOKEN_<CODE>).
	Source string `json:"source,omitempty"`
	// FromEnv is true when Source is an environment variable.
	FromEnv bool `json:"from_env"`
	// Fingerprint is the first 12 hex digits of the token's SHA-256.
	Fingerprint string `json:"fingerprint,omitempty"`
	// Problem is set when the stored token cannot be decrypted.
	Problem string `json:"problem,omitempty"`
}

// Certificate describes a website's certificate, never its key.
type Certificate struct {
	Serial   string    `json:"serial"`
	Subject  string    `json:"subject"`
	NotAfter time.Time `json:"not_after"`
	DaysLeft int       `json:"days_left"`
	// Source is "stored" or the environment variable it comes from.
	Source string `json:"source"`
	// Problem says why it cannot be used (its key does not decrypt, …).
	Problem string `json:"problem,omitempty"`
}

// Connection is the newest test-connection outcome.
type Connection struct {
	At          time.Time `json:"at"`
	Success     bool      `json:"success"`
	Reason      string    `json:"reason,omitempty"`
	Message     string    `json:"message,omitempty"`
	Environment string    `json:"environment"`
	// Fingerprint is the short fingerprint of the token that was tested; it differs from
	// Token.Fingerprint when the token changed since.
	Fingerprint string `json:"token_fingerprint"`
}

// Website is one website's status.
type Website struct {
	// ID is the website's id in the store (not shown).
	ID          int64  `json:"-"`
	Code        string `json:"website"`
	Name        string `json:"name"`
	Environment string `json:"environment"`
	APIURL      string `json:"api_url,omitempty"`
	// ConfigProblem says why the environment or endpoints are unusable.
	ConfigProblem string `json:"config_problem,omitempty"`
	SellerNIP     string `json:"seller_nip"`
	// AuthMethod is token or certificate.
	AuthMethod string `json:"auth_method"`
	Token      Token  `json:"token"`
	// Certificate is the authentication certificate (nil: none); OfflineCertificate the
	// certificate that signs offline QR codes (nil: none).
	Certificate        *Certificate `json:"certificate"`
	OfflineCertificate *Certificate `json:"offline_certificate"`
	// LastConnection is nil when test-connection never ran for the website.
	LastConnection *Connection `json:"last_connection"`
	// Configured is true when submit sends for the website (a seller NIP, and a token or
	// an authentication certificate); submit skips one that is not.
	Configured bool `json:"configured"`
	// LastSubmit is the website's last recorded submit run (nil: none recorded).
	LastSubmit *SubmitRun `json:"last_submit"`
	// Queue counts jobs by status; every status in JobStatuses is present.
	Queue map[string]int `json:"queue"`
	// Events counts the job events by delivery state (pending, delivered, dead; each
	// present), and Receiver says where they go ("" when only the feed has them).
	Events   map[string]int `json:"events"`
	Receiver string         `json:"receiver,omitempty"`
	// SessionsInFlight are the references of sessions still active, sending or closing.
	SessionsInFlight []string `json:"sessions_in_flight"`
	// OldestPendingAt is when the oldest PENDING job was queued (nil: none pending).
	OldestPendingAt *time.Time `json:"oldest_pending_at"`
	// OldestPendingAgeSeconds is its age at the time of the report.
	OldestPendingAgeSeconds int64 `json:"oldest_pending_age_seconds"`
	// Offline lists the documents issued offline that KSeF has not accepted yet, the
	// nearest deadline first.
	Offline []OfflineJob `json:"offline"`
	// Warnings are what the operator must act on: a deadline less than DueSoon away, a
	// missed one, Latarnia unreadable.
	Warnings []string `json:"warnings"`
}

// SubmitRun is a website's last submit run, its last successful one and running totals.
type SubmitRun struct {
	StartedAt       time.Time `json:"started_at"`
	FinishedAt      time.Time `json:"finished_at"`
	DurationSeconds float64   `json:"duration_seconds"`
	// Success is false when the run ended with a website error (of ErrorClass).
	Success    bool   `json:"success"`
	ErrorClass string `json:"error_class,omitempty"`
	// LastSuccessAt is when the last successful run finished (nil: never).
	LastSuccessAt *time.Time `json:"last_success_at"`
	// Runs, FailedRuns, Sent, Accepted and Failed are totals over every recorded run.
	Runs       int64 `json:"runs"`
	FailedRuns int64 `json:"failed_runs"`
	Sent       int64 `json:"sent"`
	Accepted   int64 `json:"accepted"`
	Failed     int64 `json:"failed"`
}

func submitRunOf(r store.SubmitRun) *SubmitRun {
	out := &SubmitRun{StartedAt: r.StartedAt.UTC(), FinishedAt: r.FinishedAt.UTC(), DurationSeconds: r.Duration.Seconds(), Success: r.Success,
		ErrorClass: r.ErrorClass, Runs: r.Runs, FailedRuns: r.FailedRuns, Sent: r.Sent, Accepted: r.Accepted, Failed: r.Failed}
	if !r.LastSuccessAt.IsZero() {
		at := r.LastSuccessAt.UTC()
		out.LastSuccessAt = &at
	}
	return out
}

// DueSoon is how close a deadline must be for status to warn.
const DueSoon = offline.DueSoon

// OfflineJob is one document issued offline and not yet accepted by KSeF.
type OfflineJob struct {
	JobID       int64  `json:"job_id"`
	IncrementID string `json:"increment_id"`
	Status      string `json:"status"`
	Mode        string `json:"mode"`
	IssueDate   string `json:"issue_date"`
	// Deadline is the last day to send (YYYY-MM-DD; "" while open or lifted).
	Deadline string `json:"deadline"`
	Lifted   bool   `json:"deadline_lifted"`
	// SecondsLeft is the time left until the end of the deadline day (negative: missed).
	SecondsLeft int64 `json:"seconds_left"`
	DueSoon     bool  `json:"due_soon"`
	Missed      bool  `json:"missed"`
}

// Collect reports on every website (or the one in o.Website), in website id order.
func Collect(ctx context.Context, d *deps.Deps, o Options) ([]Website, error) {
	env := d.WithDefaults()
	var sites []store.Website
	if o.Website != "" {
		// WebsiteScope refuses an unknown code with the typed scope error (usage).
		if _, err := env.Config.WebsiteScope(ctx, o.Website); err != nil {
			return nil, err
		}
		w, err := env.DB.WebsiteByCode(ctx, o.Website)
		if err != nil {
			return nil, err
		}
		sites = []store.Website{w}
	} else {
		all, err := env.DB.Websites(ctx)
		if err != nil {
			return nil, err
		}
		sites = all
	}
	runs, err := env.DB.SubmitRuns(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Website, 0, len(sites))
	for _, w := range sites {
		ws, err := one(ctx, env, w)
		if err != nil {
			return nil, err
		}
		if r, ok := runs[w.ID]; ok {
			ws.LastSubmit = submitRunOf(r)
		}
		out = append(out, ws)
	}
	return out, nil
}

func one(ctx context.Context, env *deps.Deps, w store.Website) (Website, error) {
	sc, err := env.Config.WebsiteScope(ctx, w.Code)
	if err != nil {
		return Website{}, err
	}
	s, err := env.Website(ctx, sc)
	if err != nil {
		return Website{}, fmt.Errorf("read the configuration of website %s: %w", w.Code, err)
	}
	out := Website{
		ID: w.ID, Code: w.Code, Name: w.Name, Environment: s.EnvironmentName, APIURL: s.Endpoints.API, SellerNIP: s.Seller.NIP,
		Token: Token{Configured: s.Token != "" || s.TokenErr != nil, Source: s.TokenSource, FromEnv: s.TokenFromEnv,
			Fingerprint: short(s.TokenFingerprint)},
		Queue: map[string]int{}, SessionsInFlight: []string{}, Offline: []OfflineJob{}, Warnings: []string{},
	}
	if s.EndpointsErr != nil {
		out.ConfigProblem = s.EndpointsErr.Error()
	}
	if s.TokenErr != nil {
		out.Token.Problem = config.DecryptMessage
	}
	out.AuthMethod = s.AuthMethod
	out.Configured = len(s.Missing()) == 0
	out.Certificate = certificateOf(s.AuthCert, env.Clock())
	out.OfflineCertificate = certificateOf(s.OfflineCert, env.Clock())

	last, err := env.DB.LastAuthOutcome(ctx, w.ID, "test-connection")
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return Website{}, err
	default:
		out.LastConnection = &Connection{At: last.OccurredAt, Success: last.Success, Reason: last.Reason, Message: last.Message,
			Environment: last.Environment, Fingerprint: short(last.TokenFingerprint)}
	}

	ev, err := env.DB.EventCounts(ctx, w.ID)
	if err != nil {
		return Website{}, err
	}
	out.Events = map[string]int{store.DeliveryPending: 0, store.DeliveryDelivered: 0, store.DeliveryDead: 0}
	for k, n := range ev {
		out.Events[k] = n
	}
	switch n := s.Notify; {
	case n.WebhookURL != "" && n.Command != "":
		out.Receiver = "webhook " + n.WebhookURL + " and command " + n.Command
	case n.WebhookURL != "":
		out.Receiver = "webhook " + n.WebhookURL
	case n.Command != "":
		out.Receiver = "command " + n.Command
	}
	if d := out.Events[store.DeliveryDead]; d > 0 {
		out.Warnings = append(out.Warnings, fmt.Sprintf("%d job event(s) of website %s could not be delivered to the shop and are parked as dead: see ksefpl notify:list --status dead, fix the receiver, then ksefpl notify:retry --dead",
			d, w.Code))
	}
	counts, err := env.DB.JobCounts(ctx, w.ID)
	if err != nil {
		return Website{}, err
	}
	for _, st := range JobStatuses {
		out.Queue[st] = 0
	}
	for st, n := range counts {
		out.Queue[st] = n
	}

	sessions, err := env.DB.Sessions(ctx, w.ID, store.InFlightSessionStatuses...)
	if err != nil {
		return Website{}, err
	}
	for _, x := range sessions {
		out.SessionsInFlight = append(out.SessionsInFlight, x.Reference)
	}

	pending, err := env.DB.Jobs(ctx, store.JobFilter{WebsiteID: w.ID, Statuses: []string{store.JobPending}, Limit: 1})
	if err != nil {
		return Website{}, err
	}
	if len(pending) > 0 {
		at := pending[0].CreatedAt.UTC()
		out.OldestPendingAt = &at
		age := env.Now().Sub(at)
		if age < 0 {
			age = 0
		}
		out.OldestPendingAgeSeconds = int64(age / time.Second)
	}
	if err := offlineJobs(ctx, env, s, &out); err != nil {
		return Website{}, err
	}
	return out, nil
}

// certificateOf describes c at now (nil for none).
func certificateOf(c *website.Cert, now time.Time) *Certificate {
	if c == nil {
		return nil
	}
	out := &Certificate{Serial: c.Serial, Source: c.Source}
	if c.Certificate != nil && c.Certificate.Raw != nil {
		out.Subject, out.NotAfter, out.DaysLeft = kcert.NameString(c.Certificate.Subject), c.Certificate.NotAfter.UTC(), c.DaysLeft(now)
	}
	if c.Err != nil {
		out.Problem = c.Err.Error()
	}
	return out
}

// short is the first 12 hex digits of a fingerprint.
func short(fp string) string {
	if len(fp) > 12 {
		return fp[:12]
	}
	return fp
}
