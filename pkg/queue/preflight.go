package queue

import (
	"context"
	"errors"
	"fmt"

	"github.com/ksefpl/ksefpl/pkg/store"
)

// authErrorDetail is the reason detail of a job held by the pre-flight.
const authErrorDetail = "the website's API token was refused by KSeF at the last authentication; fix the token " +
	"(ksefpl config:set ksefpl/connection/api_token -) and run ksefpl test-connection, which releases the job"

// preflight returns the reason detail to hold a new job of the website as AUTH_ERROR,
// or "" when it may be sent: a job is held when the website's newest authentication
// outcome is a failure because the token itself was refused.
func preflight(ctx context.Context, db *store.DB, websiteID int64) (string, error) {
	o, err := db.LastAuthOutcome(ctx, websiteID, "")
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("queue pre-flight: %w", err)
	}
	if !o.Success && o.Reason == reasonTokenRejected {
		return authErrorDetail, nil
	}
	return "", nil
}

// ReleaseAuthErrors moves every AUTH_ERROR job of the website back to PENDING, one
// audited transition each (reason AUTH_RELEASED), and returns how many it released.
// test-connection calls it after a successful run. A job another process moved first is
// skipped.
func ReleaseAuthErrors(ctx context.Context, db *store.DB, websiteID int64, actor string) (int, error) {
	jobs, err := db.Jobs(ctx, store.JobFilter{WebsiteID: websiteID, Statuses: []string{store.JobAuthError}})
	if err != nil {
		return 0, fmt.Errorf("release AUTH_ERROR jobs: %w", err)
	}
	n := 0
	for _, j := range jobs {
		_, err := db.UpdateJob(ctx, j.ID, []string{store.JobAuthError}, func(j *store.Job) error {
			j.Status, j.Reason, j.ReasonDetail = store.JobPending, ReasonAuthReleased, ""
			return nil
		}, store.AuditEntry{Event: store.EventTransition, Actor: actor, Reason: ReasonAuthReleased,
			Message: "the website's token authenticated successfully; the job will be sent"})
		switch {
		case errors.Is(err, store.ErrConflict):
			continue
		case err != nil:
			return n, fmt.Errorf("release job %d: %w", j.ID, err)
		}
		n++
	}
	return n, nil
}
