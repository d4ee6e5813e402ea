package monitor

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/ksefpl/ksefpl/pkg/config"
	"github.com/ksefpl/ksefpl/pkg/deps"
	"github.com/ksefpl/ksefpl/pkg/offline"
	"github.com/ksefpl/ksefpl/pkg/status"
	"github.com/ksefpl/ksefpl/pkg/store"
)

// State is a verdict in the monitoring-plugins convention; its value is the plugin's
// exit code.
type State int

// States, from best to worst.
const (
	OK       State = 0
	Warning  State = 1
	Critical State = 2
	Unknown  State = 3
)

// String is the plugin's word for the state.
func (s State) String() string {
	switch s {
	case OK:
		return "OK"
	case Warning:
		return "WARNING"
	case Critical:
		return "CRITICAL"
	}
	return "UNKNOWN"
}

// MarshalJSON writes the state as its word.
func (s State) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// Measures, in the order a website's are reported. The rules (see Evaluate):
//
//	pending_age        oldest PENDING job's age        WARNING > max_pending_age, CRITICAL > twice it
//	failed             FAILED jobs                      WARNING > max_failed
//	auth_error         AUTH_ERROR jobs                  CRITICAL > 0 (KSeF refused the credential: nothing is sent)
//	cert_expiry        time left, nearest certificate   WARNING < cert_expiry_warn, CRITICAL once expired
//	token_expiry       time left to send with a token   WARNING < cert_expiry_warn, CRITICAL once ended
//	offline_deadline   time left, nearest deadline      WARNING < offline_deadline_warn, CRITICAL once missed
//	dead_events        events parked as dead            WARNING > max_dead_events
//	since_last_submit  time since the last good run     WARNING > max_since_last_submit (or none recorded), CRITICAL > twice it
const (
	MeasurePendingAge      = "pending_age"
	MeasureFailed          = "failed"
	MeasureAuthError       = "auth_error"
	MeasureCertExpiry      = "cert_expiry"
	MeasureTokenExpiry     = "token_expiry"
	MeasureOfflineDeadline = "offline_deadline"
	MeasureDeadEvents      = "dead_events"
	MeasureSinceLastSubmit = "since_last_submit"
)

// Measure is one evaluated quantity of a website with its thresholds.
type Measure struct {
	Name  string `json:"name"`
	State State  `json:"state"`
	// Value is the quantity (seconds for durations and times left); nil when it has
	// none (no successful submit run recorded yet).
	Value *float64 `json:"value"`
	// Unit is "s" for seconds, "" for counts.
	Unit string `json:"unit,omitempty"`
	// Warn and Crit are the perfdata ranges ("1800" alerts above 1800, "2592000:" below
	// 2592000; "" none).
	Warn string `json:"warn"`
	Crit string `json:"crit"`
	// Reason says why the state is not OK, or what was measured.
	Reason string `json:"reason"`
}

// WebsiteVerdict is one website's measures and its worst state.
type WebsiteVerdict struct {
	Website  string    `json:"website"`
	State    State     `json:"state"`
	Measures []Measure `json:"checks"`
}

// Report is status --check: every website's verdict and the worst state.
type Report struct {
	State    State            `json:"state"`
	Summary  string           `json:"summary"`
	Websites []WebsiteVerdict `json:"websites"`
}

// Check evaluates the thresholds of every website (or o.Website).
func Check(ctx context.Context, d *deps.Deps, o Options) (*Report, error) {
	snap, err := Collect(ctx, d, o)
	if err != nil {
		return nil, err
	}
	return snap.Check(), nil
}

// Check evaluates the snapshot.
func (s *Snapshot) Check() *Report {
	r := &Report{Websites: []WebsiteVerdict{}}
	for _, site := range s.Sites {
		v := Evaluate(site, s.At)
		r.Websites = append(r.Websites, v)
		r.State = max(r.State, v.State)
	}
	r.Summary = r.line()
	return r
}

