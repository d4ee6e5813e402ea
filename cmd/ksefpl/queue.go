package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ksefpl/ksefpl/pkg/deps"
	"github.com/ksefpl/ksefpl/pkg/failure"
	"github.com/ksefpl/ksefpl/pkg/offline"
	"github.com/ksefpl/ksefpl/pkg/queue"
	"github.com/ksefpl/ksefpl/pkg/store"
)

// maxInputSize bounds a queued input file (KSeF's own limit on an invoice is 1 MB of XML;
// a shop JSON is far smaller).
const maxInputSize = 4 << 20

// queueStatuses are the statuses --status accepts.
var queueStatuses = []string{store.JobPending, store.JobAuthError, store.JobSending, store.JobSubmitted, store.JobAccepted, store.JobFailed}

func newQueueCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "queue",
		Short: "Queue invoices and credit memos for KSeF, list and show jobs, retry failed ones",
		Long: `The queue holds one job per document (website, type, increment id). 'queue invoice',
'queue creditmemo' and 'queue xml' validate a document fully, without any network call, and
store it as PENDING; 'ksefpl submit' sends it. When the website's last authentication refused
its token, new jobs are held as AUTH_ERROR until a successful 'ksefpl test-connection'.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(
		newQueueAddCmd(a, queue.KindInvoice, "a shop invoice JSON (docs/invoice-json.md)", "INV-000123.json"),
		newQueueAddCmd(a, queue.KindCreditMemo, "a shop credit memo JSON (docs/invoice-json.md)", "CM-000010.json"),
		newQueueAddCmd(a, queue.KindXML, "a ready FA(3)/FA(2) invoice XML, sent byte for byte", "INV-000123.xml"),
		newQueueListCmd(a),
		newQueueShowCmd(a),
		newQueueRetryCmd(a),
		newQueueResolveCmd(a),
	)
	return cmd
}

// actor names the operator in audit rows.
func (a *app) actor() string {
	if u := a.getenv("USER"); u != "" {
		return "cli:" + u
	}
	return "cli"
}

// readInput reads --file (- for stdin).
func (a *app) readInput(file string) ([]byte, error) {
	var r io.Reader
	if file == "-" {
		r = a.io.In
	} else {
		f, err := os.Open(file)
		if err != nil {
			var pe *fs.PathError
			if errors.As(err, &pe) {
				err = pe.Err // the path is in the message already
			}
			return nil, withClass(failure.Invalid, fmt.Errorf("cannot read %s: %w; check the path", file, err))
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, maxInputSize+1))
	if err != nil {
		return nil, withClass(failure.Invalid, fmt.Errorf("read %s: %w", file, err))
	}
	if len(b) > maxInputSize {
		return nil, withClass(failure.Invalid, fmt.Errorf("%s is larger than %d bytes: one document per file", file, maxInputSize))
	}
	if len(strings.TrimSpace(string(b))) == 0 {
		return nil, withClass(failure.Invalid, fmt.Errorf("%s is empty: give one document", file))
	}
	return b, nil
}

// queueAddOut is the JSON of queue invoice|creditmemo|xml.
type queueAddOut struct {
	Outcome  string        `json:"outcome"` // queued | replaced | unchanged
	Job      queue.JobView `json:"job"`
	Warnings []string      `json:"warnings"`
}

// queueRefusedOut is the JSON of a document refused as invalid (exit 3).
type queueRefusedOut struct {
	Outcome  string   `json:"outcome"` // invalid
	Problems []string `json:"problems"`
}

type queueAddOptions struct {
	*app
	kind    string
	file    string
	website string
	replace bool
	// offline issues the document offline in mode; correctionOf is the job whose
	// rejected offline document this XML technically corrects.
	offline      bool
	mode         string
	correctionOf int64
}

func newQueueAddCmd(a *app, kind, what, example string) *cobra.Command {
	o := &queueAddOptions{app: a, kind: kind}
	cmd := &cobra.Command{
		Use:   kind + " --file FILE",
		Short: "Queue " + what,
		Long: `Validates ` + what + ` for the website and stores it as a job.
