package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/ksefpl/ksefpl/pkg/failure"
	"github.com/ksefpl/ksefpl/pkg/ksef"
	"github.com/ksefpl/ksefpl/pkg/monitor"
	"github.com/ksefpl/ksefpl/pkg/submit"
)

// submitMemoryLimit is submit's soft memory limit (runtime/debug.SetMemoryLimit).
const submitMemoryLimit = 48 << 20

type submitOptions struct {
	*app
	website   string
	limit     int
	wait      time.Duration
	autoRetry bool
	poll      time.Duration
	mode      string
	timeScale float64
	waitSet   bool
	maxDur    time.Duration
	heartbeat time.Duration
	window    int
	metrics   string
}

func newSubmitCmd(a *app) *cobra.Command {
	o := &submitOptions{app: a}
	cmd := &cobra.Command{
		Use:   "submit",
		Short: "Send queued invoices to KSeF and collect KSeF numbers and UPOs (cron-safe)",
		Long: `One run (1) advances what is in flight: invoice statuses, KSeF numbers, session closing, UPO
receipts; (2) freezes and sends new PENDING jobs through online sessions, polling what was sent
meanwhile so that KSeF numbers arrive as they are assigned; (3) waits up to --wait for results,
leaving the rest to the next run. The whole run ends within --max-duration: it then stops
sending, settles what it can and exits 0; the next run continues. On a non-terminal it prints
one progress line per website per minute. Safe to run from cron every minute, on one server
or on several sharing a MySQL/MariaDB database: overlapping runs share a website's backlog,
each claiming --claim-window jobs at a time that only it sends, and a crashed run never
loses or double-sends a job.
--metrics-file writes the Prometheus metrics of ksefpl metrics after the run, atomically,
for node_exporter's textfile collector. With --log-format json each job's move, the
heartbeats, each website's outcome and the run's totals are JSON lines on stderr.
Exit 0 when nothing failed, 7 when some jobs failed, 4/6 when a website could not
authenticate / reach KSeF.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.wait, _ = cmd.Flags().GetDuration("wait")
			o.waitSet = cmd.Flags().Changed("wait")
			return runSubmit(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.website, "website", "", "only this website (default: every website with a NIP and token)")
	f.IntVar(&o.limit, "limit", 0, "send at most N new jobs per website (0: all)")
	f.Duration("wait", 2*time.Minute, "how long to wait for KSeF's results after sending (0: do not wait)")
	f.BoolVar(&o.autoRetry, "auto-retry", false, "requeue jobs that failed with SESSION_TERMINATED")
	f.DurationVar(&o.poll, "poll-interval", 2*time.Second, "pause between status polls while waiting")
	f.Float64Var(&o.timeScale, "time-scale", 1, "pace the rate limits N times faster (only for a simulator started with the same --time-scale)")
	f.StringVar(&o.mode, "mode", "auto", "online, batch, or auto (batch when a website's backlog exceeds ksefpl/submit/batch_threshold)")
	f.DurationVar(&o.maxDur, "max-duration", 10*time.Minute, "end the run after this long: stop sending, settle what was sent, exit 0 (the next run continues)")
	f.DurationVar(&o.heartbeat, "heartbeat", time.Minute, "on a non-terminal stderr, print each website's counts this often")
	f.IntVar(&o.window, "claim-window", 100, "online sending claims this many jobs at a time; other runs (other servers) send the next ones")
	f.StringVar(&o.metrics, "metrics-file", "", "after the run, write the Prometheus metrics to this file atomically (node_exporter's textfile collector: a name ending in .prom)")
	return cmd
}

func runSubmit(ctx context.Context, o *submitOptions) error {
	a := o.app
	switch {
	case o.timeScale <= 0:
		return &usageErr{fmt.Errorf("--time-scale must be positive")}
	case o.limit < 0:
		return &usageErr{fmt.Errorf("--limit must not be negative (0: no limit)")}
	case o.wait < 0:
		return &usageErr{fmt.Errorf("--wait must not be negative (0: do not wait)")}
	case o.poll <= 0:
		return &usageErr{fmt.Errorf("--poll-interval must be positive")}
	case o.maxDur <= 0:
		return &usageErr{fmt.Errorf("--max-duration must be positive")}
	case o.heartbeat <= 0:
		return &usageErr{fmt.Errorf("--heartbeat must be positive")}
	case o.window <= 0:
		return &usageErr{fmt.Errorf("--claim-window must be positive")}
	}
	switch o.mode {
	case submit.ModeAuto, submit.ModeOnline, submit.ModeBatch:
	default:
		return &usageErr{fmt.Errorf("invalid --mode %q: use auto, online or batch", o.mode)}
	}
	if a.io.setMemoryLimit != nil && a.getenv("GOMEMLIMIT") == "" {
		// A long backlog keeps little alive at a time; a soft limit keeps the garbage
		// collector from letting the heap grow to twice that (GOMEMLIMIT overrides it).
		a.io.setMemoryLimit(submitMemoryLimit)
	}
	d, err := a.deps(ctx)
	if err != nil {
		return err
	}
	opts := submit.Options{Website: o.website, Limit: o.limit, Wait: o.wait, NoWait: o.waitSet && o.wait == 0,
		AutoRetry: o.autoRetry, PollInterval: o.poll, Mode: o.mode, MaxDuration: o.maxDur, ClaimWindow: o.window}
	opts.HeartbeatEvery = o.heartbeat
	if a.log != nil {
		opts.Progress = func(p submit.Progress) { logSubmitJob(a.log, p) }
		opts.Heartbeat = func(h submit.Heartbeat) { logSubmitHeartbeat(a.log, h) }
	} else if !a.io.ErrTTY {
		// cron's log shows life: one line per website per minute.
		opts.Heartbeat = func(h submit.Heartbeat) {
			fmt.Fprintf(a.io.ErrOut, "%s submit: website %s: %d sent, %d accepted, %d failed, %d pending (%s)\n",
				a.now().Format(time.RFC3339), esc(h.Website), h.Sent, h.Accepted, h.Failed, h.Pending, h.Elapsed.Round(time.Second))
		}
	}
	if o.timeScale != 1 {
		opts.Pacer = ksef.NewPacer(ksef.PacerOptions{TimeScale: o.timeScale})
	}
	if a.io.ErrTTY && !a.json() && a.log == nil {
		bar := progressbar.NewOptions(-1, progressbar.OptionSetWriter(a.io.ErrOut), progressbar.OptionSetDescription("submitting"),
			progressbar.OptionClearOnFinish(), progressbar.OptionShowCount())
		opts.Progress = func(p submit.Progress) {
			bar.Describe(fmt.Sprintf("%s: job %d %s", p.Website, p.JobID, p.Status))
			_ = bar.Add(1)
		}
		defer bar.Finish()
	}
	started := a.now()
	res, err := submit.Run(ctx, d, opts)
	if err != nil {
		return err
	}
	if a.log != nil {
		logSubmitResult(ctx, a.log, res, a.now().Sub(started).Seconds())
	} else {
		for _, w := range res.Warnings {
			fmt.Fprintln(a.io.ErrOut, a.io.yellow("Warning: "+w))
		}
	}
	if o.metrics != "" {
		// The run is done whatever happens to its metrics: a file that cannot be written
		// is a warning, and a stale file shows in ksefpl_submit_last_run_timestamp_seconds.
		fams, err := monitor.Metrics(ctx, d, monitor.Options{Website: o.website})
		if err == nil {
			err = monitor.WriteFile(o.metrics, fams)
		}
		if err != nil {
			a.warn("the metrics were not written: " + err.Error())
		}
	}
	if a.json() {
		if err := writeJSON(a.io.Out, res); err != nil {
			return err
		}
	} else {
		if err := renderSubmit(a, res); err != nil {
			return err
		}
		if res.Notify != nil {
			renderNotifyReport(a, *res.Notify)
		}
	}
	if c := res.FirstErrorClass(); c != failure.None {
		return silentExit(c)
	}
	if res.Failed > 0 {
		return silentExit(failure.Partial)
	}
	return nil
}

func renderSubmit(a *app, res *submit.Result) error {
	rows := make([][]string, 0, len(res.Websites))
	for _, w := range res.Websites {
		note := strings.Join(w.Sessions, " ")
		switch {
		case w.Error != "":
			note = a.io.red(w.Error)
		case w.Skipped != "":
			note = "skipped: " + w.Skipped
		}
		rows = append(rows, []string{w.Website, strconv.Itoa(w.Sent), strconv.Itoa(w.Accepted), failedCell(a, w.Failed), strconv.Itoa(w.Waiting), note})
	}
	if len(res.Websites) > 1 {
		rows = append(rows, []string{"total", strconv.Itoa(res.Sent), strconv.Itoa(res.Accepted), failedCell(a, res.Failed), strconv.Itoa(res.Waiting), ""})
	}
	return writeTable(a.io.Out, []string{"Website", "Sent", "Accepted", "Failed", "Waiting", "Sessions / notes"}, rows)
}

func failedCell(a *app, n int) string {
	if n > 0 {
		return a.io.red(strconv.Itoa(n))
	}
	return "0"
}
