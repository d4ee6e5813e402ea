// Package mysqltest gives tests a fresh MySQL/MariaDB database on the throw-away server
// whose DSN is in KSEFPL_TEST_MYSQL_DSN (.ci/mariadb-start starts one; .ci/run always
// does). Tests that need it skip, saying so, only when the variable is unset.
package mysqltest

import (
	"context"
	"os"
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/ksefpl/ksefpl/pkg/store"
)

// EnvDSN names the server: a DSN whose user may create and drop databases.
const EnvDSN = "KSEFPL_TEST_MYSQL_DSN"

// Server returns the server's DSN, or skips t when none is configured.
func Server(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(EnvDSN)
	if dsn == "" {
		t.Skipf("%s is unset: this test needs a MySQL/MariaDB server (eval \"$(.ci/mariadb-start)\"; CI always runs it)", EnvDSN)
	}
	return dsn
}

// NewDatabase creates an empty database on the server (store.CreateMySQLDatabase) and
// drops it when the test ends. It returns the database's DSN and its parsed form.
func NewDatabase(t testing.TB) (string, *mysql.Config) {
	t.Helper()
	dsn, drop, err := store.CreateMySQLDatabase(context.Background(), Server(t), "ksefpl_test_")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(drop)
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	return dsn, cfg
}