Nothing is sent and no network call is made: a foreign-currency document is checked with a
provisional rate (the NBP rate is resolved when it is sent). --file - reads stdin.

Queuing a document that is already queued changes nothing and says so (exit 0). --replace
replaces the input of a job that was never sent; a sent job cannot be replaced (exit 3).
Invalid input or configuration: every problem is listed, nothing is stored, exit 3.

--offline issues the document offline (--mode offline24, the seller's choice, by default;
offline during an announced KSeF unavailability; awaryjny during a KSeF failure): its XML
is built with the real exchange rate and frozen at once, because the two QR codes printed
for the buyer (KOD I, labelled OFFLINE, and KOD II, labelled CERTYFIKAT, signed with the
website's KSeF certificate of type Offline) depend on those exact bytes. It prints both
links and the deadline by which submit must deliver it. -o json → {job_id, increment_id,
mode, deadline, kod1: {link, label}, kod2: {link, label}, outcome, job, warnings}.`,
		Example: "  ksefpl queue " + kind + " --file " + example + "\n  cat " + example + " | ksefpl queue " + kind + " --file - --website shop2",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.file == "" {
				return &usageErr{fmt.Errorf("--file is required: the document to queue (- for stdin)")}
			}
			return runQueueAdd(cmd.Context(), o)
		},
	}
	cmd.Flags().StringVarP(&o.file, "file", "f", "", "the document ("+what+"); - reads stdin")
	cmd.Flags().StringVar(&o.website, "website", "", "website code (default: base)")
	cmd.Flags().BoolVar(&o.replace, "replace", false, "replace the input of an unsent job for the same document")
	cmd.Flags().BoolVar(&o.offline, "offline", false, "issue the document offline now (frozen at once, with KOD I and KOD II and a deadline)")
	cmd.Flags().StringVar(&o.mode, "mode", "offline24", "with --offline: offline24 (the seller's choice), offline (announced KSeF unavailability) or awaryjny (KSeF failure)")
	if kind == queue.KindXML {
		cmd.Flags().Int64Var(&o.correctionOf, "technical-correction-of", 0,
			"JOB: this XML is the technical correction of job JOB's offline invoice, which KSeF rejected for a technical reason")
	}
	return cmd
}

func runQueueAdd(ctx context.Context, o *queueAddOptions) error {
	a := o.app
	switch {
	case o.mode != "offline24" && !o.offline:
		return &usageErr{errors.New("--mode chooses the offline mode: give --offline too")}
	case o.correctionOf < 0:
		return &usageErr{fmt.Errorf("invalid --technical-correction-of %d: give the job id of the rejected offline invoice", o.correctionOf)}
	case o.correctionOf > 0 && (o.offline || o.replace || o.website != ""):
		return &usageErr{errors.New("--technical-correction-of corrects an existing job: --offline, --replace and --website do not apply")}
	}
	data, err := a.readInput(o.file)
	if err != nil {
		return err
	}
	if o.correctionOf > 0 {
		return runTechnicalCorrection(ctx, o, data)
	}
	d, sc, err := a.websiteScope(ctx, o.website)
	if err != nil {
		return err
	}
	req := queue.Request{Scope: sc, Kind: o.kind, Data: data, Replace: o.replace, Actor: a.actor()}
	if o.offline {
		req.Offline = o.mode
	}
	res, err := queue.Enqueue(ctx, d, req)
	if err != nil {
		var ie *queue.InvalidError
		if a.json() && errors.As(err, &ie) {
			if werr := writeJSON(a.io.Out, queueRefusedOut{Outcome: "invalid", Problems: ie.Problems}); werr != nil {
				return werr
			}
		}
		return err
	}
	j := res.Job
	outcome := map[store.EnqueueResult]string{store.Enqueued: "queued", store.Replaced: "replaced", store.Existed: "unchanged"}[res.Outcome]
	if res.Offline != nil && res.Outcome != store.Existed {
		return a.renderOfflineIssue(ctx, d, res, outcome)
	}
	if a.json() {
		views, err := queue.Views(ctx, d.DB, []*store.Job{j})
		if err != nil {
			return err
		}
		warnings := res.Warnings
		if warnings == nil {
			warnings = []string{}
		}
		return writeJSON(a.io.Out, queueAddOut{Outcome: outcome, Job: views[0], Warnings: warnings})
	}
	for _, w := range res.Warnings {
		fmt.Fprintln(a.io.ErrOut, a.io.yellow("Warning: "+w))
	}
	switch res.Outcome {
	case store.Existed:
		fmt.Fprintf(a.io.Out, "%s is already queued as job %d (%s); nothing changed\n", j.IncrementID, j.ID, j.Status)
	case store.Replaced:
		fmt.Fprintf(a.io.Out, "Replaced %s %s in job %d (%s).\n", j.EntityType, j.IncrementID, j.ID, j.Status)
	default:
		fmt.Fprintf(a.io.Out, "Queued %s %s as job %d (%s).\n", j.EntityType, j.IncrementID, j.ID, j.Status)
	}
	return nil
}

// websiteFilter opens the dependencies and resolves an optional --website to its id (0:
// all websites).
func (a *app) websiteFilter(ctx context.Context, code string) (int64, *deps.Deps, error) {
	d, err := a.deps(ctx)
	if err != nil {
		return 0, nil, err
	}
	if code == "" {
		return 0, d, nil
	}
	sc, err := d.Config.WebsiteScope(ctx, code)
	if err != nil {
		return 0, nil, err
	}
	return sc.WebsiteID, d, nil
}

// parseStatuses reads --status (comma-separated, any case).
func parseStatuses(s string) ([]string, error) {
	if s == "" {
		return nil, nil
	}
	var out []string
	for _, p := range strings.Split(s, ",") {
		st := strings.ToUpper(strings.TrimSpace(p))
		ok := false
		for _, known := range queueStatuses {
			ok = ok || st == known
		}
		if !ok {
			return nil, &usageErr{fmt.Errorf("invalid --status %q: use %s (comma-separated for several)", p, strings.Join(queueStatuses, ", "))}
		}
		out = append(out, st)
	}
	return out, nil
}

type queueListOptions struct {
	*app
	status  string
	website string
	limit   int
	offline bool
}

func newQueueListCmd(a *app) *cobra.Command {
	o := &queueListOptions{app: a}
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List queued jobs (oldest first; --limit keeps the newest N)",
		Long: `Lists jobs: ID, website, type, increment id, status, reason, KSeF number, last update.
-o json prints an array of {id, website, website_id, type, increment_id, input_format, status,
reason, reason_detail, attempts, issue_date, ksef_number, invoice_reference, session_reference,
invoice_hash, acquisition_date, invoicing_mode, frozen_at, created_at, updated_at}.`,
		Example: "  ksefpl queue list --status FAILED,AUTH_ERROR\n  ksefpl queue list --website shop2 --limit 20 -o json",
		Args:    cobra.NoArgs,
		RunE:    func(cmd *cobra.Command, _ []string) error { return runQueueList(cmd.Context(), o) },
	}
	cmd.Flags().StringVar(&o.status, "status", "", "only jobs in these statuses: "+strings.Join(queueStatuses, ", "))
	cmd.Flags().StringVar(&o.website, "website", "", "only jobs of this website (default: all)")
	cmd.Flags().IntVar(&o.limit, "limit", 0, "only the newest N jobs (0: all)")
	cmd.Flags().BoolVar(&o.offline, "offline", false, "only documents issued offline, nearest deadline first, with their mode and deadline")
	return cmd
}

func runQueueList(ctx context.Context, o *queueListOptions) error {
	a := o.app
	sts, err := parseStatuses(o.status)
	if err != nil {
		return err
	}
	if o.limit < 0 {
		return &usageErr{errors.New("--limit must not be negative")}
	}
	wid, d, err := a.websiteFilter(ctx, o.website)
	if err != nil {
		return err
	}
	rows, err := queue.List(ctx, d.DB, queue.ListFilter{WebsiteID: wid, Statuses: sts, Limit: o.limit, Offline: o.offline})
	if err != nil {
		return err
	}
	if a.json() {
		return writeJSON(a.io.Out, rows)
	}
	if len(rows) == 0 {
		fmt.Fprintln(a.io.Out, "No jobs.")
		return nil
	}
	if o.offline {
		t := make([][]string, 0, len(rows))
		for _, r := range rows {
			t = append(t, []string{strconv.FormatInt(r.ID, 10), r.Website, r.Type, r.IncrementID, a.statusText(r.Status),
				r.OfflineMode, r.IssueDate, offline.DescribeStored(r.Deadline, r.DeadlineLifted), r.KSeFNumber})
		}
		return writeTable(a.io.Out, []string{"ID", "WEBSITE", "TYPE", "INCREMENT", "STATUS", "MODE", "ISSUED", "DEADLINE", "KSEF NUMBER"}, t)
	}
	t := make([][]string, 0, len(rows))
	for _, r := range rows {
		t = append(t, []string{strconv.FormatInt(r.ID, 10), r.Website, r.Type, r.IncrementID, a.statusText(r.Status),
			r.Reason, r.KSeFNumber, localTime(r.UpdatedAt)})
	}
	return writeTable(a.io.Out, []string{"ID", "WEBSITE", "TYPE", "INCREMENT", "STATUS", "REASON", "KSEF NUMBER", "UPDATED"}, t)
}

// statusText colours a job status on a terminal.
func (a *app) statusText(s string) string {
	switch s {
	case store.JobAccepted:
		return a.io.green(s)
	case store.JobFailed, store.JobAuthError:
		return a.io.red(s)
	case store.JobSending, store.JobSubmitted:
		return a.io.yellow(s)
	}
	return s
}

// localTime renders a timestamp for tables.
func localTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Local().Format("2006-01-02 15:04:05")
}

type queueShowOptions struct {
	*app
	query string
}

func newQueueShowCmd(a *app) *cobra.Command {
	o := &queueShowOptions{app: a}
	return &cobra.Command{
		Use:   "show ID|INCREMENT_ID",
		Short: "Show a job: status, KSeF number, references, hash, attempts, timestamps and its audit trail",
		Long: `Shows one job by its id, or every job of an increment id (an invoice and a credit memo, or
several websites, may share one). The KSeF number is the one written back to the shop's record.
-o json prints an array of jobs, each with the list fields plus xml_size, input_size and audit.`,
		Example: "  ksefpl queue show 12\n  ksefpl queue show INV-000123 -o json",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.query = args[0]
			return runQueueShow(cmd.Context(), o)
		},
	}
}

func runQueueShow(ctx context.Context, o *queueShowOptions) error {
	a := o.app
	d, err := a.deps(ctx)
	if err != nil {
		return err
	}
	jobs, err := queue.Show(ctx, d.DB, o.query)
	if err != nil {
		return err
	}
	ds, err := queue.Describe(ctx, d.DB, jobs)
	if err != nil {
		return err
	}
	if a.json() {
		return writeJSON(a.io.Out, ds)
	}
	for i, j := range ds {
		if i > 0 {
			fmt.Fprintln(a.io.Out)
		}
		if err := a.renderJob(j); err != nil {
			return err
		}
	}
	return nil
}

func (a *app) renderJob(d queue.JobDetail) error {
	w := a.io.Out
	fmt.Fprintf(w, "%s\n", a.io.bold(fmt.Sprintf("Job %d: %s %s (website %s)", d.ID, d.Type, d.IncrementID, d.Website)))
	field := func(k, v string) {
		if v != "" {
			fmt.Fprintf(w, "  %-19s %s\n", k+":", escCell(v))
		}
	}
	field("Status", a.statusText(d.Status))
	field("Reason", strings.TrimSpace(d.Reason+" "+d.ReasonDetail))
	field("KSeF number", d.KSeFNumber)
	field("Invoice reference", d.InvoiceReference)
	field("Session reference", d.SessionReference)
	field("Invoice hash", d.InvoiceHash)
	field("Acquisition date", d.AcquisitionDate)
	field("Invoicing mode", d.InvoicingMode)
	if d.OfflineMode != "" {
		field("Issued offline", d.OfflineMode)
		field("Deadline", offline.DescribeStored(d.Deadline, d.DeadlineLifted))
	}
	field("Corrects", d.CorrectedHash)
	field("Issue date", d.IssueDate)
	field("Input", fmt.Sprintf("%s, %d bytes", d.InputFormat, d.InputSize))
	if d.XMLSize > 0 {
		field("Frozen XML", fmt.Sprintf("%d bytes", d.XMLSize))
	}
	field("Attempts", strconv.Itoa(d.Attempts))
	field("Created", localTime(d.CreatedAt))
	field("Updated", localTime(d.UpdatedAt))
	if d.FrozenAt != nil {
		field("Frozen", localTime(*d.FrozenAt))
	}
	if len(d.Audit) == 0 {
		return nil
	}
	fmt.Fprintln(w, "Audit trail:")
	return writeTable(w, auditHeader, auditRows(d.Audit))
}

type queueRetryOptions struct {
	*app
	ids     []string
	failed  bool
	website string
}

func newQueueRetryCmd(a *app) *cobra.Command {
	o := &queueRetryOptions{app: a}
	cmd := &cobra.Command{
		Use:   "retry ID... | --failed [--website CODE]",
		Short: "Queue FAILED jobs again (their frozen bytes are resent unchanged)",
		Long: `Moves FAILED jobs back to PENDING so that the next 'ksefpl submit' sends them again. A job
whose XML was frozen is resent byte for byte, never rebuilt. Naming a job that is not FAILED
refuses the whole request (exit 3) and changes nothing; --failed selects every FAILED job (of
one website with --website).

Retry is for failures that may pass on a resend (a terminated session, an outage). A document
KSeF rejected for its content fails again: fix it and queue it with --replace instead, which
is allowed while the FAILED job has no KSeF number.`,
		Example: "  ksefpl queue retry 12 15\n  ksefpl queue retry --failed --website shop2",
		RunE: func(cmd *cobra.Command, args []string) error {
			o.ids = args
			return runQueueRetry(cmd.Context(), o)
		},
	}
	cmd.Flags().BoolVar(&o.failed, "failed", false, "retry every FAILED job")
	cmd.Flags().StringVar(&o.website, "website", "", "with --failed: only this website's jobs")
	return cmd
}

func runQueueRetry(ctx context.Context, o *queueRetryOptions) error {
	a := o.app
	switch {
	case o.failed && len(o.ids) > 0:
		return &usageErr{errors.New("give job ids or --failed, not both")}
	case !o.failed && len(o.ids) == 0:
		return &usageErr{errors.New("give the ids of the jobs to retry, or --failed for every FAILED job")}
	case o.website != "" && !o.failed:
		return &usageErr{errors.New("--website selects the FAILED jobs of one website: use it with --failed")}
	}
	sel := queue.RetrySelection{Failed: o.failed}
	for _, s := range o.ids {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || id <= 0 {
			return &usageErr{fmt.Errorf("invalid job id %q: give the numeric ids shown by ksefpl queue list", s)}
		}
		sel.IDs = append(sel.IDs, id)
	}
	wid, d, err := a.websiteFilter(ctx, o.website)
	if err != nil {
		return err
	}
	sel.WebsiteID = wid
	jobs, err := queue.Retry(ctx, d.DB, sel, a.actor())
	if err != nil && len(jobs) == 0 {
		return err
	}
	if a.json() {
		views, verr := queue.Views(ctx, d.DB, jobs)
		if verr != nil {
			return verr
		}
		if werr := writeJSON(a.io.Out, views); werr != nil {
			return werr
		}
		if err != nil {
			return withClass(failure.Partial, err)
		}
		return nil
	}
	if len(jobs) == 0 {
		fmt.Fprintln(a.io.Out, "No FAILED jobs to retry.")
	}
	for _, j := range jobs {
		fmt.Fprintf(a.io.Out, "Job %d (%s %s) is %s again; the next submit sends it.\n", j.ID, j.EntityType, esc(j.IncrementID), j.Status)
	}
	if o.failed {
		dups, derr := queue.UnresolvedDuplicates(ctx, d.DB, wid)
		if derr != nil {
			return derr
		}
		for _, j := range dups {
			fmt.Fprintf(a.io.Out, "Job %d (%s %s) is a DUPLICATE KSeF already holds: not retried; record its KSeF number with ksefpl queue resolve %d --ksef-number NUMBER\n",
				j.ID, j.EntityType, esc(j.IncrementID), j.ID)
		}
	}
	if err != nil {
		return withClass(failure.Partial, err)
	}
	return nil
}

type queueResolveOptions struct {
	*app
	id         string
	ksefNumber string
}

func newQueueResolveCmd(a *app) *cobra.Command {
	o := &queueResolveOptions{app: a}
	cmd := &cobra.Command{
		Use:   "resolve ID --ksef-number NUMBER",
		Short: "Record the KSeF number KSeF reported for a job it refused as a DUPLICATE",
		Long: `A job fails as DUPLICATE when KSeF already holds an invoice with its number from this seller
(sent earlier, by this or another system). Sending it again is refused every time, so 'queue
retry' refuses it; instead record the KSeF number KSeF reported ('queue show ID' names it). The
job becomes ACCEPTED with that number, so credit memos waiting for it can be sent.

The number is checked first: its checksum, its seller NIP, that no other job has it, and, when
KSeF can be reached, that KSeF holds an invoice under it with this job's seller and invoice
number (different content is reported as a warning). When KSeF cannot be reached the number is
recorded unverified, with a warning.`,
		Example: "  ksefpl queue resolve 12 --ksef-number 5261040828-20261120-0100A1B2C3D4-5E",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.id = args[0]
			return runQueueResolve(cmd.Context(), o)
		},
	}
	cmd.Flags().StringVar(&o.ksefNumber, "ksef-number", "", "the KSeF number KSeF reported for the invoice (required)")
	return cmd
}

func runQueueResolve(ctx context.Context, o *queueResolveOptions) error {
	a := o.app
	id, err := strconv.ParseInt(o.id, 10, 64)
	if err != nil || id <= 0 {
		return &usageErr{fmt.Errorf("invalid job id %q: give the numeric id shown by ksefpl queue list", o.id)}
	}
	if o.ksefNumber == "" {
		return &usageErr{errors.New("--ksef-number is required: the number KSeF reported for the invoice (ksefpl queue show ID)")}
	}
	d, err := a.deps(ctx)
	if err != nil {
		return err
	}
	res, err := queue.Resolve(ctx, d, queue.ResolveRequest{JobID: id, KSeFNumber: strings.TrimSpace(o.ksefNumber), Actor: a.actor()})
	if err != nil {
		return err
	}
	for _, w := range res.Warnings {
		a.warn(w)
	}
	if a.json() {
		views, err := queue.Views(ctx, d.DB, []*store.Job{res.Job})
		if err != nil {
			return err
		}
		return writeJSON(a.io.Out, struct {
			Job any `json:"job"`
			*queue.ResolveResult
		}{views[0], res})
	}
	how := "verified against KSeF"
	switch {
	case res.SameDocument:
		how += ": KSeF holds this job's exact document"
	case !res.Verified:
		how = "not verified: KSeF could not be reached"
	}
	fmt.Fprintf(a.io.Out, "Job %d (%s %s) is %s with KSeF number %s (%s).\n", res.Job.ID, res.Job.EntityType, esc(res.Job.IncrementID),
		res.Job.Status, res.Job.KSeFNumber, how)
	return nil
}
