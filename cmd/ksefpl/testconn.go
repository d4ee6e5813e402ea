package main

import (
	"context"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/ksefpl/ksefpl/pkg/conncheck"
)

type testConnOptions struct {
	*app
	website string
	network bool
}

func newTestConnectionCmd(a *app) *cobra.Command {
	o := &testConnOptions{app: a}
	cmd := &cobra.Command{
		Use:   "test-connection",
		Short: "Check configuration, token, network and full KSeF authentication for a website",
		Long: `Runs every check between the shop and KSeF, in order, each with its timing and, on failure,
what to do: configuration present; token decryptable; NIP checksum; the token's context NIP
equals the configured NIP; network reach of the API host; KSeF status (Latarnia); public keys;
full authentication (challenge → ksef-token → redeem); clock skew. The outcome is recorded
per website: the queue holds new invoices as AUTH_ERROR after a token failure until a later
test-connection succeeds. Exit 0 only when everything passed, else the class of the first
failure (3 configuration, 4 credentials, 5 rejected, 6 unavailable).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runTestConnection(cmd.Context(), o) },
	}
	cmd.Flags().StringVar(&o.website, "website", "", "website code (default: base)")
	cmd.Flags().BoolVar(&o.network, "network", false, "also report whether the firewall lets KSeF and NBP hosts through on 443")
	return cmd
}

func runTestConnection(ctx context.Context, o *testConnOptions) error {
	a := o.app
	d, sc, err := a.websiteScope(ctx, o.website)
	if err != nil {
		return err
	}
	rep, err := conncheck.Run(ctx, d, sc, conncheck.Options{Network: o.network})
	if err != nil {
		return err
	}
	if a.json() {
		if err := writeJSON(a.io.Out, rep); err != nil {
			return err
		}
	} else if err := renderConnReport(a, rep); err != nil {
		return err
	}
	if c, failed := rep.FirstFailure(); failed {
		return silentExit(c.Class)
	}
	return nil
}

func renderConnReport(a *app, rep *conncheck.Report) error {
	fmt.Fprintf(a.io.Out, "Website %s · environment %s · %s\n", rep.Website, rep.Environment, rep.APIURL)
	rows := make([][]string, 0, len(rep.Checks))
	for _, c := range rep.Checks {
		rows = append(rows, checkRow(a, c.Name, c.Status, c.Millis, c.Detail, c.Hint))
	}
	if err := writeTable(a.io.Out, []string{"", "Check", "Time", "Result"}, rows); err != nil {
		return err
	}
	if len(rep.Network) > 0 {
		fmt.Fprintln(a.io.Out, "\nFirewall (outbound HTTPS):")
		nrows := make([][]string, 0, len(rep.Network))
		for _, h := range rep.Network {
			st := a.io.green("✔ reachable")
			if !h.Reachable {
				st = a.io.red("✘ " + h.Error)
			}
			nrows = append(nrows, []string{h.Host, strconv.Itoa(h.Port), st})
		}
		if err := writeTable(a.io.Out, []string{"Host", "Port", "Result"}, nrows); err != nil {
			return err
		}
		fmt.Fprintln(a.io.Out, "Allow-list these hosts on 443 in the shop's firewall; KSeF's test and production hosts differ.")
	}
	if rep.ReleasedJobs > 0 {
		fmt.Fprintf(a.io.Out, "%d job(s) held as AUTH_ERROR are PENDING again; run ksefpl submit.\n", rep.ReleasedJobs)
	}
	if rep.Success {
		fmt.Fprintln(a.io.Out, a.io.green("Connection OK."))
	} else {
		fmt.Fprintln(a.io.Out, a.io.red("Connection test failed."))
	}
	return nil
}

// checkRow renders one ✔/✘/– line of a checklist (test-connection, golive:check).
func checkRow(a *app, name string, st conncheck.Status, millis int64, detail, hint string) []string {
	mark := a.io.green("✔")
	switch st {
	case conncheck.Fail:
		mark = a.io.red("✘")
	case conncheck.Skip:
		mark = a.io.yellow("–")
	case conncheck.Warn:
		mark = a.io.yellow("!")
	}
	if hint != "" {
		detail += "\n→ " + hint
	}
	ms := ""
	if st != conncheck.Skip {
		ms = strconv.FormatInt(millis, 10) + " ms"
	}
	return []string{mark, name, ms, detail}
}
