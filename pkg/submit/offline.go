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
	if err != nil {
		return err
	}
	return w.warnNearDeadlines(ctx)
}

// ReasonDeadlineNear is the audit reason of an offline document whose deadline is less
// than offline.DueSoon away.
const ReasonDeadlineNear = "DEADLINE_NEAR"

// warnNearDeadlines tells the shop, once per document (an offline.deadline_near event),
// that an offline document not yet in KSeF is close to its deadline.
func (w *websiteRun) warnNearDeadlines(ctx context.Context) error {
	jobs, err := w.env.DB.Jobs(ctx, store.JobFilter{WebsiteID: w.s.WebsiteID, OfflineOnly: true,
		Statuses: []string{store.JobPending, store.JobAuthError, store.JobSending, store.JobSubmitted, store.JobFailed}})
	if err != nil {
		return err
	}
	now := w.env.Clock()
	for _, j := range jobs {
		day, err := offline.ParseDay(j.Deadline)
		if err != nil || j.DeadlineLifted {
			continue
		}
		left, ok := offline.Deadline{Day: day}.Remaining(now)
		if !ok || left >= offline.DueSoon {
			continue
		}
		seen, err := w.env.DB.HasEvent(ctx, j.ID, store.EventDeadlineNear)
		if err != nil {
			return err
		}
		if seen {
			continue
		}
		if err := w.env.DB.AppendAudit(ctx, store.AuditEntry{Event: store.EventWarning, WebsiteID: j.WebsiteID, JobID: j.ID,
			Actor: w.env.Actor, Reason: ReasonDeadlineNear, Notify: store.EventDeadlineNear, ToStatus: j.Status,
			Message: fmt.Sprintf("offline %s %s must reach KSeF by the end of %s", j.EntityType, j.IncrementID, j.Deadline)}); err != nil {
			return err
		}
	}
	return nil
}
