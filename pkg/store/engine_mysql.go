package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
)

//go:embed migrations_mysql/*.sql
var mysqlMigrations embed.FS

// MySQL error numbers the engine translates.
const (
	mysqlDuplicateKey    = 1062
	mysqlLockWaitTimeout = 1205
	mysqlDeadlock        = 1213
)

// mysqlEngine is a MySQL (≥ 8.0) or MariaDB (≥ 10.6) database shared by several hosts.
// Rows a transaction reads to change are locked (SELECT … FOR UPDATE); leases are
// measured by the server's clock, since hosts' clocks differ.
type mysqlEngine struct {
	// localClock makes leases use the DB's own clock (a test's Options.Now) instead of
	// the server's.
	localClock bool
}

func (mysqlEngine) name() string { return "mysql" }

func (mysqlEngine) migrationFS() (fs.FS, string) { return mysqlMigrations, "migrations_mysql" }

func (mysqlEngine) forUpdate() string { return " FOR UPDATE" }

func (mysqlEngine) forUpdateSkipLocked() string { return " FOR UPDATE SKIP LOCKED" }

func (mysqlEngine) onConflict(key, update []string) string { return mysqlOnConflict(key, update) }

func mysqlNumber(err error) uint16 {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number
	}
	return 0
}

func (mysqlEngine) retryable(err error) bool {
	n := mysqlNumber(err)
	return n == mysqlDeadlock || n == mysqlLockWaitTimeout
}

func (mysqlEngine) duplicate(err error) bool { return mysqlNumber(err) == mysqlDuplicateKey }

// clock is the database server's clock (UTC), read in tx.
func (e mysqlEngine) clock(ctx context.Context, tx *sql.Tx, local func() time.Time) (time.Time, error) {
	if e.localClock {
		return local(), nil
	}
	var s string
	if err := tx.QueryRowContext(ctx, `SELECT DATE_FORMAT(UTC_TIMESTAMP(6), '%Y-%m-%dT%H:%i:%s.%fZ')`).Scan(&s); err != nil {
		return time.Time{}, fmt.Errorf("read the database server's clock: %w", err)
	}
	return time.Parse(time.RFC3339Nano, s)
}

// lockMigrations takes a named server lock on a connection of its own, so that hosts
// starting at once apply each migration once.
func (mysqlEngine) lockMigrations(ctx context.Context, db *sql.DB) (func(), error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	var got sql.NullInt64
	if err := conn.QueryRowContext(ctx, `SELECT GET_LOCK('ksefpl_migrate', 120)`).Scan(&got); err != nil || got.Int64 != 1 {
		conn.Close()
		if err == nil {
			err = errors.New("another host has been migrating the database for 2 minutes")
		}
		return nil, fmt.Errorf("lock the schema migrations: %w", err)
	}
	return func() {
		_, _ = conn.ExecContext(context.WithoutCancel(ctx), `SELECT RELEASE_LOCK('ksefpl_migrate')`)
		conn.Close()
	}, nil
}

// secureDelete has nothing to turn on: InnoDB has no secure delete.
func (mysqlEngine) secureDelete(context.Context, *sql.Conn) (func(), error) { return func() {}, nil }

// scrub rebuilds the tables that held the replaced ciphertexts. Copies in InnoDB's redo
// and undo logs, the binary log and backups are out of reach, which the detail says.
func (mysqlEngine) scrub(ctx context.Context, conn *sql.Conn) (bool, string, error) {
	for _, t := range []string{"core_config_data", "ksefpl_cache", "ksefpl_certificate", "ksefpl_certificate_enrollment"} {
		rows, err := conn.QueryContext(ctx, `OPTIMIZE TABLE `+t)
		if err != nil {
			return false, "", fmt.Errorf("rebuild %s after re-encryption: %w", t, err)
		}
		rows.Close()
	}
	return false, "the tables that held the old ciphertexts were rebuilt (OPTIMIZE TABLE), but copies may remain in " +
		"the server's redo and undo logs, its binary log and backups, which ksefpl cannot reach: let them expire " +
		"under your database's retention", nil
}

// minMySQL and minMariaDB are the oldest servers with SELECT … FOR UPDATE SKIP LOCKED.
const (
	minMySQL   = "8.0.13"
	minMariaDB = "10.6"
)

