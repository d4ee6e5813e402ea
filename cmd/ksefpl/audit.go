package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/ksefpl/ksefpl/pkg/failure"
	"github.com/ksefpl/ksefpl/pkg/queue"
	"github.com/ksefpl/ksefpl/pkg/store"
)

// auditFlags are the filters shared by audit and audit:export.
type auditFlags struct {
	job     int64
	session string
	website string
	since   string
	limit   int
}

func (f *auditFlags) register(cmd *cobra.Command) {
	cmd.Flags().Int64Var(&f.job, "job", 0, "only rows of this job id")
	cmd.Flags().StringVar(&f.session, "session", "", "only rows of this KSeF session reference")
	cmd.Flags().StringVar(&f.website, "website", "", "only rows of this website (default: all)")
	cmd.Flags().StringVar(&f.since, "since", "", "only rows since an RFC 3339 time, a date, or a duration back from now (24h, 7d)")
	cmd.Flags().IntVar(&f.limit, "limit", 0, "only the newest N rows (0: all)")
}

// rows reads the audit rows the flags select.
func (f *auditFlags) rows(ctx context.Context, a *app) ([]queue.AuditView, error) {
	q, db, err := f.query(ctx, a)
	if err != nil {
		return nil, err
	}
	return queue.Audit(ctx, db, q)
}

// query resolves the flags into a queue.AuditQuery over the store.
func (f *auditFlags) query(ctx context.Context, a *app) (queue.AuditQuery, *store.DB, error) {
	q := queue.AuditQuery{JobID: f.job, SessionReference: f.session, Limit: f.limit}
	if f.limit < 0 {
		return q, nil, &usageErr{errors.New("--limit must not be negative")}
	}
	if f.job < 0 {
		return q, nil, &usageErr{errors.New("--job must be a job id")}
	}
	if f.since != "" {
		t, err := queue.ParseSince(f.since, a.now())
		if err != nil {
			return q, nil, &usageErr{err}
		}
		q.Since = t
	}
	wid, d, err := a.websiteFilter(ctx, f.website)
	if err != nil {
		return q, nil, err
	}
	q.WebsiteID = wid
	return q, d.DB, nil
}

// auditHeader and auditRows render audit entries as a table (audit, queue show).
var auditHeader = []string{"TIME", "WEBSITE", "JOB", "SESSION", "EVENT", "TRANSITION", "REASON", "KSEF", "ACTOR", "MESSAGE"}

func auditRows(rows []queue.AuditView) [][]string {
	out := make([][]string, 0, len(rows))
	for _, r := range rows {
		job := ""
		if r.JobID != 0 {
			job = strconv.FormatInt(r.JobID, 10)
		}
		trans := ""
		if r.FromStatus != "" || r.ToStatus != "" {
			from := r.FromStatus
			if from == "" {
				from = "–"
			}
			trans = from + " → " + r.ToStatus
		}
		ksef := r.KSeFDescription
		if r.KSeFCode != 0 {
			ksef = fmt.Sprintf("%d %s", r.KSeFCode, r.KSeFDescription)
		}
		out = append(out, []string{localTime(r.OccurredAt), r.Website, job, r.SessionReference, r.Event, trans, r.Reason,
			ksef, r.Actor, r.Message})
	}
	return out
}

type auditOptions struct {
	*app
	auditFlags
}

func newAuditCmd(a *app) *cobra.Command {
	o := &auditOptions{app: a}
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Show the append-only audit log (job and session transitions, KSeF codes, who did what)",
		Long: `Shows the audit log in the order it was written: time, website, job, session, event, status
transition, reason, KSeF code and description, actor and message. Filters combine.
-o json prints an array of {id, occurred_at, website, website_id, job_id, session_reference,
event, from_status, to_status, reason, ksef_code, ksef_description, actor, message}.`,
		Example: "  ksefpl audit --job 12\n  ksefpl audit --since 24h --website shop2 -o json",
		Args:    cobra.NoArgs,
		RunE:    func(cmd *cobra.Command, _ []string) error { return runAudit(cmd.Context(), o) },
	}
	o.register(cmd)
	return cmd
}

