package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ksefpl/ksefpl/pkg/home"
)

type setupInstallOptions struct {
	*app
	db home.DBConnection
}

func newSetupInstallCmd(a *app) *cobra.Command {
	o := &setupInstallOptions{app: a}
	cmd := &cobra.Command{
		Use:   "setup:install [--db-host HOST[:PORT] --db-name NAME --db-user USER [--db-password -] [--db-engine mysql|sqlite] [--db-ssl-ca FILE]]",
		Short: "Create the data directory, database and encryption key (idempotent)",
		Long: `Creates the data directory (mode 0700), ksefpl.db and env.json with a freshly generated
encryption key (files 0600). Running it again changes nothing and never replaces a key.
With KSEFPL_CRYPT_KEY set, no key is written: the variable supplies it.

With --db-host, --db-name and --db-user (as Magento's setup:install) the store is a
MySQL/MariaDB database shared by every host that runs ksefpl against it: the connection goes
to env.json under db.connection.default ({host, dbname, username, password, engine, ssl_ca}),
the schema is created, and the password is read from stdin with --db-password - (never from
the command line). --db-ssl-ca FILE connects over TLS, verifying the server against that CA.
KSEFPL_DB_DSN (user:password@tcp(host:3306)/dbname?tls=true) overrides env.json.
--db-engine sqlite goes back to ksefpl.db in the home.`,
		Example: `  ksefpl setup:install
  printf '%s' "$DB_PASSWORD" | ksefpl setup:install --db-host db.internal:3306 --db-name magento --db-user ksefpl --db-password -`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f := cmd.Flags()
			if f.Changed("db-host") || f.Changed("db-name") || f.Changed("db-user") || f.Changed("db-engine") {
				if err := o.readDB(f.Changed("db-engine")); err != nil {
					return err
				}
			}
			return runSetupInstall(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.db.Host, "db-host", "", "MySQL/MariaDB host[:port] (default port 3306), or a unix socket path")
	f.StringVar(&o.db.DBName, "db-name", "", "database name")
	f.StringVar(&o.db.Username, "db-user", "", "database user")
	f.StringVar(&o.db.Password, "db-password", "", "- reads the password from stdin (never give it on the command line)")
	f.StringVar(&o.db.Engine, "db-engine", "", "mysql (the default with --db-host) or sqlite (ksefpl.db in the home)")
	f.StringVar(&o.db.SSLCA, "db-ssl-ca", "", "PEM file of the CA of the server's certificate: connect over TLS")
	return cmd
}

// readDB checks the database flags and reads the password from stdin.
func (o *setupInstallOptions) readDB(engineGiven bool) error {
	c := &o.db
	if !engineGiven {
		c.Engine = home.EngineMySQL
	}
	if c.Engine == home.EngineSQLite {
		*c = home.DBConnection{Engine: home.EngineSQLite}
		return nil
	}
	if c.Host == "" || c.DBName == "" || c.Username == "" {
		return &usageErr{fmt.Errorf("a MySQL database needs --db-host, --db-name and --db-user")}
	}
	switch c.Password {
	case "":
	case "-":
		b, err := io.ReadAll(io.LimitReader(o.io.In, 4096))
		if err != nil {
			return err
		}
		c.Password = strings.TrimRight(string(b), "\r\n")
	default:
		return &usageErr{fmt.Errorf("--db-password takes only -: give the password on stdin, never on the command line (ps and shell history show arguments)")}
	}
	return nil
}

func runSetupInstall(ctx context.Context, o *setupInstallOptions) error {
	a := o.app
	a.mayCreate = true
	if o.db.Engine != "" {
		dir, err := a.homeDir()
		if err != nil {
			return err
		}
		if err := home.ConfigureDatabase(dir, o.db); err != nil {
			return err
		}
	}
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
	}{h.Dir, h.Database(), filepath.Join(h.Dir, home.EnvFile), h.KeySource, 0, v}
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

type setupDBMigrateOptions struct {
	*app
	from string
}

func newSetupDBMigrateCmd(a *app) *cobra.Command {
	o := &setupDBMigrateOptions{app: a}
	cmd := &cobra.Command{
		Use:   "setup:db:migrate --from sqlite:PATH",
		Short: "Copy an existing SQLite home's store into this home's MySQL/MariaDB database, in one go",
		Long: `Copies every table of the SQLite store at PATH (a ksefpl.db file or the home directory
holding it) into the MySQL/MariaDB database this home is configured for (setup:install --db-host …):
configuration, websites, encrypted secrets, queue, sessions, UPOs, audit log and events, keeping
their ids, in one transaction, then checks each table's row count. Leases stay behind. It refuses
when the target already holds jobs or audit rows, and when the SQLite home's env.json holds another
encryption key than this home's (the secrets are copied encrypted). The SQLite store is first
brought to this release's schema; it is otherwise left as it was: stop cron on the old host before,
and point it at the new home after. Exit 0 copied, 3 refused. -o json → {source, target, rows}.`,
		Example: "  ksefpl setup:db:migrate --from sqlite:/var/lib/ksefpl/ksefpl.db",
		Args:    cobra.NoArgs,
		RunE:    func(cmd *cobra.Command, _ []string) error { return runSetupDBMigrate(cmd.Context(), o) },
	}
	cmd.Flags().StringVar(&o.from, "from", "", "sqlite:PATH of the store to copy (required)")
	return cmd
}

func runSetupDBMigrate(ctx context.Context, o *setupDBMigrateOptions) error {
	a := o.app
	if o.from == "" {
		return &usageErr{fmt.Errorf("--from sqlite:PATH is required")}
	}
	h, err := a.home(ctx)
	if err != nil {
		return err
	}
	rep, err := h.MigrateFrom(ctx, o.from)
	if err != nil {
		return err
	}
	if a.json() {
		return writeJSON(a.io.Out, rep)
	}
	tables := make([]string, 0, len(rep.Rows))
	for t := range rep.Rows {
		tables = append(tables, t)
	}
	sort.Strings(tables)
	rows := make([][]string, 0, len(tables))
	for _, t := range tables {
		rows = append(rows, []string{t, strconv.Itoa(rep.Rows[t])})
	}
	if err := writeTable(a.io.Out, []string{"TABLE", "ROWS"}, rows); err != nil {
		return err
	}
	fmt.Fprintf(a.io.Out, "%s copied %s into %s; row counts match.\n", a.io.green("✔"), esc(rep.Source), esc(rep.Target))
	return nil
}
