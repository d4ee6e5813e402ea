package store

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ksefpl/ksefpl/internal/mysqltest"
)

// Environment of the MySQL runs of this package's tests.
const (
	// envTestEngine set to "mysql" runs every store test against MySQL/MariaDB.
	envTestEngine = "KSEFPL_TEST_STORE_ENGINE"
)

// testLocation is where one test's database lives: a SQLite file, or a MySQL database
// created for the test and dropped after it. Opening it twice gives two handles on the
// same data, as two processes or hosts have.
type testLocation struct {
	path string // SQLite
	dsn  string // MySQL
}

// onMySQL reports whether this run tests the MySQL engine.
func onMySQL() bool { return os.Getenv(envTestEngine) == "mysql" }

// newLocation makes a fresh, empty database location for t.
func newLocation(t testing.TB) testLocation {
	t.Helper()
	if !onMySQL() {
		return testLocation{path: filepath.Join(t.TempDir(), "ksefpl.db")}
	}
	if os.Getenv(mysqltest.EnvDSN) == "" {
		t.Fatalf("%s=mysql needs %s: the DSN of a MySQL/MariaDB server the tests may create databases on (eval \"$(.ci/mariadb-start)\")", envTestEngine, mysqltest.EnvDSN)
	}
	dsn, _ := mysqltest.NewDatabase(t)
	return testLocation{dsn: dsn}
}

// open opens the location; the handle is closed when the test ends.
func (l testLocation) open(t testing.TB, opts Options) *DB {
	t.Helper()
	db, err := l.tryOpen(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func (l testLocation) tryOpen(opts Options) (*DB, error) {
	if l.dsn != "" {
		opts.LocalLeaseClock = opts.Now != nil
		return OpenMySQL(context.Background(), l.dsn, opts)
	}
	return Open(context.Background(), l.path, opts)
}

// sqliteOnly skips a test of SQLite's file (modes, WAL, VACUUM) on a MySQL run, saying so.
func sqliteOnly(t testing.TB, why string) {
	t.Helper()
	if onMySQL() {
		t.Skipf("SQLite only (%s): this run tests the MySQL engine", why)
	}
}

// TestMySQLEngineIsTested says, on a run without a MySQL server, that the MySQL half of
// the suite did not run (CI always runs it: make test sets both variables).
func TestMySQLEngineIsTested(t *testing.T) {
	switch {
	case onMySQL():
		db := newLocation(t).open(t, Options{})
		if db.Engine() != "mysql" {
			t.Fatalf("engine %s", db.Engine())
		}
	case os.Getenv(mysqltest.EnvDSN) == "":
		t.Skipf("%s is not set: the store suite ran against SQLite only; CI runs it against MariaDB too", mysqltest.EnvDSN)
	default:
		if !strings.Contains(os.Getenv(mysqltest.EnvDSN), "@") {
			t.Fatalf("%s does not look like a DSN", mysqltest.EnvDSN)
		}
	}
}
