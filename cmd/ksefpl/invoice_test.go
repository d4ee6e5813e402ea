package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ksefpl/ksefpl/pkg/nbp"
	"github.com/ksefpl/ksefpl/pkg/testenv"
)

// runCLI runs ksefpl in-process with the given environment and terminal flag and
// returns the exit code, stdout and stderr.
func runCLI(t *testing.T, env map[string]string, outTTY bool, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	ios := &ioStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut, OutTTY: outTTY}
	code := run(context.Background(), args, ios, func(k string) string { return env[k] })
	return code, out.String(), errOut.String()
}

func configuredSeller(t *testing.T) map[string]string {
	t.Helper()
	env := map[string]string{"KSEFPL_HOME": filepath.Join(t.TempDir(), "home"), "NO_COLOR": "1"}
	for _, kv := range [][2]string{
		{"ksefpl/seller/nip", "5261040828"},
		{"ksefpl/seller/name", "Sklep Przykładowy sp. z o.o."},
		{"ksefpl/seller/address_line1", "ul. Prosta 1"},
		{"ksefpl/seller/address_line2", "00-001 Warszawa"},
	} {
		if code, _, stderr := runCLI(t, env, false, "config:set", kv[0], kv[1]); code != 0 {
			t.Fatalf("config:set %s: exit %d: %s", kv[0], code, stderr)
		}
	}
	return env
}

// On a terminal the summary goes to stderr without --summary; piped, it does not.
func TestInvoicePreviewSummaryOnTerminal(t *testing.T) {
	env := configuredSeller(t)
	input := filepath.Join(testenv.ModuleRoot(t), "testdata", "invoices", "domestic_b2b.json")

	code, stdout, stderr := runCLI(t, env, true, "invoice:preview", "--file", input)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "<P_15>342.44</P_15>") {
		t.Errorf("stdout lacks the XML:\n%s", stdout)
	}
	for _, want := range []string{
		"Seller: NIP 526-104-08-28, Sklep Przykładowy sp. z o.o., ul. Prosta 1, 00-001 Warszawa, PL",
		"Buyer:  NIP 856-734-62-15, Klient S.A.",
		"Gross (P_15): 342.44 PLN",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("terminal stderr lacks %q:\n%s", want, stderr)
		}
	}
	if strings.Contains(stdout, "Gross (P_15)") {
		t.Error("the summary leaked into stdout, which must hold only the XML")
	}

	code, _, stderr = runCLI(t, env, false, "invoice:preview", "--file", input)
	if code != 0 || stderr != "" {
		t.Fatalf("piped: exit %d, stderr %q; want 0 and nothing", code, stderr)
	}
	// -o json on a terminal keeps stderr quiet too: the summary is in the JSON.
	code, stdout, stderr = runCLI(t, env, true, "invoice:preview", "--file", input, "-o", "json")
	if code != 0 || stderr != "" || !strings.Contains(stdout, `"gross": "342.44"`) {
		t.Fatalf("json on a terminal: exit %d, stderr %q, stdout %s", code, stderr, stdout)
	}
}

