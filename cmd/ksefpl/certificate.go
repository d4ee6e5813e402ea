package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ksefpl/ksefpl/pkg/certificate"
	"github.com/ksefpl/ksefpl/pkg/conncheck"
	"github.com/ksefpl/ksefpl/pkg/failure"
	"github.com/ksefpl/ksefpl/pkg/ksef"
)

// maxCertFile bounds a certificate or key file.
const maxCertFile = 1 << 20

type certImportOptions struct {
	*app
	file, certFile, keyFile string
	usage, website          string
}

func newCertificateImportCmd(a *app) *cobra.Command {
	o := &certImportOptions{app: a}
	cmd := &cobra.Command{
		Use:   "certificate:import --file F.p12 | --cert C.pem --key K.pem [--type authentication|offline] [--website CODE]",
		Short: "Import a certificate with its private key (qualified seal or signature, or a KSeF certificate)",
		Long: `Imports a certificate and its private key for a website: a PKCS#12 file (--file), or a PEM
certificate (--cert, with its chain) and a PEM key (--key: PKCS#8, optionally encrypted, PKCS#1
or SEC1). The password of the PKCS#12 file or of an encrypted key is read from stdin (a prompt
without echo on a terminal), never from the command line.

Checks: the key belongs to the certificate; the key is RSA of at least 2048 bits or EC P-256 /
P-384; today lies inside the certificate's validity; for --type offline, the certificate is a
KSeF Offline certificate (key usage non-repudiation). It warns when the certificate's subject
does not carry the seller NIP (organizationIdentifier VATPL-…, serialNumber TINPL-…/PNOPL-…).
The key is stored encrypted with the deployment key (env.json) and is never shown again.

An authentication certificate is used once ksefpl/connection/auth_method is certificate:
  ksefpl config:set ksefpl/connection/auth_method certificate
KSeF tokens authenticate only until 2026-12-31 (§ 13 of the regulation).`,
		Example: `  ksefpl certificate:import --file seal.p12 < password.txt
  ksefpl certificate:import --cert seal.pem --key seal.key --website shop2
  ksefpl certificate:import --file offline.p12 --type offline`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runCertificateImport(cmd.Context(), o) },
	}
	f := cmd.Flags()
	f.StringVarP(&o.file, "file", "f", "", "PKCS#12 file (.p12/.pfx) with the certificate and its key")
	f.StringVar(&o.certFile, "cert", "", "PEM certificate (with its chain)")
	f.StringVar(&o.keyFile, "key", "", "PEM private key")
	f.StringVar(&o.usage, "type", "authentication", "authentication or offline")
	f.StringVar(&o.website, "website", "", "website code (default: base)")
	return cmd
}

// readSmallFile reads a certificate or key file (at most 1 MiB).
func readSmallFile(path string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, withClass(failure.Invalid, fmt.Errorf("read %s: %w; check the path", path, err))
	}
	if st.Size() > maxCertFile || !st.Mode().IsRegular() {
		return nil, withClass(failure.Invalid, fmt.Errorf("%s is not a certificate or key file (a regular file of at most 1 MiB)", path))
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, withClass(failure.Invalid, fmt.Errorf("read %s: %w", path, err))
	}
	return b, nil
}

func runCertificateImport(ctx context.Context, o *certImportOptions) error {
	a := o.app
	usage, err := certificate.ParseUsage(o.usage)
	if err != nil {
		return &usageErr{err}
	}
	switch {
	case o.file != "" && (o.certFile != "" || o.keyFile != ""):
		return &usageErr{errors.New("give --file (PKCS#12) or --cert and --key (PEM), not both")}
	case o.file == "" && (o.certFile == "" || o.keyFile == ""):
		return &usageErr{errors.New("give --file F.p12, or --cert C.pem and --key K.pem")}
	}
	req := certificate.ImportRequest{Usage: usage, Actor: a.actor()}
	if o.file != "" {
		if req.PKCS12, err = readSmallFile(o.file); err != nil {
			return err
		}
	} else {
		if req.CertPEM, err = readSmallFile(o.certFile); err != nil {
			return err
		}
		if req.KeyPEM, err = readSmallFile(o.keyFile); err != nil {
			return err
		}
	}
	if req.Password, err = a.io.secretLine("Password (empty for none): "); err != nil {
		return err
	}
	d, sc, err := a.websiteScope(ctx, o.website)
	if err != nil {
		return err
	}
	req.Scope = sc
	res, err := certificate.Import(ctx, d, req)
	if err != nil {
		return err
	}
	if a.json() {
		return writeJSON(a.io.Out, res)
	}
	for _, w := range res.Warnings {
		fmt.Fprintln(a.io.ErrOut, a.io.yellow("Warning: "+w))
	}
	fmt.Fprintf(a.io.Out, "Imported the %s certificate of website %s (in use).\n", res.Certificate.Usage, res.Certificate.Website)
	return renderCertificate(a, res.Certificate)
}

