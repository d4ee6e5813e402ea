package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ksefpl/ksefpl/pkg/config"
	"github.com/ksefpl/ksefpl/pkg/deps"
	"github.com/ksefpl/ksefpl/pkg/home"
	"github.com/ksefpl/ksefpl/pkg/ksef"
	"github.com/ksefpl/ksefpl/pkg/ksefsim"
	"github.com/ksefpl/ksefpl/pkg/secret"
	"github.com/ksefpl/ksefpl/pkg/store"
	"github.com/ksefpl/ksefpl/pkg/testenv"
)

// release1TokenFingerprint is the SHA-256 of the token stored in testdata/homes/release1.
const release1TokenFingerprint = "877c3d30197f25777ec3657a188267d0d2d258b974eb6602f47142740b240943"

// copyHome copies a home of testdata/homes into a temporary directory (mode 0700/0600).
func copyHome(t *testing.T, name string) string {
	t.Helper()
	src := filepath.Join(testenv.ModuleRoot(t), "testdata", "homes", name)
	dst := filepath.Join(t.TempDir(), "home")
	if err := os.Mkdir(dst, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{home.EnvFile, home.DBFile} {
		b, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, f), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// A home made by the first release (schema 10) works after the upgrade: the migrations
// move it forward, and its configuration, token, jobs, UPOs and audit log are intact.
func TestHomeOfTheFirstReleaseUpgrades(t *testing.T) {
	dir := copyHome(t, "release1")
	ctx := context.Background()
	h, _, err := home.Open(ctx, dir, func(string) string { return "" }, store.Options{})
	if err != nil {
		t.Fatalf("open the release-1 home: %v", err)
	}
	defer h.Close()
	fresh, err := store.Open(ctx, filepath.Join(t.TempDir(), "fresh.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := fresh.SchemaVersion(ctx)
	fresh.Close()
	if v, err := h.DB.SchemaVersion(ctx); err != nil || v != want || v < 10 {
		t.Fatalf("schema version %d after the upgrade (%v), want the current %d", v, err, want)
	}
	d := deps.FromHome(h, nil, "test", nil)
	base, err := d.Config.WebsiteScope(ctx, "base")
	if err != nil {
		t.Fatal(err)
	}
	s, err := d.Website(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	if s.Seller.NIP != "5261040828" || s.EnvironmentName != "local" || s.Seller.Name != "Sklep Przykładowy sp. z o.o." {
		t.Errorf("configuration after the upgrade: %+v", s)
	}
	if s.TokenErr != nil || secret.Fingerprint(s.Token) != release1TokenFingerprint {
		t.Errorf("the stored token does not decrypt to the release-1 token (%v)", s.TokenErr)
	}
	shop2, err := d.Config.WebsiteScope(ctx, "shop2")
	if err != nil {
		t.Fatal(err)
	}
	if nip, _ := d.Config.String(ctx, config.PathSellerNIP, shop2); nip != "7740001454" {
		t.Errorf("shop2's NIP %q", nip)
	}
	jobs, err := h.DB.Jobs(ctx, store.JobFilter{})
	if err != nil || len(jobs) != 2 || jobs[0].Status != store.JobAccepted || jobs[0].KSeFNumber == "" || jobs[1].Status != store.JobPending {
		t.Fatalf("jobs after the upgrade: %v %+v", err, jobs)
	}
	upos, err := h.DB.UPOs(ctx, store.UPOFilter{Kind: store.UPOInvoice, JobID: jobs[0].ID})
	if err != nil || len(upos) != 1 || !bytes.Contains(upos[0].XML, []byte(jobs[0].KSeFNumber)) {
		t.Errorf("UPO after the upgrade: %v %d", err, len(upos))
	}
	trail, err := h.DB.Audit(ctx, store.AuditFilter{})
	if err != nil || len(trail) != 13 {
		t.Errorf("audit rows after the upgrade: %d (%v), want 13", len(trail), err)
	}
	h.Close()

	// The commands read it as before.
	env := map[string]string{"KSEFPL_HOME": dir, "NO_COLOR": "1"}
	code, stdout, stderr := runCLI(t, env, false, "queue", "list", "-o", "json")
	var rows []map[string]any
	if code != 0 || json.Unmarshal([]byte(stdout), &rows) != nil || len(rows) != 2 {
		t.Fatalf("queue list: exit %d, %s %s", code, stdout, stderr)
	}
	code, stdout, stderr = runCLI(t, env, false, "config:show", "ksefpl/connection/api_token")
	if code != 0 || strings.TrimSpace(stdout) != "******" {
		t.Fatalf("config:show token: exit %d, %q %s", code, stdout, stderr)
	}
	if code, stdout, stderr = runCLI(t, env, false, "upo:download", "--job", "1"); code != 0 || !strings.Contains(stdout, "Potwierdzenie") {
		t.Fatalf("upo:download: exit %d, %s", code, stderr)
	}
}

// TestHomeOfTheOfflineReleaseUpgrades opens a home made by the release before the outbox
// (schema 12, testdata/homes/release3): configuration, the token, the Offline certificate,
// jobs (the offline one frozen, with its deadline) and the audit log survive; the pending
// jobs then go to KSeF and their job.accepted events are written.
func TestHomeOfTheOfflineReleaseUpgrades(t *testing.T) {
	dir := copyHome(t, "release3")
	env := map[string]string{"KSEFPL_HOME": dir, "NO_COLOR": "1"}
	code, stdout, stderr := runCLI(t, env, false, "status", "-o", "json")
	var st []struct {
		Token struct {
			Fingerprint string `json:"fingerprint"`
			Problem     string `json:"problem"`
		} `json:"token"`
		Offline *struct {
			Serial string `json:"serial"`
		} `json:"offline_certificate"`
		Queue  map[string]int `json:"queue"`
		Events map[string]int `json:"events"`
	}
	if code != 0 || json.Unmarshal([]byte(stdout), &st) != nil || len(st) != 1 {
		t.Fatalf("status: exit %d: %s %s", code, stdout, stderr)
	}
	w := st[0]
	if w.Token.Fingerprint != "ba8d4ff3e17c" || w.Token.Problem != "" || w.Offline == nil || w.Offline.Serial != "03B3EF69A9F4CCBA" ||
		w.Queue[store.JobAccepted] != 1 || w.Queue[store.JobPending] != 2 || w.Events[store.DeliveryPending]+w.Events[store.DeliveryDelivered] != 0 {
		t.Fatalf("status after the upgrade: %s", stdout)
	}
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(dir, home.DBFile), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	trail, err := db.Audit(ctx, store.AuditFilter{})
	if err != nil || len(trail) != 14 {
		t.Errorf("audit rows after the upgrade: %d (%v), want 14", len(trail), err)
	}
	off, err := db.JobByID(ctx, 2)
	if err != nil || off.OfflineMode != "offline24" || off.Deadline == "" || !off.Frozen() {
		t.Fatalf("the offline job after the upgrade: %+v, %v", off, err)
	}

	// A new simulator stands in for the old one: the pending jobs go out, and the outbox
	// records their events.
	pointAtNewSimulator(t, env)
	if code, stdout, stderr := runCLI(t, env, false, "submit", "--wait", "20s", "--poll-interval", "50ms"); code != 0 {
		t.Fatalf("submit: exit %d: %s %s", code, stdout, stderr)
	}
	evs, err := db.Events(ctx, store.EventFilter{Type: store.EventAccepted})
	if err != nil || len(evs) != 2 || evs[0].JobID != 2 && evs[0].JobID != 3 {
		t.Fatalf("events after sending: %v %v", evs, err)
	}
	for _, ev := range evs {
		j, _ := db.JobByID(ctx, ev.JobID)
		if j.Status != store.JobAccepted || !strings.Contains(string(ev.Payload), j.KSeFNumber) {
			t.Errorf("job %d %s, event %s", j.ID, j.Status, ev.Payload)
		}
	}
}

// TestHomeOfTheClaimsReleaseUpgrades opens a home made by the release before claims
// (schema 13, testdata/homes/release4, one host per website): the token, the jobs, the
// sessions and the audit log survive; the run after the upgrade claims and sends the
// PENDING job and takes up the closing session no process owns (the new simulator does
// not know it: its job fails as terminated and, with --auto-retry, goes out again).
func TestHomeOfTheClaimsReleaseUpgrades(t *testing.T) {
	env, db := openOldHome(t, "release4", 14, 19)
	ctx := context.Background()
	sessions, err := db.Sessions(ctx, 0)
	if err != nil || len(sessions) != 2 || sessions[1].Status != store.SessionClosing || sessions[1].Owner != "" {
		t.Fatalf("sessions after the upgrade: %+v %v", sessions, err)
	}
	for id, want := range map[int64]string{1: store.JobAccepted, 2: store.JobSubmitted, 3: store.JobPending} {
		if j, err := db.JobByID(ctx, id); err != nil || j.Status != want || j.ClaimedBy != "" {
			t.Fatalf("job %d after the upgrade: %+v %v, want %s and unclaimed", id, j, err, want)
		}
	}
	sim, jobs := sendWhatIsLeft(t, env, db)
	for _, j := range jobs {
		if j.Status != store.JobAccepted || j.ClaimedBy != "" {
			t.Errorf("job %d after the runs: %s (%s), claimed by %q: want ACCEPTED and released", j.ID, j.Status, j.ReasonDetail, j.ClaimedBy)
		}
	}
	old, err := db.SessionByRef(ctx, sessions[1].Reference)
	if err != nil || old.Status != store.SessionTerminated || old.Owner != "" {
		t.Fatalf("the old closing session: %+v %v, want terminated and released", old, err)
	}
	if sent := len(sim.Invoices()); sent != 2 {
		t.Errorf("the new simulator received %d invoices, want 2 (jobs 2 and 3)", sent)
	}
	// The monitoring tables (schema 16) came with the upgrade: both runs are recorded.
	if v, err := db.SchemaVersion(ctx); err != nil || v < 16 {
		t.Fatalf("schema %d after the runs (%v)", v, err)
	}
	runs, err := db.SubmitRuns(ctx)
	if r := runs[1]; err != nil || r.Runs != 2 || !r.Success || r.LastSuccessAt.IsZero() || r.Sent != 2 {
		t.Errorf("submit runs recorded after the upgrade: %+v %v", runs, err)
	}
}

// TestHomeOfTheClaimsReleaseKeepsItsDocuments opens a home made by the release before the
// job body split (schema 14, testdata/homes/release5): the documents move out of the
// queue rows byte for byte, and what was left is sent with its frozen bytes.
func TestHomeOfTheClaimsReleaseKeepsItsDocuments(t *testing.T) {
	env, db := openOldHome(t, "release5", 16, 19)
	ctx := context.Background()
	frozen := map[int64]string{}
	for id, want := range map[int64]string{1: store.JobAccepted, 2: store.JobSubmitted, 3: store.JobPending} {
		j, err := db.JobByID(ctx, id)
		if err != nil || j.Status != want || !strings.Contains(j.Input, j.IncrementID) || j.UPODue {
			t.Fatalf("job %d after the upgrade: %+v %v, want %s with its input and no UPO due", id, j, err, want)
		}
		if want != store.JobPending {
			if ksef.SHA256Base64(j.XML) != j.InvoiceHash {
				t.Fatalf("job %d: its frozen bytes (%d) no longer hash to %s", id, len(j.XML), j.InvoiceHash)
			}
			frozen[id] = j.InvoiceHash
		} else if j.Frozen() {
			t.Fatalf("job 3 is frozen after the upgrade")
		}
	}
	sim, jobs := sendWhatIsLeft(t, env, db)
	for _, j := range jobs {
		if j.Status != store.JobAccepted || j.UPODue {
			t.Errorf("job %d after the runs: %s (%s), UPO due %v: want ACCEPTED with its UPO", j.ID, j.Status, j.ReasonDetail, j.UPODue)
		}
	}
	got := sim.Invoices()
	if len(got) != 2 {
		t.Fatalf("the new simulator received %d invoices, want 2 (jobs 2 and 3)", len(got))
	}
	if got[0].InvoiceHash != frozen[2] {
		t.Errorf("job 2 reached KSeF with hash %s, frozen before the upgrade as %s", got[0].InvoiceHash, frozen[2])
	}
}

// openOldHome copies testdata/homes/<name> and opens its store with this release: it
// must reach at least schema version schema and keep its auditRows audit rows. It returns
// the environment that points ksefpl at the copy, and the store (closed with the test).
func openOldHome(t *testing.T, name string, schema, auditRows int) (map[string]string, *store.DB) {
	t.Helper()
	dir := copyHome(t, name)
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(dir, home.DBFile), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if v, err := db.SchemaVersion(ctx); err != nil || v < schema {
		t.Fatalf("schema %d after opening (%v), want %d", v, err, schema)
	}
	if trail, err := db.Audit(ctx, store.AuditFilter{}); err != nil || len(trail) != auditRows {
		t.Fatalf("audit rows after the upgrade: %d (%v), want %d", len(trail), err, auditRows)
	}
	return map[string]string{"KSEFPL_HOME": dir, "NO_COLOR": "1"}, db
}

// sendWhatIsLeft points an upgraded home at a new simulator and runs submit twice (the
// first run settles the old closing session, the second sends the requeued job); it
// returns the simulator and the jobs afterwards.
func sendWhatIsLeft(t *testing.T, env map[string]string, db *store.DB) (*ksefsim.Server, []*store.Job) {
	t.Helper()
	sim := pointAtNewSimulator(t, env)
	for range 2 {
		runCLI(t, env, false, "submit", "--auto-retry", "--wait", "20s", "--poll-interval", "50ms")
	}
	jobs, err := db.Jobs(context.Background(), store.JobFilter{})
	if err != nil {
		t.Fatal(err)
	}
	return sim, jobs
}

// pointAtNewSimulator starts a simulator for the seller 5261040828 of an upgraded home
// (the one that made it is gone) and points the home at it with a token it issued.
func pointAtNewSimulator(t *testing.T, env map[string]string) *ksefsim.Server {
	t.Helper()
	sim, err := ksefsim.New(ksefsim.Config{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	tok, err := sim.IssueToken("5261040828")
	if err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runCLI(t, env, false, "config:set", "ksefpl/connection/base_url", srv.URL+"/v2"); code != 0 {
		t.Fatalf("config:set base_url: %s", stderr)
	}
	var out, errOut bytes.Buffer
	ios := &ioStreams{In: strings.NewReader(tok), Out: &out, ErrOut: &errOut}
	if code := run(context.Background(), []string{"config:set", "ksefpl/connection/api_token", "-"}, ios, func(k string) string { return env[k] }); code != 0 {
		t.Fatalf("token: %s", errOut.String())
	}
	return sim
}
