// Package bench owns the end-to-end benchmark of the main job: it starts the simulator
// as a separate process with the official rate limits on a compressed clock, queues a
// synthetic backlog in a temporary home, runs `ksefpl submit` as a separate process until
// the backlog is accepted, and reports what that process cost (CPU time per invoice, peak
// RSS), what it asked of KSeF (calls per invoice, 429s), and the wall time the same run
// would take under the real limits — for the chosen mode and, from a sample, online only.
package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ksefpl/ksefpl/pkg/ksef"
	"github.com/ksefpl/ksefpl/pkg/ksefsim"
	"github.com/ksefpl/ksefpl/pkg/store"
)

// Options tune a benchmark run.
type Options struct {
	Binary       string  // the ksefpl binary (os.Executable)
	Invoices     int     // backlog size
	TimeScale    float64 // the rate limits' clock runs this many times faster
	Mode         string  // auto, online or batch
	OnlineSample int     // invoices of the online-only sample (0: skip)
	// MySQLDSN names a MySQL/MariaDB server (a user that may create databases): each
	// measurement's home then keeps its store in a fresh database there, through
	// KSEFPL_DB_DSN, instead of ksefpl.db.
	MySQLDSN string
	// Keep, when set, is a directory where the last measurement's home is left (it must
	// not exist yet) instead of being removed: for inspecting the store afterwards.
	Keep string
	Log  io.Writer
}

// Result is the measured table.
type Result struct {
	Invoices          int           `json:"invoices"`
	Mode              string        `json:"mode"`
	TimeScale         float64       `json:"time_scale"`
	Wall              time.Duration `json:"wall_ns"`
	SubmitCPU         time.Duration `json:"submit_cpu_ns"`
	CPUPerInvoice     time.Duration `json:"cpu_per_invoice_ns"`
	InvoicesPerSecond float64       `json:"invoices_per_cpu_second"`
	PeakRSSMiB        float64       `json:"peak_rss_mib"`
	APICalls          int           `json:"api_calls"`
	CallsPerInvoice   float64       `json:"api_calls_per_invoice"`
	TooManyRequests   int           `json:"too_many_requests"`
	Projected         time.Duration `json:"projected_real_ns"`
	OnlineSample      int           `json:"online_sample,omitempty"`
	OnlineProjected   time.Duration `json:"online_projected_real_ns,omitempty"`
	RateLimitWait     time.Duration `json:"rate_limit_wait_ns"`
	Accepted          int           `json:"accepted"`
	// DBBytesPerJob is the SQLite store's size (with its WAL) after the run divided by
	// the jobs it holds: rows, frozen XML, UPOs, audit, events and indexes (0 on MySQL).
	DBBytesPerJob float64 `json:"db_bytes_per_job"`
	// Empty are the fresh-process latencies on the home before the backlog was queued,
	// Latencies the same once it was accepted (the store then holds it all).
	Empty     Latencies `json:"latencies_empty"`
	Latencies Latencies `json:"latencies"`

	groups map[string]ksefsim.GroupStats
}

// projectOnline scales an online sample to n invoices: for a long backlog each endpoint
// group's hourly limit binds, so the time is the slowest group's calls divided by its
// official hourly limit, plus the local work.
func projectOnline(sample *Result, n int) time.Duration {
	limits := ksef.DefaultRateLimits()
	var worst time.Duration
	for g, st := range sample.groups {
		l, ok := limits[ksef.RateGroup(g)]
		if !ok || l.PerHour <= 0 {
			continue
		}
		calls := float64(st.Requests) / float64(sample.Invoices) * float64(n)
		worst = max(worst, time.Duration(calls/float64(l.PerHour)*float64(time.Hour)))
	}
	return worst + sample.CPUPerInvoice*time.Duration(n)
}

