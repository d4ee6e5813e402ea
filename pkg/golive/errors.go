package golive

import (
	"fmt"

	"github.com/ksefpl/ksefpl/pkg/config"
	"github.com/ksefpl/ksefpl/pkg/failure"
	"github.com/ksefpl/ksefpl/pkg/ksef"
)

// EnvironmentError is returned when the website is not configured for the test
// environment or the local simulator: golive:check sends a real invoice, and does so only
// where invoices have no legal effect and no real data belongs.
type EnvironmentError struct {
	Website     string
	Environment string
}

// Class is invalid configuration (exit 3).
func (e *EnvironmentError) Class() failure.Class { return failure.Invalid }

// Error says why the environment is refused and how to point the website at test.
func (e *EnvironmentError) Error() string {
	why := "only test (KSeF's integration environment) and local (the simulator) are accepted"
	switch ksef.Environment(e.Environment) {
	case ksef.EnvProduction:
		why = "on production the test invoice would be a real invoice with full legal effect"
	case ksef.EnvDemo:
		why = "demo is the pre-production environment configured like production, meant for a final " +
			"validation with production-like credentials, not for a test invoice of this check"
	}
	scope := ""
	if e.Website != "" && e.Website != "base" {
		scope = " --scope websites --scope-code " + e.Website
	}
	return fmt.Sprintf("golive:check refuses to run against the %s environment of website %s: %s; "+
		"run it on a website configured for test (ksefpl config:set %s test%s) before going live",
		e.Environment, e.Website, why, config.PathEnvironment, scope)
}
