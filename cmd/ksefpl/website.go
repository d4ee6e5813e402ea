package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/ksefpl/ksefpl/pkg/config"
	"github.com/ksefpl/ksefpl/pkg/failure"
	"github.com/ksefpl/ksefpl/pkg/store"
)

type websiteCreateOptions struct {
	*app
	code string
	name string
}

func newWebsiteCreateCmd(a *app) *cobra.Command {
	o := &websiteCreateOptions{app: a}
	cmd := &cobra.Command{
		Use:   "store:website:create CODE",
		Short: "Create a website (a legal entity with its own NIP and token) and its store view",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.code = args[0]
			return runWebsiteCreate(cmd.Context(), o)
		},
	}
	cmd.Flags().StringVar(&o.name, "name", "", "display name (default: the code)")
	return cmd
}

func runWebsiteCreate(ctx context.Context, o *websiteCreateOptions) error {
	a := o.app
	if !config.ValidScopeCode(o.code) {
		return withClass(failure.Invalid, errors.New(config.ScopeCodeRule))
	}
	name := o.name
	if name == "" {
		name = o.code
	}
	d, err := a.deps(ctx)
	if err != nil {
		return err
	}
	w, err := d.DB.CreateWebsite(ctx, o.code, name)
	if errors.Is(err, store.ErrDuplicate) {
		return withClass(failure.Invalid, fmt.Errorf("website %q already exists: choose another code", o.code))
	}
	if err != nil {
		return err
	}
	if a.json() {
		return writeJSON(a.io.Out, w)
	}
	fmt.Fprintf(a.io.Out, "Website %q was created (id %d).\n", w.Code, w.ID)
	return nil
}

type websiteListOptions struct{ *app }

func newWebsiteListCmd(a *app) *cobra.Command {
	o := &websiteListOptions{app: a}
	return &cobra.Command{
		Use:   "store:website:list",
		Short: "List websites",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return runWebsiteList(cmd.Context(), o) },
	}
}

func runWebsiteList(ctx context.Context, o *websiteListOptions) error {
	a := o.app
	d, err := a.deps(ctx)
	if err != nil {
		return err
	}
	ws, err := d.DB.Websites(ctx)
	if err != nil {
		return err
	}
	if a.json() {
		return writeJSON(a.io.Out, ws)
	}
	rows := make([][]string, 0, len(ws))
	for _, w := range ws {
		def := ""
		if w.IsDefault {
			def = "yes"
		}
		rows = append(rows, []string{strconv.FormatInt(w.ID, 10), w.Code, w.Name, def})
	}
	return writeTable(a.io.Out, []string{"ID", "Code", "Name", "Default"}, rows)
}
