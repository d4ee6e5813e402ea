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
hourly limit (the binding one for a long backlog), plus the local work.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runBenchSubmit(cmd.Context(), o) },
	}
	f := sub.Flags()
	f.IntVar(&o.Invoices, "invoices", 1000, "backlog size")
	f.Float64Var(&o.TimeScale, "time-scale", 3600, "run the rate limits' clock this many times faster")
	f.StringVar(&o.Mode, "mode", "auto", "submit mode: auto, online or batch")
	f.IntVar(&o.OnlineSample, "online-sample", 0, "also send this many invoices online only and project the backlog from it")
	f.StringVar(&o.MySQLDSN, "mysql-dsn", "", "keep the home's store in a fresh database on this MySQL/MariaDB server (a DSN whose user may create databases)")
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
	rows = append(rows, []string{"`ksefpl queue list` fresh process (median)", res.QueueStartup.Round(100 * time.Microsecond).String()})
	return writeTable(a.io.Out, []string{"Measure", "Value"}, rows)
}
