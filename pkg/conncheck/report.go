// Package conncheck owns test-connection: the ordered checks that tell an operator
// whether a website can talk to KSeF (configuration, token, NIP, network reach, Latarnia,
// public keys, full authentication, clock skew), each with its timing and, on failure,
// what to do; and the recording of the outcome that the queue's pre-flight reads.
package conncheck

import (
	"time"

	"github.com/ksefpl/ksefpl/pkg/failure"
)

// Status of one check.
type Status string

// Check statuses.
const (
	Pass Status = "pass"
	Fail Status = "fail"
	Skip Status = "skip"
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
	Website          string      `json:"website"`
	Environment      string      `json:"environment"`
	APIURL           string      `json:"api_url,omitempty"`
	APIVersion       string      `json:"api_version"`
	SellerNIP        string      `json:"seller_nip,omitempty"`
	TokenFingerprint string      `json:"token_fingerprint,omitempty"`
	TokenSource      string      `json:"token_source,omitempty"`
	Success          bool        `json:"success"`
	Checks           []Check     `json:"checks"`
	Network          []HostReach `json:"network,omitempty"`
	ClockSkewMillis  *int64      `json:"clock_skew_ms,omitempty"`
	TestedAt         time.Time   `json:"tested_at"`
	// ReleasedJobs is how many AUTH_ERROR jobs went back to PENDING after this success.
	ReleasedJobs int `json:"released_jobs"`
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
