package home

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-sql-driver/mysql"

	"github.com/ksefpl/ksefpl/pkg/failure"
	"github.com/ksefpl/ksefpl/pkg/store"
)

// EnvDBDSN overrides env.json's database connection with a MySQL DSN in
// go-sql-driver's format (user:password@tcp(host:3306)/dbname?tls=true), for cloud
// deployments that inject it.
const EnvDBDSN = "KSEFPL_DB_DSN"

// Database engines.
const (
	EngineSQLite = "sqlite"
	EngineMySQL  = "mysql"
)

// mysqlDSN is the DSN of the home's MySQL database, "" when its store is ksefpl.db.
func mysqlDSN(env envSettings, getenv func(string) string) (string, error) {
	if dsn := getenv(EnvDBDSN); dsn != "" {
		return dsn, nil
	}
	if env.DB == nil || env.DB.Connection.Default == nil {
		return "", nil
	}
	c := env.DB.Connection.Default
	switch c.Engine {
	case "", EngineSQLite:
		return "", nil
	case EngineMySQL:
		return c.DSN()
	}
	return "", failure.New(failure.Invalid, fmt.Errorf("env.json: db.connection.default.engine %q is not mysql or sqlite", c.Engine))
}

// DSN renders the connection in go-sql-driver's format; a CA file registers a TLS
// configuration that verifies the server against it.
func (c *DBConnection) DSN() (string, error) {
	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd, cfg.DBName = c.Username, c.Password, c.DBName
	switch {
	case strings.HasPrefix(c.Host, "/"):
		cfg.Net, cfg.Addr = "unix", c.Host
	case c.Host == "":
		return "", failure.New(failure.Invalid, fmt.Errorf("env.json: db.connection.default has no host: run ksefpl setup:install --db-host HOST …"))
	default:
		cfg.Net, cfg.Addr = "tcp", c.Host
		if !strings.Contains(c.Host, ":") || strings.HasSuffix(c.Host, "]") {
			cfg.Addr = c.Host + ":3306"
		}
	}
	if c.DBName == "" {
		return "", failure.New(failure.Invalid, fmt.Errorf("env.json: db.connection.default has no dbname: run ksefpl setup:install --db-name NAME …"))
	}
	if c.SSLCA != "" {
		pem, err := os.ReadFile(c.SSLCA)
		if err != nil {
			return "", failure.New(failure.Invalid, fmt.Errorf("read the database CA %s: %w", c.SSLCA, err))
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return "", failure.New(failure.Invalid, fmt.Errorf("%s holds no PEM certificate (--db-ssl-ca needs the CA that signed the server's certificate)", c.SSLCA))
		}
		name := "ksefpl-" + filepath.Base(c.SSLCA)
		host := cfg.Addr
		if i := strings.LastIndex(host, ":"); i > 0 {
			host = host[:i]
		}
		if err := mysql.RegisterTLSConfig(name, &tls.Config{RootCAs: pool, ServerName: strings.Trim(host, "[]"), MinVersion: tls.VersionTLS12}); err != nil {
			return "", err
		}
		cfg.TLSConfig = name
	}
	return cfg.FormatDSN(), nil
}

// openStore opens the home's store: the MySQL database of dsn (see mysqlDSN), else
// ksefpl.db in dir.
func openStore(ctx context.Context, dir, dsn string, opts store.Options) (*store.DB, error) {
	if dsn != "" {
		return store.OpenMySQL(ctx, dsn, opts)
	}
	return store.Open(ctx, filepath.Join(dir, DBFile), opts)
}

// ConfigureDatabase records the database connection in dir's env.json (creating the
// directory and file, mode 0700/0600), keeping everything else in it. With engine
// sqlite the home uses ksefpl.db again.
func ConfigureDatabase(dir string, c DBConnection) error {
	var res InstallResult
	if err := ensureDir(dir, &res); err != nil {
		return err
	}
	path := filepath.Join(dir, EnvFile)
	env, err := readEnv(path)
	if err != nil {
		return err
	}
	switch c.Engine {
	case EngineSQLite:
		env.DB = nil
	case EngineMySQL:
		if _, err := c.DSN(); err != nil {
			return err
		}
		env.DB = &dbSettings{}
		env.DB.Connection.Default = &c
	default:
		return failure.New(failure.Usage, fmt.Errorf("unknown database engine %q: use mysql or sqlite", c.Engine))
	}
	return writeEnv(path, env)
}

// Database describes where the home's store is, without the password.
func (h *Home) Database() string { return h.DB.Path() }

// MigrateFrom copies the SQLite store named by from ("sqlite:PATH", PATH being a
// ksefpl.db file or the home directory holding it) into this home's MySQL database,
// with store.CopyFrom's checks. The source is first brought to this release's schema.
// When the source home's env.json holds an encryption key, it must be this home's: the
// secrets are copied as ciphertexts.
func (h *Home) MigrateFrom(ctx context.Context, from string) (store.CopyReport, error) {
	path, ok := strings.CutPrefix(from, "sqlite:")
	if !ok || path == "" {
		return store.CopyReport{}, failure.New(failure.Usage, fmt.Errorf("--from %q: give sqlite:PATH, the ksefpl.db file or the home directory of the SQLite store", from))
	}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		path = filepath.Join(path, DBFile)
	}
	if _, err := os.Stat(path); err != nil {
		return store.CopyReport{}, failure.New(failure.Invalid, fmt.Errorf("the SQLite store %s: %w", path, err))
	}
	if h.DB.Engine() != EngineMySQL {
		return store.CopyReport{}, failure.New(failure.Invalid, fmt.Errorf("this home's store is SQLite (%s): configure the MySQL database first with ksefpl setup:install --db-host HOST --db-name NAME --db-user USER", h.DB.Path()))
	}
	src, err := readEnv(filepath.Join(filepath.Dir(path), EnvFile))
	if err != nil {
		return store.CopyReport{}, err
	}
	if src.Crypt.Key != "" && src.Crypt.Key != h.keyText {
		return store.CopyReport{}, failure.New(failure.Invalid, fmt.Errorf(
			"the SQLite home's encryption key differs from this home's: its secrets would not decrypt here; use the same key "+
				"(copy crypt.key of %s into this home's env.json, or set %s on every host)", filepath.Join(filepath.Dir(path), EnvFile), EnvCryptKey))
	}
	old, err := store.Open(ctx, path, store.Options{})
	if err != nil {
		return store.CopyReport{}, err
	}
	defer old.Close()
	rep, err := h.DB.CopyFrom(ctx, old)
	if errors.Is(err, store.ErrTargetNotEmpty) {
		err = failure.New(failure.Invalid, err)
	}
	return rep, err
}
