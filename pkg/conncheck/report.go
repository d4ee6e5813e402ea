// Package conncheck owns test-connection: the ordered checks that tell an operator
// whether a website can talk to KSeF (configuration, token, NIP, network reach, Latarnia,
// public keys, full authentication, clock skew), each with its timing and, on failure,
// what to do; and the recording of the outcome that the queue's pre-flight reads.
package conncheck

import (
	"time"

	"github.com/ksefpl/ksefpl/pkg/failure"
	"github.com/ksefpl/ksefpl/pkg/kcert"
	"github.com/ksefpl/ksefpl/pkg/website"
)

// Status of one check.
type Status string

// Check statuses.
const (
	Pass Status = "pass"
	Fail Status = "fail"
	Skip Status = "skip"
	// Warn is a check that passed with something to act on soon (a certificate near
	// its expiry): it does not make the test fail.
	Warn Status = "warn"
)

// Outcome reasons recorded in ksefpl_auth_outcome.
const (
	// ReasonTokenRejected: KSeF (or the local checks) refused the token itself —
	// revoked, invalid, wrong context, undecryptable. The queue holds new jobs of the
	// website as AUTH_ERROR until a later test-connection succeeds.
	ReasonTokenRejected = "TOKEN_REJECTED"
	// ReasonConfig: configuration is missing or invalid.
	ReasonConfig = "CONFIG"
	// ReasonUnavailable: KSeF or the network could not be reached.
	ReasonUnavailable = "UNAVAILABLE"
	// ReasonOther: anything else.
	ReasonOther = "OTHER"
)

// Check is one line of the report.
type Check struct {
	Name     string        `json:"name"`
	Status   Status        `json:"status"`
	Duration time.Duration `json:"-"`
	Millis   int64         `json:"duration_ms"`
	Detail   string        `json:"detail,omitempty"`
	Hint     string        `json:"hint,omitempty"`
	Class    failure.Class `json:"class,omitempty"`
	// Code is KSeF's status or error code when it gave one (450, 20100, 10000 …).
	Code string `json:"code,omitempty"`
	// tokenFailure marks failures that mean the token itself was refused.
	tokenFailure bool
}

// HostReach is one row of the --network firewall report.
type HostReach struct {
	Host      string `json:"host"`
	Port      int    `json:"port"`
	Reachable bool   `json:"reachable"`
	Millis    int64  `json:"duration_ms"`
	Error     string `json:"error,omitempty"`
}

// Report is the whole outcome of one test-connection run.
type Report struct {
	Website     string `json:"website"`
	Environment string `json:"environment"`
	// CustomHost is the non-official host a test, demo or production connection goes
	// to (allow_custom_host 1); "" for the official host and the simulator.
	CustomHost string `json:"custom_host,omitempty"`
	APIURL     string `json:"api_url,omitempty"`
	APIVersion string `json:"api_version"`
	SellerNIP  string `json:"seller_nip,omitempty"`
	// AuthMethod is token or certificate; CredentialFingerprint identifies the token or
	// certificate tested.
	AuthMethod            string `json:"auth_method"`
	CredentialFingerprint string `json:"credential_fingerprint,omitempty"`
	TokenFingerprint      string `json:"token_fingerprint,omitempty"`
	TokenSource           string `json:"token_source,omitempty"`
	// Certificate describes the authentication certificate (auth_method certificate).
	Certificate     *CertificateSummary `json:"certificate,omitempty"`
	Success         bool                `json:"success"`
	Checks          []Check             `json:"checks"`
	Network         []HostReach         `json:"network,omitempty"`
	ClockSkewMillis *int64              `json:"clock_skew_ms,omitempty"`
	TestedAt        time.Time           `json:"tested_at"`
	// ReleasedJobs is how many AUTH_ERROR jobs went back to PENDING after this success.
	ReleasedJobs int `json:"released_jobs"`
}

// CertificateSummary names a certificate in reports, never its key.
type CertificateSummary struct {
	Serial      string    `json:"serial"`
	Fingerprint string    `json:"fingerprint"`
	Subject     string    `json:"subject"`
	Issuer      string    `json:"issuer"`
	NotBefore   time.Time `json:"not_before"`
	NotAfter    time.Time `json:"not_after"`
	DaysLeft    int       `json:"days_left"`
	Source      string    `json:"source"`
}

// FirstFailure returns the first failed check, if any.
func (r *Report) FirstFailure() (Check, bool) {
	for _, c := range r.Checks {
		if c.Status == Fail {
			return c, true
		}
	}
	return Check{}, false
}

// reason is the outcome reason to record.
func (r *Report) reason() string {
	c, failed := r.FirstFailure()
	switch {
	case !failed:
		return ""
	case c.tokenFailure:
		return ReasonTokenRejected
	case c.Class == failure.Invalid:
		return ReasonConfig
	case c.Class == failure.Unavailable:
		return ReasonUnavailable
	}
	return ReasonOther
}

// certSummary describes c at now (nil without a readable certificate).
func certSummary(c *website.Cert, now time.Time) *CertificateSummary {
	if c == nil || c.Certificate == nil || c.Certificate.Raw == nil {
		return nil
	}
	return &CertificateSummary{Serial: c.Serial, Fingerprint: c.Fingerprint, Subject: kcert.NameString(c.Certificate.Subject),
		Issuer: kcert.NameString(c.Certificate.Issuer), NotBefore: c.Certificate.NotBefore.UTC(), NotAfter: c.Certificate.NotAfter.UTC(),
		DaysLeft: c.DaysLeft(now), Source: c.Source}
}
