package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/ksefpl/ksefpl/pkg/ops"
	"github.com/spf13/cobra"
)

func newCacheCleanCmd(a *app) *cobra.Command {
	var website string
	cmd := &cobra.Command{
		Use:   "cache:clean [TYPE...]",
		Short: "Clean caches: config, ksefpl_session_token, ksefpl_auth_pending, nbp_rates (all without TYPE)",
		Long: `Removes cached data by type and prints what went per type: ksefpl_session_token (cached
KSeF access and refresh tokens), ksefpl_auth_pending (authentications in progress), nbp_rates
(NBP exchange rates) and config (nothing persistent is cached for configuration: count 0).
Without TYPE every type is cleaned, like cache:flush. --website limits the token types to
one website.`,
		RunE: func(cmd *cobra.Command, args []string) error { return runCacheClean(cmd.Context(), a, args, website) },
	}
	cmd.Flags().StringVar(&website, "website", "", "clean only this website's cached tokens")
	return cmd
}

func newCacheFlushCmd(a *app) *cobra.Command {
	var website string
	cmd := &cobra.Command{
		Use:   "cache:flush",
		Short: "Clean every cache type",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return runCacheClean(cmd.Context(), a, nil, website) },
	}
	cmd.Flags().StringVar(&website, "website", "", "clean only this website's cached tokens")
	return cmd
}

func runCacheClean(ctx context.Context, a *app, types []string, website string) error {
	svc, h, err := a.config(ctx)
	if err != nil {
		return err
	}
	var websiteID int64
	if website != "" {
		sc, err := svc.WebsiteScope(ctx, website)
		if err != nil {
			return err
		}
		websiteID = sc.WebsiteID
	}
	cleaned, err := ops.CleanCache(ctx, h.DB, types, websiteID)
	var ue *ops.UnknownCacheTypeError
	if errors.As(err, &ue) {
		return &usageErr{err}
	}
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
