package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/ksefpl/ksefpl/pkg/failure"
)

// run builds the command tree, executes args and returns the exit code.
func run(ctx context.Context, args []string, ios *ioStreams, getenv func(string) string) int {
	a := &app{io: ios, getenv: getenv, now: time.Now, version: version, executable: os.Executable}
	defer a.close()
	root := newRootCmd(a)
	root.SetArgs(args)
	root.SetIn(ios.In)
	root.SetOut(ios.Out)
	root.SetErr(ios.ErrOut)
	err := root.ExecuteContext(ctx)
	code := exitCode(err)
	if err != nil && !errSilent(err) && a.log != nil {
		a.log.Error(err.Error(), "event", "error", "error_class", string(classOf(err)))
	} else if err != nil && !errSilent(err) {
		msg := esc(err.Error())
		if classOf(err) == failure.Usage {
			msg += "\nRun 'ksefpl --help' for usage."
		}
		fmt.Fprintln(ios.ErrOut, ios.red(msg))
	}
	return code
}

func newRootCmd(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:   "ksefpl",
		Short: "KSeF 2.0 e-invoicing toolkit (the bin/magento commands of KSeF Pro, standalone)",
		Long: `ksefpl sends a shop's invoices and credit memos to KSeF, Poland's national
e-invoicing system, and keeps the configuration, credentials, queue, sessions and audit
log in one local SQLite store. Run 'ksefpl sim serve' for a local KSeF 2.0 simulator.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       a.version,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			switch a.output {
			case "table", "json":
			default:
				return &usageErr{fmt.Errorf("invalid --output %q: use table or json", a.output)}
			}
			a.io.color = a.io.OutTTY && !a.noColor && a.getenv("NO_COLOR") == ""
			return a.setLogFormat(cmd.Flags().Changed("log-format"))
		},
	}
	root.SetVersionTemplate("ksefpl {{.Version}}\n")
	pf := root.PersistentFlags()
	pf.StringVar(&a.homeFlag, "home", "", "data directory (env KSEFPL_HOME; default $XDG_DATA_HOME/ksefpl or ~/.local/share/ksefpl)")
	pf.StringVarP(&a.output, "output", "o", "table", "output format: table or json")
	pf.BoolVar(&a.noColor, "no-color", false, "disable colour (also NO_COLOR)")
	pf.StringVar(&a.logFormat, "log-format", logText, "what long commands print on stderr: text, or json (one object per line; env KSEFPL_LOG_FORMAT)")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageErr{err} })

	root.AddCommand(
		newSetupInstallCmd(a), newSetupDBMigrateCmd(a),
		newVersionCmd(a),
		newConfigSetCmd(a),
		newConfigShowCmd(a),
		newConfigDeleteCmd(a),
		newWebsiteCreateCmd(a),
		newWebsiteListCmd(a),
		newNIPValidateCmd(a),
		newTestConnectionCmd(a),
		newSimCmd(a),
		newSubmitCmd(a),
		newUPODownloadCmd(a),
		newBenchCmd(a),
		newInvoicePreviewCmd(a), newInvoiceValidateCmd(a),
		newQueueCmd(a), newReconcileCmd(a), newAuditCmd(a), newAuditExportCmd(a),
		newGoliveCheckCmd(a), newStatusCmd(a), newCronInstallCmd(a),
		newRotateTokenCmd(a), newEncryptionKeyChangeCmd(a), newEncryptionKeyListCmd(a),
		newCacheCleanCmd(a), newCacheFlushCmd(a),
		newInvoiceQRCmd(a),
		newCertificateImportCmd(a), newCertificateEnrollCmd(a), newCertificateListCmd(a),
		newCertificateRevokeCmd(a), newCertificateRemoveCmd(a),
		newEventsCmd(a), newNotifyDeliverCmd(a), newNotifyListCmd(a), newNotifyRetryCmd(a), newNotifyTestCmd(a),
		newMetricsCmd(a),
	)
	// Cobra's completion command: an unknown shell (completion tcsh) is a usage error.
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		if c.Name() == "completion" {
			// Without a run function cobra prints the help for any argument and exits 0;
			// with one, its argument check refuses an unknown shell.
			c.Args = func(_ *cobra.Command, args []string) error {
				if len(args) > 0 {
					return fmt.Errorf("unknown shell %q: ksefpl completion supports bash, zsh, fish and powershell", args[0])
				}
				return nil
			}
			c.RunE = func(cmd *cobra.Command, _ []string) error { return cmd.Help() }
		}
		wrapArgs(c)
	}
	return root
}

// wrapArgs turns argument-count errors into usage errors (exit 2).
func wrapArgs(c *cobra.Command) {
	if c.Args != nil {
		orig := c.Args
		c.Args = func(cmd *cobra.Command, args []string) error {
			if err := orig(cmd, args); err != nil {
				return &usageErr{err}
			}
			return nil
		}
	}
	for _, sub := range c.Commands() {
		wrapArgs(sub)
	}
}
