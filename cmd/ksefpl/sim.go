package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/ksefpl/ksefpl/pkg/failure"
	"github.com/ksefpl/ksefpl/pkg/ksefsim"
)

func newSimCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sim",
		Short: "The built-in KSeF 2.0 simulator",
		Long: `A local KSeF 2.0 simulator that speaks the official API (open-api.json): authentication,
public keys, Latarnia, and simulator-only control endpoints under /sim/. Point a website at it
with environment local and base URL http://ADDR/v2.`,
	}
	cmd.AddCommand(newSimServeCmd(a), newSimTokenCmd(a), newSimRevokeCmd(a))
	return cmd
}

type simServeOptions struct {
	*app
	addr       string
	accessTTL  time.Duration
	refreshTTL time.Duration
	authDelay  int
	rateLimits bool
	timeScale  float64
	stepPolls  int
	stepTime   time.Duration
	storageDir string
	verbose    bool
}

func newSimServeCmd(a *app) *cobra.Command {
	o := &simServeOptions{app: a}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the simulator until interrupted",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return runSimServe(cmd.Context(), o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.addr, "addr", "127.0.0.1:8089", "listen address (port 0 picks a free port)")
	f.DurationVar(&o.accessTTL, "access-ttl", 15*time.Minute, "lifetime of access tokens")
	f.DurationVar(&o.refreshTTL, "refresh-ttl", 7*24*time.Hour, "lifetime of refresh tokens")
	f.IntVar(&o.authDelay, "auth-delay", 1, "authentication status polls answered 100 before 200")
	f.BoolVar(&o.rateLimits, "rate-limits", false, "enforce the official rate limits")
	f.Float64Var(&o.timeScale, "time-scale", 1, "run the rate-limit windows N times faster (3600: an hour passes in a second)")
	f.IntVar(&o.stepPolls, "invoice-step-polls", 0, "status reads per processing step of invoices and closed sessions (0: 1, or none with --invoice-step-time; negative: final at the first read)")
	f.DurationVar(&o.stepTime, "invoice-step-time", 0, "also move processing on after this much time per step")
	f.StringVar(&o.storageDir, "storage-dir", "", "keep uploaded batch parts in this directory instead of memory")
	f.BoolVarP(&o.verbose, "verbose", "v", false, "log every request to stderr")
	return cmd
}

func runSimServe(ctx context.Context, o *simServeOptions) error {
	a := o.app
	if o.timeScale <= 0 {
		return &usageErr{fmt.Errorf("--time-scale must be positive (1 = real time, 3600 = an hour of rate limits per second)")}
	}
	cfg := ksefsim.Config{
		AccessTokenTTL: o.accessTTL, RefreshTokenTTL: o.refreshTTL, AuthDelay: o.authDelay,
		RateLimits: o.rateLimits, TimeScale: o.timeScale,
		InvoiceStepPolls: o.stepPolls, InvoiceStepTime: o.stepTime, StorageDir: o.storageDir,
	}
	if o.verbose {
		cfg.Logger = slog.New(slog.NewTextHandler(a.io.ErrOut, nil))
	}
	return ksefsim.Serve(ctx, o.addr, cfg, func(url string) {
		fmt.Fprintf(a.io.Out, "listening on %s\n", url)
		fmt.Fprintf(a.io.Out, "API base URL: %s/v2 (ksefpl config:set ksefpl/connection/base_url %s/v2)\n", url, url)
	})
}

type simTokenOptions struct {
	*app
	url string
	nip string
}

func newSimTokenCmd(a *app) *cobra.Command {
	o := &simTokenOptions{app: a}
	cmd := &cobra.Command{
		Use:   "token --url URL --nip NIP",
		Short: "Ask a running simulator for a new KSeF token",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return runSimToken(cmd.Context(), o) },
	}
	cmd.Flags().StringVar(&o.url, "url", "", "simulator URL, e.g. http://127.0.0.1:8089")
	cmd.Flags().StringVar(&o.nip, "nip", "", "context NIP of the token")
	return cmd
}

func runSimToken(ctx context.Context, o *simTokenOptions) error {
	a := o.app
	if o.url == "" || o.nip == "" {
		return &usageErr{fmt.Errorf("both --url and --nip are required")}
	}
	tok, err := (&ksefsim.ControlClient{URL: o.url}).IssueToken(ctx, o.nip)
	if err != nil {
		return withClass(failure.Unavailable, err)
	}
	if a.json() {
		return writeJSON(a.io.Out, map[string]string{"token": tok})
	}
	fmt.Fprintln(a.io.Out, tok)
	return nil
}

type simRevokeOptions struct {
	*app
	url string
}

func newSimRevokeCmd(a *app) *cobra.Command {
	o := &simRevokeOptions{app: a}
	cmd := &cobra.Command{
		Use:   "revoke --url URL",
		Short: "Revoke a simulator token read from stdin",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return runSimRevoke(cmd.Context(), o) },
	}
	cmd.Flags().StringVar(&o.url, "url", "", "simulator URL, e.g. http://127.0.0.1:8089")
	return cmd
}

func runSimRevoke(ctx context.Context, o *simRevokeOptions) error {
	a := o.app
	if o.url == "" {
		return &usageErr{fmt.Errorf("--url is required")}
	}
	tok, err := readLine(a.io.In)
	if err != nil {
		return err
	}
	if err := (&ksefsim.ControlClient{URL: o.url}).RevokeToken(ctx, tok); err != nil {
		return withClass(failure.Unavailable, err)
	}
	fmt.Fprintln(a.io.Out, "Token revoked.")
	return nil
}
