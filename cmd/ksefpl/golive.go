package main

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/ksefpl/ksefpl/pkg/golive"
)

type goliveOptions struct {
	*app
	website string
	file    string
	xsd     string
	wait    time.Duration
	poll    time.Duration
}

func newGoliveCheckCmd(a *app) *cobra.Command {
	o := &goliveOptions{app: a}
	cmd := &cobra.Command{
		Use:   "golive:check [--website CODE] [--file F.json]",
		Short: "Pre-production checklist: send a real test invoice through KSeF's test environment, end to end",
		Long: `Runs the checklist before going live, on a website configured for KSeF's TEST environment
(or the local simulator); demo and production are refused (exit 3) because it sends a real
invoice. Each line is ✔/✘ with its detail and, on failure, what to do:

  1. test-connection passes (every check of ksefpl test-connection; its outcome is recorded);
  2. the FA preview of a test invoice shows the configured seller NIP, name, address and tax
     codes and is valid (structural checks, plus the official XSD through xmllint when a schema
     directory is available: --xsd, $KSEFPL_XSD_DIR, or schemas beside the binary, else skipped);
  3. the test invoice is queued and one submit run for the website sends it: its audit trail
     must show PENDING → SUBMITTED → ACCEPTED within --wait;
  4. its KSeF number is written to its queue record (checksum and seller NIP checked);
  5. its UPO downloads and its hash checks (KSeF's x-ms-meta-hash, and the SHA-256 of the
     stored bytes recomputed).

The test invoice is --file (a shop invoice JSON with a new increment_id) or a built-in sample:
a small domestic PLN invoice issued today by the configured seller, numbered
GOLIVE-<YYYYMMDDHHMMSS>-<hex>. The submit run also sends the website's other PENDING jobs, as
cron would. Exit 0 only when everything passed, else the class of the first failure
(3 configuration, 4 credentials, 5 rejected, 6 unavailable).`,
		Example: `  ksefpl golive:check
  ksefpl golive:check --website shop2 --file test-invoice.json --xsd ./schemas -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runGoliveCheck(cmd.Context(), o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.website, "website", "", "website code (default: base)")
	f.StringVarP(&o.file, "file", "f", "", "shop invoice JSON to send as the test invoice (default: a built-in sample); - reads stdin")
	f.StringVar(&o.xsd, "xsd", "", xsdFlagHelp)
	f.DurationVar(&o.wait, "wait", 2*time.Minute, "how long to wait for KSeF to accept the test invoice")
	f.DurationVar(&o.poll, "poll-interval", 2*time.Second, "pause between status polls while waiting")
	return cmd
}

func runGoliveCheck(ctx context.Context, o *goliveOptions) error {
	a := o.app
	var input []byte
	if o.file != "" {
		var err error
		if input, err = a.readInput(o.file); err != nil {
			return err
		}
	}
	d, sc, err := a.websiteScope(ctx, o.website)
	if err != nil {
		return err
	}
	dir, explicit := a.schemaDir(o.xsd)
	rep, err := golive.Run(ctx, d, sc, golive.Options{Input: input, InputName: o.file, SchemaDir: dir, SchemaDirExplicit: explicit,
		Wait: o.wait, PollInterval: o.poll, Actor: "golive:check"})
	if err != nil {
		return err
	}
	if a.json() {
		if err := writeJSON(a.io.Out, rep); err != nil {
			return err
		}
	} else if err := renderGolive(a, rep); err != nil {
		return err
	}
	if c, failed := rep.FirstFailure(); failed {
		return silentExit(c.Class)
	}
	return nil
}

func renderGolive(a *app, rep *golive.Report) error {
	fmt.Fprintf(a.io.Out, "Go-live check · website %s · environment %s · %s\n", rep.Website, rep.Environment, rep.APIURL)
	rows := make([][]string, 0, len(rep.Checks))
	for i, c := range rep.Checks {
		rows = append(rows, checkRow(a, strconv.Itoa(i+1)+". "+c.Name, c.Status, c.Millis, c.Detail, c.Hint))
	}
	if err := writeTable(a.io.Out, []string{"", "Check", "Time", "Result"}, rows); err != nil {
		return err
	}
	for _, w := range rep.Warnings {
		fmt.Fprintln(a.io.ErrOut, a.io.yellow("Warning: "+w))
	}
	if rep.Success {
		fmt.Fprintf(a.io.Out, "%s Test invoice %s is in KSeF as %s (job %d).\n", a.io.green("Ready to go live."), rep.IncrementID, rep.KSeFNumber, rep.JobID)
	} else {
		fmt.Fprintln(a.io.Out, a.io.red("Not ready: fix the first ✘ and run ksefpl golive:check again."))
	}
	return nil
}
