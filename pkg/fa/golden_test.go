package fa

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ksefpl/ksefpl/pkg/nbp"
	"github.com/ksefpl/ksefpl/pkg/testenv"
)

var update = flag.Bool("update", false, "rewrite testdata/invoices/*.golden.xml from the current builder")

// testSeller is the configured seller used by every golden case.
var testSeller = Seller{NIP: "PL 526-104-08-28", Name: "Sklep Przykładowy sp. z o.o.", AddressLine1: "ul. Prosta 1", AddressLine2: "00-001 Warszawa"}

func fixedNow() time.Time { return time.Date(2026, 12, 29, 9, 30, 0, 0, time.UTC) }

// nbpServer serves NBP-shaped table A JSON for EUR: no table on 24–27 Dec 2026
// (Wigilia and Christmas holidays, then a weekend), so the art. 31a window matters.
func nbpServer(t *testing.T) *httptest.Server {
	t.Helper()
	tables := map[string]string{"2026-12-21": "4.2105", "2026-12-22": "4.2178", "2026-12-23": "4.2230", "2026-12-28": "4.2302"}
	numbers := map[string]string{"2026-12-21": "246/A/NBP/2026", "2026-12-22": "247/A/NBP/2026", "2026-12-23": "248/A/NBP/2026", "2026-12-28": "249/A/NBP/2026"}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
		if len(parts) != 6 || parts[3] != "eur" {
			http.Error(w, "400 BadRequest", http.StatusBadRequest)
			return
		}
		from, err1 := time.Parse(time.DateOnly, parts[4])
		to, err2 := time.Parse(time.DateOnly, parts[5])
		if err1 != nil || err2 != nil {
			http.Error(w, "400 BadRequest", http.StatusBadRequest)
			return
		}
		var rows []string
		for d := from; !d.After(to); d = d.AddDate(0, 0, 1) {
			k := d.Format(time.DateOnly)
			if v, ok := tables[k]; ok {
				rows = append(rows, fmt.Sprintf(`{"no":%q,"effectiveDate":%q,"mid":%s}`, numbers[k], k, v))
			}
		}
		if len(rows) == 0 {
			http.Error(w, "404 NotFound - Not Found - Brak danych", http.StatusNotFound)
			return
		}
		fmt.Fprintf(w, `{"table":"A","currency":"euro","code":"EUR","rates":[%s]}`, strings.Join(rows, ","))
	}))
	t.Cleanup(srv.Close)
	return srv
}

type goldenCase struct {
	name   string
	schema Schema
	lookup func(ctx context.Context, id string) (string, time.Time, bool, error)
	nbp    bool
}

var goldenCases = []goldenCase{
	{name: "domestic_b2b"},
	{name: "consumer"},
	{name: "eu_wdt"},
	{name: "export_ex"},
	{name: "zw_np"},
	{name: "eur_nbp", nbp: true},
	{name: "creditmemo_ksef"},
	{name: "creditmemo_lookup", lookup: func(_ context.Context, id string) (string, time.Time, bool, error) {
		if id != "INV-000124" {
			return "", time.Time{}, false, nil
		}
		return "5261040828-20261120-0100001B2C3D-4E", time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC), true, nil
	}},
	{name: "creditmemo_no_ksef", lookup: func(context.Context, string) (string, time.Time, bool, error) {
		return "", time.Time{}, false, nil
	}},
	{name: "fa2_domestic", schema: FA2},
	{name: "gross_prices"},
	{name: "gross_creditmemo"},
	{name: "receipt"},
	{name: "split_payment"},
	{name: "gtu_procedure"},
	{name: "oss"},
	{name: "bank_account"},
	{name: "partial_payment"},
	{name: "margin"},
}

// buildCase parses testdata/invoices/<name>.json and builds it with the case's options.
func buildCase(t *testing.T, gc goldenCase) []byte {
	t.Helper()
	f, err := os.Open(filepath.Join(testenv.ModuleRoot(t), "testdata", "invoices", gc.name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	in, err := ParseInput(f)
	if err != nil {
		t.Fatalf("ParseInput: %v", err)
	}
	opts := BuildOptions{Schema: gc.schema, Seller: testSeller, Now: fixedNow, SystemInfo: "ksefpl test", LookupOriginal: gc.lookup}
	if gc.nbp {
		cur, tp, ok := in.NeedsRate()
		if !ok {
			t.Fatal("NeedsRate: want ok for a EUR invoice without exchange_rate")
		}
		srv := nbpServer(t)
		r, err := (&nbp.Client{BaseURL: srv.URL, HTTP: srv.Client()}).RateFor(context.Background(), cur, tp)
		if err != nil {
			t.Fatal(err)
		}
		fr := Rate(r)
		opts.Rate = &fr
	}
	d, err := Build(context.Background(), in, opts)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	b, err := Marshal(d)
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	return b
}

func TestGolden(t *testing.T) {
	schemas := testenv.SharedPath(t, "schemas")
	testenv.Xmllint(t)
	for _, gc := range goldenCases {
		t.Run(gc.name, func(t *testing.T) {
			got := buildCase(t, gc)
			path := filepath.Join(testenv.ModuleRoot(t), "testdata", "invoices", gc.name+".golden.xml")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run: go test ./pkg/fa -run TestGolden -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("output differs from %s (rerun with -update if the change is intended):\n%s", path, lineDiff(string(want), string(got)))
			}
			if bytes.HasPrefix(got, utf8BOM) || !bytes.HasPrefix(got, []byte("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")) {
				t.Error("output must start with the XML declaration and carry no BOM")
			}
			ps, err := ValidateXSD(context.Background(), got, schemas)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range ps {
				t.Errorf("XSD: %s", p)
			}
			for _, p := range Check(got) {
				t.Errorf("Check: %s", p)
			}
		})
	}
}

// lineDiff shows the first differing lines with context.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var sb strings.Builder
	shown := 0
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl == gl {
			continue
		}
		fmt.Fprintf(&sb, "line %d:\n  - %s\n  + %s\n", i+1, wl, gl)
		if shown++; shown == 10 {
			sb.WriteString("  …\n")
			break
		}
	}
	return sb.String()
}
