package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/ksefpl/ksefpl/pkg/failure"
	"github.com/ksefpl/ksefpl/pkg/notify"
	"github.com/ksefpl/ksefpl/pkg/queue"
	"github.com/ksefpl/ksefpl/pkg/store"
)

type eventsOptions struct {
	*app
	website string
	after   int64
	since   string
	follow  bool
}

func newEventsCmd(a *app) *cobra.Command {
	o := &eventsOptions{app: a}
	cmd := &cobra.Command{
		Use:   "events [--after SEQ|--since T] [--website CODE] [--follow]",
		Short: "Print the job events (KSeF numbers, failures, holds, offline deadlines) in order: the pull feed",
		Long: `Prints the outbox's events in order: by website, then by its sequence number, which only
grows. The cursor of a pull integration is the sequence number: --after SEQ (with --website)
prints the events after it. --since takes a time (RFC 3339, a date, or a duration such as 24h).
--follow keeps printing new events as they are written, until interrupted; with -o json it
prints one JSON object per line. Without --follow, -o json prints an array. Each object is the
event as a webhook receives it: {id, type, seq, website, job_id, entity_type, increment_id,
status, occurred_at, ksef_number, upo_reference, accepted_at, reason, ksef_code,
ksef_description, deadline, message}.`,
		Example: "  ksefpl events --website base --after 41 -o json\n  ksefpl events --since 24h\n  ksefpl events --follow -o json | my-importer",
		Args:    cobra.NoArgs,
		RunE:    func(cmd *cobra.Command, _ []string) error { return runEvents(cmd.Context(), o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.website, "website", "", "only this website (required with --after)")
	f.Int64Var(&o.after, "after", 0, "print the events after this sequence number")
	f.StringVar(&o.since, "since", "", "print the events since this time (RFC 3339, YYYY-MM-DD or a duration back from now: 24h, 7d)")
	f.BoolVar(&o.follow, "follow", false, "keep printing new events until interrupted")
	return cmd
}

func runEvents(ctx context.Context, o *eventsOptions) error {
	a := o.app
	if o.after < 0 {
		return &usageErr{fmt.Errorf("--after must not be negative")}
	}
	fo := notify.FeedOptions{Website: o.website, AfterSeq: o.after, Follow: o.follow}
	d, err := a.deps(ctx)
	if err != nil {
		return err
	}
	if o.since != "" {
		t, err := queue.ParseSince(o.since, d.Clock())
		if err != nil {
			return &usageErr{err}
		}
		fo.Since = t
	}
	var collected []json.RawMessage
	emit := func(ev *store.Event) error {
		switch {
		case a.json() && o.follow:
			if _, err := fmt.Fprintf(a.io.Out, "%s\n", ev.Payload); err != nil {
				return err
			}
		case a.json():
			collected = append(collected, ev.Payload)
		default:
			var p store.EventPayload
			_ = json.Unmarshal(ev.Payload, &p)
			detail := p.KSeFNumber
			if detail == "" {
				detail = firstNonEmpty(p.Deadline, p.Reason)
			}
			_, err := fmt.Fprintf(a.io.Out, "%s #%d %s %s job %d %s %s %s\n", esc(p.Website), p.Seq, p.OccurredAt, esc(p.Type),
				p.JobID, esc(p.IncrementID), esc(p.Status), esc(detail))
			return err
		}
		return nil
	}
	if err := notify.Feed(ctx, d, fo, emit); err != nil {
		return err
	}
	if a.json() && !o.follow {
		if collected == nil {
			collected = []json.RawMessage{}
		}
		return writeJSON(a.io.Out, collected)
	}
	return nil
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

type notifyDeliverOptions struct {
	*app
	website     string
	force       bool
	maxDuration time.Duration
}

func newNotifyDeliverCmd(a *app) *cobra.Command {
	o := &notifyDeliverOptions{app: a}
	cmd := &cobra.Command{
		Use:   "notify:deliver [--website CODE] [--force] [--max-duration D]",
		Short: "Deliver the pending job events to the shop's webhook or command (submit does it after each run)",
		Long: `Delivers the outbox's pending events, in sequence order per website, to the receivers configured
for each website: ksefpl/notify/webhook_url (a JSON POST signed with ksefpl/notify/webhook_secret,
10 s timeout) and/or ksefpl/notify/command (the event on stdin, 30 s timeout). Delivery is at
least once; the event id is the receiver's idempotency key. A failed event is retried with
exponential backoff (1 minute doubling, at most 1 hour apart) and holds back its website's later
events, so their order never contradicts the jobs' history; after ksefpl/notify/max_attempts
failures it is parked as dead (notify:list --status dead, notify:retry). --force attempts every
pending event now, ignoring the backoff (after the receiver was fixed).
Exit 0 when nothing failed, 6 when a receiver failed. -o json → {websites, delivered, failed,
dead, waiting, failures: [{event_id, type, website, attempts, dead, error}], skipped}.`,
		Example: "  ksefpl notify:deliver\n  ksefpl notify:deliver --website shop2 --force",
		Args:    cobra.NoArgs,
		RunE:    func(cmd *cobra.Command, _ []string) error { return runNotifyDeliver(cmd.Context(), o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.website, "website", "", "only this website (default: all)")
	f.BoolVar(&o.force, "force", false, "attempt pending events now, ignoring their backoff")
	f.DurationVar(&o.maxDuration, "max-duration", 0, "stop delivering after this long (0: no bound)")
	return cmd
}

func runNotifyDeliver(ctx context.Context, o *notifyDeliverOptions) error {
	a := o.app
	d, err := a.deps(ctx)
	if err != nil {
		return err
	}
	opts := notify.Options{Force: o.force}
	if o.maxDuration > 0 {
		opts.Until = d.Clock().Add(o.maxDuration)
	}
	rep, err := notify.Deliver(ctx, d, o.website, opts)
	if err != nil {
		return err
	}
	if a.json() {
		if err := writeJSON(a.io.Out, rep); err != nil {
			return err
		}
	} else {
		renderNotifyReport(a, rep)
	}
	if rep.Failed > 0 || rep.Dead > 0 {
		return silentExit(failure.Unavailable)
	}
	return nil
}

// renderNotifyReport prints what a delivery did.
func renderNotifyReport(a *app, rep notify.Report) {
	if rep.Websites == 0 {
		fmt.Fprintln(a.io.Out, "No website has a receiver (ksefpl/notify/webhook_url or ksefpl/notify/command): events wait in the feed (ksefpl events).")
		return
	}
	fmt.Fprintf(a.io.Out, "Events: %d delivered, %d failed (to be retried), %d dead", rep.Delivered, rep.Failed, rep.Dead)
	if rep.Waiting > 0 {
		fmt.Fprintf(a.io.Out, "; %d website(s) waiting for a retry", rep.Waiting)
	}
	fmt.Fprintln(a.io.Out, ".")
	for _, f := range rep.Failures {
		state := "will be retried"
		if f.Dead {
			state = "parked as dead"
		}
		fmt.Fprintf(a.io.ErrOut, "%s\n", a.io.yellow(fmt.Sprintf("Warning: event %s (%s, website %s) attempt %d failed, %s: %s",
			f.EventID, f.Type, f.Website, f.Attempts, state, esc(f.Error))))
	}
	for _, s := range rep.Skipped {
		fmt.Fprintln(a.io.ErrOut, a.io.yellow("Warning: not delivered to website "+esc(s)))
	}
}

type notifyListOptions struct {
	*app
	website, status string
}

func newNotifyListCmd(a *app) *cobra.Command {
	o := &notifyListOptions{app: a}
	cmd := &cobra.Command{
		Use:   "notify:list [--status pending|delivered|dead] [--website CODE]",
		Short: "List the job events with their delivery state, attempts and last error",
		Long: `Lists the outbox's events in order, with their delivery state (pending, delivered, dead), the
number of attempts, when the next one is due, and the last error.
-o json → [{id, website_id, seq, job_id, type, payload, occurred_at, delivery, attempts,
next_attempt_at, last_error, delivered_at}].`,
		Example: "  ksefpl notify:list --status dead\n  ksefpl notify:list --website shop2 -o json",
		Args:    cobra.NoArgs,
		RunE:    func(cmd *cobra.Command, _ []string) error { return runNotifyList(cmd.Context(), o) },
	}
	cmd.Flags().StringVar(&o.status, "status", "", "pending, delivered or dead (default: all)")
	cmd.Flags().StringVar(&o.website, "website", "", "only this website (default: all)")
	return cmd
}

func runNotifyList(ctx context.Context, o *notifyListOptions) error {
	a := o.app
	d, err := a.deps(ctx)
	if err != nil {
		return err
	}
	evs, err := notify.List(ctx, d, o.website, o.status)
	if err != nil {
		return err
	}
	if a.json() {
		if evs == nil {
			evs = []*store.Event{}
		}
		return writeJSON(a.io.Out, evs)
	}
	if len(evs) == 0 {
		fmt.Fprintln(a.io.Out, "No events.")
		return nil
	}
	rows := make([][]string, 0, len(evs))
	for _, ev := range evs {
		next := ""
		if ev.Delivery == store.DeliveryPending && !ev.NextAttemptAt.IsZero() {
			next = ev.NextAttemptAt.Local().Format(time.DateTime)
		}
		rows = append(rows, []string{ev.ID, strconv.FormatInt(ev.WebsiteID, 10), strconv.FormatInt(ev.Seq, 10),
			strconv.FormatInt(ev.JobID, 10), ev.Type, ev.Delivery, strconv.Itoa(ev.Attempts), next, ev.LastError})
	}
	return writeTable(a.io.Out, []string{"EVENT", "WEBSITE", "SEQ", "JOB", "TYPE", "DELIVERY", "ATTEMPTS", "NEXT", "LAST ERROR"}, rows)
}

type notifyRetryOptions struct {
	*app
	website string
	dead    bool
}

func newNotifyRetryCmd(a *app) *cobra.Command {
	o := &notifyRetryOptions{app: a}
	cmd := &cobra.Command{
		Use:   "notify:retry EVENT... | --dead [--website CODE]",
		Short: "Deliver dead (or waiting) events again: back to pending, due now, attempts reset",
		Long: `Puts the named events, or with --dead every dead event (of one website with --website), back to
pending with their attempts reset and due now; the next submit or notify:deliver sends them.
A delivered event is never sent again. -o json → {retried}.`,
		Example: "  ksefpl notify:retry --dead\n  ksefpl notify:retry evt_gz3k2l4x0v5q2c8m5n6p7r8s9t",
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 && !o.dead {
				return &usageErr{fmt.Errorf("name the events to retry, or give --dead")}
			}
			if len(args) > 0 && o.dead {
				return &usageErr{fmt.Errorf("give event ids or --dead, not both")}
			}
			return runNotifyRetry(cmd.Context(), o, args)
		},
	}
	cmd.Flags().BoolVar(&o.dead, "dead", false, "retry every dead event")
	cmd.Flags().StringVar(&o.website, "website", "", "with --dead: only this website's")
	return cmd
}

func runNotifyRetry(ctx context.Context, o *notifyRetryOptions, ids []string) error {
	a := o.app
	d, err := a.deps(ctx)
	if err != nil {
		return err
	}
	n, err := notify.Retry(ctx, d, ids, o.dead, o.website)
	if err != nil {
		return err
	}
	if a.json() {
		return writeJSON(a.io.Out, map[string]int{"retried": n})
	}
	fmt.Fprintf(a.io.Out, "%d event(s) pending again; the next submit or notify:deliver sends them.\n", n)
	return nil
}

type notifyTestOptions struct {
	*app
	website string
}

func newNotifyTestCmd(a *app) *cobra.Command {
	o := &notifyTestOptions{app: a}
	cmd := &cobra.Command{
		Use:   "notify:test [--website CODE]",
		Short: "Send a signed test event to the website's webhook or command and show the answer",
		Long: `Sends an event of type "test" (not stored, not in the feed) to the receivers configured for the
website, signed like every event, and shows what the receiver answered. Exit 0 when it
acknowledged (2xx, or exit 0), 6 when it did not, 3 when no receiver is configured.
-o json → {website, event_id, webhook, command, status, exit_code, answer, ok, error}.`,
		Example: "  ksefpl notify:test\n  ksefpl notify:test --website shop2 -o json",
		Args:    cobra.NoArgs,
		RunE:    func(cmd *cobra.Command, _ []string) error { return runNotifyTest(cmd.Context(), o) },
	}
	cmd.Flags().StringVar(&o.website, "website", "", "website code (default: base)")
	return cmd
}

func runNotifyTest(ctx context.Context, o *notifyTestOptions) error {
	a := o.app
	d, err := a.deps(ctx)
	if err != nil {
		return err
	}
	r, err := notify.Test(ctx, d, o.website)
	if err != nil {
		return withClass(failure.Invalid, err)
	}
	if a.json() {
		if err := writeJSON(a.io.Out, r); err != nil {
			return err
		}
	} else {
		answer := ""
		if r.Answer != "" {
			answer = ": " + esc(r.Answer)
		}
		switch {
		case r.OK && r.Status != 0:
			fmt.Fprintf(a.io.Out, "%s test event %s acknowledged by the webhook (HTTP %d)%s\n", a.io.green("✔"), r.EventID, r.Status, answer)
		case r.OK:
			fmt.Fprintf(a.io.Out, "%s test event %s acknowledged by the command (exit 0)%s\n", a.io.green("✔"), r.EventID, answer)
		default:
			fmt.Fprintf(a.io.Out, "%s test event %s not acknowledged: %s%s\n", a.io.red("✘"), r.EventID, esc(r.Error), answer)
		}
	}
	if !r.OK {
		return silentExit(failure.Unavailable)
	}
	return nil
}
