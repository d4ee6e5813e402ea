package golive

import (
	"time"

	"github.com/ksefpl/ksefpl/pkg/conncheck"
	"github.com/ksefpl/ksefpl/pkg/failure"
)

// Check names, in the order Run performs them.
const (
	CheckConnection = "test-connection"
	CheckPreview    = "invoice preview"
	CheckLifecycle  = "PENDING → SUBMITTED → ACCEPTED"
	CheckKSeFNumber = "KSeF number recorded"
	CheckUPO        = "UPO downloaded, hash checked"
	CheckNotify     = "KSeF number delivered to the shop"
)

// Check is one line of the checklist. Status and Class have the values of conncheck's
// (pass/fail/skip; invalid/auth/rejected/unavailable/unknown) so that commands map them to
// exit codes the same way as test-connection.
type Check struct {
	Name   string           `json:"name"`
	Status conncheck.Status `json:"status"`
	Millis int64            `json:"duration_ms"`
	Detail string           `json:"detail,omitempty"`
	// Hint says what to do when the check failed.
	Hint  string        `json:"hint,omitempty"`
	Class failure.Class `json:"class,omitempty"`
}

// Report is the outcome of one golive:check run.
type Report struct {
	Website     string `json:"website"`
	Environment string `json:"environment"`
	APIURL      string `json:"api_url,omitempty"`
	SellerNIP   string `json:"seller_nip,omitempty"`
	// Input names the invoice used: the --file path or "built-in sample".
	Input       string `json:"input"`
	IncrementID string `json:"increment_id,omitempty"`
	// XSD says whether the preview was validated against the official schema
	// ("validated against …") or why not ("skipped: …").
	XSD        string    `json:"xsd,omitempty"`
	JobID      int64     `json:"job_id,omitempty"`
	KSeFNumber string    `json:"ksef_number,omitempty"`
	UPOSHA256  string    `json:"upo_sha256,omitempty"`
	Success    bool      `json:"success"`
	Checks     []Check   `json:"checks"`
	Warnings   []string  `json:"warnings,omitempty"`
	CheckedAt  time.Time `json:"checked_at"`
	// Connection is the full test-connection report behind the first check.
	Connection *conncheck.Report `json:"connection,omitempty"`
}

// FirstFailure returns the first failed check, if any.
func (r *Report) FirstFailure() (Check, bool) {
	for _, c := range r.Checks {
		if c.Status == conncheck.Fail {
			return c, true
		}
	}
	return Check{}, false
}
