package golive

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ksefpl/ksefpl/pkg/config"
	"github.com/ksefpl/ksefpl/pkg/conncheck"
	"github.com/ksefpl/ksefpl/pkg/deps"
	"github.com/ksefpl/ksefpl/pkg/ksef"
	"github.com/ksefpl/ksefpl/pkg/store"
	"github.com/ksefpl/ksefpl/pkg/website"
)

// Options tune Run.
type Options struct {
	// Input is a shop invoice JSON (docs/invoice-json.md) to use as the test invoice;
	// nil uses the built-in sample (SampleInvoice) with a fresh NewIncrementID.
	Input []byte
	// InputName names Input in the report (e.g. its path).
	InputName string
	// SchemaDir holds the official XSDs (FA3.xsd, FA2.xsd, bazowe/); "" skips the XSD
	// validation with a notice.
	SchemaDir string
	// SchemaDirExplicit makes a missing xmllint or schema file a failure instead of a
	// skipped XSD validation (the operator named the directory).
	SchemaDirExplicit bool
	// Wait bounds how long submit waits for KSeF's verdict (default 2 min).
	Wait time.Duration
	// PollInterval is the pause between status polls while waiting (default 2 s).
	PollInterval time.Duration
	// Actor is written into audit rows (default "golive:check").
	Actor string
}

// Run performs the checklist for the website at sc and returns the report; a failed check
// is in the report, not the error. The error is an *EnvironmentError when the website is
// configured for demo or production (nothing is contacted then), or a storage problem.
//
// The test invoice is queued like any shop document and sent by one submit run for the
// website, which — exactly as cron's would — also sends the website's other PENDING jobs
// (Report.Warnings says how many there were).
func Run(ctx context.Context, d *deps.Deps, sc config.Scope, o Options) (*Report, error) {
	env := d.WithDefaults()
	if o.Actor == "" {
		o.Actor = "golive:check"
	}
	if o.Wait <= 0 {
		o.Wait = 2 * time.Minute
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 2 * time.Second
	}
	s, err := env.Website(ctx, sc)
	if err != nil {
		return nil, fmt.Errorf("read the configuration of website %s: %w", sc.WebsiteCode, err)
	}
	if err := allowed(s); err != nil {
		return nil, err
	}
	r := &Report{
		Website: s.WebsiteCode, Environment: s.EnvironmentName, APIURL: s.Endpoints.API,
		SellerNIP: s.Seller.NIP, Input: o.InputName, CheckedAt: env.Now().UTC(),
	}
	g := &runner{env: env, o: o, s: s, sc: sc, r: r}
	if err := g.run(ctx); err != nil {
		return r, err
	}
	_, failed := r.FirstFailure()
	r.Success = !failed
	return r, nil
}

// allowed refuses every environment but test and local.
func allowed(s *website.Settings) error {
	env, err := ksef.ParseEnvironment(s.EnvironmentName)
	if err != nil {
		return nil // test-connection reports the bad value as a configuration failure
	}
	if env != ksef.EnvTest && env != ksef.EnvLocal {
		return &EnvironmentError{Website: s.WebsiteCode, Environment: string(env)}
	}
	return nil
}

type runner struct {
	env *deps.Deps
	o   Options
	s   *website.Settings
	sc  config.Scope
	r   *Report
}

// step runs fn as the named check and appends its result.
func (g *runner) step(name string, fn func() (Check, error)) (Check, error) {
	start := time.Now()
	c, err := fn()
	c.Name = name
	c.Millis = time.Since(start).Milliseconds()
	if c.Status == "" {
		c.Status = conncheck.Pass
	}
	g.r.Checks = append(g.r.Checks, c)
	return c, err
}

func (g *runner) skip(name, why string) {
	g.r.Checks = append(g.r.Checks, Check{Name: name, Status: conncheck.Skip, Detail: why})
}

