package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/ksefpl/ksefpl/pkg/bench"
)

type benchSubmitOptions struct {
	*app
	bench.Options
	scaling bool
	max     int
}

func newBenchCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{Use: "bench", Short: "End-to-end benchmarks against the simulator"}
	o := &benchSubmitOptions{app: a}
	sub := &cobra.Command{
		Use:   "submit",
		Short: "Measure the main job end to end: a backlog through submit, the official limits on a compressed clock",
		Long: `Starts the simulator as a separate process with the official rate limits on a clock
--time-scale times faster, queues --invoices synthetic invoices in a temporary home, runs
ksefpl submit as a separate process until all are accepted, and reports the submit
process's CPU time per invoice and peak RSS, KSeF API calls per invoice, 429s received,
and the wall time projected to the real limits — for --mode: the run's wall time with the
time it waited on the compressed limits counted at real speed; for online sessions only,
from an --online-sample: each endpoint group's calls per invoice against its official
hourly limit (the binding one for a long backlog), plus the local work. It also times
fresh ksefpl processes on the observer paths (queue invoice, queue list --limit 50,
status, audit --job; the median of 15 each) on the empty home and on the home holding
the accepted backlog, and reports the store's bytes per job.

--scaling runs 10,000, 100,000 and 1,000,000 invoices (those up to --max, and --max
itself) one after another and prints one table.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runBenchSubmit(cmd.Context(), o) },
	}
	f := sub.Flags()
	f.IntVar(&o.Invoices, "invoices", 1000, "backlog size")
	f.Float64Var(&o.TimeScale, "time-scale", 3600, "run the rate limits' clock this many times faster")
	f.StringVar(&o.Mode, "mode", "auto", "submit mode: auto, online or batch")
	f.IntVar(&o.OnlineSample, "online-sample", 0, "also send this many invoices online only and project the backlog from it")
	f.StringVar(&o.MySQLDSN, "mysql-dsn", "", "keep the home's store in a fresh database on this MySQL/MariaDB server (a DSN whose user may create databases)")
	f.BoolVar(&o.scaling, "scaling", false, "run 10,000, 100,000 and 1,000,000 invoices (up to --max) and print one table")
	f.IntVar(&o.max, "max", 1_000_000, "with --scaling: the largest backlog the machine allows")
	f.StringVar(&o.Keep, "keep-home", "", "leave the (largest) measurement's home in this new directory instead of removing it")
	cmd.AddCommand(sub)
	return cmd
}

func runBenchSubmit(ctx context.Context, o *benchSubmitOptions) error {
	a := o.app
	bin, err := os.Executable()
	if err != nil {
		return err
	}
	opts := o.Options
	opts.Binary, opts.Log = bin, a.io.ErrOut
	if o.scaling {
		results, err := bench.Scaling(ctx, opts, o.max)
		if err != nil {
			return err
		}
		if a.json() {
			return writeJSON(a.io.Out, results)
		}
		return writeTable(a.io.Out, scalingHeader, scalingRows(results))
	}
	res, err := bench.Run(ctx, opts)
	if err != nil {
		return err
	}
	if a.json() {
		return writeJSON(a.io.Out, res)
	}
	rows := [][]string{
		{"invoices", fmt.Sprint(res.Invoices)},
		{"mode", res.Mode},
		{"rate limits' clock", fmt.Sprintf("%g× real time", res.TimeScale)},
		{"wall time (compressed)", res.Wall.Round(time.Millisecond).String()},
		{"submit CPU time", res.SubmitCPU.Round(time.Millisecond).String()},
		{"local work per invoice", fmt.Sprintf("%.3f ms", float64(res.CPUPerInvoice.Microseconds())/1000)},
		{"invoices per CPU second", fmt.Sprintf("%.0f", res.InvoicesPerSecond)},
		{"peak RSS of submit", fmt.Sprintf("%.1f MiB", res.PeakRSSMiB)},
		{"KSeF API calls", fmt.Sprintf("%d (%.3f per invoice)", res.APICalls, res.CallsPerInvoice)},
		{"429 answers", fmt.Sprint(res.TooManyRequests)},
		{"waiting within the rate limits (real time)", res.RateLimitWait.Round(time.Second).String()},
		{"projected under real limits (" + res.Mode + ")", res.Projected.Round(time.Second).String()},
	}
	if res.OnlineSample > 0 {
		rows = append(rows, []string{fmt.Sprintf("projected online only (from %d)", res.OnlineSample), res.OnlineProjected.Round(time.Minute).String()})
	}
	rows = append(rows,
		[]string{"store size per job", bytesPerJob(res.DBBytesPerJob)},
		[]string{"fresh `queue invoice` / `queue list --limit 50` / `status` / `audit --job` (median), empty home", latencies(res.Empty)},
		[]string{"the same with the backlog accepted", latencies(res.Latencies)})
	return writeTable(a.io.Out, []string{"Measure", "Value"}, rows)
}

var scalingHeader = []string{"backlog", "CPU / invoice", "peak RSS", "wall (compressed)", "store bytes / job",
	"queue invoice", "queue list --limit 50", "status", "audit --job"}

// scalingRows renders --scaling's table: a row for the empty home's latencies, then one
// per backlog.
func scalingRows(rs []*bench.Result) [][]string {
	ms := func(d time.Duration) string { return millis(d) + " ms" }
	var rows [][]string
	if len(rs) > 0 {
		e := rs[0].Empty
		rows = append(rows, []string{"0", "", "", "", "", ms(e.QueueInvoice), ms(e.QueueList), ms(e.Status), ""})
	}
	for _, r := range rs {
		l := r.Latencies
		rows = append(rows, []string{fmt.Sprint(r.Invoices), fmt.Sprintf("%.3f ms", float64(r.CPUPerInvoice.Microseconds())/1000),
			fmt.Sprintf("%.1f MiB", r.PeakRSSMiB), r.Wall.Round(time.Second).String(), bytesPerJob(r.DBBytesPerJob),
			ms(l.QueueInvoice), ms(l.QueueList), ms(l.Status), ms(l.AuditJob)})
	}
	return rows
}

func latencies(l bench.Latencies) string {
	s := millis(l.QueueInvoice) + " / " + millis(l.QueueList) + " / " + millis(l.Status)
	if l.AuditJob > 0 {
		s += " / " + millis(l.AuditJob)
	}
	return s + " ms"
}

// millis renders d in milliseconds with one decimal.
func millis(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d.Microseconds())/1000) }

func bytesPerJob(b float64) string {
	if b == 0 {
		return "—" // a MySQL store: not measured
	}
	return fmt.Sprintf("%.0f B", b)
}
