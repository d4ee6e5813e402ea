package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ksefpl/ksefpl/internal/mysqltest"
	"github.com/ksefpl/ksefpl/pkg/ksefsim"
	"github.com/ksefpl/ksefpl/pkg/store"
)

// host is one "server" of a multi-host deployment: its own home directory (env.json with
// the shared connection and key), the real binary, one shared MySQL database.
type host struct {
	t    *testing.T
	bin  string
	home string
	env  []string
}

func (h host) run(stdin string, args ...string) (string, error) {
	cmd := exec.Command(h.bin, append([]string{"--home", h.home}, args...)...)
	cmd.Env = append(append(os.Environ(), "NO_COLOR=1"), h.env...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (h host) must(stdin string, args ...string) string {
	h.t.Helper()
	out, err := h.run(stdin, args...)
	if err != nil {
		h.t.Fatalf("%s: ksefpl %s: %v\n%s", filepath.Base(h.home), strings.Join(args, " "), err, out)
	}
	return out
}

// TestHostsShareOneMySQLDatabase installs two hosts on one MariaDB database with
// setup:install --db-*, and a third through KSEFPL_DB_DSN: the same documents queued from
// all of them at once become one job each, submit running on all of them at once sends
// each exactly once (the simulator is the judge), and every host sees the same queue.
func TestHostsShareOneMySQLDatabase(t *testing.T) {
	dsn, cfg := mysqltest.NewDatabase(t)
	if cfg.Net != "unix" {
		t.Skipf("the test server is reached over %s; this test installs hosts over its unix socket", cfg.Net)
	}
	bin := buildBinary(t)
	sim, err := ksefsim.New(ksefsim.Config{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	defer srv.Close()
	dir := t.TempDir()
	a := host{t: t, bin: bin, home: filepath.Join(dir, "a")}
	out := a.must("", "setup:install", "--db-host", cfg.Addr, "--db-name", cfg.DBName, "--db-user", cfg.User, "-o", "json")
	var inst struct {
		Database      string `json:"database"`
		SchemaVersion int    `json:"schema_version"`
	}
	if err := json.Unmarshal([]byte(out), &inst); err != nil || !strings.HasPrefix(inst.Database, "mysql://") || inst.SchemaVersion < 13 {
		t.Fatalf("setup:install: %v %s", err, out)
	}
	envJSON, err := os.ReadFile(filepath.Join(a.home, "env.json"))
	if err != nil {
		t.Fatal(err)
	}
	var env struct {
		Crypt struct{ Key string } `json:"crypt"`
		DB    struct {
			Connection struct {
				Default map[string]string `json:"default"`
			} `json:"connection"`
		} `json:"db"`
	}
	if err := json.Unmarshal(envJSON, &env); err != nil || env.DB.Connection.Default["engine"] != "mysql" ||
		env.DB.Connection.Default["dbname"] != cfg.DBName || env.DB.Connection.Default["host"] != cfg.Addr {
		t.Fatalf("env.json: %v\n%s", err, envJSON)
	}
	if st, _ := os.Stat(filepath.Join(a.home, "env.json")); st.Mode().Perm() != 0o600 {
		t.Errorf("env.json mode %v", st.Mode().Perm())
	}
	if _, err := os.Stat(filepath.Join(a.home, "ksefpl.db")); err == nil {
		t.Error("a MySQL home also created ksefpl.db")
	}
	// Host b gets the same env.json, as every Magento node gets the same env.php; host c
	// only the environment: the DSN and the key.
	b := host{t: t, bin: bin, home: filepath.Join(dir, "b")}
	if err := os.MkdirAll(b.home, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(b.home, "env.json"), envJSON, 0o600); err != nil {
		t.Fatal(err)
	}
	c := host{t: t, bin: bin, home: filepath.Join(dir, "c"), env: []string{"KSEFPL_DB_DSN=" + dsn, "KSEFPL_CRYPT_KEY=" + env.Crypt.Key}}
	c.must("", "setup:install")

	nip := "5261040828"
	tok, err := sim.IssueToken(nip)
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range [][2]string{{"ksefpl/connection/environment", "local"}, {"ksefpl/connection/base_url", srv.URL + "/v2"},
		{"ksefpl/seller/nip", nip}, {"ksefpl/seller/name", "ACME"}, {"ksefpl/seller/address_line1", "ul. Prosta 1"}} {
		a.must("", "config:set", kv[0], kv[1])
	}
	b.must(tok, "config:set", "ksefpl/connection/api_token", "-") // written by b, decrypted by a and c
	if out := c.must("", "test-connection"); !strings.Contains(out, "5261040828") {
		t.Fatalf("test-connection from c: %s", out)
	}

	// Every document is queued by all three hosts at once.
	const n = 12
	files := make([]string, n)
	for i := range files {
		files[i] = filepath.Join(dir, fmt.Sprintf("inv%02d.json", i))
		if err := os.WriteFile(files[i], []byte(killInvoice(fmt.Sprintf("MH-%02d", i))), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for _, h := range []host{a, b, c} {
		wg.Add(1)
		go func(h host) {
			defer wg.Done()
			for _, f := range files {
				if out, err := h.run("", "queue", "invoice", "--file", f); err != nil {
					t.Errorf("%s: queue %s: %v\n%s", filepath.Base(h.home), f, err, out)
				}
			}
		}(h)
	}
	wg.Wait()

	// submit runs on every host at once, again and again, until everything is accepted.
	ctx := context.Background()
	db, err := store.OpenMySQL(ctx, dsn, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	deadline := time.Now().Add(90 * time.Second)
	for {
		var swg sync.WaitGroup
		for _, h := range []host{a, b, c} {
			swg.Add(1)
			go func(h host) {
				defer swg.Done()
				_, _ = h.run("", "submit", "--wait", "10s", "--poll-interval", "50ms")
			}(h)
		}
		swg.Wait()
		counts, err := db.JobCounts(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		if counts[store.JobAccepted] == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not all accepted: %v", counts)
		}
	}
	jobs, err := db.Jobs(ctx, store.JobFilter{})
	if err != nil || len(jobs) != n {
		t.Fatalf("%d jobs (%v), want %d: a document queued on three hosts must be one job", len(jobs), err, n)
	}
	numbers := ksefNumbersPerDocument(sim)
	for _, j := range jobs {
		if numbers[j.IncrementID] != 1 {
			t.Errorf("%s has %d KSeF numbers in the simulator, want exactly 1", j.IncrementID, numbers[j.IncrementID])
		}
		evs, _ := db.Events(ctx, store.EventFilter{JobID: j.ID, Type: store.EventAccepted})
		if len(evs) != 1 {
			t.Errorf("job %d has %d job.accepted events", j.ID, len(evs))
		}
	}
	// Every host sees the same queue.
	for _, h := range []host{a, b, c} {
		var rows []map[string]any
		if out := h.must("", "queue", "list", "-o", "json"); json.Unmarshal([]byte(out), &rows) != nil || len(rows) != n {
			t.Errorf("%s sees %d jobs", filepath.Base(h.home), len(rows))
		}
	}
}

// TestSQLiteHomeMovesToMySQL moves a SQLite home, killed in the middle of sending, into
// a MariaDB database with setup:db:migrate: the token still decrypts, and submit on the
// new home settles the in-flight sessions and sends the rest, each document exactly once.
func TestSQLiteHomeMovesToMySQL(t *testing.T) {
	dsn, cfg := mysqltest.NewDatabase(t)
	if cfg.Net != "unix" {
		t.Skipf("the test server is reached over %s; this test installs hosts over its unix socket", cfg.Net)
	}
	p := newProcessHome(t)
	const n = 10
	p.queueKillInvoices(n)
	p.killSubmitMidFlight(3)
	before, _ := p.db.JobCounts(p.ctx, 1)
	t.Logf("the SQLite home after the kill: %v", before)
	p.db.Close()

	// The new home: the same key (env.json's crypt block), the MySQL connection.
	envJSON, err := os.ReadFile(filepath.Join(p.home, "env.json"))
	if err != nil {
		t.Fatal(err)
	}
	m := host{t: t, bin: p.bin, home: filepath.Join(t.TempDir(), "mysql-home")}
	if err := os.MkdirAll(m.home, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(m.home, "env.json"), envJSON, 0o600); err != nil {
		t.Fatal(err)
	}
	m.must("", "setup:install", "--db-host", cfg.Addr, "--db-name", cfg.DBName, "--db-user", cfg.User)
	out := m.must("", "setup:db:migrate", "--from", "sqlite:"+p.home, "-o", "json")
	var rep struct{ Rows map[string]int }
	if err := json.Unmarshal([]byte(out), &rep); err != nil || rep.Rows["ksefpl_queue"] != n || rep.Rows["ksefpl_sessions"] < 1 || rep.Rows["ksefpl_audit_log"] == 0 {
		t.Fatalf("setup:db:migrate: %v %s", err, out)
	}
	if out, err := m.run("", "setup:db:migrate", "--from", "sqlite:"+p.home); err == nil || !strings.Contains(out, "already holds jobs") {
		t.Fatalf("a second migration into the same database: %v %s", err, out)
	}
	if out := m.must("", "config:show", "ksefpl/connection/api_token"); strings.TrimSpace(out) != "******" {
		t.Fatalf("token: %s", out)
	}
	if out := m.must("", "test-connection"); !strings.Contains(out, "5261040828") {
		t.Fatalf("test-connection on the MySQL home (the copied token must decrypt): %s", out)
	}
	db, err := store.OpenMySQL(p.ctx, dsn, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for i := 0; i < 3; i++ {
		m.must("", "submit", "--wait", "20s", "--poll-interval", "50ms")
		if c, _ := db.JobCounts(p.ctx, 1); c[store.JobAccepted] == n {
			break
		}
	}
	jobs, err := db.Jobs(p.ctx, store.JobFilter{})
	if err != nil || len(jobs) != n {
		t.Fatalf("%d jobs: %v", len(jobs), err)
	}
	numbers := ksefNumbersPerDocument(p.sim)
	for _, j := range jobs {
		if j.Status != store.JobAccepted || numbers[j.IncrementID] != 1 {
			t.Errorf("job %d %s: %s, %d KSeF numbers in the simulator", j.ID, j.IncrementID, j.Status, numbers[j.IncrementID])
		}
	}
}