// renderCertificate prints one certificate's facts.
func renderCertificate(a *app, c certificate.Info) error {
	left := strconv.Itoa(c.DaysLeft) + " days left"
	switch {
	case c.DaysLeft < 0:
		left = a.io.red("expired")
	case c.DaysLeft < conncheck.CertificateWarnDays:
		left = a.io.yellow(left)
	}
	for _, r := range [][2]string{
		{"Subject", c.Subject}, {"Identity", c.Identity}, {"Issuer", c.Issuer}, {"Serial", c.Serial}, {"SHA-256", c.Fingerprint},
		{"Valid", c.NotBefore.Format(time.DateOnly) + " – " + c.NotAfter.Format(time.DateOnly) + " (" + left + ")"},
	} {
		fmt.Fprintf(a.io.Out, "  %-9s %s\n", r[0]+":", r[1])
	}
	return nil
}

type certListOptions struct {
	*app
	website string
}

func newCertificateListCmd(a *app) *cobra.Command {
	o := &certListOptions{app: a}
	cmd := &cobra.Command{
		Use:   "certificate:list [--website CODE]",
		Short: "List certificates per website and type: serial, subject, validity, days left, source, in use",
		Long: `Lists every website's certificates (or one website's): type (authentication or offline),
serial number, subject, issuer, validity and days left, where it comes from (stored, or the
KSEFPL_API_CERT environment override) and whether it is in use. -o json prints an array of
{website, type, serial, fingerprint, subject, issuer, identity, not_before, not_after, days_left,
source, origin, in_use, problem}.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runCertificateList(cmd.Context(), o) },
	}
	cmd.Flags().StringVar(&o.website, "website", "", "only this website (default: all)")
	return cmd
}

func runCertificateList(ctx context.Context, o *certListOptions) error {
	a := o.app
	d, err := a.deps(ctx)
	if err != nil {
		return err
	}
	list, err := certificate.List(ctx, d, o.website)
	if err != nil {
		return err
	}
	if a.json() {
		return writeJSON(a.io.Out, list)
	}
	if len(list) == 0 {
		fmt.Fprintln(a.io.Out, "No certificates. Import one with ksefpl certificate:import.")
		return nil
	}
	rows := make([][]string, 0, len(list))
	for _, c := range list {
		use := ""
		if c.InUse {
			use = a.io.green("in use")
		}
		left := strconv.Itoa(c.DaysLeft)
		switch {
		case c.Problem != "":
			left = a.io.red(c.Problem)
		case c.DaysLeft < 0:
			left = a.io.red("expired")
		case c.DaysLeft < conncheck.CertificateWarnDays:
			left = a.io.yellow(left)
		}
		rows = append(rows, []string{c.Website, c.Usage, c.Serial, c.Subject, c.Issuer,
			c.NotBefore.Format(time.DateOnly) + " – " + c.NotAfter.Format(time.DateOnly), left, strings.TrimSpace(c.Source + " " + c.Origin), use})
	}
	return writeTable(a.io.Out, []string{"WEBSITE", "TYPE", "SERIAL", "SUBJECT", "ISSUER", "VALIDITY", "DAYS LEFT", "SOURCE", "USE"}, rows)
}

type certSerialOptions struct {
	*app
	serial, website, reason string
}

func newCertificateRemoveCmd(a *app) *cobra.Command {
	o := &certSerialOptions{app: a}
	cmd := &cobra.Command{
		Use:   "certificate:remove SERIAL [--website CODE]",
		Short: "Delete a stored certificate and its private key (KSeF is not told: revoke it first if needed)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.serial = args[0]
			return runCertificateRemove(cmd.Context(), o)
		},
	}
	cmd.Flags().StringVar(&o.website, "website", "", "website code (default: base)")
	return cmd
}

func runCertificateRemove(ctx context.Context, o *certSerialOptions) error {
	a := o.app
	d, sc, err := a.websiteScope(ctx, o.website)
	if err != nil {
		return err
	}
	in, err := certificate.Remove(ctx, d, sc, o.serial, a.actor())
	if err != nil {
		return err
	}
	if a.json() {
		return writeJSON(a.io.Out, in)
	}
	fmt.Fprintf(a.io.Out, "Removed the %s certificate %s of website %s and its private key.\n", in.Usage, in.Serial, in.Website)
	if in.InUse {
		fmt.Fprintln(a.io.ErrOut, a.io.yellow("Warning: it was in use: import or enroll another one, or switch back to the token."))
	}
	return nil
}

func newCertificateRevokeCmd(a *app) *cobra.Command {
	o := &certSerialOptions{app: a}
	cmd := &cobra.Command{
		Use:   "certificate:revoke SERIAL [--website CODE] [--reason unspecified|superseded|keycompromise]",
		Short: "Revoke a KSeF certificate in KSeF (POST /certificates/{serial}/revoke), after an XAdES login",
		Long: `Asks KSeF to revoke a KSeF certificate of the website. KSeF allows it only after a login with a
signature (XAdES), so the website's authentication certificate is used, whatever its auth_method.
The certificate stays stored; delete it with ksefpl certificate:remove.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.serial = args[0]
			return runCertificateRevoke(cmd.Context(), o)
		},
	}
	cmd.Flags().StringVar(&o.website, "website", "", "website code (default: base)")
	cmd.Flags().StringVar(&o.reason, "reason", "unspecified", "unspecified, superseded or keycompromise")
	return cmd
}

