package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/ksefpl/ksefpl/pkg/submit"
)

type upoDownloadOptions struct {
	*app
	sel submit.UPOSelector
	out string
}

func newUPODownloadCmd(a *app) *cobra.Command {
	o := &upoDownloadOptions{app: a}
	cmd := &cobra.Command{
		Use:   "upo:download --job ID | --ksef-number N | --session REF [--out FILE]",
		Short: "Write a UPO (official KSeF receipt), fetching it from KSeF if not stored yet",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return runUPODownload(cmd.Context(), o) },
	}
	cmd.Flags().Int64Var(&o.sel.JobID, "job", 0, "queue job id")
	cmd.Flags().StringVar(&o.sel.KSeFNumber, "ksef-number", "", "KSeF number of an accepted invoice")
	cmd.Flags().StringVar(&o.sel.Session, "session", "", "session reference (the collective UPO)")
	cmd.Flags().StringVar(&o.out, "out", "", "file to write (default: stdout)")
	return cmd
}

func runUPODownload(ctx context.Context, o *upoDownloadOptions) error {
	a, sel, out := o.app, o.sel, o.out
	n := 0
	for _, set := range []bool{sel.JobID != 0, sel.KSeFNumber != "", sel.Session != ""} {
		if set {
			n++
		}
	}
	if n != 1 {
		return &usageErr{errors.New("give exactly one of --job, --ksef-number, --session")}
	}
	d, err := a.deps(ctx)
	if err != nil {
		return err
	}
	upos, err := submit.GetUPO(ctx, d, sel)
	switch {
	case err != nil:
		return err
	case len(upos) == 0:
		return submit.ErrNoUPO
	}
	u := upos[0]
	if a.json() {
		return writeJSON(a.io.Out, map[string]any{"kind": u.Kind, "session_reference": u.SessionReference,
			"upo_reference": u.UPOReference, "ksef_number": u.KSeFNumber, "sha256": u.SHA256,
			"hash_verified": u.HashVerified, "size": len(u.XML), "pages": len(upos), "out": out})
	}
	if out == "" {
		_, err := a.io.Out.Write(u.XML)
		return err
	}
	if err := writeFileAtomic(out, func(f *os.File) error { _, err := f.Write(u.XML); return err }); err != nil {
		return err
	}
	fmt.Fprintf(a.io.ErrOut, "UPO %s written to %s (SHA-256 %s, hash verified by KSeF: %v)\n", u.UPOReference, out, u.SHA256, u.HashVerified)
	if len(upos) > 1 {
		fmt.Fprintf(a.io.ErrOut, "Note: the session's UPO has %d pages; this is page 1.\n", len(upos))
	}
	return nil
}