func runAudit(ctx context.Context, o *auditOptions) error {
	a := o.app
	rows, err := o.rows(ctx, a)
	if err != nil {
		return err
	}
	if a.json() {
		return writeJSON(a.io.Out, rows)
	}
	if len(rows) == 0 {
		fmt.Fprintln(a.io.Out, "No audit entries.")
		return nil
	}
	return writeTable(a.io.Out, auditHeader, auditRows(rows))
}

type auditExportOptions struct {
	*app
	auditFlags
	format string
	out    string
}

func newAuditExportCmd(a *app) *cobra.Command {
	o := &auditExportOptions{app: a}
	cmd := &cobra.Command{
		Use:   "audit:export --format csv|json [--out FILE]",
		Short: "Export the audit log as CSV (with a header row) or a JSON array",
		Long: `Exports every audit row (or those the filters select, as for 'audit') to stdout or to FILE.
FILE is written atomically (a temporary file renamed into place) with mode 0600, replacing an
existing file. CSV columns: ` + "id, occurred_at, website, website_id, job_id, session_reference, event, from_status, to_status, reason, ksef_code, ksef_description, actor, message" + `.`,
		Example: "  ksefpl audit:export --format csv --out audit-2026-11.csv --since 2026-11-01\n  ksefpl audit:export --format json | jq length",
		Args:    cobra.NoArgs,
		RunE:    func(cmd *cobra.Command, _ []string) error { return runAuditExport(cmd.Context(), o) },
	}
	o.register(cmd)
	cmd.Flags().StringVar(&o.format, "format", "", "csv or json (required)")
	cmd.Flags().StringVar(&o.out, "out", "", "write to FILE (mode 0600, atomically) instead of stdout")
	return cmd
}

func runAuditExport(ctx context.Context, o *auditExportOptions) error {
	a := o.app
	if o.format == "" {
		return &usageErr{errors.New("--format is required: csv or json")}
	}
	if o.format != queue.FormatCSV && o.format != queue.FormatJSON {
		return &usageErr{fmt.Errorf("invalid --format %q: use csv or json", o.format)}
	}
	rows, err := o.rows(ctx, a)
	if err != nil {
		return err
	}
	if o.out == "" || o.out == "-" {
		return queue.ExportAudit(a.io.Out, o.format, rows)
	}
	if err := writeFileAtomic(o.out, func(w *os.File) error { return queue.ExportAudit(w, o.format, rows) }); err != nil {
		return err
	}
	if a.json() {
		return writeJSON(a.io.Out, map[string]any{"out": o.out, "format": o.format, "rows": len(rows)})
	}
	fmt.Fprintf(a.io.ErrOut, "Exported %d audit row(s) to %s.\n", len(rows), o.out)
	return nil
}

// writeFileAtomic writes path through a temporary file in the same directory (mode
// 0600), synced and renamed into place, so that readers never see a partial file.
func writeFileAtomic(path string, write func(*os.File) error) error {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return withClass(failure.Invalid, fmt.Errorf("%s is a directory: give the path of a file to write", path))
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return withClass(failure.Invalid, fmt.Errorf("write %s: %w; check that the directory exists and is writable", path, err))
	}
	name := tmp.Name()
	fail := func(err error) error {
		tmp.Close()
		os.Remove(name)
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Chmod(0o600); err != nil {
		return fail(err)
	}
	if err := write(tmp); err != nil {
		return fail(err)
	}
	if err := tmp.Sync(); err != nil {
		return fail(err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(name)
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(name, path); err != nil {
		os.Remove(name)
		return withClass(failure.Invalid, fmt.Errorf("write %s: %w; check the path", path, err))
	}
	return nil
}
