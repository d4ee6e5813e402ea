package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ksefpl/ksefpl/internal/ksefpltest"
	"github.com/ksefpl/ksefpl/pkg/store"
)

// runIn runs ksefpl in-process against f's home with stdin in; it returns the exit code,
// stdout and stderr.
func runIn(t *testing.T, f *ksefpltest.Fixture, in string, argv ...string) (int, string, string) {
	t.Helper()
	env := map[string]string{"KSEFPL_HOME": f.Home.Dir, "NO_COLOR": "1"}
	var out, errOut bytes.Buffer
	ios := &ioStreams{In: strings.NewReader(in), Out: &out, ErrOut: &errOut}
	code := run(context.Background(), argv, ios, func(k string) string { return env[k] })
	return code, out.String(), errOut.String()
}

// Control characters that reached the store (an older release, a raw import) are
// escaped in everything printed: they can neither recolour nor retitle the terminal.
func TestTerminalOutputEscapesControlCharacters(t *testing.T) {
	f := ksefpltest.NewFixture(t, ksefpltest.WithoutSim())
	f.EnqueueRaw(store.Job{WebsiteID: 1, EntityType: "invoice", IncrementID: "INV\x1b[31mRED", Input: "{}"})
	if err := f.DB().ConfigSet(f.Ctx, store.ScopeDefault, 0, "ksefpl/seller/name", "Evil\x1b]0;pwned\x07 Co\u009b"); err != nil {
		t.Fatal(err)
	}
	if err := f.DB().AppendAudit(f.Ctx, store.AuditEntry{WebsiteID: 1, JobID: 1, Event: store.EventWarning, Message: "note \x1b[8mhidden"}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		argv  []string
		shows bool // the command prints the tainted value
	}{
		{[]string{"queue", "list"}, true},
		{[]string{"queue", "show", "1"}, true},
		{[]string{"audit"}, true},
		{[]string{"config:show"}, true},
		{[]string{"config:show", "ksefpl/seller/name"}, true},
		{[]string{"nip:validate", "\x1b[2J5261040828"}, true},
		{[]string{"status"}, false},
	} {
		argv := c.argv
		_, out, errOut := runIn(t, f, "", argv...)
		if strings.ContainsAny(out+errOut, "\x1b\x07\u009b") {
			t.Errorf("ksefpl %q printed a raw control character:\n%q\n%q", argv, out, errOut)
		}
		if c.shows && !strings.Contains(out+errOut, `\x1b`) {
			t.Errorf("ksefpl %q does not show the escaped character:\n%s\n%s", argv, out, errOut)
		}
	}
}

// invoice:validate and invoice:preview read at most 4 MiB, like queue: a larger file, or
// an endless one, ends with exit 3 and one line, not with an out-of-memory crash.
// nip:validate refuses an overlong stdin line with exit 3.
func TestInputsAreBounded(t *testing.T) {
	f := ksefpltest.NewFixture(t, ksefpltest.WithoutSim())
	big := filepath.Join(t.TempDir(), "big.xml")
	if err := os.WriteFile(big, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(big, 300<<20); err != nil { // sparse: 300 MB of zeros
		t.Fatal(err)
	}
	files := []string{big}
	if _, err := os.Stat("/dev/zero"); err == nil {
		files = append(files, "/dev/zero")
	}
	for _, file := range files {
		for _, argv := range [][]string{{"invoice:validate", file}, {"invoice:preview", "--file", file}} {
			code, out, errOut := runIn(t, f, "", argv...)
			if code != 3 || !strings.Contains(errOut, "is larger than 4194304 bytes") || strings.Contains(errOut, "goroutine") {
				t.Errorf("ksefpl %q: exit %d\n%s\n%s", argv, code, out, errOut)
			}
		}
	}
	code, _, errOut := runIn(t, f, "5261040828\n"+strings.Repeat("7", 2<<20)+"\n", "nip:validate")
	if code != 3 || !strings.Contains(errOut, "line 2 of stdin is longer than") {
		t.Errorf("nip:validate with a 2 MiB line: exit %d\n%s", code, errOut)
	}
}
