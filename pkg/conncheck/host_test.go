package conncheck_test

import (
	"strings"
	"testing"

	"github.com/ksefpl/ksefpl/internal/ksefpltest"
	"github.com/ksefpl/ksefpl/pkg/config"
	"github.com/ksefpl/ksefpl/pkg/conncheck"
	"github.com/ksefpl/ksefpl/pkg/failure"
)

// The official production host (the simulator behind a test CA, reached through a
// proxy as HTTPS_PROXY would) passes, and the outcome counts for production.
func TestProductionAtTheOfficialHostCountsAsProduction(t *testing.T) {
	f := ksefpltest.NewFixture(t, ksefpltest.WithOfficialHosts())
	f.UseOfficialHost(f.Scope("base"), "production")
	r := run(t, f)
	if !r.Success || r.CustomHost != "" || r.APIURL != "https://api.ksef.mf.gov.pl/v2" {
		t.Fatalf("report: success %v, custom host %q, API %s: %+v", r.Success, r.CustomHost, r.APIURL, r.Checks)
	}
	if c := check(t, r, "network reach"); !strings.Contains(c.Detail, "api.ksef.mf.gov.pl:443 (TLS verified, through the proxy "+f.Official.ProxyURL) {
		t.Errorf("network reach: %q", c.Detail)
	}
	if c := check(t, r, "Latarnia status"); c.Status != conncheck.Pass {
		t.Errorf("Latarnia at its own host: %+v", c)
	}
	o, err := f.DB().LastAuthOutcome(f.Ctx, f.Scope("base").WebsiteID, "test-connection")
	if err != nil || !o.Success || o.Environment != "production" {
		t.Fatalf("outcome %+v, %v", o, err)
	}
}

// A production test through a custom host passes with a warning naming the host, and
// is recorded as "production via HOST": never as a test against production itself.
func TestProductionThroughACustomHostNeverCountsAsProduction(t *testing.T) {
	f := ksefpltest.NewFixture(t, ksefpltest.WithOfficialHosts())
	base := f.Scope("base")
	f.UseOfficialHost(base, "production")
	f.Set(config.PathAllowCustomHost, "1", base)
	f.Set(config.PathBaseURL, "https://ksef-proxy.ksef.mf.gov.pl/v2", base)
	var warned []string
	d := *f.Deps
	d.Warn = func(msg string) { warned = append(warned, msg) }
	r, err := conncheck.Run(f.Ctx, &d, base, conncheck.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !r.Success || r.CustomHost != "ksef-proxy.ksef.mf.gov.pl" {
		t.Fatalf("report: success %v, custom host %q: %+v", r.Success, r.CustomHost, r.Checks)
	}
	c := check(t, r, "configuration")
	if c.Status != conncheck.Warn || !strings.Contains(c.Detail, "custom host ksef-proxy.ksef.mf.gov.pl") ||
		!strings.Contains(c.Hint, "never as a test against production itself") {
		t.Errorf("configuration check: %+v", c)
	}
	if len(warned) == 0 || !strings.Contains(warned[0], "ksef-proxy.ksef.mf.gov.pl") || !strings.Contains(warned[0], config.PathAllowCustomHost) {
		t.Errorf("warnings: %q", warned)
	}
	o, err := f.DB().LastAuthOutcome(f.Ctx, base.WebsiteID, "test-connection")
	if err != nil || !o.Success || o.Environment != "production via ksef-proxy.ksef.mf.gov.pl" {
		t.Fatalf("outcome %+v, %v", o, err)
	}
}

// A value stored before the base_url rule existed (or given through the environment)
// is refused when used, not only when saved.
func TestStoredCustomHostWithoutPermissionIsNotUsed(t *testing.T) {
	f := ksefpltest.NewFixture(t)
	// The fixture's base_url is the simulator's loopback address; an older release
	// let production be saved next to it.
	if err := f.DB().ConfigSet(f.Ctx, "default", 0, config.PathEnvironment, "production"); err != nil {
		t.Fatal(err)
	}
	r := run(t, f)
	c := check(t, r, "configuration")
	if r.Success || c.Status != conncheck.Fail || c.Class != failure.Invalid || !strings.Contains(c.Detail, "plain http") {
		t.Fatalf("configuration check: %+v", c)
	}
	if n := f.Sim.Stats().Requests; n != 0 {
		t.Errorf("%d requests reached the host", n)
	}
}

// --network reports every host it could not reach as a failed check: the run does not
// pass.
func TestNetworkCheckFailsWhenAHostIsUnreachable(t *testing.T) {
	f := ksefpltest.NewFixture(t)
	r, err := conncheck.Run(f.Ctx, f.Deps, f.Scope("base"), conncheck.Options{Network: true,
		FirewallHosts: []string{"unreachable.invalid"}})
	if err != nil {
		t.Fatal(err)
	}
	c := check(t, r, "firewall")
	if r.Success || c.Status != conncheck.Fail || c.Class != failure.Unavailable || !strings.Contains(c.Detail, "unreachable.invalid") {
		t.Fatalf("success %v, firewall %+v", r.Success, c)
	}
	if len(r.Network) != 1 || r.Network[0].Reachable {
		t.Errorf("network: %+v", r.Network)
	}
}
