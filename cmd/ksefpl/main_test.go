package main

import (
	"context"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/ksefpl/ksefpl/internal/ksefpltest"
	"github.com/ksefpl/ksefpl/pkg/ksefsim"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain lets the test binary act as the real ksefpl binary inside testscript scripts.
func TestMain(m *testing.M) {
	testscript.Main(cleanupAfter{m}, map[string]func(){
		"ksefpl": func() { os.Exit(run(context.Background(), os.Args[1:], systemIO(), os.Getenv)) },
	})
}

// cleanupAfter runs the tests, then removes the binary built for process tests.
type cleanupAfter struct{ m *testing.M }

func (c cleanupAfter) Run() int {
	code := c.m.Run()
	if binary.dir != "" {
		os.RemoveAll(binary.dir)
	}
	return code
}

// TestScripts runs the command-line scenarios in testdata/script against the real binary.
// Each scenario gets its own simulator ($SIMURL), so that scenarios running in parallel
// never see each other's invoices (KSeF's duplicate check spans sessions).
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(env *testscript.Env) error {
			sim, err := ksefsim.New(ksefsim.Config{})
			if err != nil {
				return err
			}
			srv := httptest.NewServer(sim)
			env.Defer(srv.Close)
			env.Setenv("KSEFPL_HOME", env.WorkDir+"/home")
			env.Setenv("NO_COLOR", "1")
			env.Setenv("SIMURL", srv.URL)
			// The same simulator answers as the official hosts (*.ksef.mf.gov.pl) to a
			// script that sets HTTPS_PROXY=$OFFICIAL_PROXY and SSL_CERT_FILE=$OFFICIAL_CA.
			official, err := ksefpltest.NewOfficialHosts(sim, env.WorkDir)
			if err != nil {
				return err
			}
			env.Defer(official.Close)
			env.Setenv("OFFICIAL_PROXY", official.ProxyURL)
			env.Setenv("OFFICIAL_CA", official.CAFile)
			return nil
		},
		Cmds: scriptCmds(),
	})
}
