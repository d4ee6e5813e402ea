package submit

import (
	"time"

	"github.com/ksefpl/ksefpl/pkg/notify"

	"github.com/ksefpl/ksefpl/pkg/failure"
)

// Result is the summary of a run.
type Result struct {
	Websites []WebsiteResult `json:"websites"`
	Sent     int             `json:"sent"`
	Accepted int             `json:"accepted"`
	Failed   int             `json:"failed"`
	Waiting  int             `json:"waiting"`
	Warnings []string        `json:"warnings,omitempty"`
	// RateLimitWait is how long the run waited to stay within KSeF's rate limits.
	RateLimitWait time.Duration `json:"rate_limit_wait_ns"`
	// Notify is what the delivery of job events to the shop did at the end of the run
	// (nil when no website has a receiver).
	Notify *notify.Report `json:"notify,omitempty"`
}

// WebsiteResult is what a run did for one website.
type WebsiteResult struct {
	Website string `json:"website"`
	// Skipped says why nothing was done (not configured, lease held).
	Skipped string `json:"skipped,omitempty"`
	// Error is the failure that stopped the website's processing, if any.
	Error string `json:"error,omitempty"`
	// Class is the failure class of Error: auth, unavailable, rejected, invalid, unknown.
	Class    failure.Class `json:"error_class,omitempty"`
	Sent     int           `json:"sent"`
	Accepted int           `json:"accepted"`
	Failed   int           `json:"failed"`
	Waiting  int           `json:"waiting"`
	Sessions []string      `json:"sessions,omitempty"`
	Warnings []string      `json:"warnings,omitempty"`
	// FailedJobs lists the jobs that failed in this run.
	FailedJobs []int64 `json:"failed_jobs,omitempty"`
}

func (r *Result) add(w WebsiteResult) {
	r.Websites = append(r.Websites, w)
	r.Sent += w.Sent
	r.Accepted += w.Accepted
	r.Failed += w.Failed
	r.Waiting += w.Waiting
	r.Warnings = append(r.Warnings, w.Warnings...)
}

// FirstErrorClass returns the class of the first website error (failure.None when none).
func (r *Result) FirstErrorClass() failure.Class {
	for _, w := range r.Websites {
		if w.Error != "" {
			return w.Class
		}
	}
	return failure.None
}

func (w *WebsiteResult) fail(err error) {
	w.Error = err.Error()
	w.Class = failure.Of(err)
}
