package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ksefpl/ksefpl/pkg/config"
	"github.com/ksefpl/ksefpl/pkg/deps"
	"github.com/ksefpl/ksefpl/pkg/home"
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
