package main

import (
	"context"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/ksefpl/ksefpl/pkg/ops"
)

type cacheCleanOptions struct {
	*app
	types   []string
	website string
}

func newCacheCleanCmd(a *app) *cobra.Command {
	o := &cacheCleanOptions{app: a}
	cmd := &cobra.Command{
		Use:   "cache:clean [TYPE...]",
		Short: "Clean caches: config, ksefpl_session_token, ksefpl_auth_pending, nbp_rates (all without TYPE)",
		Long: `Removes cached data by type and prints what went per type: ksefpl_session_token (cached
KSeF access and refresh tokens), ksefpl_auth_pending (authentications in progress), nbp_rates
(NBP exchange rates) and config (nothing persistent is cached for configuration: count 0).
Without TYPE every type is cleaned, like cache:flush. --website limits the token types to
one website.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.types = args
			return runCacheClean(cmd.Context(), o)
		},
	}
	cmd.Flags().StringVar(&o.website, "website", "", "clean only this website's cached tokens")
	return cmd
}

func newCacheFlushCmd(a *app) *cobra.Command {
	o := &cacheCleanOptions{app: a}
	cmd := &cobra.Command{
		Use:   "cache:flush",
		Short: "Clean every cache type",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return runCacheClean(cmd.Context(), o) },
	}
	cmd.Flags().StringVar(&o.website, "website", "", "clean only this website's cached tokens")
	return cmd
}

func runCacheClean(ctx context.Context, o *cacheCleanOptions) error {
	a := o.app
	websiteID, d, err := a.websiteFilter(ctx, o.website)
	if err != nil {
		return err
	}
	cleaned, err := ops.CleanCache(ctx, d.DB, o.types, websiteID)
	if err != nil {
		return err
	}
	if a.json() {
		return writeJSON(a.io.Out, cleaned)
	}
	rows := make([][]string, 0, len(cleaned))
	for _, c := range cleaned {
		rows = append(rows, []string{c.Type, strconv.FormatInt(c.Count, 10), c.Note})
	}
	if err := writeTable(a.io.Out, []string{"Type", "Cleaned", "Note"}, rows); err != nil {
		return err
	}
	fmt.Fprintln(a.io.Out, "Cache cleaned.")
	return nil
}
