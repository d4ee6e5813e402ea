package queue

import (
	"fmt"
	"strings"

	"github.com/ksefpl/ksefpl/pkg/failure"
)

// InvalidError reports a document that cannot be queued: every problem found, one per
// entry, naming the JSON field, XML element or configuration path to fix. Nothing was
// stored. It unwraps to the underlying fa error when there is one.
type InvalidError struct {
	// Subject names the document, e.g. "invoice input" or "XML INV-1".
	Subject  string
	Problems []string
	Err      error
}

// Error lists every problem, one per line, and what to do.
func (e *InvalidError) Error() string {
	var b strings.Builder
	if len(e.Problems) == 1 {
		fmt.Fprintf(&b, "cannot queue %s:", e.Subject)
	} else {
		fmt.Fprintf(&b, "cannot queue %s (%d problems):", e.Subject, len(e.Problems))
	}
	for _, p := range e.Problems {
		b.WriteString("\n  " + p)
	}
	b.WriteString("\nNothing was queued. Fix the input (see docs/invoice-json.md) or the configuration and queue it again.")
	return b.String()
}

// Unwrap returns the fa error behind the problems, if any.
func (e *InvalidError) Unwrap() error { return e.Err }

// StateError reports a job that is not in a state the operation allows: retrying a job
// that is not FAILED, or replacing a job that was already sent.
type StateError struct {
	JobID       int64
	IncrementID string
	Status      string
	Msg         string
}

// Error says why the job's state refuses the operation and what to do instead.
func (e *StateError) Error() string { return e.Msg }

// NotFoundError reports a job id or increment id with no job.
type NotFoundError struct{ Query string }

// Error names the query and where to find valid ids.
func (e *NotFoundError) Error() string {
	return fmt.Sprintf("no job %q: give a job id or an increment id as listed by ksefpl queue list", e.Query)
}

// Class is failure.Invalid: nothing was stored.
func (e *InvalidError) Class() failure.Class { return failure.Invalid }

// Class is failure.Invalid: the job's state refuses the operation.
func (e *StateError) Class() failure.Class { return failure.Invalid }

// Class is failure.Invalid: no such job.
func (e *NotFoundError) Class() failure.Class { return failure.Invalid }
