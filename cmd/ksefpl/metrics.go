package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/ksefpl/ksefpl/pkg/monitor"
)

type metricsOptions struct {
	*app
	website string
	out     string
}

func newMetricsCmd(a *app) *cobra.Command {
	o := &metricsOptions{app: a}
	cmd := &cobra.Command{
		Use:   "metrics [--website CODE] [--out FILE.prom]",
		Short: "Prometheus metrics of the store (node_exporter's textfile collector format)",
		Long: `Prints what the store knows in the Prometheus text format: jobs by status and website, the
oldest pending age, job events by delivery state, sessions and UPOs, certificate and token
expiry, the nearest offline deadline, each website's last submit run (time, duration,
success, last success) and the totals submit runs recorded (runs, jobs sent, accepted and
failed, and KSeF API calls, 429 answers and retries per rate-limit group), and the status
--check verdict. --out writes FILE atomically (a temporary file in its directory, then a
rename), as node_exporter's textfile collector needs: give it a name ending in .prom in
the collector's directory. --website limits it to one website (without the API totals,
which are not counted per website).`,
		Example: "  ksefpl metrics\n  ksefpl metrics --out /var/lib/node_exporter/textfile_collector/ksefpl.prom",
		Args:    cobra.NoArgs,
		RunE:    func(cmd *cobra.Command, _ []string) error { return runMetrics(cmd.Context(), o) },
	}
	cmd.Flags().StringVar(&o.website, "website", "", "only this website (default: all)")
	cmd.Flags().StringVar(&o.out, "out", "", "write FILE atomically instead of printing (for node_exporter's textfile collector)")
	return cmd
}

func runMetrics(ctx context.Context, o *metricsOptions) error {
	d, err := o.app.deps(ctx)
	if err != nil {
		return err
	}
	fams, err := monitor.Metrics(ctx, d, monitor.Options{Website: o.website})
	if err != nil {
		return err
	}
	if o.out != "" {
		return monitor.WriteFile(o.out, fams)
	}
	return monitor.WriteText(o.app.io.Out, fams)
}