func runCertificateRevoke(ctx context.Context, o *certSerialOptions) error {
	a := o.app
	reason := map[string]string{"unspecified": ksef.RevocationUnspecified, "superseded": ksef.RevocationSuperseded,
		"keycompromise": ksef.RevocationKeyCompromise}[strings.ToLower(o.reason)]
	if reason == "" {
		return &usageErr{fmt.Errorf("invalid --reason %q: use unspecified, superseded or keycompromise", o.reason)}
	}
	d, sc, err := a.websiteScope(ctx, o.website)
	if err != nil {
		return err
	}
	in, err := certificate.Revoke(ctx, d, sc, o.serial, reason, a.actor())
	if err != nil {
		return err
	}
	if a.json() {
		return writeJSON(a.io.Out, in)
	}
	fmt.Fprintf(a.io.Out, "KSeF revoked the %s certificate %s of website %s.\n", in.Usage, in.Serial, in.Website)
	if in.InUse {
		fmt.Fprintln(a.io.ErrOut, a.io.yellow("Warning: it is still the website's certificate in use and can no longer authenticate: enroll or import another one."))
	}
	return nil
}

type certEnrollOptions struct {
	*app
	usage, name, website string
	wait, poll           time.Duration
}

func newCertificateEnrollCmd(a *app) *cobra.Command {
	o := &certEnrollOptions{app: a}
	cmd := &cobra.Command{
		Use:   "certificate:enroll --type authentication|offline [--name NAME] [--website CODE] [--wait 5m]",
		Short: "Obtain a KSeF certificate (authentication or offline) from KSeF, after an XAdES login",
		Long: `Asks KSeF for a KSeF certificate: logs in with the website's authentication certificate
(XAdES — KSeF allows enrolment only after a signed login, never with a KSeF token), checks the
limits, reads the enrolment data, generates an EC P-256 key locally, sends a PKCS#10 request
whose subject is exactly that data, waits for KSeF to issue the certificate and stores it with
its key (encrypted). An offline certificate is in use at once. A new authentication certificate
becomes the website's once it has authenticated successfully; until then the old one stays.

When KSeF has not issued it within --wait, the reference and the new key are kept: run the
command again to collect it (exit 6 meanwhile).`,
		Example: "  ksefpl certificate:enroll --type authentication\n  ksefpl certificate:enroll --type offline --website shop2",
		Args:    cobra.NoArgs,
		RunE:    func(cmd *cobra.Command, _ []string) error { return runCertificateEnroll(cmd.Context(), o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.usage, "type", "", "authentication or offline (required)")
	f.StringVar(&o.name, "name", "", "the certificate's name in KSeF (default: ksefpl WEBSITE TYPE DATE)")
	f.StringVar(&o.website, "website", "", "website code (default: base)")
	f.DurationVar(&o.wait, "wait", 5*time.Minute, "how long to wait for KSeF to issue the certificate")
	f.DurationVar(&o.poll, "poll-interval", 2*time.Second, "pause between status reads")
	return cmd
}

func runCertificateEnroll(ctx context.Context, o *certEnrollOptions) error {
	a := o.app
	if o.usage == "" {
		return &usageErr{errors.New("--type is required: authentication or offline")}
	}
	usage, err := certificate.ParseUsage(o.usage)
	if err != nil {
		return &usageErr{err}
	}
	if o.wait <= 0 || o.poll <= 0 {
		return &usageErr{errors.New("--wait and --poll-interval must be positive")}
	}
	d, sc, err := a.websiteScope(ctx, o.website)
	if err != nil {
		return err
	}
	res, err := certificate.Enroll(ctx, d, certificate.EnrollRequest{Scope: sc, Usage: usage, Name: o.name, Wait: o.wait,
		PollInterval: o.poll, Actor: a.actor()})
	if err != nil {
		return err
	}
	if a.json() {
		return writeJSON(a.io.Out, res)
	}
	for _, w := range res.Warnings {
		fmt.Fprintln(a.io.ErrOut, a.io.yellow("Warning: "+w))
	}
	state := "stored"
	if res.Certificate.InUse {
		state = "in use"
	}
	fmt.Fprintf(a.io.Out, "KSeF issued the %s certificate %s for website %s (enrolment %s); %s.\n", res.Certificate.Usage,
		res.Certificate.Serial, res.Certificate.Website, res.Reference, state)
	return renderCertificate(a, res.Certificate)
}