// checkServerVersion refuses servers too old for the row locking ksefpl relies on.
func checkServerVersion(ctx context.Context, db *sql.DB) error {
	var v string
	if err := db.QueryRowContext(ctx, `SELECT VERSION()`).Scan(&v); err != nil {
		return fmt.Errorf("read the server version: %w", err)
	}
	maria := strings.Contains(strings.ToLower(v), "mariadb")
	minimum := minMySQL
	if maria {
		minimum = minMariaDB
	}
	if versionLess(v, minimum) {
		kind := "MySQL"
		if maria {
			kind = "MariaDB"
		}
		return fmt.Errorf("the database server is %s %s; ksefpl needs %s %s or later (SELECT … FOR UPDATE SKIP LOCKED): upgrade the server",
			kind, v, kind, minimum)
	}
	return nil
}

// versionLess compares the leading "major.minor.patch" numbers of v with want.
func versionLess(v, want string) bool {
	a, b := versionParts(v), versionParts(want)
	for i := range a {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return false
}

// versionParts reads up to three leading dot-separated numbers ("10.11.19-MariaDB-0…").
func versionParts(v string) [3]int {
	var out [3]int
	for i, part := range strings.SplitN(v, ".", 3) {
		n := 0
		for _, r := range part {
			if r < '0' || r > '9' {
				break
			}
			n = n*10 + int(r-'0')
		}
		out[i] = n
	}
	return out
}

// OpenMySQL opens the MySQL/MariaDB database named by dsn (go-sql-driver's format,
// user:password@tcp(host:3306)/dbname?tls=…), checks the server's version and applies
// pending migrations. Errors never show the password.
func OpenMySQL(ctx context.Context, dsn string, opts Options) (*DB, error) {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("the MySQL connection settings are not valid: %s", redactDSNError(err, dsn))
	}
	cfg.MultiStatements = true // migrations are files of several statements
	cfg.ParseTime = false      // times are stored as RFC 3339 text, as in SQLite
	cfg.Collation = "utf8mb4_bin"
	if cfg.Params == nil {
		cfg.Params = map[string]string{}
	}
	// Identifiers may be double-quoted as in SQLite (a column named "usage").
	cfg.Params["sql_mode"] = "'ANSI_QUOTES,STRICT_TRANS_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION'"
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("the MySQL connection settings are not valid: %w", err)
	}
	db := sql.OpenDB(connector)
	db.SetConnMaxLifetime(5 * time.Minute)
	where := cfg.User + "@" + cfg.Addr + "/" + cfg.DBName
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to MySQL %s: %w", where, err)
	}
	if err := checkServerVersion(ctx, db); err != nil {
		db.Close()
		return nil, err
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	d := &DB{sql: db, eng: mysqlEngine{localClock: opts.LocalLeaseClock}, path: "mysql://" + where, now: opts.Now}
	if err := d.migrate(ctx, opts.migrateTo); err != nil {
		db.Close()
		return nil, err
	}
	return d, nil
}

// redactDSNError is a DSN parse error that cannot contain the password.
func redactDSNError(err error, dsn string) string {
	msg := err.Error()
	if i := strings.Index(dsn, "@"); i > 0 {
		if j := strings.Index(dsn[:i], ":"); j >= 0 {
			msg = strings.ReplaceAll(msg, dsn[j+1:i], "******")
		}
	}
	return msg
}

// CreateMySQLDatabase creates an empty database (utf8mb4, binary collation) named
// prefix and a random suffix on the server of serverDSN (a user that may create
// databases), for tests and benchmarks. It returns the database's DSN and a function
// that drops it.
func CreateMySQLDatabase(ctx context.Context, serverDSN, prefix string) (string, func(), error) {
	cfg, err := mysql.ParseDSN(serverDSN)
	if err != nil {
		return "", nil, fmt.Errorf("the MySQL server's DSN: %s", redactDSNError(err, serverDSN))
	}
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", nil, err
	}
	name := prefix + hex.EncodeToString(b[:])
	admin, err := sql.Open("mysql", serverDSN)
	if err != nil {
		return "", nil, err
	}
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name+" CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"); err != nil {
		admin.Close()
		return "", nil, fmt.Errorf("create the database %s: %w", name, err)
	}
	drop := func() {
		_, _ = admin.ExecContext(context.WithoutCancel(ctx), "DROP DATABASE IF EXISTS "+name)
		admin.Close()
	}
	cfg.DBName = name
	return cfg.FormatDSN(), drop, nil
}