// Evaluate applies the site's thresholds at now (see the Measure constants for the rules).
func Evaluate(site Site, now time.Time) WebsiteVerdict {
	th := site.Thresholds
	v := WebsiteVerdict{Website: site.Code}
	add := func(m Measure) {
		v.Measures = append(v.Measures, m)
		v.State = max(v.State, m.State)
	}
	if th.MaxPendingAge > 0 {
		age := time.Duration(site.OldestPendingAgeSeconds) * time.Second
		add(older(MeasurePendingAge, age, th.MaxPendingAge, "the oldest PENDING job is "+Human(age)+" old"))
	}
	failed := site.Queue[store.JobFailed]
	add(count(MeasureFailed, failed, th.MaxFailed, fmt.Sprintf("%d FAILED jobs", failed),
		"see ksefpl queue list --status failed; ksefpl queue retry --failed once the cause is fixed"))
	held := site.Queue[store.JobAuthError]
	m := Measure{Name: MeasureAuthError, Value: num(float64(held)), Crit: "0", Reason: fmt.Sprintf("%d AUTH_ERROR jobs", held)}
	if held > 0 {
		m.State = Critical
		m.Reason = fmt.Sprintf("%d jobs held as AUTH_ERROR: KSeF refused the credential; fix it and run ksefpl test-connection --website %s", held, site.Code)
	}
	add(m)
	if th.CertExpiryWarn > 0 {
		if m, ok := certExpiry(site, now, th.CertExpiryWarn); ok {
			add(m)
		}
		if site.Configured && site.AuthMethod == config.AuthToken && site.Token.Configured {
			add(left(MeasureTokenExpiry, TokenAuthEnds().Sub(now), th.CertExpiryWarn,
				"authentication with a KSeF token ends on "+TokenAuthEnds().In(offline.Warsaw()).Add(-time.Second).Format(time.DateOnly)+
					": import a certificate (ksefpl certificate:import) and set ksefpl/connection/auth_method certificate"))
		}
	}
	if th.OfflineDeadlineWarn > 0 {
		if m, ok := offlineDeadline(site, now, th.OfflineDeadlineWarn); ok {
			add(m)
		}
	}
	dead := site.Events[store.DeliveryDead]
	add(count(MeasureDeadEvents, dead, th.MaxDeadEvents, fmt.Sprintf("%d dead job events", dead),
		"see ksefpl notify:list --status dead, fix the receiver, then ksefpl notify:retry --dead"))
	if th.MaxSinceLastSubmit > 0 && site.Configured {
		add(sinceLastSubmit(site, now, th.MaxSinceLastSubmit))
	}
	return v
}

// older is a measure that is worse the larger it is: WARNING above limit, CRITICAL
// above twice it.
func older(name string, d, limit time.Duration, what string) Measure {
	m := Measure{Name: name, Value: num(math.Floor(d.Seconds())), Unit: "s", Warn: seconds(limit), Crit: seconds(2 * limit), Reason: what}
	switch {
	case d > 2*limit:
		m.State, m.Reason = Critical, fmt.Sprintf("%s %s > 2×%s", name, Human(d), Human(limit))
	case d > limit:
		m.State, m.Reason = Warning, fmt.Sprintf("%s %s > %s", name, Human(d), Human(limit))
	}
	return m
}

// left is a time left that is worse the smaller it is: WARNING under warn, CRITICAL
// when none is left; why is the reason when it is not OK.
func left(name string, d, warn time.Duration, why string) Measure {
	m := Measure{Name: name, Value: num(math.Floor(d.Seconds())), Unit: "s", Warn: seconds(warn) + ":", Crit: "0:", Reason: Human(d) + " left"}
	switch {
	case d <= 0:
		m.State, m.Reason = Critical, fmt.Sprintf("%s: ended %s ago; %s", name, Human(-d), why)
	case d < warn:
		m.State, m.Reason = Warning, fmt.Sprintf("%s %s < %s; %s", name, Human(d), Human(warn), why)
	}
	return m
}

// count is a count that is WARNING above limit; what describes it, todo says what to do.
func count(name string, n, limit int, what, todo string) Measure {
	m := Measure{Name: name, Value: num(float64(n)), Warn: fmt.Sprint(limit), Reason: what}
	if n > limit {
		m.State, m.Reason = Warning, fmt.Sprintf("%s %d > %d: %s", name, n, limit, todo)
	}
	return m
}

