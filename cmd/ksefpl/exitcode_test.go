package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ksefpl/ksefpl/internal/ksefpltest"
	"github.com/ksefpl/ksefpl/pkg/config"
	"github.com/ksefpl/ksefpl/pkg/failure"
	"github.com/ksefpl/ksefpl/pkg/ksef"
	"github.com/ksefpl/ksefpl/pkg/monitor"
	"github.com/ksefpl/ksefpl/pkg/queue"
	"github.com/ksefpl/ksefpl/pkg/store"
	"github.com/ksefpl/ksefpl/pkg/testenv"
)

// readmeSection is README.md's text under heading, up to the next "## " heading.
func readmeSection(t *testing.T, heading string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testenv.ModuleRoot(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n"+heading+"\n")
	if !ok {
		t.Fatalf("README.md has no '%s' section", heading)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	return section
}

// readmeExitCodes reads the exit-code table of README.md: code → meaning.
func readmeExitCodes(t *testing.T) map[int]string {
	t.Helper()
	section, _, _ := strings.Cut(readmeSection(t, "## Exit codes"), "\n### ") // status --check's own table follows
	out := map[int]string{}
	for _, m := range regexp.MustCompile(`(?m)^\| (\d) \| (.+) \|$`).FindAllStringSubmatch(section, -1) {
		code, _ := strconv.Atoi(m[1])
		out[code] = m[2]
	}
	return out
}

// status --check exits as a monitoring plugin: README.md's table beside the main one
// lists exactly the states of monitor.State, each with its exit code.
func TestCheckExitCodesMatchREADME(t *testing.T) {
	section := readmeSection(t, "### status --check")
	rows := regexp.MustCompile(`(?m)^\| (\d) \| ([A-Z]+) \|`).FindAllStringSubmatch(section, -1)
	if len(rows) != 4 {
		t.Fatalf("README lists %d check states, want 4: %v", len(rows), rows)
	}
	for _, r := range rows {
		code, _ := strconv.Atoi(r[1])
		st := monitor.State(code)
		if st.String() != r[2] {
			t.Errorf("README: exit %d is %s, monitor says %s", code, r[2], st)
		}
		err := error(&pluginExit{state: st})
		if st == monitor.OK {
			err = nil
		}
		if got := exitCode(err); got != code {
			t.Errorf("state %s exits %d, README says %d", st, got, code)
		}
	}
}

// The README's table is the contract: every code it lists is the code of one failure
// class, and every class has a code the README lists.
func TestExitCodeTableMatchesREADME(t *testing.T) {
	readme := readmeExitCodes(t)
	if len(readme) != 8 {
		t.Fatalf("README lists %d exit codes, want 0..7: %v", len(readme), readme)
	}
	seen := map[int]failure.Class{}
	for _, c := range append([]failure.Class{failure.None}, failure.Classes...) {
		code, ok := exitCodes[c]
		if !ok {
			t.Errorf("class %q has no exit code", c)
			continue
		}
		if _, ok := readme[code]; !ok {
			t.Errorf("class %q exits %d, which README.md does not list", c, code)
		}
		if other, dup := seen[code]; dup {
			t.Errorf("classes %q and %q share exit code %d", other, c, code)
		}
		seen[code] = c
	}
	for code, meaning := range readme {
		if _, ok := seen[code]; !ok {
			t.Errorf("README.md lists exit %d (%s) but no class has it", code, meaning)
		}
	}
	// Each class as the errors of the packages carry it.
	for _, c := range []struct {
		err  error
		want int
	}{
		{nil, 0},
		{errors.New("boom"), 1},
		{&usageErr{errors.New("bad flag")}, 2},
		{fmt.Errorf("wrapped: %w", &ksef.TokenFormatError{Reason: "x"}), 3},
		{&ksef.AuthStatusError{Code: 450}, 4},
		{&ksef.APIError{HTTPStatus: 400, Exceptions: []ksef.ExceptionDetail{{Code: 21405}}}, 5},
		{&ksef.APIError{HTTPStatus: 503}, 6},
		{silentExit(failure.Partial), 7},
	} {
		if got := exitCode(c.err); got != c.want {
			t.Errorf("exitCode(%v) = %d, want %d", c.err, got, c.want)
		}
	}
}

// stdinVar is the fixture variable whose value a case's command reads on stdin.
const stdinVar = "EXITCASE_STDIN"

// exitCase is one command run and the exit code the README's table gives it.
type exitCase struct {
	name string
	// prep readies the fixture and returns the arguments.
	prep func(t *testing.T, f *ksefpltest.Fixture) []string
	want int
}

func args(a ...string) func(*testing.T, *ksefpltest.Fixture) []string {
	return func(*testing.T, *ksefpltest.Fixture) []string { return a }
}

// Every exit code is produced by real commands against a real home and simulator.
func TestExitCodesOverTheCommandSet(t *testing.T) {
	for _, c := range []exitCase{
		{"version", args("version"), 0},
		{"status", args("status"), 0},
		{"test-connection passes", args("test-connection"), 0},
		{"queue list", args("queue", "list", "-o", "json"), 0},
		{"config:show of a path with no value (Magento's message)", func(t *testing.T, f *ksefpltest.Fixture) []string {
			if err := f.Config().Delete(f.Ctx, "ksefpl/seller/address_line2", config.Default); err != nil {
				t.Fatal(err)
			}
			return []string{"config:show", "ksefpl/seller/address_line2"}
		}, 1},
		{"config:show of an unknown path", args("config:show", "ksefpl/connection/no_such_path"), 3},
		{"config:set of an unknown path", args("config:set", "ksefpl/connection/no_such_path", "1"), 3},
		{"config:set of a secret on the command line", args("config:set", "ksefpl/connection/api_token", "20251010-EC-1A2B3C4D5E-6F7A8B9C0D-1E|nip-5261040828|"+strings.Repeat("5ec7", 16)), 2},
		{"config:set of an unknown country", args("config:set", "ksefpl/seller/country_code", "XX"), 3},
		{"config:set of an absurd margin", args("config:set", "ksefpl/connection/token_ttl_margin", "100000h"), 3},
		{"config:set of production at a foreign host", func(t *testing.T, f *ksefpltest.Fixture) []string {
			if err := f.Config().Delete(f.Ctx, "ksefpl/connection/base_url", config.Default); err != nil {
				t.Fatal(err)
			}
			f.Set("ksefpl/connection/environment", "production", config.Default)
			return []string{"config:set", "ksefpl/connection/base_url", "https://evil.example.com/v2"}
		}, 3},
		{"config:set of a base URL with credentials", args("config:set", "ksefpl/connection/base_url", "http://user:pw@127.0.0.1:8089/v2"), 3},
		{"config:set of a metadata address", args("config:set", "ksefpl/connection/base_url", "http://169.254.169.254/v2"), 3},
		{"unknown command", args("no-such-command"), 2},
		{"bad flag value", args("queue", "list", "--status", "BOGUS"), 2},
		{"missing argument", args("queue", "show"), 2},
		{"unknown scope", args("config:show", "--scope", "nope"), 2},
		{"unknown cache type", args("cache:clean", "bogus"), 2},
		{"invalid NIP", args("nip:validate", "1234567890"), 3},
		{"unreadable input", args("queue", "invoice", "--file", "/nonexistent/INV-1.json"), 3},
		{"no such job for a QR code", args("invoice:qr", "--job", "99"), 3},
		{"no such job for a UPO", args("upo:download", "--job", "99"), 3},
		{"website exists", args("store:website:create", "base"), 3},
		{"golive:check refuses production", func(t *testing.T, f *ksefpltest.Fixture) []string {
			if err := f.Config().Delete(f.Ctx, "ksefpl/connection/base_url", config.Default); err != nil {
				t.Fatal(err)
			}
			f.Set("ksefpl/connection/environment", "production", f.Scope("base"))
			return []string{"golive:check"}
		}, 3},
		{"upo:download of a job not sent yet", func(t *testing.T, f *ksefpltest.Fixture) []string {
			f.EnqueueRaw(store.Job{WebsiteID: 1, EntityType: "invoice", IncrementID: "INV-PENDING", Input: ksefpltest.InvoiceJSON("INV-PENDING")})
			return []string{"upo:download", "--job", "1"}
		}, 3},
		{"--out pointing at a directory", func(t *testing.T, f *ksefpltest.Fixture) []string {
			return []string{"audit:export", "--format", "csv", "--out", t.TempDir()}
		}, 3},
		{"--png pointing at a directory", func(t *testing.T, f *ksefpltest.Fixture) []string {
			xml := ksefpltest.Testdata(t, "invoices", "domestic_b2b.golden.xml")
			j := f.EnqueueRaw(store.Job{WebsiteID: 1, EntityType: "invoice", IncrementID: "INV-000123", InputFormat: "xml", Input: string(xml)})
			if _, err := f.DB().UpdateJob(f.Ctx, j.ID, nil, func(x *store.Job) error {
				x.XML, x.InvoiceHash, x.FrozenAt = xml, ksef.SHA256Base64(xml), time.Now()
				return nil
			}, store.AuditEntry{}); err != nil {
				t.Fatal(err)
			}
			return []string{"invoice:qr", "--job", strconv.FormatInt(j.ID, 10), "--png", t.TempDir()}
		}, 3},
		{"a short KSEFPL_CRYPT_KEY", func(t *testing.T, f *ksefpltest.Fixture) []string {
			f.Setenv("KSEFPL_CRYPT_KEY", "short")
			return []string{"status"}
		}, 3},
		{"sim revoke of an unknown token", func(t *testing.T, f *ksefpltest.Fixture) []string {
			f.Setenv(stdinVar, "20251010-EC-1A2B3C4D5E-6F7A8B9C0D-1E|nip-5261040828|"+strings.Repeat("5ec7", 16)+"\n")
			return []string{"sim", "revoke", "--url", f.URL}
		}, 3},
		{"sim token for an invalid NIP", func(t *testing.T, f *ksefpltest.Fixture) []string {
			return []string{"sim", "token", "--url", f.URL, "--nip", "1234567890"}
		}, 3},
		{"nip:validate of a negative-looking NIP", args("nip:validate", "--", "-5261040828"), 3},
		{"completion for an unknown shell", args("completion", "tcsh"), 2},
		{"submit --limit -1", args("submit", "--limit=-1"), 2},
		{"submit --wait -1s", args("submit", "--wait=-1s"), 2},
		{"submit --poll-interval 0", args("submit", "--poll-interval", "0"), 2},
		{"submit --max-duration 0", args("submit", "--max-duration", "0"), 2},
		{"queue retry of a DUPLICATE job", func(t *testing.T, f *ksefpltest.Fixture) []string {
			j := f.EnqueueRaw(store.Job{WebsiteID: 1, EntityType: "invoice", IncrementID: "INV-DUP", Input: ksefpltest.InvoiceJSON("INV-DUP")})
			if _, err := f.DB().UpdateJob(f.Ctx, j.ID, nil, func(x *store.Job) error {
				x.Status, x.Reason, x.ReasonDetail = store.JobFailed, queue.ReasonDuplicate, "KSeF already has invoice INV-DUP from this seller; do not send it again"
				return nil
			}, store.AuditEntry{}); err != nil {
				t.Fatal(err)
			}
			return []string{"queue", "retry", strconv.FormatInt(j.ID, 10)}
		}, 3},
		{"token revoked", func(t *testing.T, f *ksefpltest.Fixture) []string {
			if err := f.Sim.RevokeToken(f.Token); err != nil {
				t.Fatal(err)
			}
			return []string{"test-connection"}
		}, 4},
		{"KSeF does not know the session", func(t *testing.T, f *ksefpltest.Fixture) []string {
			ref := "20261120-SO-0000000001-AAAAAAAAAA-01"
			if err := f.DB().CreateSession(f.Ctx, store.Session{Reference: ref, WebsiteID: 1, Status: store.SessionClosed,
				OpenedAt: time.Now(), ValidUntil: time.Now().Add(time.Hour)}, store.AuditEntry{}); err != nil {
				t.Fatal(err)
			}
			return []string{"upo:download", "--session", ref}
		}, 5},
		{"KSeF unreachable", func(t *testing.T, f *ksefpltest.Fixture) []string {
			f.Set("ksefpl/connection/base_url", "http://127.0.0.1:1/v2", f.Scope("base"))
			return []string{"test-connection"}
		}, 6},
		{"simulator unreachable", args("sim", "token", "--url", "http://127.0.0.1:1", "--nip", ksefpltest.NIP), 6},
		{"an invoice KSeF rejects", func(t *testing.T, f *ksefpltest.Fixture) []string {
			// Issued in three days: KSeF refuses an invoice dated after the day it receives it.
			inv := ksefpltest.InvoiceJSONAt("INV-FUTURE", time.Now().AddDate(0, 0, 3))
			f.EnqueueRaw(store.Job{WebsiteID: 1, EntityType: "invoice", IncrementID: "INV-FUTURE", Input: inv})
			return []string{"submit", "--wait", "20s", "--poll-interval", "20ms"}
		}, 7},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := ksefpltest.NewFixture(t)
			argv := c.prep(t, f)
			env := map[string]string{"KSEFPL_HOME": f.Home.Dir, "NO_COLOR": "1", "KSEFPL_CRYPT_KEY": f.Getenv("KSEFPL_CRYPT_KEY")}
			var out, errOut bytes.Buffer
			ios := &ioStreams{In: strings.NewReader(f.Getenv(stdinVar)), Out: &out, ErrOut: &errOut}
			if got := run(context.Background(), argv, ios, func(k string) string { return env[k] }); got != c.want {
				t.Errorf("ksefpl %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(argv, " "), got, c.want, out.String(), errOut.String())
			}
		})
	}
}
