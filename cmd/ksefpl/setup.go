package main

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/ksefpl/ksefpl/pkg/home"
)

type setupInstallOptions struct{ *app }

func newSetupInstallCmd(a *app) *cobra.Command {
	o := &setupInstallOptions{app: a}
	return &cobra.Command{
		Use:   "setup:install",
		Short: "Create the data directory, database and encryption key (idempotent)",
		Long: `Creates the data directory (mode 0700), ksefpl.db and env.json with a freshly generated
encryption key (files 0600). Running it again changes nothing and never replaces a key.
With KSEFPL_CRYPT_KEY set, no key is written: the variable supplies it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runSetupInstall(cmd.Context(), o) },
	}
}

func runSetupInstall(ctx context.Context, o *setupInstallOptions) error {
	a := o.app
	a.mayCreate = true
	h, err := a.home(ctx)
	if err != nil {
		return err
	}
	v, err := h.DB.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	// a.home already initialised what was missing; report the state.
	out := struct {
		Home          string `json:"home"`
		Database      string `json:"database"`
		EnvFile       string `json:"env_file"`
		KeySource     string `json:"key_source"`
		KeyVersions   int    `json:"key_versions"`
		SchemaVersion int    `json:"schema_version"`
	}{h.Dir, filepath.Join(h.Dir, home.DBFile), filepath.Join(h.Dir, home.EnvFile), h.KeySource, 0, v}
	if h.Keys != nil {
		out.KeyVersions = h.Keys.Versions()
	}
	if a.json() {
		return writeJSON(a.io.Out, out)
	}
	fmt.Fprintf(a.io.Out, "ksefpl home: %s\n", out.Home)
	fmt.Fprintf(a.io.Out, "database:    %s (schema version %d)\n", out.Database, v)
	fmt.Fprintf(a.io.Out, "encryption:  %d key version(s) from %s\n", out.KeyVersions, out.KeySource)
	fmt.Fprintln(a.io.Out, a.io.green("ksefpl is installed."))
	return nil
}

type versionOptions struct{ *app }

func newVersionCmd(a *app) *cobra.Command {
	o := &versionOptions{app: a}
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return runVersion(cmd.Context(), o) },
	}
}

func runVersion(_ context.Context, o *versionOptions) error {
	a := o.app
	v := map[string]string{"version": a.version, "go": runtime.Version(), "os": runtime.GOOS, "arch": runtime.GOARCH}
	if a.json() {
		return writeJSON(a.io.Out, v)
	}
	fmt.Fprintf(a.io.Out, "ksefpl %s (%s %s/%s)\n", a.version, v["go"], v["os"], v["arch"])
	return nil
}
