package monitor

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/ksefpl/ksefpl/pkg/config"
	"github.com/ksefpl/ksefpl/pkg/deps"
	"github.com/ksefpl/ksefpl/pkg/status"
	"github.com/ksefpl/ksefpl/pkg/store"
)

// Metrics reads the snapshot of every website (or o.Website) and returns its metric
// families (see Families).
func Metrics(ctx context.Context, d *deps.Deps, o Options) ([]*Family, error) {
	snap, err := Collect(ctx, d, o)
	if err != nil {
		return nil, err
	}
	return snap.Families(), nil
}

// Families are the snapshot's metrics, sorted by name. Everything comes from the store:
// the gauges are its state now (with a shared MySQL/MariaDB store every host reports the
// same values: aggregate with max, not sum), the counters are the totals submit runs
// recorded (ksefpl_submit_*_total per website, ksefpl_api_*_total per KSeF rate-limit
// group) and the rows that only grow (sessions opened, UPOs stored).
func (s *Snapshot) Families() []*Family {
	f := families{}
	verdicts := s.Check()
	for i, site := range s.Sites {
		w := site.Code
		for _, st := range status.JobStatuses {
			f.gauge("ksefpl_jobs", "Jobs in the queue by status.", float64(site.Queue[st]), "website", w, "status", st)
		}
		f.gauge("ksefpl_oldest_pending_age_seconds", "Age of the oldest PENDING job (0: none pending).", float64(site.OldestPendingAgeSeconds), "website", w)
		for _, st := range []string{store.DeliveryPending, store.DeliveryDelivered, store.DeliveryDead} {
			f.gauge("ksefpl_events", "Job events by delivery state (dead: parked after max_attempts failures).", float64(site.Events[st]), "website", w, "state", st)
		}
		opened := 0
		for _, n := range site.Sessions {
			opened += n
		}
		f.counter("ksefpl_sessions_opened_total", "KSeF sessions opened.", float64(opened), "website", w)
		f.gauge("ksefpl_sessions_in_flight", "KSeF sessions still active, sending or closing.", float64(len(site.SessionsInFlight)), "website", w)
		f.counter("ksefpl_upos_stored_total", "UPO receipts stored (invoice and session UPOs).", float64(site.UPOs), "website", w)
		if c := site.Certificate; c != nil && !c.NotAfter.IsZero() {
			f.gauge("ksefpl_certificate_expiry_timestamp_seconds", "When a certificate ends (NotAfter).", unix(c.NotAfter), "website", w, "usage", "authentication")
		}
		if c := site.OfflineCertificate; c != nil && !c.NotAfter.IsZero() {
			f.gauge("ksefpl_certificate_expiry_timestamp_seconds", "When a certificate ends (NotAfter).", unix(c.NotAfter), "website", w, "usage", "offline")
		}
		if site.AuthMethod == config.AuthToken && site.Token.Configured {
			f.gauge("ksefpl_token_expiry_timestamp_seconds", "When authentication with the website's KSeF token ends (the regulation allows it until 2026-12-31).", unix(TokenAuthEnds()), "website", w)
		}
		if end, _, ok := nearestDeadline(site.Offline); ok {
			f.gauge("ksefpl_offline_deadline_timestamp_seconds", "The end of the nearest deadline of an offline document not yet accepted.", unix(end), "website", w)
		}
		if r := site.LastSubmit; r != nil {
			f.gauge("ksefpl_submit_last_run_timestamp_seconds", "When the last submit run ended.", unix(r.FinishedAt), "website", w)
			f.gauge("ksefpl_submit_last_run_duration_seconds", "How long the last submit run took.", r.DurationSeconds, "website", w)
			f.gauge("ksefpl_submit_last_run_success", "1 when the last submit run ended without a website error, else 0.", bool01(r.Success), "website", w)
			if r.LastSuccessAt != nil {
				f.gauge("ksefpl_submit_last_success_timestamp_seconds", "When the last successful submit run ended.", unix(*r.LastSuccessAt), "website", w)
			}
			f.counter("ksefpl_submit_runs_total", "Submit runs recorded.", float64(r.Runs), "website", w)
			f.counter("ksefpl_submit_runs_failed_total", "Submit runs that ended with a website error.", float64(r.FailedRuns), "website", w)
			f.counter("ksefpl_submit_jobs_sent_total", "Jobs sent to KSeF by submit runs.", float64(r.Sent), "website", w)
			f.counter("ksefpl_submit_jobs_accepted_total", "Jobs KSeF accepted, as submit runs settled them.", float64(r.Accepted), "website", w)
			f.counter("ksefpl_submit_jobs_failed_total", "Jobs that failed in submit runs.", float64(r.Failed), "website", w)
		}
		f.gauge("ksefpl_check_state", "The status --check verdict: 0 OK, 1 WARNING, 2 CRITICAL.", float64(verdicts.Websites[i].State), "website", w)
	}
	for g, c := range s.API {
		f.counter("ksefpl_api_calls_total", "KSeF API calls made by submit runs (every attempt), by rate-limit group.", float64(c.Calls), "group", g)
		f.counter("ksefpl_api_rate_limited_total", "HTTP 429 answers KSeF gave submit runs, by rate-limit group.", float64(c.TooManyRequests), "group", g)
		f.counter("ksefpl_api_retries_total", "Attempts after a call's first (after a 429, a 5xx or a network error), by rate-limit group.", float64(c.Retries), "group", g)
	}
	return f.sorted()
}

