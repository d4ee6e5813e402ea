package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ksefpl/ksefpl/pkg/config"
	"github.com/ksefpl/ksefpl/pkg/failure"
	"github.com/ksefpl/ksefpl/pkg/ops"
)

type rotateOptions struct {
	*app
	website   string
	wait      time.Duration
	poll      time.Duration
	revokeOld bool
}

func newRotateTokenCmd(a *app) *cobra.Command {
	o := &rotateOptions{app: a}
	cmd := &cobra.Command{
		Use:   "rotate-token [--website CODE] [--wait DURATION] [--revoke-old]",
		Short: "Replace the KSeF token (read from stdin) after a full authentication with it",
		Long: `Reads the new KSeF token from stdin (never from the command line) and authenticates with it
against the configured environment BEFORE saving anything: a token that is malformed, for
another NIP or refused by KSeF changes nothing (exit 4). Then it saves the token encrypted
(for the website with --website, else at the default scope), records the successful
authentication (releasing jobs held as AUTH_ERROR) and audits the rotation with the old and
new token fingerprints. The old token's cached access and refresh tokens are dropped once the
website's in-flight sessions have finished: it waits up to --wait, else lists them and keeps
the old cache for them. Finally it reminds you to delete the old token in the KSeF portal,
or with --revoke-old revokes it through the API (authenticated as the old token, which may
always revoke itself, else as the new one, which needs CredentialsManage).`,
		Example: `  printf '%s' "$NEW_TOKEN" | ksefpl rotate-token --revoke-old
  ksefpl rotate-token --website shop2 --wait 5m < new-token.txt`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runRotateToken(cmd.Context(), o) },
	}
	cmd.Flags().StringVar(&o.website, "website", "", "website code (default: the default scope, shared by websites without their own token)")
	cmd.Flags().DurationVar(&o.wait, "wait", time.Minute, "how long to wait for in-flight sessions before keeping the old token's cache for them")
	cmd.Flags().DurationVar(&o.poll, "poll", ops.DefaultPollInterval, "how often to look at in-flight sessions while waiting")
	_ = cmd.Flags().MarkHidden("poll")
	cmd.Flags().BoolVar(&o.revokeOld, "revoke-old", false, "revoke the old token through the KSeF API (DELETE /tokens/{reference})")
	return cmd
}

func runRotateToken(ctx context.Context, o *rotateOptions) error {
	a := o.app
	d, err := a.deps(ctx)
	if err != nil {
		return err
	}
	saveAt := config.Default
	if o.website != "" {
		if saveAt, err = d.Config.WebsiteScope(ctx, o.website); err != nil {
			return err
		}
	}
	if o.wait < 0 {
		return &usageErr{fmt.Errorf("--wait must not be negative")}
	}
	tok, err := readLine(a.io.In)
	if err != nil {
		return &usageErr{fmt.Errorf("no token on stdin: pipe the new token in, e.g. printf '%%s' \"$NEW_TOKEN\" | ksefpl rotate-token")}
	}
	res, err := ops.RotateToken(ctx, d, ops.RotateOptions{SaveAt: saveAt, NewToken: tok, Wait: o.wait, PollInterval: o.poll, RevokeOld: o.revokeOld})
	if err != nil {
		return err
	}
	for _, v := range res.EnvOverrides {
		fmt.Fprintln(a.io.ErrOut, a.io.yellow(fmt.Sprintf("Warning: %s is set and overrides the stored token: "+
			"update %s to the new token (or unset it), or ksefpl keeps using the old one.", v, v)))
	}
	if a.json() {
		if err := writeJSON(a.io.Out, res); err != nil {
			return err
		}
	} else {
		renderRotate(a, res)
	}
	if res.Revoke != nil && !res.Revoke.Revoked {
		return silentExit(failure.Partial)
	}
	return nil
}

func renderRotate(a *app, res *ops.RotateResult) {
	out := a.io.Out
	fmt.Fprintf(out, "New token verified and saved at %s (websites: %s).\n", res.Scope, strings.Join(res.Websites, ", "))
	fmt.Fprintf(out, "Old token fingerprint %s, new %s.\n", shortFingerprint(res.OldFingerprint), shortFingerprint(res.NewFingerprint))
	if res.ReleasedJobs > 0 {
		fmt.Fprintf(out, "%d job(s) held as AUTH_ERROR are PENDING again; run ksefpl submit.\n", res.ReleasedJobs)
	}
	if len(res.InFlight) > 0 {
		fmt.Fprintln(out, a.io.yellow(fmt.Sprintf("%d session(s) still in flight; the old token's cached tokens are kept for them:", len(res.InFlight))))
		for _, s := range res.InFlight {
			fmt.Fprintf(out, "  %s  %s  %s\n", s.Website, s.Reference, s.Status)
		}
		fmt.Fprintln(out, "They expire on their own; after the sessions end you may run: ksefpl cache:clean ksefpl_session_token ksefpl_auth_pending")
	} else {
		fmt.Fprintf(out, "Cached tokens of the old token dropped: %d.\n", res.CacheCleared)
	}
	if res.Revoke != nil {
		if res.Revoke.Revoked {
			fmt.Fprintln(out, a.io.green("Old token: "+res.Revoke.Message+"."))
		} else {
			fmt.Fprintln(out, a.io.red("Old token not revoked: "+res.Revoke.Message+"."))
		}
	}
	if res.Reminder != "" {
		fmt.Fprintln(out, res.Reminder)
	}
}

// shortFingerprint abbreviates a fingerprint for tables and messages.
func shortFingerprint(fp string) string {
	if fp == "" {
		return "(none)"
	}
	if len(fp) > 12 {
		return fp[:12] + "…"
	}
	return fp
}