// certExpiry measures the certificate that ends first: the authentication certificate
// when the website authenticates with it, and the Offline certificate (KOD II).
func certExpiry(site Site, now time.Time, warn time.Duration) (Measure, bool) {
	type cand struct {
		what, serial string
		end          time.Time
	}
	var cs []cand
	if c := site.Certificate; c != nil && site.AuthMethod == config.AuthCertificate && !c.NotAfter.IsZero() {
		cs = append(cs, cand{"authentication", c.Serial, c.NotAfter})
	}
	if c := site.OfflineCertificate; c != nil && !c.NotAfter.IsZero() {
		cs = append(cs, cand{"offline", c.Serial, c.NotAfter})
	}
	if len(cs) == 0 {
		return Measure{}, false
	}
	first := cs[0]
	for _, c := range cs[1:] {
		if c.end.Before(first.end) {
			first = c
		}
	}
	return left(MeasureCertExpiry, first.end.Sub(now), warn, fmt.Sprintf("the %s certificate %s is valid until %s: renew it (ksefpl certificate:enroll --type %s --website %s)",
		first.what, first.serial, first.end.UTC().Format(time.RFC3339), first.what, site.Code)), true
}

// offlineDeadline measures the nearest deadline of the offline documents not yet
// accepted (lifted and open ones have none).
func offlineDeadline(site Site, now time.Time, warn time.Duration) (Measure, bool) {
	end, job, ok := nearestDeadline(site.Offline)
	if !ok {
		return Measure{}, false
	}
	return left(MeasureOfflineDeadline, end.Sub(now), warn, fmt.Sprintf("offline job %d must reach KSeF by the end of %s (Europe/Warsaw): ksefpl submit --website %s",
		job.JobID, job.Deadline, site.Code)), true
}

// nearestDeadline is the end of the nearest offline deadline and its job.
func nearestDeadline(jobs []status.OfflineJob) (time.Time, status.OfflineJob, bool) {
	var best time.Time
	var job status.OfflineJob
	for _, j := range jobs {
		if j.Lifted || j.Deadline == "" {
			continue
		}
		day, err := offline.ParseDay(j.Deadline)
		if err != nil {
			continue
		}
		end, ok := offline.Deadline{Day: day}.End()
		if ok && (best.IsZero() || end.Before(best)) {
			best, job = end, j
		}
	}
	return best, job, !best.IsZero()
}

// sinceLastSubmit measures the time since the website's last successful submit run.
func sinceLastSubmit(site Site, now time.Time, limit time.Duration) Measure {
	r := site.LastSubmit
	if r == nil || r.LastSuccessAt == nil {
		m := Measure{Name: MeasureSinceLastSubmit, State: Warning, Unit: "s", Warn: seconds(limit), Crit: seconds(2 * limit),
			Reason: "no successful submit run recorded: is the cron job installed? (ksefpl cron:install --print)"}
		if r != nil {
			m.Reason = fmt.Sprintf("no successful submit run recorded; the last one failed (%s) at %s: see its output, or run ksefpl submit --website %s",
				r.ErrorClass, r.FinishedAt.Format(time.RFC3339), site.Code)
		}
		return m
	}
	m := older(MeasureSinceLastSubmit, now.Sub(*r.LastSuccessAt), limit, "the last successful submit run ended "+Human(now.Sub(*r.LastSuccessAt))+" ago")
	if m.State != OK {
		m.Reason += ": is the cron job running? (journalctl -t ksefpl, or HOME/submit.log)"
		if !r.Success {
			m.Reason += fmt.Sprintf("; the last run failed (%s)", r.ErrorClass)
		}
	}
	return m
}

func num(f float64) *float64 { return &f }

// seconds writes a threshold in whole seconds.
func seconds(d time.Duration) string { return fmt.Sprint(int64(d / time.Second)) }

// Human writes a duration for people: 45s, 30m, 2h, 1h30m, 30d, 3d4h.
func Human(d time.Duration) string {
	if d < 0 {
		return "-" + Human(-d)
	}
	d = d.Round(time.Second)
	var b strings.Builder
	for _, u := range []struct {
		unit time.Duration
		name string
	}{{24 * time.Hour, "d"}, {time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}} {
		if n := d / u.unit; n > 0 {
			fmt.Fprintf(&b, "%d%s", n, u.name)
			d -= n * u.unit
		}
	}
	if b.Len() == 0 {
		return "0s"
	}
	return b.String()
}
