package status

import (
	"context"
	"fmt"
	"time"

	"github.com/ksefpl/ksefpl/pkg/availability"
	"github.com/ksefpl/ksefpl/pkg/deps"
	"github.com/ksefpl/ksefpl/pkg/offline"
	"github.com/ksefpl/ksefpl/pkg/store"
	"github.com/ksefpl/ksefpl/pkg/website"
)

// offlineJobs fills the website's offline documents not yet accepted, after reading
// Latarnia's announcements (best effort) so that their deadlines are current.
func offlineJobs(ctx context.Context, env *deps.Deps, s *website.Settings, out *Website) error {
	open := []string{store.JobPending, store.JobAuthError, store.JobSending, store.JobSubmitted, store.JobFailed}
	probe, err := env.DB.JobIDs(ctx, store.JobFilter{WebsiteID: s.WebsiteID, OfflineOnly: true, Statuses: open, Limit: 1})
	if err != nil || len(probe) == 0 {
		return err
	}
	st, err := availability.Read(ctx, env, s)
	if err != nil {
		return err
	}
	if st.Err != nil {
		out.Warnings = append(out.Warnings, "KSeF's status service (Latarnia) could not be read; the offline deadlines shown may not reflect a newly announced failure: "+st.Err.Error())
	}
	if _, err := availability.Redeadline(ctx, env, s, "status"); err != nil {
		return err
	}
	jobs, err := env.DB.Jobs(ctx, store.JobFilter{WebsiteID: s.WebsiteID, OfflineOnly: true, Statuses: open, ByDeadline: true})
	if err != nil {
		return err
	}
	now := env.Clock()
	for _, j := range jobs {
		oj := OfflineJob{JobID: j.ID, IncrementID: j.IncrementID, Status: j.Status, Mode: j.OfflineMode, IssueDate: j.IssueDate,
			Deadline: j.Deadline, Lifted: j.DeadlineLifted}
		if day, err := offline.ParseDay(j.Deadline); err == nil && !j.DeadlineLifted {
			d := offline.Deadline{Day: day}
			if left, ok := d.Remaining(now); ok {
				oj.SecondsLeft = int64(left / time.Second)
				oj.Missed = d.Missed(now)
				oj.DueSoon = !oj.Missed && left < DueSoon
			}
		}
		switch {
		case oj.Missed:
			out.Warnings = append(out.Warnings, fmt.Sprintf("offline %s %s (job %d, %s) missed its deadline %s: send it now (ksefpl submit --website %s)",
				j.EntityType, j.IncrementID, j.ID, j.Status, j.Deadline, s.WebsiteCode))
		case oj.DueSoon:
			out.Warnings = append(out.Warnings, fmt.Sprintf("offline %s %s (job %d, %s) must reach KSeF by the end of %s: less than %s left",
				j.EntityType, j.IncrementID, j.ID, j.Status, j.Deadline, DueSoon))
		}
		out.Offline = append(out.Offline, oj)
	}
	return nil
}
