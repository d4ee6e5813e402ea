package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ksefpl/ksefpl/pkg/config"
)

// scopeFlags are --scope and --scope-code, shared by the config commands.
type scopeFlags struct {
	scope string
	code  string
}

func (f *scopeFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.scope, "scope", "default", "configuration scope: default, websites or stores")
	cmd.Flags().StringVar(&f.code, "scope-code", "", "website or store code for --scope websites|stores")
}

// open returns the configuration service and the scope the flags name.
func (f *scopeFlags) open(ctx context.Context, a *app) (*config.Service, config.Scope, error) {
	d, err := a.deps(ctx)
	if err != nil {
		return nil, config.Scope{}, err
	}
	sc, err := d.Config.ResolveScope(ctx, f.scope, f.code)
	return d.Config, sc, err
}

type configSetOptions struct {
	*app
	scopeFlags
	path, value string
}

func newConfigSetCmd(a *app) *cobra.Command {
	o := &configSetOptions{app: a}
	cmd := &cobra.Command{
		Use:   "config:set PATH VALUE",
		Short: "Save a configuration value (VALUE - reads it from stdin)",
		Long: `Validates VALUE for PATH and saves it at the given scope. A NIP is normalised first; secrets
(the API token) are encrypted with the deployment key. A secret is read from stdin only: give -
as VALUE (it keeps tokens out of shell history and the process list); a secret on the command
line is refused. A VALUE that starts with a dash (a negative duration) follows --:
  ksefpl config:set ksefpl/connection/token_ttl_margin -- -1m`,
		Example: `  ksefpl config:set ksefpl/seller/nip 526-104-08-28
  printf '%s' "$TOKEN" | ksefpl config:set ksefpl/connection/api_token -
  ksefpl config:set ksefpl/seller/nip 7740001454 --scope websites --scope-code shop2`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.path, o.value = args[0], args[1]
			return runConfigSet(cmd.Context(), o)
		},
	}
	o.register(cmd)
	return cmd
}

func runConfigSet(ctx context.Context, o *configSetOptions) error {
	a := o.app
	a.mayCreate = true // Magento users expect config:set to work on a fresh install
	svc, sc, err := o.open(ctx, a)
	if err != nil {
		return err
	}
	value := o.value
	if value == "-" {
		if value, err = readLine(a.io.In); err != nil {
			return err
		}
	} else if f, ok := config.Lookup(o.path); ok && f.Secret() {
		return &usageErr{fmt.Errorf("%s is a secret: give - as the value and pipe it in, e.g. printf '%%s' \"$TOKEN\" | ksefpl config:set %s - "+
			"(a value on the command line shows in the process list and the shell history; nothing was saved)", o.path, o.path)}
	}
	res, err := svc.Set(ctx, o.path, value, sc)
	if err != nil {
		return err
	}
	for _, w := range res.Warnings {
		fmt.Fprintln(a.io.ErrOut, a.io.yellow("Warning: "+w))
	}
	if a.json() {
		return writeJSON(a.io.Out, map[string]any{"path": res.Path, "scope": res.Scope.String(), "saved": true})
	}
	fmt.Fprintln(a.io.Out, "Value was saved.")
	return nil
}

// readLine reads one line from r without its line ending.
func readLine(r io.Reader) (string, error) {
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read value from stdin: %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", &usageErr{errors.New("no value on stdin: pipe the value in, e.g. printf '%s' \"$VALUE\" | ksefpl config:set PATH -")}
	}
	return line, nil
}

type configShowOptions struct {
	*app
	scopeFlags
	path string
}

func newConfigShowCmd(a *app) *cobra.Command {
	o := &configShowOptions{app: a}
	cmd := &cobra.Command{
		Use:   "config:show [PATH]",
		Short: "Show effective configuration values (secrets as ******)",
		Long: `Prints the effective value at the scope (store view → website → default, with environment
overrides and defaults applied). A single path prints its value alone; a group or no path
prints sorted "path - value" lines.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				o.path = strings.TrimSuffix(args[0], "/")
			}
			return runConfigShow(cmd.Context(), o)
		},
	}
	o.register(cmd)
	return cmd
}

func runConfigShow(ctx context.Context, o *configShowOptions) error {
	a := o.app
	svc, sc, err := o.open(ctx, a)
	if err != nil {
		return err
	}
	notFound := &config.NotFoundError{Path: o.path}
	if _, leaf := config.Lookup(o.path); leaf {
		v, err := svc.Get(ctx, o.path, sc)
		var nf *config.NotFoundError
		if errors.As(err, &nf) {
			return notFound
		}
		if err != nil {
			return err
		}
		if a.json() {
			return writeJSON(a.io.Out, map[string]string{v.Path: v.Display()})
		}
		fmt.Fprintln(a.io.Out, esc(v.Display()))
		return nil
	}
	if o.path != "" && !config.IsKnownPrefix(o.path) {
		// An unknown path is invalid input, as config:set says (exit 3).
		return &config.UnknownPathError{Path: o.path}
	}
	vals, err := svc.Show(ctx, o.path, sc)
	if err != nil {
		return err
	}
	if len(vals) == 0 {
		return notFound
	}
	if a.json() {
		m := make(map[string]string, len(vals))
		for _, v := range vals {
			m[v.Path] = v.Display()
		}
		return writeJSON(a.io.Out, m)
	}
	for _, v := range vals {
		fmt.Fprintf(a.io.Out, "%s - %s\n", v.Path, esc(v.Display()))
	}
	return nil
}

type configDeleteOptions struct {
	*app
	scopeFlags
	path string
}

func newConfigDeleteCmd(a *app) *cobra.Command {
	o := &configDeleteOptions{app: a}
	cmd := &cobra.Command{
		Use:   "config:delete PATH",
		Short: "Delete the value stored at exactly this scope (inheritance then applies)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.path = args[0]
			return runConfigDelete(cmd.Context(), o)
		},
	}
	o.register(cmd)
	return cmd
}

func runConfigDelete(ctx context.Context, o *configDeleteOptions) error {
	a := o.app
	svc, sc, err := o.open(ctx, a)
	if err != nil {
		return err
	}
	if err := svc.Delete(ctx, o.path, sc); err != nil {
		return err
	}
	if a.json() {
		return writeJSON(a.io.Out, map[string]any{"path": o.path, "scope": sc.String(), "deleted": true})
	}
	fmt.Fprintln(a.io.Out, "Value was deleted.")
	return nil
}
