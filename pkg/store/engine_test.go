package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Environment of the MySQL runs of this package's tests.
const (
	// envTestEngine set to "mysql" runs every store test against MySQL/MariaDB.
	envTestEngine = "KSEFPL_TEST_STORE_ENGINE"
	// envTestMySQL is internal/mysqltest.EnvDSN (which imports this package).
	envTestMySQL = "KSEFPL_TEST_MYSQL_DSN"
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
	server := os.Getenv(envTestMySQL)
	if server == "" {
		t.Fatalf("%s=mysql needs %s: the DSN of a MySQL/MariaDB server the tests may create databases on (eval \"$(.ci/mariadb-start)\")", envTestEngine, envTestMySQL)
	}
	dsn, drop, err := CreateMySQLDatabase(context.Background(), server, "ksefpl_test_")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(drop)
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
	case os.Getenv(envTestMySQL) == "":
		t.Skipf("%s is not set: the store suite ran against SQLite only; CI runs it against MariaDB too", envTestMySQL)
	default:
		if !strings.Contains(os.Getenv(envTestMySQL), "@") {
			t.Fatalf("%s does not look like a DSN", envTestMySQL)
		}
	}
}

// Handles racing for one lease (hosts, on MySQL): exactly one holds it at a time.
func TestConcurrentLeaseOneWinner(t *testing.T) {
	loc := newLocation(t)
	ctx := context.Background()
	handles := []*DB{loc.open(t, Options{}), loc.open(t, Options{}), loc.open(t, Options{})}
	for round := range 5 {
		name := fmt.Sprintf("submit:website:%d", round)
		var wins atomic.Int32
		var wg sync.WaitGroup
		for i := range 9 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := handles[i%len(handles)].AcquireLease(ctx, name, fmt.Sprintf("host%d|%d|x", i, i), time.Minute)
				var held *LeaseHeldError
				switch {
				case err == nil:
					wins.Add(1)
				case !errors.As(err, &held):
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if wins.Load() != 1 {
			t.Fatalf("round %d: %d holders of one lease, want 1", round, wins.Load())
		}
	}
}

// The same document queued through many handles at once becomes one job: the unique key
// decides, and the losers see the winner's job (Existed), not an error.
func TestConcurrentEnqueueOfOneDocument(t *testing.T) {
	loc := newLocation(t)
	ctx := context.Background()
	handles := []*DB{loc.open(t, Options{}), loc.open(t, Options{}), loc.open(t, Options{})}
	var wg sync.WaitGroup
	var enqueued atomic.Int32
	ids := make(chan int64, 12)
	for i := range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			j, res, err := handles[i%len(handles)].Enqueue(ctx, Job{WebsiteID: 1, EntityType: "invoice", IncrementID: "SAME-1",
				InputFormat: "json", Input: "{}", Status: JobPending}, false, AuditEntry{Event: EventTransition, Actor: "test"})
			if err != nil {
				t.Error(err)
				return
			}
			if res == Enqueued {
				enqueued.Add(1)
			}
			ids <- j.ID
		}()
	}
	wg.Wait()
	close(ids)
	first := int64(0)
	for id := range ids {
		if first == 0 {
			first = id
		}
		if id != first {
			t.Fatalf("two jobs (%d, %d) for one document", first, id)
		}
	}
	jobs, _ := handles[0].Jobs(ctx, JobFilter{})
	if enqueued.Load() != 1 || len(jobs) != 1 {
		t.Fatalf("%d enqueued, %d jobs; want 1 and 1", enqueued.Load(), len(jobs))
	}
}

func TestServerVersionCheck(t *testing.T) {
	for _, c := range []struct {
		v, want string
		less    bool
	}{
		{"10.11.19-MariaDB-0+deb12u1", "10.6", false}, {"10.5.27-MariaDB", "10.6", true}, {"8.0.13", "8.0.13", false},
		{"8.0.12", "8.0.13", true}, {"8.4.3", "8.0.13", false}, {"5.7.44-log", "8.0.13", true}, {"10.6.0", "10.6", false},
	} {
		if got := versionLess(c.v, c.want); got != c.less {
			t.Errorf("versionLess(%q, %q) = %v", c.v, c.want, got)
		}
	}
}
