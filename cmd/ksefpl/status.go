package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ksefpl/ksefpl/pkg/config"
	"github.com/ksefpl/ksefpl/pkg/conncheck"
	"github.com/ksefpl/ksefpl/pkg/offline"
	"github.com/ksefpl/ksefpl/pkg/status"
	"github.com/ksefpl/ksefpl/pkg/store"
)

type statusOptions struct {
	*app
	website string
	check   bool
}

func newStatusCmd(a *app) *cobra.Command {
	o := &statusOptions{app: a}
	cmd := &cobra.Command{
		Use:   "status [--website CODE] [--check]",
		Short: "Per-website status: environment, NIP, token, last connection test, queue, sessions, oldest pending job, offline deadlines",
		Long: `Shows, for every website (or the one named by --website), read from the local store: the KSeF
environment and API, the seller NIP, where the token comes from (stored at a scope, or an
environment variable) and its short fingerprint (never the token), the last test-connection
(time, success, reason), the queue counts by status, the sessions still in flight, the age of
the oldest PENDING job, and the documents issued offline that KSeF has not accepted yet, with
their deadlines: a warning when one is less than 4 hours away, and every missed one. Only a
website with such documents makes a network call: Latarnia (KSeF's status service), whose
failure announcements move their deadlines.
-o json prints an array: [{website, name, environment, api_url, seller_nip, token: {configured,
source, from_env, fingerprint, problem}, last_connection: {at, success, reason, message,
environment, token_fingerprint} | null, queue: {STATUS: n}, sessions_in_flight: [ref],
oldest_pending_at, oldest_pending_age_seconds, offline: [{job_id, increment_id, status, mode,
issue_date, deadline, deadline_lifted, seconds_left, due_soon, missed}], configured, last_submit:
{started_at, finished_at, duration_seconds, success, error_class, last_success_at, runs,
failed_runs, sent, accepted, failed} | null, warnings}].

--check evaluates the thresholds ksefpl/monitor/* of every website, as a Nagios/Icinga
plugin: one line "KSEFPL STATE - what is wrong | perfdata" and exit 0 OK, 1 WARNING,
2 CRITICAL, 3 UNKNOWN (the store cannot be read). WARNING: the oldest PENDING job older
than max_pending_age, more FAILED jobs than max_failed, more dead events than
max_dead_events, a certificate or KSeF-token authentication ending within
cert_expiry_warn, an offline deadline within offline_deadline_warn, no successful submit
run within max_since_last_submit. CRITICAL: twice either age, any AUTH_ERROR job, an
expired certificate or token, a missed offline deadline. -o json gives
{state, summary, websites: [{website, state, checks: [{name, state, value, unit, warn,
crit, reason}]}]}.`,
		Example: "  ksefpl status\n  ksefpl status --website shop2 -o json\n  ksefpl status --check",
		Args:    cobra.NoArgs,
		RunE:    func(cmd *cobra.Command, _ []string) error { return runStatus(cmd.Context(), o) },
	}
	cmd.Flags().StringVar(&o.website, "website", "", "only this website (default: all)")
	cmd.Flags().BoolVar(&o.check, "check", false, "evaluate the ksefpl/monitor thresholds as a monitoring plugin: exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN")
	return cmd
}

func runStatus(ctx context.Context, o *statusOptions) error {
	if o.check {
		return runStatusCheck(ctx, o)
	}
	a := o.app
	d, err := a.deps(ctx)
	if err != nil {
		return err
	}
	sites, err := status.Collect(ctx, d, status.Options{Website: o.website})
	if err != nil {
		return err
	}
	if a.json() {
		return writeJSON(a.io.Out, sites)
	}
	return renderStatus(a, sites)
}

func renderStatus(a *app, sites []status.Website) error {
	if len(sites) == 0 {
		fmt.Fprintln(a.io.Out, "No websites.")
	}
	for i, w := range sites {
		if i > 0 {
			fmt.Fprintln(a.io.Out)
		}
		fmt.Fprintf(a.io.Out, "%s (%s)\n", a.io.bold("Website "+w.Code), esc(w.Name))
		env := esc(w.Environment)
		if w.APIURL != "" {
			env += " · " + esc(w.APIURL)
		}
		if w.ConfigProblem != "" {
			env += " · " + a.io.red(w.ConfigProblem)
		}
		rows := [][]string{
			{"environment", env},
			{"seller NIP", esc(orDash(w.SellerNIP))},
			{"authentication", w.AuthMethod},
			{"token", tokenText(a, w.Token, w.AuthMethod)},
			{"certificate", certText(a, w.Certificate)},
			{"offline certificate", certText(a, w.OfflineCertificate)},
			{"last test-connection", connectionText(a, w.LastConnection)},
			{"queue", queueText(a, w.Queue)},
			{"sessions in flight", sessionsText(w.SessionsInFlight)},
			{"oldest pending job", pendingText(w)},
			{"last submit", lastSubmitText(a, w.LastSubmit)},
			{"job events", eventsText(a, w)},
		}
		for _, r := range rows {
			fmt.Fprintf(a.io.Out, "  %-21s %s\n", r[0], r[1]) // data in r[1] is escaped where it is composed
		}
		for _, j := range w.Offline {
			line := fmt.Sprintf("job %d %s (%s, %s): send by %s", j.JobID, esc(j.IncrementID), j.Mode, j.Status,
				offline.DescribeStored(j.Deadline, j.Lifted))
			switch {
			case j.Missed:
				line = a.io.red(line + " — MISSED")
			case j.DueSoon:
				line = a.io.yellow(line + " — due soon")
			}
			fmt.Fprintf(a.io.Out, "  %-21s %s\n", "offline", line)
		}
		for _, msg := range w.Warnings {
			a.warn(msg)
		}
	}
	return nil
}

