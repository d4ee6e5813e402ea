package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ksefpl/ksefpl/pkg/testenv"
)

// sellerNIP is the NIP configuredSeller gives the website.
const sellerNIP = "5261040828"

var reSellerNIP = regexp.MustCompile(`(?s)(<(?:\w+:)?Podmiot1>.*?<(?:\w+:)?NIP>)[^<]*(<)`)

// officialExampleVerdicts says how each official FA(3) example, with its seller NIP
// replaced by the website's, must fare: accepted (with the warnings listed), or refused
// for a reason the XSD or KSeF would give too. An example missing here fails the test,
// so a new sample file gets a verdict on purpose.
var officialExampleVerdicts = map[string]struct {
	warnings []string // substrings of the warnings, in order
	refused  string   // substring of the problem that refuses it ("" = accepted)
}{
	"handmade_korekta_credit_memo.xml":                       {},
	"handmade_vat_eur.xml":                                   {},
	"korygujaca__FA_3_Przyklad_4.xml":                        {},
	"obciazeniowa__FA_3_obciazeniowa.xml":                    {},
	"obciazeniowa__FA_3_obciazeniowa_rozliczona.xml":         {},
	"podstawowa__FA_3_Przyklad_1.xml":                        {},
	"podstawowa__FA_3_Przyklad_2.xml":                        {},
	"podstawowa__FA_3_Przyklad_3_brutto.xml":                 {},
	"podstawowa__FA_3_Przyklad_3_netto.xml":                  {},
	"podstawowa__FA_3_Przyklad_3_netto_brutto.xml":           {},
	"podstawowa__FA_3_Przyklad_4_EUR.xml":                    {},
	"podstawowa__FA_3_Przyklad_5.xml":                        {},
	"podstawowa__FA_3_Przyklad_WZ.xml":                       {},
	"podstawowa__FA_3_complex.xml":                           {warnings: []string{"P_15 is 5962.00 but the P_13_x and P_14_x amounts add up to 6332.00"}},
	"podstawowa__FA_3_przyklad_rachunek_bankowy_faktora.xml": {},
	"poza_ue__FA_3_Przyklad_23.xml":                          {},
	"qr_test__nip.xml":                                       {},
	"qr_test__osoba_fizyczna.xml":                            {},
	"rozliczeniowa__FA_3_Przyklad_1.xml":                     {},
	"zalacznik__FA_3_Zalacznik_Przyklad_1.xml":               {},
	"zalacznik__FA_3_Zalacznik_Przyklad_2.xml":               {warnings: zalacznik2Warnings},
	"zaliczkowa__FA_3_Przyklad_1.xml":                        {},
	"zaliczkowa__FA_3_Przyklad_2.xml":                        {},
	"zaliczkowa__FA_3_Przyklad_3.xml":                        {},
}

// zalacznik2Warnings: the official attachment sample 2 carries Polish text decoded as
// Windows-1250 and encoded again as UTF-8, leaving C1 characters (legal XML) in 21 table
// cells; each is a warning, and the invoice is accepted as KSeF would accept it.
var zalacznik2Warnings = func() []string {
	out := make([]string, 21)
	for i := range out {
		out[i] = "which XML allows but no invoice text needs"
	}
	return out
}()

// TestOfficialFA3ExamplesValidateAndQueue runs every official FA(3) example through
// invoice:validate (structural checks and XSD) and queue xml, with the seller NIP
// replaced by the website's: each is accepted — its warnings printed and stored in the
// job's audit row — or refused for a reason the XSD or KSeF would also give.
func TestOfficialFA3ExamplesValidateAndQueue(t *testing.T) {
	schemas := testenv.SharedPath(t, "schemas")
	testenv.Xmllint(t)
	files, err := filepath.Glob(filepath.Join(testenv.SharedPath(t, "examples", "fa3"), "*.xml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no FA(3) examples: %v", err)
	}
	for _, file := range files {
		name := filepath.Base(file)
		t.Run(name, func(t *testing.T) {
			verdict, ok := officialExampleVerdicts[name]
			if !ok {
				t.Fatalf("no verdict for the new example %s: add it to officialExampleVerdicts", name)
			}
			src, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			if !reSellerNIP.Match(src) {
				t.Fatal("no Podmiot1 NIP to replace")
			}
			path := filepath.Join(t.TempDir(), name)
			if err := os.WriteFile(path, reSellerNIP.ReplaceAll(src, []byte("${1}"+sellerNIP+"${2}")), 0o600); err != nil {
				t.Fatal(err)
			}
			env := configuredSeller(t)

			code, stdout, stderr := runCLI(t, env, false, "invoice:validate", path, "--xsd", schemas, "-o", "json")
			var res validateOut
			if err := json.Unmarshal([]byte(stdout), &res); err != nil {
				t.Fatalf("invoice:validate: exit %d, %v: %s %s", code, err, stdout, stderr)
			}
			if res.XSD != "validated" {
				t.Errorf("xsd = %q", res.XSD)
			}
			if verdict.refused != "" {
				if code != 3 || res.Valid || len(res.Problems) == 0 || !strings.Contains(res.Problems[0].Message, verdict.refused) {
					t.Fatalf("invoice:validate: exit %d, problems %v; want refused for %q", code, res.Problems, verdict.refused)
				}
			} else if code != 0 || !res.Valid {
				t.Fatalf("invoice:validate: exit %d, problems %v; want valid", code, res.Problems)
			}
			sameSubstrings(t, "invoice:validate warnings", warningTexts(res.Warnings), verdict.warnings)

			code, stdout, stderr = runCLI(t, env, false, "queue", "xml", "--file", path, "-o", "json")
			if verdict.refused != "" {
				if code != 3 || !strings.Contains(stderr, verdict.refused) {
					t.Fatalf("queue xml: exit %d, stderr %s; want refused for %q", code, stderr, verdict.refused)
				}
				return
			}
			var out struct {
				Outcome  string
				Job      struct{ ID int64 }
				Warnings []string
			}
			if err := json.Unmarshal([]byte(stdout), &out); err != nil || code != 0 || out.Outcome != "queued" {
				t.Fatalf("queue xml: exit %d, %v: %s %s", code, err, stdout, stderr)
			}
			var checkWarnings []string
			for _, w := range out.Warnings {
				if strings.Contains(w, "Faktura/") { // the check's warnings name an element path
					checkWarnings = append(checkWarnings, w)
				}
			}
			sameSubstrings(t, "queue xml warnings", checkWarnings, verdict.warnings)

			code, stdout, stderr = runCLI(t, env, false, "audit", "--job", "1", "-o", "json")
			if code != 0 {
				t.Fatalf("audit: exit %d: %s", code, stderr)
			}
			for _, w := range verdict.warnings {
				if !strings.Contains(stdout, w) {
					t.Errorf("the job's audit row lacks the warning %q:\n%s", w, stdout)
				}
			}
		})
	}
}

func warningTexts(ws []problemOut) []string {
	out := make([]string, len(ws))
	for i, w := range ws {
		out[i] = w.String()
	}
	return out
}

// sameSubstrings requires got[i] to contain want[i], with as many of each.
func sameSubstrings(t *testing.T, what string, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: got %d, want %d:\n%s", what, len(got), len(want), strings.Join(got, "\n"))
		return
	}
	for i := range got {
		if !strings.Contains(got[i], want[i]) {
			t.Errorf("%s %d = %q, want it to mention %q", what, i, got[i], want[i])
		}
	}
}