// Run performs the benchmark.
func Run(ctx context.Context, o Options) (*Result, error) {
	if o.Invoices <= 0 || o.TimeScale < 1 || o.Binary == "" {
		return nil, errors.New("bench: need a binary, a positive invoice count and a time scale of at least 1")
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	res := &Result{Invoices: o.Invoices, Mode: o.Mode, TimeScale: o.TimeScale}
	r, err := measure(ctx, o, o.Invoices, o.Mode, o.Keep)
	if err != nil {
		return nil, err
	}
	*res = *r
	res.Mode, res.TimeScale = o.Mode, o.TimeScale
	if o.OnlineSample > 0 {
		s, err := measure(ctx, o, o.OnlineSample, "online", "")
		if err != nil {
			return nil, fmt.Errorf("online sample: %w", err)
		}
		res.OnlineSample = s.Invoices
		res.OnlineProjected = projectOnline(s, o.Invoices)
	}
	return res, nil
}

// Scaling runs Run's measurement for 10,000, 100,000 and 1,000,000 invoices, those up to
// maxN (and maxN itself when it is not one of them), each in a fresh simulator and home,
// one after another.
func Scaling(ctx context.Context, o Options, maxN int) ([]*Result, error) {
	if maxN <= 0 {
		return nil, errors.New("bench: --max must be positive")
	}
	var sizes []int
	for _, n := range []int{10_000, 100_000, 1_000_000} {
		if n <= maxN {
			sizes = append(sizes, n)
		}
	}
	if len(sizes) == 0 || sizes[len(sizes)-1] != maxN {
		sizes = append(sizes, maxN)
	}
	var out []*Result
	for i, n := range sizes {
		o := o
		o.Invoices, o.OnlineSample = n, 0
		if i < len(sizes)-1 {
			o.Keep = "" // only the largest home is kept
		}
		r, err := Run(ctx, o)
		if err != nil {
			return out, fmt.Errorf("%d invoices: %w", n, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// measure runs one backlog through a fresh simulator and home (left in keep if set).
func measure(ctx context.Context, o Options, n int, mode, keep string) (*Result, error) {
	dir, err := os.MkdirTemp("", "ksefpl-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	if keep != "" {
		defer func() {
			if err := os.Rename(filepath.Join(dir, "home"), keep); err != nil {
				fmt.Fprintf(o.Log, "bench: could not keep the home: %v\n", err)
			}
		}()
	}
	home := filepath.Join(dir, "home")
	if err := os.Mkdir(filepath.Join(dir, "sim"), 0o700); err != nil {
		return nil, err
	}
	bs, err := newBenchStore(ctx, home, o.MySQLDSN)
	if err != nil {
		return nil, err
	}
	defer bs.drop()
	scale := strconv.FormatFloat(o.TimeScale, 'f', -1, 64)

	sim := exec.CommandContext(ctx, o.Binary, "sim", "serve", "--addr", "127.0.0.1:0", "--rate-limits", "--time-scale", scale,
		"--storage-dir", filepath.Join(dir, "sim"), "--invoice-step-polls", "-1")
	out, err := sim.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := sim.Start(); err != nil {
		return nil, err
	}
	defer func() { _ = sim.Process.Signal(os.Interrupt); _ = sim.Wait() }()
	lines := bufio.NewScanner(out)
	if !lines.Scan() || !strings.HasPrefix(lines.Text(), "listening on ") {
		return nil, fmt.Errorf("simulator did not start: %q", lines.Text())
	}
	url := strings.TrimPrefix(lines.Text(), "listening on ")
	go func() {
		for lines.Scan() {
		}
	}()
	k := func(stdin string, args ...string) error {
		c := exec.CommandContext(ctx, o.Binary, append([]string{"--home", home, "--no-color"}, args...)...)
		c.Env = bs.env()
		c.Stdin = strings.NewReader(stdin)
		if b, err := c.CombinedOutput(); err != nil {
			return fmt.Errorf("ksefpl %s: %v: %s", strings.Join(args, " "), err, b)
		}
		return nil
	}
	nip := "5261040828"
	for _, kv := range [][2]string{{"ksefpl/connection/environment", "local"}, {"ksefpl/connection/base_url", url + "/v2"},
		{"ksefpl/seller/nip", nip}, {"ksefpl/seller/name", "Bench"}, {"ksefpl/seller/address_line1", "ul. Prosta 1"}} {
		if err := k("", "config:set", kv[0], kv[1]); err != nil {
			return nil, err
		}
	}
	ctl := &ksefsim.ControlClient{URL: url}
	tok, err := ctl.IssueToken(ctx, nip)
	if err != nil {
		return nil, err
	}
	if err := k(tok, "config:set", "ksefpl/connection/api_token", "-"); err != nil {
		return nil, err
	}
	empty, err := measureLatencies(ctx, o.Binary, home, bs.env(), "empty", 0)
	if err != nil {
		return nil, err
	}
	if err := enqueue(ctx, bs, n); err != nil {
		return nil, err
	}
	total := n + latencyRuns // the invoices the latency runs queued go through submit too
	if err := ctl.ResetStats(ctx); err != nil {
		return nil, err
	}

	fmt.Fprintf(o.Log, "bench: %d invoices, mode %s, limits at %s×: submitting…\n", n, mode, scale)
	start := time.Now()
	var cpu time.Duration
	var rss int64
	var waited time.Duration // pacer-clock time spent within the limits: real-limit time
	for i := 0; ; i++ {
		c := exec.CommandContext(ctx, o.Binary, "--home", home, "--no-color", "submit", "--mode", mode, "--time-scale", scale,
			"--wait", "10m", "--poll-interval", "200ms", "-o", "json")
		c.Env = bs.env()
		var stdout, stderr bytes.Buffer
		c.Stdout, c.Stderr = &stdout, &stderr
		err := c.Run()
		if ru, ok := c.ProcessState.SysUsage().(*syscall.Rusage); ok {
			cpu += time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
			rss = max(rss, ru.Maxrss)
		}
		if err != nil {
			return nil, fmt.Errorf("submit: %v: %s%s", err, stdout.Bytes(), stderr.Bytes())
		}
		var sr struct {
			Wait time.Duration `json:"rate_limit_wait_ns"`
		}
		if err := json.Unmarshal(stdout.Bytes(), &sr); err != nil {
			return nil, fmt.Errorf("submit -o json: %w", err)
		}
		waited += sr.Wait
		b := stderr.Bytes()
		accepted, err := countAccepted(ctx, bs)
		if err != nil {
			return nil, err
		}
		if accepted == total {
			break
		}
		if i == 5 {
			return nil, fmt.Errorf("only %d of %d accepted after %d submit runs; the last said:\n%s", accepted, total, i+1, b)
		}
	}
	wall := time.Since(start)
	st, err := ctl.Stats(ctx)
	if err != nil {
		return nil, err
	}
	calls := 0
	for g, s := range st.Groups {
		if g != ksefsim.GroupStorage && g != ksefsim.GroupLatarnia && g != ksefsim.GroupUnknown {
			calls += s.Requests
		}
	}
	res := &Result{
		Invoices: n, Wall: wall, SubmitCPU: cpu, CPUPerInvoice: cpu / time.Duration(total),
		InvoicesPerSecond: float64(total) / cpu.Seconds(), PeakRSSMiB: float64(rss) / 1024,
		APICalls: calls, CallsPerInvoice: float64(calls) / float64(total), TooManyRequests: st.TooManyRequests,
		Accepted: total, Empty: empty,
		// Measured before the latency runs below queue more.
		DBBytesPerJob: float64(sqliteBytes(home)) / float64(total),
	}
	if res.Latencies, err = measureLatencies(ctx, o.Binary, home, bs.env(), "full", int64(n/2)); err != nil {
		return nil, err
	}
	// The time spent waiting on the compressed limits counts at real speed; the rest of
	// the run (local work, the simulator, polling) at the speed measured.
	res.RateLimitWait = waited
	res.Projected = max(wall-time.Duration(float64(waited)/o.TimeScale), 0) + waited
	res.groups = st.Groups
	return res, nil
}

// enqueue writes a synthetic backlog straight into the store, 1,000 per transaction.
func enqueue(ctx context.Context, st *benchStore, n int) error {
	db, err := st.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	issued := time.Now().Format(time.RFC3339)
	today := time.Now().Format(time.DateOnly) // queue admission records P_1 like this
	for start := 0; start < n; start += 1000 {
		var items []store.EnqueueItem
		for i := start; i < min(n, start+1000); i++ {
			inc := fmt.Sprintf("BENCH-%07d", i+1)
			items = append(items, store.EnqueueItem{
				Job:   store.Job{WebsiteID: 1, EntityType: "invoice", IncrementID: inc, InputFormat: "json", Input: invoiceJSON(inc, issued), Status: store.JobPending, IssueDate: today},
				Audit: store.AuditEntry{Event: store.EventTransition, Actor: "bench", Reason: "QUEUED"},
			})
		}
		if _, err := db.EnqueueMany(ctx, items, false); err != nil {
			return err
		}
	}
	return nil
}

func countAccepted(ctx context.Context, st *benchStore) (int, error) {
	db, err := st.open(ctx)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	c, err := db.JobCounts(ctx, 1)
	return c[store.JobAccepted], err
}

func invoiceJSON(inc, issued string) string {
	return fmt.Sprintf(`{"type":"invoice","increment_id":%q,"created_at":%q,"currency":"PLN",
 "buyer":{"name":"Klient S.A.","vat_id":"PL8567346215","address":{"street":"ul. Krzywa 2","city":"Kraków","postcode":"30-001","country_id":"PL"}},
 "items":[{"sku":"A","name":"Towar A","qty":"2","unit":"szt.","price":"100.00","tax_percent":"23"},
          {"sku":"B","name":"Towar B","qty":"1","price":"10.00","tax_percent":"8"}],
 "grand_total":"256.80"}`, inc, issued)
}
