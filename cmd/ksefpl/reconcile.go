package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/ksefpl/ksefpl/pkg/failure"
	"github.com/ksefpl/ksefpl/pkg/reconcile"
)

type reconcileOptions struct {
	*app
	website, from, to string
	fix               bool
}

func newReconcileCmd(a *app) *cobra.Command {
	o := &reconcileOptions{app: a}
	cmd := &cobra.Command{
		Use:   "queue:reconcile [--website CODE] [--from DATE] [--to DATE] [--fix]",
		Short: "Compare the queue with what KSeF holds for the seller, by KSeF number and invoice hash",
		Long: `Reads the metadata of every invoice KSeF holds for the website's seller issued in the period
(POST /invoices/query/metadata, every page, within the rate limits) and compares it with the
queue's jobs issued in the same period, by KSeF number and SHA-256 invoice hash. It reports:

  (a) jobs ACCEPTED locally whose KSeF number KSeF does not list;
  (b) invoices KSeF holds that no job knows (e.g. issued by another system with the same NIP);
  (c) one KSeF number with a different hash locally and in KSeF;
  (d) jobs still SENDING or SUBMITTED whose document KSeF already holds: --fix settles them to
      ACCEPTED with their KSeF numbers (audited).

The period is by issue date (P_1), --from and --to as YYYY-MM-DD (default: the 30 days up to
today); longer periods are read in windows KSeF accepts. Exit 0 when the queue and KSeF agree
(after --fix settled what it could), 7 when differences were found.
-o json → {website, from, to, ksef_count, local_count, missing_in_ksef, unknown_to_queue,
hash_mismatch, settled}.`,
		Example: "  ksefpl queue:reconcile --from 2026-11-01 --to 2026-11-30\n  ksefpl queue:reconcile --website shop2 --fix -o json",
		Args:    cobra.NoArgs,
		RunE:    func(cmd *cobra.Command, _ []string) error { return runReconcile(cmd.Context(), o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.website, "website", "", "website code (default: base)")
	f.StringVar(&o.from, "from", "", "first issue date, YYYY-MM-DD (default: 30 days before --to)")
	f.StringVar(&o.to, "to", "", "last issue date, YYYY-MM-DD (default: today)")
	f.BoolVar(&o.fix, "fix", false, "settle SENDING/SUBMITTED jobs KSeF already holds to ACCEPTED")
	return cmd
}

func runReconcile(ctx context.Context, o *reconcileOptions) error {
	a := o.app
	opts := reconcile.Options{Website: o.website, Fix: o.fix, Actor: a.actor()}
	for _, x := range []struct {
		flag, value string
		dst         *time.Time
	}{{"--from", o.from, &opts.From}, {"--to", o.to, &opts.To}} {
		if x.value == "" {
			continue
		}
		t, err := time.Parse(time.DateOnly, x.value)
		if err != nil {
			return &usageErr{fmt.Errorf("invalid %s %q: give a date as YYYY-MM-DD", x.flag, x.value)}
		}
		*x.dst = t
	}
	d, err := a.deps(ctx)
	if err != nil {
		return err
	}
	rep, err := reconcile.Run(ctx, d, opts)
	var de *reconcile.DifferencesError
	if err != nil && !errors.As(err, &de) {
		return err
	}
	if a.json() {
		if werr := writeJSON(a.io.Out, rep); werr != nil {
			return werr
		}
	} else if werr := renderReconcile(a, rep); werr != nil {
		return werr
	}
	if de != nil {
		return silentExit(failure.Partial)
	}
	return nil
}

func renderReconcile(a *app, r *reconcile.Report) error {
	fmt.Fprintf(a.io.Out, "Website %s · issued %s … %s · KSeF holds %d invoice(s) · the queue %d job(s)\n",
		esc(r.Website), r.From, r.To, r.KSeFCount, r.LocalCount)
	var rows [][]string
	add := func(class string, es []reconcile.Entry) {
		for _, e := range es {
			job := ""
			if e.JobID != 0 {
				job = fmt.Sprint(e.JobID)
			}
			rows = append(rows, []string{class, job, e.InvoiceNumber, e.IssueDate, e.KSeFNumber, e.Detail})
		}
	}
	add(a.io.red("missing in KSeF"), r.MissingInKSeF)
	add(a.io.red("unknown to the queue"), r.UnknownToQueue)
	add(a.io.red("hash mismatch"), r.HashMismatch)
	for _, e := range r.Settled {
		class := a.io.yellow("in flight, KSeF has it")
		if e.Fixed {
			class = a.io.green("settled")
		}
		add(class, []reconcile.Entry{e})
	}
	if len(rows) == 0 {
		fmt.Fprintln(a.io.Out, a.io.green("✔ The queue and KSeF agree."))
		return nil
	}
	if err := writeTable(a.io.Out, []string{"DIFFERENCE", "JOB", "INVOICE", "ISSUED", "KSEF NUMBER", "DETAIL"}, rows); err != nil {
		return err
	}
	if r.Agrees() {
		fmt.Fprintln(a.io.Out, a.io.green("✔ The queue and KSeF agree now."))
	} else {
		fmt.Fprintln(a.io.Out, a.io.red("✘ The queue and KSeF disagree."))
	}
	return nil
}
