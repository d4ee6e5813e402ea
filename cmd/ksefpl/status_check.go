package main

import (
	"context"
	"fmt"

	"github.com/ksefpl/ksefpl/pkg/monitor"
)

// runStatusCheck is status --check: the monitoring-plugins verdict of every website's
// thresholds, one summary line with perfdata (or -o json), and its exit code. Whatever
// keeps the store from being read is UNKNOWN (exit 3).
func runStatusCheck(ctx context.Context, o *statusOptions) error {
	a := o.app
	rep, err := checkReport(ctx, o)
	if err != nil {
		rep = &monitor.Report{State: monitor.Unknown, Summary: monitor.UnknownLine(err), Websites: []monitor.WebsiteVerdict{}}
	}
	if a.json() {
		if err := writeJSON(a.io.Out, rep); err != nil {
			return err
		}
	} else {
		fmt.Fprintln(a.io.Out, rep.Summary)
	}
	if rep.State == monitor.OK {
		return nil
	}
	return &pluginExit{state: rep.State}
}

func checkReport(ctx context.Context, o *statusOptions) (*monitor.Report, error) {
	d, err := o.app.deps(ctx)
	if err != nil {
		return nil, err
	}
	return monitor.Check(ctx, d, monitor.Options{Website: o.website})
}
