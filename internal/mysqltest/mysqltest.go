// Package mysqltest gives tests a fresh MySQL/MariaDB database on the throw-away server
// whose DSN is in KSEFPL_TEST_MYSQL_DSN (.ci/mariadb-start starts one; .ci/run always
// does). Tests that need it skip, saying so, only when the variable is unset.
package mysqltest

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"os"
	"testing"

	"github.com/go-sql-driver/mysql"
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

// NewDatabase creates an empty database (utf8mb4, binary collation) on the server and
// drops it when the test ends. It returns the database's DSN and its parsed form.
func NewDatabase(t testing.TB) (string, *mysql.Config) {
	t.Helper()
	root := Server(t)
	cfg, err := mysql.ParseDSN(root)
	if err != nil {
		t.Fatalf("%s: %v", EnvDSN, err)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "ksefpl_test_" + hex.EncodeToString(b[:])
	admin, err := sql.Open("mysql", root)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec("CREATE DATABASE " + name + " CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"); err != nil {
		admin.Close()
		t.Fatalf("create the test database: %v", err)
	}
	t.Cleanup(func() {
		_, _ = admin.Exec("DROP DATABASE IF EXISTS " + name)
		admin.Close()
	})
	cfg.DBName = name
	return cfg.FormatDSN(), cfg
}
