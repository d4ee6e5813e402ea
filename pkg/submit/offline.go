package submit

import (
	"context"
	"fmt"

	"github.com/ksefpl/ksefpl/pkg/availability"
	"github.com/ksefpl/ksefpl/pkg/offline"
	"github.com/ksefpl/ksefpl/pkg/store"
)

// followOfflineDeadlines, when the website has offline documents KSeF has not accepted
// yet, reads Latarnia's announcements (kept in the store) and recomputes their deadlines:
// a failure announced meanwhile moves them, a total failure lifts the duty to send. Each
// change is audited and reported in the run's warnings. Latarnia being unreachable only
// leaves the deadlines as they are.
func (w *websiteRun) followOfflineDeadlines(ctx context.Context) error {
	open, err := w.env.DB.JobIDs(ctx, store.JobFilter{WebsiteID: w.s.WebsiteID, OfflineOnly: true, Limit: 1,
		Statuses: []string{store.JobPending, store.JobAuthError, store.JobSending, store.JobSubmitted, store.JobFailed}})
	if err != nil || len(open) == 0 {
		return err
	}
	st, err := availability.Read(ctx, w.env.Deps, w.s)
	if err != nil {
		return err
	}
	if st.Err != nil {
		w.warnOnce("latarnia", "KSeF's status service (Latarnia) could not be read, so offline deadlines were not rechecked: "+st.Err.Error())
	}
	changed, err := availability.Redeadline(ctx, w.env.Deps, w.s, w.env.Actor)
	for _, j := range changed {
		w.res.Warnings = append(w.res.Warnings, fmt.Sprintf("offline %s %s: deadline now %s", j.EntityType, j.IncrementID, offline.DescribeStored(j.Deadline, j.DeadlineLifted)))
	}
	return err
}
