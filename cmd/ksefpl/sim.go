package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/ksefpl/ksefpl/pkg/failure"
	"github.com/ksefpl/ksefpl/pkg/kcert"
	"github.com/ksefpl/ksefpl/pkg/ksefsim"
	"github.com/ksefpl/ksefpl/pkg/nip"
)

func newSimCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sim",
		Short: "The built-in KSeF 2.0 simulator",
		Long: `A local KSeF 2.0 simulator that speaks the official API (open-api.json): authentication,
public keys, Latarnia, and simulator-only control endpoints under /sim/. Point a website at it
with environment local and base URL http://ADDR/v2.`,
	}
	cmd.AddCommand(newSimServeCmd(a), newSimTokenCmd(a), newSimRevokeCmd(a), newSimCertCmd(a), newSimLatarniaCmd(a))
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
	strict     bool
	enrollPoll int
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
	f.BoolVarP(&o.verbose, "verbose", "v", false, "log every request (method, path, status, duration) to stderr")
	f.BoolVar(&o.strict, "strict-certificates", false, "accept only certificates issued by the simulator's own CA (GET /sim/ca; ksefpl sim cert --url)")
	f.IntVar(&o.enrollPoll, "enrollment-polls", 1, "certificate enrolment status reads answered 100 (processing) before the certificate is issued")
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
		StrictCertificates: o.strict, EnrollmentPolls: o.enrollPoll,
	}
	if o.verbose {
		// The simulator logs each request at Info level.
		cfg.Logger = slog.New(slog.NewTextHandler(a.io.ErrOut, &slog.HandlerOptions{Level: slog.LevelInfo}))
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
	n := nip.Normalize(o.nip)
	if err := nip.Validate(n); err != nil {
		return err
	}
	tok, err := (&ksefsim.ControlClient{URL: o.url}).IssueToken(ctx, n)
	if err != nil {
		return simErr(err)
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
		return simErr(err)
	}
	fmt.Fprintln(a.io.Out, "Token revoked.")
	return nil
}

type simCertOptions struct {
	*app
	nip, pesel, kind, key, out, url string
	days                            int
}

func newSimCertCmd(a *app) *cobra.Command {
	o := &simCertOptions{app: a}
	cmd := &cobra.Command{
		Use:   "cert --nip NIP [--kind seal|personal|offline] [--key ec|rsa] --out DIR [--url URL]",
		Short: "Write a test certificate and key (PEM and PKCS#12) that the simulator accepts",
		Long: `Writes a test certificate shaped like a qualified certificate — a company seal
(organizationIdentifier VATPL-NIP) or a personal signature (serialNumber TINPL-NIP, or PNOPL-PESEL
with --pesel) — with its private key to DIR: cert.pem, key.pem (unencrypted PKCS#8) and cert.p12
(PKCS#12 with an empty password), all mode 0600. Without --url it is self-signed, which the
simulator accepts like KSeF's TEST environment does; with --url the running simulator's own CA
issues it (what 'sim serve --strict-certificates' requires). --kind offline (with --url) has the
simulator issue a KSeF certificate of type Offline, which signs KOD II of invoices issued
offline (certificate:import --type offline). For the simulator and tests only.`,
		Example: "  ksefpl sim cert --nip 5261040828 --out ./seal\n  ksefpl certificate:import --file ./seal/cert.p12 < /dev/null",
		Args:    cobra.NoArgs,
		RunE:    func(cmd *cobra.Command, _ []string) error { return runSimCert(cmd.Context(), o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.nip, "nip", "", "the NIP the certificate identifies (required)")
	f.StringVar(&o.pesel, "pesel", "", "a PESEL instead of the NIP in a personal certificate")
	f.StringVar(&o.kind, "kind", "seal", "seal (an organisation), personal (a person) or offline (a KSeF Offline certificate; needs --url)")
	f.StringVar(&o.key, "key", "ec", "ec (P-256) or rsa (2048)")
	f.StringVar(&o.out, "out", "", "directory to write cert.pem, key.pem and cert.p12 to (required)")
	f.StringVar(&o.url, "url", "", "a running simulator whose CA issues the certificate")
	f.IntVar(&o.days, "days", 730, "validity in days")
	return cmd
}

func runSimCert(ctx context.Context, o *simCertOptions) error {
	a := o.app
	if o.nip == "" || o.out == "" {
		return &usageErr{errors.New("--nip and --out are required")}
	}
	if err := nip.Validate(nip.Normalize(o.nip)); err != nil {
		return err
	}
	switch {
	case o.kind != "seal" && o.kind != "personal" && o.kind != "offline":
		return &usageErr{fmt.Errorf("invalid --kind %q: use seal, personal or offline", o.kind)}
	case o.kind == "offline" && o.url == "":
		return &usageErr{errors.New("--kind offline is a KSeF certificate: give --url of the running simulator that issues it")}
	}
	if o.key != "ec" && o.key != "rsa" {
		return &usageErr{fmt.Errorf("invalid --key %q: use ec or rsa", o.key)}
	}
	if o.days < 1 {
		return &usageErr{errors.New("--days must be positive")}
	}
	var m *kcert.Material
	var err error
	if o.kind == "offline" {
		m, err = (&ksefsim.ControlClient{URL: o.url}).IssueKSeFCertificate(ctx, ksefsim.KSeFCertificateRequest{
			Type: "Offline", NIP: nip.Normalize(o.nip), PESEL: o.pesel, Key: o.key})
		if err != nil {
			return simErr(err)
		}
	} else if o.url != "" {
		m, err = (&ksefsim.ControlClient{URL: o.url}).IssueCertificate(ctx, ksefsim.CertificateRequest{
			NIP: nip.Normalize(o.nip), PESEL: o.pesel, Kind: o.kind, Key: o.key})
		if err != nil {
			return simErr(err)
		}
	} else {
		now := time.Now()
		m, err = kcert.NewTestCertificate(kcert.TestCertOptions{Kind: o.kind, NIP: nip.Normalize(o.nip), PESEL: o.pesel, KeyType: o.key,
			NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(0, 0, o.days)})
		if err != nil {
			return err
		}
	}
	certPEM, keyPEM, err := kcert.EncodePEM(m)
	if err != nil {
		return err
	}
	p12, err := kcert.EncodePKCS12(m, "")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(o.out, 0o700); err != nil {
		return withClass(failure.Invalid, fmt.Errorf("create %s: %w", o.out, err))
	}
	for name, b := range map[string][]byte{"cert.pem": certPEM, "key.pem": keyPEM, "cert.p12": p12} {
		if err := writeFileAtomic(filepath.Join(o.out, name), func(f *os.File) error { _, err := f.Write(b); return err }); err != nil {
			return err
		}
	}
	info := map[string]string{"dir": o.out, "serial": kcert.SerialHex(m.Cert), "fingerprint": kcert.Fingerprint(m.Cert),
		"subject": kcert.NameString(m.Cert.Subject), "issuer": kcert.NameString(m.Cert.Issuer), "not_after": m.Cert.NotAfter.UTC().Format(time.RFC3339)}
	if a.json() {
		return writeJSON(a.io.Out, info)
	}
	fmt.Fprintf(a.io.Out, "Test certificate %s (%s) written to %s: cert.pem, key.pem, cert.p12 (empty password)\n",
		info["serial"], info["subject"], o.out)
	return nil
}

// simErr classifies a control-client error: the simulator's refusal keeps its class
// (invalid for a wrong request), anything else (not reachable) is unavailable.
func simErr(err error) error {
	if c := failure.Of(err); c != failure.Unknown {
		return err
	}
	return withClass(failure.Unavailable, err)
}
