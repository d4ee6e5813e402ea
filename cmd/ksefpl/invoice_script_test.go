package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/ksefpl/ksefpl/pkg/testenv"
)

// TestInvoiceScripts runs the invoice:preview and invoice:validate scenarios in
// testdata/script-invoice against the real binary, with the official schemas
// ($KSEFPL_XSD_DIR) and an NBP-shaped rate server on loopback ($NBPURL).
func TestInvoiceScripts(t *testing.T) {
	xsd := testenv.SharedPath(t, "schemas")
	testenv.Xmllint(t)
	nbpURL := fakeNBP(t)
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script-invoice",
		Setup: func(env *testscript.Env) error {
			env.Setenv("KSEFPL_HOME", env.WorkDir+"/home")
			env.Setenv("NO_COLOR", "1")
			env.Setenv("KSEFPL_XSD_DIR", xsd)
			env.Setenv("NBPURL", nbpURL)
			return nil
		},
		Cmds: scriptCmds(),
	})
}

// fakeNBP serves NBP's /exchangerates/rates/a/{code}/{start}/{end}/ for EUR around
// Christmas 2026 (no tables on 24–27 December, as NBP publishes none on the holidays
// and the weekend), fails USD requests with 503 (NBP under maintenance), and answers like NBP ("404 NotFound - Not Found - Brak danych") for
// ranges without a table and currencies outside table A. It returns the API base URL.
func fakeNBP(t *testing.T) string {
	t.Helper()
	type table struct{ no, mid string }
	eur := map[string]table{
		"2026-12-21": {"246/A/NBP/2026", "4.2105"},
		"2026-12-22": {"247/A/NBP/2026", "4.2178"},
		"2026-12-23": {"248/A/NBP/2026", "4.2230"},
		"2026-12-28": {"249/A/NBP/2026", "4.2302"},
		"2026-12-29": {"250/A/NBP/2026", "4.2288"},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// /api/exchangerates/rates/a/eur/2026-12-18/2026-12-27/
		parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
		if len(parts) != 7 || parts[0] != "api" || parts[1] != "exchangerates" || parts[3] != "a" {
			http.Error(w, "400 BadRequest - Błędny zakres dat / Invalid date range", http.StatusBadRequest)
			return
		}
		from, err1 := time.Parse(time.DateOnly, parts[5])
		to, err2 := time.Parse(time.DateOnly, parts[6])
		if err1 != nil || err2 != nil {
			http.Error(w, "400 BadRequest - Błędny zakres dat / Invalid date range", http.StatusBadRequest)
			return
		}
		if parts[4] == "usd" {
			http.Error(w, "503 Service Unavailable", http.StatusServiceUnavailable)
			return
		}
		var rows []string
		if parts[4] == "eur" {
			for d := from; !d.After(to); d = d.AddDate(0, 0, 1) {
				if tb, ok := eur[d.Format(time.DateOnly)]; ok {
					rows = append(rows, fmt.Sprintf(`{"no":%q,"effectiveDate":%q,"mid":%s}`, tb.no, d.Format(time.DateOnly), tb.mid))
				}
			}
		}
		if len(rows) == 0 {
			http.Error(w, "404 NotFound - Not Found - Brak danych", http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		fmt.Fprintf(w, `{"table":"A","currency":"euro","code":"EUR","rates":[%s]}`, strings.Join(rows, ","))
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/api"
}
