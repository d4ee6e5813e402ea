package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ksefpl/ksefpl/pkg/ksefsim"
)

type simLatarniaOptions struct {
	*app
	url, category, start, end string
	event                     int
}

// newSimLatarniaCmd drives the simulator's Latarnia: announce a failure, a total failure
// or a maintenance, end a failure, or clear everything.
func newSimLatarniaCmd(a *app) *cobra.Command {
	o := &simLatarniaOptions{app: a}
	cmd := &cobra.Command{
		Use:   "latarnia publish|end|reset --url URL",
		Short: "Announce a KSeF failure, total failure or maintenance on a running simulator's Latarnia, end one, or clear them",
		Long: `publish --category FAILURE|TOTAL_FAILURE|MAINTENANCE [--start T] [--end T] announces an event on the
simulator's status service (GET /latarnia/status and /messages answer with it); a failure without
--end lasts until 'end --event ID'. Times are RFC 3339 (default --start: now). reset clears every
announcement. Offline deadlines follow these announcements.`,
		Example: "  ksefpl sim latarnia publish --url http://127.0.0.1:8089 --category FAILURE\n  ksefpl sim latarnia end --url http://127.0.0.1:8089 --event 1001",
		Args:    cobra.ExactArgs(1),
		RunE:    func(cmd *cobra.Command, args []string) error { return runSimLatarnia(cmd.Context(), o, args[0]) },
	}
	f := cmd.Flags()
	f.StringVar(&o.url, "url", "", "simulator URL, e.g. http://127.0.0.1:8089")
	f.StringVar(&o.category, "category", "FAILURE", "publish: FAILURE, TOTAL_FAILURE or MAINTENANCE")
	f.StringVar(&o.start, "start", "", "publish: when the event starts (RFC 3339; default now)")
	f.StringVar(&o.end, "end", "", "publish: when it ends (RFC 3339; required for MAINTENANCE); end: when the failure ended (default now)")
	f.IntVar(&o.event, "event", 0, "end: the event id publish printed")
	return cmd
}

func runSimLatarnia(ctx context.Context, o *simLatarniaOptions, action string) error {
	a := o.app
	if o.url == "" {
		return &usageErr{fmt.Errorf("--url is required")}
	}
	parse := func(flag, v string) (time.Time, error) {
		if v == "" {
			return time.Time{}, nil
		}
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return time.Time{}, &usageErr{fmt.Errorf("invalid %s %q: give an RFC 3339 time such as 2026-12-01T10:00:00+01:00", flag, v)}
		}
		return t, nil
	}
	start, err := parse("--start", o.start)
	if err != nil {
		return err
	}
	end, err := parse("--end", o.end)
	if err != nil {
		return err
	}
	c := &ksefsim.ControlClient{URL: o.url}
	var msg ksefsim.LatarniaMessage
	switch action {
	case "publish":
		if start.IsZero() {
			start = a.now()
		}
		msg, err = c.PublishLatarnia(ctx, ksefsim.LatarniaEvent{Category: strings.ToUpper(o.category), Start: start, End: end})
	case "end":
		if o.event <= 0 {
			return &usageErr{fmt.Errorf("end needs --event ID (the id publish printed)")}
		}
		if end.IsZero() {
			end = a.now()
		}
		msg, err = c.EndLatarniaFailure(ctx, o.event, end)
	case "reset":
		if err := c.ResetLatarnia(ctx); err != nil {
			return simErr(err)
		}
		fmt.Fprintln(a.io.Out, "Latarnia cleared: KSeF is AVAILABLE.")
		return nil
	default:
		return &usageErr{fmt.Errorf("unknown action %q: use publish, end or reset", action)}
	}
	if err != nil {
		return simErr(err)
	}
	if a.json() {
		return writeJSON(a.io.Out, msg)
	}
	fmt.Fprintf(a.io.Out, "Latarnia %s %s: event %d (%s)\n", msg.Type, msg.ID, msg.EventID, msg.Category)
	return nil
}