// eventsText is the events line: counts by delivery state and where they go.
func eventsText(a *app, w status.Website) string {
	e := w.Events
	dead := fmt.Sprintf("%d dead", e[store.DeliveryDead])
	if e[store.DeliveryDead] > 0 {
		dead = a.io.red(dead)
	}
	to := "feed only (no receiver)"
	if w.Receiver != "" {
		to = "to " + esc(w.Receiver)
	}
	return fmt.Sprintf("%d delivered, %d pending, %s · %s", e[store.DeliveryDelivered], e[store.DeliveryPending], dead, to)
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

func tokenText(a *app, t status.Token, method string) string {
	switch {
	case !t.Configured && method == config.AuthCertificate:
		return "none (not needed: the website authenticates with its certificate)"
	case !t.Configured:
		return a.io.red("not configured")
	case t.Problem != "":
		return a.io.red(t.Problem) + " (" + esc(t.Source) + ")"
	case t.FromEnv:
		return "environment variable " + esc(t.Source) + " · fingerprint " + t.Fingerprint
	}
	return "stored (" + esc(t.Source) + ") · fingerprint " + t.Fingerprint
}

func certText(a *app, c *status.Certificate) string {
	switch {
	case c == nil:
		return "none"
	case c.Problem != "":
		return a.io.red(c.Problem) + " (" + esc(c.Source) + ")"
	}
	s := fmt.Sprintf("%s · %s · valid until %s", c.Serial, esc(c.Subject), c.NotAfter.Format(time.DateOnly))
	left := fmt.Sprintf("%d days left", c.DaysLeft)
	switch {
	case c.DaysLeft < 0:
		left = a.io.red("expired")
	case c.DaysLeft < conncheck.CertificateWarnDays:
		left = a.io.yellow(left)
	}
	return s + " (" + left + ") · " + esc(c.Source)
}

func connectionText(a *app, c *status.Connection) string {
	if c == nil {
		return "never run (ksefpl test-connection)"
	}
	s := localTime(c.At) + " · "
	if c.Success {
		s += a.io.green("OK")
	} else {
		s += a.io.red("failed")
		if c.Reason != "" {
			s += " " + esc(c.Reason)
		}
		if c.Message != "" {
			s += ": " + esc(c.Message)
		}
	}
	return s + " · token " + c.Fingerprint
}

func queueText(a *app, q map[string]int) string {
	parts := make([]string, 0, len(q))
	for _, st := range status.JobStatuses {
		parts = append(parts, a.statusText(st)+" "+strconv.Itoa(q[st]))
	}
	return strings.Join(parts, " · ")
}

func sessionsText(refs []string) string {
	if len(refs) == 0 {
		return "0"
	}
	return strconv.Itoa(len(refs)) + ": " + esc(strings.Join(refs, ", "))
}

func pendingText(w status.Website) string {
	if w.OldestPendingAt == nil {
		return "none"
	}
	return localTime(*w.OldestPendingAt) + " · " + (time.Duration(w.OldestPendingAgeSeconds) * time.Second).String() + " ago"
}

func lastSubmitText(a *app, r *status.SubmitRun) string {
	if r == nil {
		return "none recorded (ksefpl cron:install --print)"
	}
	s := localTime(r.FinishedAt) + " · "
	if r.Success {
		s += a.io.green("OK")
	} else {
		s += a.io.red("failed (" + r.ErrorClass + ")")
	}
	s += " · took " + (time.Duration(r.DurationSeconds * float64(time.Second))).Round(time.Millisecond).String()
	if !r.Success {
		s += " · last success "
		if r.LastSuccessAt != nil {
			s += localTime(*r.LastSuccessAt)
		} else {
			s += "never"
		}
	}
	return s
}