// Family is one metric and its samples, as the Prometheus text format groups them.
type Family struct {
	Name, Help string
	Type       string // "gauge" or "counter"
	Samples    []Sample
}

// Sample is one value of a family with its labels (name, value pairs in order).
type Sample struct {
	Labels []string
	Value  float64
}

// WriteText writes the families in the Prometheus text exposition format (version
// 0.0.4), which the tests read back with the official parser (expfmt). It is written
// here rather than with client_model's protobuf types, which every ksefpl process would
// otherwise initialise at start.
func WriteText(w io.Writer, fams []*Family) error {
	var b strings.Builder
	for _, f := range fams {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", f.Name, helpEscaper.Replace(f.Help), f.Name, f.Type)
		for _, s := range f.Samples {
			b.WriteString(f.Name)
			for i := 0; i+1 < len(s.Labels); i += 2 {
				sep := ","
				if i == 0 {
					sep = "{"
				}
				fmt.Fprintf(&b, "%s%s=\"%s\"", sep, s.Labels[i], labelEscaper.Replace(s.Labels[i+1]))
			}
			if len(s.Labels) > 1 {
				b.WriteByte('}')
			}
			b.WriteByte(' ')
			b.WriteString(formatValue(s.Value))
			b.WriteByte('\n')
		}
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write metrics: %w", err)
	}
	return nil
}

// The text format's escapes: \\ and \n in help, also \" in label values.
var (
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
	labelEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)
)

// formatValue renders a sample value as the text format writes floats.
func formatValue(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// WriteFile writes the families to path atomically, as the textfile collector needs: a
// temporary file in the same directory, synced, then renamed over path (mode 0644:
// metrics hold no secret). The collector only reads files named *.prom.
func WriteFile(path string, fams []*Family) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("write the metrics file: %w (the directory %s must exist and be writable)", err, dir)
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if err = WriteText(tmp, fams); err != nil {
		return err
	}
	if err = tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("write the metrics file: %w", err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("write the metrics file: %w", err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("write the metrics file: %w", err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write the metrics file: %w", err)
	}
	return nil
}

// families gathers metrics by name.
type families map[string]*Family

func (f families) gauge(name, help string, v float64, labels ...string) {
	f.add(name, help, "gauge", Sample{Labels: labels, Value: v})
}

func (f families) counter(name, help string, v float64, labels ...string) {
	f.add(name, help, "counter", Sample{Labels: labels, Value: v})
}

// add appends a sample to the family name.
func (f families) add(name, help, typ string, s Sample) {
	mf := f[name]
	if mf == nil {
		mf = &Family{Name: name, Help: help, Type: typ}
		f[name] = mf
	}
	mf.Samples = append(mf.Samples, s)
}

func (f families) sorted() []*Family {
	out := make([]*Family, 0, len(f))
	for _, mf := range f {
		out = append(out, mf)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func unix(t interface{ Unix() int64 }) float64 { return float64(t.Unix()) }

func bool01(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
