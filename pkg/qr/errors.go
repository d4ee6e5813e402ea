package qr

import (
	"fmt"

	"github.com/ksefpl/ksefpl/pkg/failure"
)

// InputError reports a value the link or image cannot be built from (a bad NIP, date,
// hash, base URL, size or invoice XML). Callers treat it as invalid input.
type InputError struct {
	Field string
	Msg   string
	Err   error
}

// Error names the field and what is wrong with it.
func (e *InputError) Error() string { return e.Field + ": " + e.Msg }

// Unwrap returns the underlying error, if any.
func (e *InputError) Unwrap() error { return e.Err }

// NotFrozenError reports a job whose XML is not frozen yet: there are no exact bytes to
// hash, so there can be no link.
type NotFrozenError struct {
	JobID       int64
	IncrementID string
	Status      string
}

// Error says why there is no link and what to do.
func (e *NotFrozenError) Error() string {
	return fmt.Sprintf("job %d (%s) is %s and its XML is not frozen yet: the verification link hashes the exact bytes "+
		"sent to KSeF; run ksefpl submit first (or wait for the next run), then ask again", e.JobID, e.IncrementID, e.Status)
}

// NotFoundError reports a selector that matched no job.
type NotFoundError struct{ Query string }

// Error names the query and where to look.
func (e *NotFoundError) Error() string {
	return fmt.Sprintf("no queued job with %s: list jobs with ksefpl queue list", e.Query)
}

// AmbiguousError reports a KSeF number held by jobs of more than one website.
type AmbiguousError struct {
	KSeFNumber string
	JobIDs     []int64
}

// Error lists the jobs and how to pick one.
func (e *AmbiguousError) Error() string {
	return fmt.Sprintf("KSeF number %s belongs to jobs %v: pick one with --job, or narrow with --website", e.KSeFNumber, e.JobIDs)
}

// WebsiteMismatchError reports a job that belongs to another website than the one asked for.
type WebsiteMismatchError struct {
	JobID   int64
	Website string // the job's website
	Asked   string
}

// Error names both websites.
func (e *WebsiteMismatchError) Error() string {
	return fmt.Sprintf("job %d belongs to website %q, not %q: drop --website or give the job's website", e.JobID, e.Website, e.Asked)
}

// HashMismatchError reports frozen bytes whose SHA-256 differs from the hash recorded
// when they were frozen: the stored XML was changed or damaged.
type HashMismatchError struct {
	JobID    int64
	Recorded string
	Actual   string
}

// Error gives both hashes and says not to publish a link.
func (e *HashMismatchError) Error() string {
	return fmt.Sprintf("job %d: the frozen XML hashes to %s but %s was recorded when it was frozen; the stored bytes "+
		"were changed, so no link is built (restore the database from a backup or check ksefpl audit --job %d)",
		e.JobID, e.Actual, e.Recorded, e.JobID)
}

// Class is failure.Invalid.
func (e *InputError) Class() failure.Class { return failure.Invalid }

// Class is failure.Invalid: the job has no frozen bytes yet.
func (e *NotFrozenError) Class() failure.Class { return failure.Invalid }

// Class is failure.Invalid.
func (e *NotFoundError) Class() failure.Class { return failure.Invalid }

// Class is failure.Invalid.
func (e *AmbiguousError) Class() failure.Class { return failure.Invalid }

// Class is failure.Invalid.
func (e *WebsiteMismatchError) Class() failure.Class { return failure.Invalid }

// Class is failure.Invalid: no link is built from changed bytes.
func (e *HashMismatchError) Class() failure.Class { return failure.Invalid }
