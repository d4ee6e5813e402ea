package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/ksefpl/ksefpl/pkg/ops"
)

type keyChangeOptions struct {
	*app
	key string
}

func newEncryptionKeyChangeCmd(a *app) *cobra.Command {
	o := &keyChangeOptions{app: a}
	cmd := &cobra.Command{
		Use:   "encryption:key:change [--key KEY]",
		Short: "Add an encryption key version and re-encrypt every stored secret with it",
		Long: `Magento's encryption:key:change: adds a new key version to env.json (generated, or the one
given; --key - reads it from stdin so that it stays out of the process list), keeps the
old versions for reading, and re-encrypts every stored secret (API tokens in any scope
and the cached KSeF tokens) with the new key in one transaction. The old ciphertexts are
then wiped from the database files (secure_delete, WAL checkpoint, VACUUM).
env.json is written first, so an interruption leaves every value readable; running the
command again finishes the job. Keys from KSEFPL_CRYPT_KEY cannot be changed by ksefpl.
Back up env.json afterwards: it now holds the new key.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runKeyChange(cmd.Context(), o) },
	}
	cmd.Flags().StringVarP(&o.key, "key", "k", "", `the new key: 32 characters or "base64" + base64 of 32 bytes; - reads it from stdin (default: generate one)`)
	return cmd
}

func runKeyChange(ctx context.Context, o *keyChangeOptions) error {
	a, key := o.app, o.key
	d, err := a.deps(ctx)
	if err != nil {
		return err
	}
	if key == "-" {
		if key, err = readLine(a.io.In); err != nil {
			return &usageErr{errors.New("no key on stdin: pipe the key in, e.g. ksefpl encryption:key:change --key - < key.txt")}
		}
	}
	res, err := ops.ChangeKey(ctx, d.Home, key)
	if err != nil {
		return err
	}
	if a.json() {
		return writeJSON(a.io.Out, res)
	}
	fmt.Fprintln(a.io.Out, "Encryption key has been updated successfully.")
	fmt.Fprintf(a.io.Out, "Key version %d is current (%d versions in env.json; older ones are kept for reading).\n", res.NewVersion, res.Versions)
	fmt.Fprintf(a.io.Out, "Re-encrypted: %d configuration value(s), %d cached token row(s), %d certificate private key(s).\n",
		res.ConfigValues, res.CacheRows, res.PrivateKeys)
	if res.CacheDropped > 0 {
		fmt.Fprintf(a.io.Out, "Dropped %d cached token row(s) the old keys could not read (KSeF issues them again).\n", res.CacheDropped)
	}
	if !res.Scrubbed {
		fmt.Fprintln(a.io.ErrOut, a.io.yellow("Warning: "+res.ScrubDetail))
	}
	fmt.Fprintln(a.io.Out, "Back up env.json now: it holds the new key.")
	return nil
}

type keyListOptions struct{ *app }

func newEncryptionKeyListCmd(a *app) *cobra.Command {
	o := &keyListOptions{app: a}
	return &cobra.Command{
		Use:   "encryption:key:list",
		Short: "List encryption key versions and how many stored values each encrypts (never the keys)",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return runKeyList(cmd.Context(), o) },
	}
}

func runKeyList(ctx context.Context, o *keyListOptions) error {
	a := o.app
	d, err := a.deps(ctx)
	if err != nil {
		return err
	}
	list, err := ops.ListKeys(ctx, d.DB, d.Keys, d.Home.KeySource)
	if err != nil {
		return err
	}
	if a.json() {
		return writeJSON(a.io.Out, list)
	}
	fmt.Fprintf(a.io.Out, "Keys from %s.\n", list.Source)
	rows := make([][]string, 0, len(list.Versions))
	for _, v := range list.Versions {
		state := ""
		switch {
		case v.Current:
			state = "current"
		case !v.Configured:
			state = a.io.red("missing")
		}
		rows = append(rows, []string{strconv.Itoa(v.Version), state, strconv.Itoa(v.ConfigValues), strconv.Itoa(v.CacheRows)})
	}
	if err := writeTable(a.io.Out, []string{"Version", "State", "Config values", "Cache rows"}, rows); err != nil {
		return err
	}
	if list.Malformed > 0 {
		fmt.Fprintf(a.io.Out, "%d stored value(s) are not ciphertext; re-enter them with config:set.\n", list.Malformed)
	}
	return nil
}
