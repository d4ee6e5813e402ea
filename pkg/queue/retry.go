package queue

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/ksefpl/ksefpl/pkg/store"
)

// RetrySelection chooses the jobs to retry: the listed IDs (each must be FAILED), and
// with Failed every FAILED job (of WebsiteID, or of all websites when it is 0).
type RetrySelection struct {
	IDs       []int64
	Failed    bool
	WebsiteID int64
}

// Retry moves FAILED jobs back to PENDING (reason RETRY, one audit row each). A frozen
// job keeps its bytes: the resend never rebuilds them. Every requested ID is checked
// before anything changes: an unknown ID is a *NotFoundError and a job that is not
// FAILED, or failed as a DUPLICATE (KSeF holds the invoice already; see Resolve), a
// *StateError, and then no job is touched. Failed selects every FAILED job except the
// duplicates. It returns the retried jobs.
func Retry(ctx context.Context, db *store.DB, sel RetrySelection, actor string) ([]*store.Job, error) {
	if len(sel.IDs) == 0 && !sel.Failed {
		return nil, errors.New("nothing to retry: give job ids or select every FAILED job with --failed")
	}
	var ids []int64
	seen := map[int64]bool{}
	if len(sel.IDs) > 0 {
		jobs, err := db.Jobs(ctx, store.JobFilter{IDs: sel.IDs})
		if err != nil {
			return nil, fmt.Errorf("look up jobs to retry: %w", err)
		}
		byID := map[int64]*store.Job{}
		for _, j := range jobs {
			byID[j.ID] = j
		}
		var bad []string
		var first *store.Job
		for _, id := range sel.IDs {
			j, ok := byID[id]
			if !ok {
				return nil, &NotFoundError{Query: fmt.Sprint(id)}
			}
			if why := unretryable(j); why != "" {
				bad = append(bad, why)
				if first == nil {
					first = j
				}
				continue
			}
			if !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
		if len(bad) > 0 {
			return nil, &StateError{JobID: first.ID, IncrementID: first.IncrementID, Status: first.Status, Msg: "only FAILED jobs can be retried: " +
				strings.Join(bad, "; ") + "; nothing was retried (see ksefpl queue show ID)"}
		}
	}
	if sel.Failed {
		jobs, err := db.Jobs(ctx, store.JobFilter{WebsiteID: sel.WebsiteID, Statuses: []string{store.JobFailed}})
		if err != nil {
			return nil, fmt.Errorf("list FAILED jobs: %w", err)
		}
		for _, j := range jobs {
			if j.Reason == ReasonDuplicate {
				continue // KSeF holds it already: queue resolve, never a resend
			}
			if !seen[j.ID] {
				seen[j.ID] = true
				ids = append(ids, j.ID)
			}
		}
	}
	sort.Slice(ids, func(a, b int) bool { return ids[a] < ids[b] })
	out := make([]*store.Job, 0, len(ids))
	for _, id := range ids {
		j, err := db.UpdateJob(ctx, id, []string{store.JobFailed}, func(j *store.Job) error {
			j.Status, j.Reason, j.ReasonDetail = store.JobPending, ReasonRetry, ""
			return nil
		}, store.AuditEntry{Event: store.EventTransition, Actor: actor, Reason: ReasonRetry, Message: retryMessage(id)})
		if err != nil {
			return out, fmt.Errorf("retry job %d (%d of %d retried): %w", id, len(out), len(ids), err)
		}
		out = append(out, j)
	}
	return out, nil
}

// unretryable says why j cannot be retried ("" when it can): it is not FAILED, or it
// failed as a DUPLICATE, which KSeF refuses again on every resend.
func unretryable(j *store.Job) string {
	switch {
	case j.Status != store.JobFailed:
		return fmt.Sprintf("job %d (%s %s) is %s", j.ID, j.EntityType, j.IncrementID, j.Status)
	case j.Reason == ReasonDuplicate:
		return fmt.Sprintf("job %d (%s %s) is a DUPLICATE: KSeF already holds an invoice with this number from this seller "+
			"and refuses every resend; record the KSeF number it reported with ksefpl queue resolve %d --ksef-number NUMBER",
			j.ID, j.EntityType, j.IncrementID, j.ID)
	}
	return ""
}

// UnresolvedDuplicates lists the FAILED jobs KSeF refused as duplicates (of websiteID,
// or of every website when it is 0): Retry leaves them alone, Resolve records their
// KSeF numbers.
func UnresolvedDuplicates(ctx context.Context, db *store.DB, websiteID int64) ([]*store.Job, error) {
	jobs, err := db.Jobs(ctx, store.JobFilter{WebsiteID: websiteID, Statuses: []string{store.JobFailed}})
	if err != nil {
		return nil, fmt.Errorf("list FAILED jobs: %w", err)
	}
	var out []*store.Job
	for _, j := range jobs {
		if j.Reason == ReasonDuplicate {
			out = append(out, j)
		}
	}
	return out, nil
}

func retryMessage(id int64) string {
	return fmt.Sprintf("job %d queued again by an operator; frozen bytes, if any, are resent unchanged", id)
}