// The working directory never decides which schemas validate an invoice (cron runs
// elsewhere than a shell): ../shared/schemas beside it is ignored, the verdict says
// "XSD skipped" and names where schemas are looked for. The binary-relative lookup is
// TestValidateFindsSchemasBesideTheBinary.
func TestInvoiceValidateIgnoresSchemasBesideWorkdir(t *testing.T) {
	schemas := testenv.SharedPath(t, "schemas")
	root := t.TempDir()
	work := filepath.Join(root, "work")
	if err := os.MkdirAll(filepath.Join(root, "shared"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(work, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(schemas, filepath.Join(root, "shared", "schemas")); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join(testenv.ModuleRoot(t), "testdata", "invoices", "domestic_b2b.golden.xml")
	t.Chdir(work)
	env := map[string]string{"NO_COLOR": "1", "KSEFPL_HOME": filepath.Join(root, "home")}

	code, stdout, stderr := runCLI(t, env, false, "invoice:validate", golden)
	if code != 0 || !strings.Contains(stdout, "passes the structural checks (FA3); XSD skipped") ||
		!strings.Contains(stderr, "XSD validation skipped: no schema directory; pass --xsd DIR, set KSEFPL_XSD_DIR, or put schemas/ beside the ksefpl binary") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	// Validating XML needs no configuration, so the home is not created.
	if _, err := os.Stat(env["KSEFPL_HOME"]); !os.IsNotExist(err) {
		t.Errorf("invoice:validate of XML created the home (stat: %v)", err)
	}
}

// NBP's typed errors map to the exit-code table even when wrapped.
func TestNBPErrorsExitCodes(t *testing.T) {
	for _, c := range []struct {
		err  error
		want int
	}{
		{&nbp.NetworkError{URL: "http://127.0.0.1:1/api", Err: errors.New("connection refused")}, 6},
		{&nbp.NetworkError{URL: "http://127.0.0.1:1/api", Status: 503, Err: errors.New("down")}, 6},
		{&nbp.UnknownCurrencyError{Currency: "XYZ"}, 3},
		{&nbp.NoTableError{Currency: "AFN"}, 3},
	} {
		wrapped := fmt.Errorf("exchange rate for invoice INV-1: %w", c.err)
		if got := exitCode(wrapped); got != c.want {
			t.Errorf("exitCode(%T) = %d, want %d", c.err, got, c.want)
		}
	}
}

// The seller's bank account comes from the website's configuration: checked on save,
// scoped per website, and printed on a document that gives none and is not paid in full.
func TestSellerBankAccountFromConfig(t *testing.T) {
	env := configuredSeller(t)
	if code, _, stderr := runCLI(t, env, false, "config:set", "ksefpl/seller/bank_account", "PL61 1090 1014 0000 0712 1981 2875"); code != 3 || !strings.Contains(stderr, "IBAN") {
		t.Fatalf("bad IBAN: exit %d: %s", code, stderr)
	}
	for _, args := range [][]string{
		{"config:set", "ksefpl/seller/bank_account", "61 1090 1014 0000 0712 1981 2874"},
		{"config:set", "ksefpl/seller/bank_name", "Santander Bank Polska S.A."},
		{"store:website:create", "shop2", "--name", "Shop 2"},
		{"config:set", "ksefpl/seller/bank_account", "DE89 3704 0044 0532 0130 00", "--scope", "websites", "--scope-code", "shop2"},
	} {
		if code, _, stderr := runCLI(t, env, false, args...); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, stderr)
		}
	}
	input := filepath.Join(testenv.ModuleRoot(t), "testdata", "invoices", "domestic_b2b.json") // due, not paid
	code, stdout, stderr := runCLI(t, env, false, "invoice:preview", "--file", input)
	if code != 0 || !strings.Contains(stdout, "<NrRB>PL61109010140000071219812874</NrRB>") ||
		!strings.Contains(stdout, "<NazwaBanku>Santander Bank Polska S.A.</NazwaBanku>") {
		t.Fatalf("base: exit %d: %s %s", code, stdout, stderr)
	}
	code, stdout, stderr = runCLI(t, env, false, "invoice:preview", "--file", input, "--website", "shop2")
	if code != 0 || !strings.Contains(stdout, "<NrRB>DE89370400440532013000</NrRB>") {
		t.Fatalf("shop2: exit %d: %s %s", code, stdout, stderr)
	}
	paid := filepath.Join(testenv.ModuleRoot(t), "testdata", "invoices", "consumer.json") // paid by card
	if code, stdout, stderr = runCLI(t, env, false, "invoice:preview", "--file", paid); code != 0 || strings.Contains(stdout, "RachunekBankowy") {
		t.Fatalf("paid: exit %d: %s %s", code, stdout, stderr)
	}
}