func (g *runner) run(ctx context.Context) error {
	conn, err := g.step(CheckConnection, func() (Check, error) { return g.connection(ctx) })
	if err != nil {
		return err
	}
	var data []byte
	prev, err := g.step(CheckPreview, func() (Check, error) {
		c, d, err := g.preview(ctx)
		data = d
		return c, err
	})
	if err != nil {
		return err
	}
	if conn.Status != conncheck.Pass || prev.Status != conncheck.Pass {
		why := "needs a passing test-connection"
		if conn.Status == conncheck.Pass {
			why = "needs a valid invoice preview"
		}
		for _, n := range []string{CheckLifecycle, CheckKSeFNumber, CheckUPO, CheckNotify} {
			g.skip(n, why+"; nothing was queued or sent")
		}
		return nil
	}
	var job *store.Job
	life, err := g.step(CheckLifecycle, func() (Check, error) {
		c, j, err := g.lifecycle(ctx, data)
		job = j
		return c, err
	})
	if err != nil {
		return err
	}
	if life.Status != conncheck.Pass {
		g.skip(CheckKSeFNumber, "needs an ACCEPTED test invoice")
		g.skip(CheckUPO, "needs an ACCEPTED test invoice")
		g.skip(CheckNotify, "needs an ACCEPTED test invoice")
		return nil
	}
	num, err := g.step(CheckKSeFNumber, func() (Check, error) { return g.ksefNumber(ctx, job.ID) })
	if err != nil {
		return err
	}
	if num.Status != conncheck.Pass {
		g.skip(CheckUPO, "needs the KSeF number in the queue record")
		g.skip(CheckNotify, "needs the KSeF number in the queue record")
		return nil
	}
	if _, err = g.step(CheckUPO, func() (Check, error) { return g.upo(ctx, job.ID) }); err != nil {
		return err
	}
	if !g.s.Notify.Configured() {
		g.skip(CheckNotify, "no receiver is configured ("+config.PathNotifyWebhookURL+" or "+config.PathNotifyCommand+
			"): the shop learns the KSeF number only from ksefpl events or queue show")
		return nil
	}
	_, err = g.step(CheckNotify, func() (Check, error) { return g.notified(ctx, job.ID) })
	return err
}

// connection runs test-connection (which records its outcome like the command does).
func (g *runner) connection(ctx context.Context) (Check, error) {
	rep, err := conncheck.Run(ctx, g.env, g.sc, conncheck.Options{})
	if err != nil {
		return Check{}, fmt.Errorf("test-connection of website %s: %w", g.s.WebsiteCode, err)
	}
	g.r.Connection = rep
	if f, failed := rep.FirstFailure(); failed {
		detail := f.Name + ": " + f.Detail
		if f.Code != "" && !strings.Contains(f.Detail, f.Code) {
			detail += " (KSeF code " + f.Code + ")"
		}
		hint := f.Hint
		if hint == "" {
			hint = "run ksefpl test-connection" + scopeFlag(g.s.WebsiteCode) + " for every check with its hint"
		}
		return Check{Status: conncheck.Fail, Class: f.Class, Detail: detail, Hint: hint}, nil
	}
	passed := 0
	for _, c := range rep.Checks {
		if c.Status == conncheck.Pass {
			passed++
		}
	}
	return Check{Detail: fmt.Sprintf("%d checks passed: environment %s, API %s, NIP %s, %s fingerprint %s",
		passed, rep.Environment, rep.APIURL, rep.SellerNIP, rep.AuthMethod, short(rep.CredentialFingerprint))}, nil
}

// scopeFlag is the --website flag for hints ("" for base).
func scopeFlag(code string) string {
	if code == "" || code == "base" {
		return ""
	}
	return " --website " + code
}

// scopeFlags are the config:set scope flags for hints ("" for base).
func scopeFlags(code string) string {
	if code == "" || code == "base" {
		return ""
	}
	return " --scope websites --scope-code " + code
}

// short is the first 12 hex digits of a fingerprint.
func short(fp string) string {
	if len(fp) > 12 {
		return fp[:12]
	}
	return fp
}
