package monitor

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/ksefpl/ksefpl/internal/ksefpltest"
	"github.com/ksefpl/ksefpl/pkg/ksef"
	"github.com/ksefpl/ksefpl/pkg/store"
	"github.com/ksefpl/ksefpl/pkg/submit"
)

// parseProm reads a textfile with the official parser.
func parseProm(t *testing.T, path string) map[string]*dto.MetricFamily {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(f)
	if err != nil {
		t.Fatalf("the official parser refuses the metrics: %v", err)
	}
	return fams
}

// value is the value of the sample of family name whose labels include want (nil when
// there is none).
func value(fams map[string]*dto.MetricFamily, name string, want map[string]string) *float64 {
	mf := fams[name]
	if mf == nil {
		return nil
	}
	for _, m := range mf.Metric {
		got := map[string]string{}
		for _, l := range m.Label {
			got[l.GetName()] = l.GetValue()
		}
		match := true
		for k, v := range want {
			match = match && got[k] == v
		}
		if !match {
			continue
		}
		var v float64
		switch {
		case m.Gauge != nil:
			v = m.Gauge.GetValue()
		case m.Counter != nil:
			v = m.Counter.GetValue()
		}
		return &v
	}
	return nil
}

// After a real submit run against the simulator, the textfile parses with Prometheus's
// own parser, names follow its conventions (counters _total, typed), and the values are
// what happened: the jobs accepted, the run recorded, its API calls counted.
func TestMetricsAfterASimulatorRun(t *testing.T) {
	f := ksefpltest.NewFixture(t)
	for _, inc := range []string{"INV-1", "INV-2", "INV-3"} {
		f.EnqueueRaw(store.Job{WebsiteID: 1, EntityType: "invoice", IncrementID: inc, Input: ksefpltest.InvoiceJSON(inc)})
	}
	before := time.Now()
	res, err := submit.Run(f.Ctx, f.Deps, submit.Options{Wait: 20 * time.Second, PollInterval: 10 * time.Millisecond, Mode: submit.ModeOnline,
		RunSettings: submit.RunSettings{Pacer: ksef.NewPacer(ksef.PacerOptions{TimeScale: 1000})}})
	if err != nil || res.Accepted != 3 {
		t.Fatalf("run: %+v %v", res, err)
	}
	fams, err := Metrics(f.Ctx, f.Deps, Options{})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "ksefpl.prom")
	if err := WriteFile(path, fams); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o644 {
		t.Fatalf("metrics file %v %v, want mode 0644", fi, err)
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".*.tmp")); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
	got := parseProm(t, path)
	base := map[string]string{"website": "base"}
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"ksefpl_jobs", map[string]string{"website": "base", "status": "ACCEPTED"}, 3},
		{"ksefpl_jobs", map[string]string{"website": "base", "status": "PENDING"}, 0},
		{"ksefpl_jobs", map[string]string{"website": "base", "status": "FAILED"}, 0},
		{"ksefpl_oldest_pending_age_seconds", base, 0},
		{"ksefpl_submit_runs_total", base, 1},
		{"ksefpl_submit_runs_failed_total", base, 0},
		{"ksefpl_submit_jobs_sent_total", base, 3},
		{"ksefpl_submit_jobs_accepted_total", base, 3},
		{"ksefpl_submit_jobs_failed_total", base, 0},
		{"ksefpl_submit_last_run_success", base, 1},
		{"ksefpl_events", map[string]string{"website": "base", "state": "dead"}, 0},
		{"ksefpl_sessions_in_flight", base, 0},
		{"ksefpl_sessions_opened_total", base, 1},
		{"ksefpl_upos_stored_total", base, 4}, // three invoice UPOs and the session's
		{"ksefpl_api_calls_total", map[string]string{"group": "invoiceSend"}, 3},
		{"ksefpl_api_rate_limited_total", map[string]string{"group": "invoiceSend"}, 0},
		{"ksefpl_token_expiry_timestamp_seconds", base, float64(TokenAuthEnds().Unix())},
	} {
		v := value(got, c.name, c.labels)
		if v == nil || *v != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, v, c.want)
		}
	}
	for _, name := range []string{"ksefpl_submit_last_success_timestamp_seconds", "ksefpl_submit_last_run_timestamp_seconds"} {
		v := value(got, name, base)
		if v == nil || *v < float64(before.Unix()) || *v > float64(time.Now().Unix()) {
			t.Errorf("%s = %v, want the run's end", name, v)
		}
	}
	if v := value(got, "ksefpl_submit_last_run_duration_seconds", base); v == nil || *v <= 0 {
		t.Errorf("last run duration %v", v)
	}
	for name, mf := range got {
		isCounter := mf.GetType() == dto.MetricType_COUNTER
		if hasSuffix := len(name) > 6 && name[len(name)-6:] == "_total"; isCounter != hasSuffix {
			t.Errorf("%s: type %s; counters and only counters end in _total", name, mf.GetType())
		}
		if mf.GetHelp() == "" {
			t.Errorf("%s has no help", name)
		}
	}

	// A second run with nothing to do is recorded too: the counters grow, the jobs stay.
	if _, err := submit.Run(f.Ctx, f.Deps, submit.Options{Wait: time.Second, PollInterval: 10 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	fams, err = Metrics(f.Ctx, f.Deps, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(path, fams); err != nil {
		t.Fatal(err)
	}
	got = parseProm(t, path)
	if v := value(got, "ksefpl_submit_runs_total", base); v == nil || *v != 2 {
		t.Errorf("runs after an idle run: %v, want 2", v)
	}
	if v := value(got, "ksefpl_submit_jobs_sent_total", base); v == nil || *v != 3 {
		t.Errorf("sent after an idle run: %v, want 3", v)
	}
}

// A metrics file's directory must exist: the error names it, and nothing is created.
func TestWriteFileNeedsItsDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "missing")
	err := WriteFile(filepath.Join(dir, "ksefpl.prom"), nil)
	if err == nil || !strings.Contains(err.Error(), "the directory "+dir+" must exist") {
		t.Fatalf("err = %v, want one naming the directory", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("the directory was created: %v", err)
	}
}

// TestWriteTextEscapesAsTheOfficialParserReads writes help and label values that need
// the text format's escapes, and special values, and reads them back with expfmt.
func TestWriteTextEscapesAsTheOfficialParserReads(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.prom")
	help := "Back\\slash and\nnewline."
	label := "sklep \"Pod Lipą\"\\1\nB"
	fams := []*Family{
		{Name: "ksefpl_test_gauge", Help: help, Type: "gauge", Samples: []Sample{
			{Labels: []string{"website", label, "status", "ACCEPTED"}, Value: 1.5},
			{Labels: []string{"website", "x"}, Value: math.Inf(1)},
		}},
		{Name: "ksefpl_test_total", Help: "A counter.", Type: "counter", Samples: []Sample{{Value: 1e12}}},
	}
	if err := WriteFile(path, fams); err != nil {
		t.Fatal(err)
	}
	got := parseProm(t, path)
	g := got["ksefpl_test_gauge"]
	if g.GetHelp() != help || g.GetType() != dto.MetricType_GAUGE || len(g.Metric) != 2 {
		t.Fatalf("gauge family read back: %v", g)
	}
	if v := value(got, "ksefpl_test_gauge", map[string]string{"website": label, "status": "ACCEPTED"}); v == nil || *v != 1.5 {
		t.Fatalf("the escaped label's sample: %v", v)
	}
	if v := value(got, "ksefpl_test_gauge", map[string]string{"website": "x"}); v == nil || !math.IsInf(*v, 1) {
		t.Fatalf("+Inf read back as %v", v)
	}
	c := got["ksefpl_test_total"]
	if c.GetType() != dto.MetricType_COUNTER || c.Metric[0].GetCounter().GetValue() != 1e12 || len(c.Metric[0].Label) != 0 {
		t.Fatalf("counter read back: %v", c)
	}
}
