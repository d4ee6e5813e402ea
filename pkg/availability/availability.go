// Package availability owns what ksefpl knows of KSeF's availability: it reads Latarnia
// (KSeF's status service), keeps its announcements in the store, turns them into the
// events offline deadlines depend on, recomputes the deadlines of open offline jobs when
// new announcements arrive, and picks the offline mode a document issued now should use.
package availability

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ksefpl/ksefpl/pkg/deps"
	"github.com/ksefpl/ksefpl/pkg/ksef"
	"github.com/ksefpl/ksefpl/pkg/offline"
	"github.com/ksefpl/ksefpl/pkg/store"
	"github.com/ksefpl/ksefpl/pkg/website"
)

// ReadTimeout bounds one Latarnia read: it is advisory, so a slow status service never
// holds up a queue or a status call for long.
const ReadTimeout = 5 * time.Second

// ReasonDeadline is the audit reason of a recomputed offline deadline.
const ReasonDeadline = "OFFLINE_DEADLINE"

// Status is what Latarnia said, or why it could not be read.
type Status struct {
	// Status is AVAILABLE, MAINTENANCE, FAILURE or TOTAL_FAILURE ("" when unread).
	Status string
	// Err is why Latarnia could not be read (nil when it was).
	Err error
	// New is how many announcements were not known before.
	New int
}

// Read asks Latarnia for the environment's status and announcements and keeps the
// announcements in the store. A Latarnia that cannot be reached is reported in
// Status.Err, not as an error: the error return is for the store.
func Read(ctx context.Context, d *deps.Deps, s *website.Settings) (Status, error) {
	client, err := s.Client(d.ClientOptions())
	if err != nil {
		return Status{Err: err}, nil
	}
	ctx, cancel := context.WithTimeout(ctx, ReadTimeout)
	defer cancel()
	st, err := client.Latarnia().Status(ctx)
	if err != nil {
		return Status{Err: err}, nil
	}
	out := Status{Status: strings.ToUpper(st.Status)}
	msgs := st.Messages
	if more, err := client.Latarnia().Messages(ctx); err == nil {
		msgs = append(msgs, more...)
	}
	rows := make([]store.LatarniaMessage, 0, len(msgs))
	for _, m := range msgs {
		if m.ID == "" {
			continue
		}
		rows = append(rows, store.LatarniaMessage{Environment: s.EnvironmentName, ID: m.ID, Version: m.Version, EventID: m.EventID,
			Category: m.Category, Type: m.Type, Title: m.Title, Text: m.Text, Start: m.Start, End: m.End, Published: m.Published})
	}
	if out.New, err = d.DB.RecordLatarniaMessages(context.WithoutCancel(ctx), rows); err != nil {
		return out, err
	}
	return out, nil
}

// Events are the failure, maintenance and total-failure events of the environment's
// kept announcements.
func Events(ctx context.Context, db *store.DB, environment string) ([]offline.Event, error) {
	rows, err := db.LatarniaMessages(ctx, environment)
	if err != nil {
		return nil, err
	}
	msgs := make([]offline.Message, 0, len(rows))
	for _, r := range rows {
		msgs = append(msgs, offline.Message{ID: r.ID, EventID: r.EventID, Category: r.Category, Type: r.Type,
			Start: r.Start, End: r.End, Published: r.Published, Version: r.Version})
	}
	return offline.EventsFromMessages(msgs), nil
}

// ModeFor picks the offline mode for a document issued now from what Latarnia said: a
// failure → awaryjny, a total failure → awaryjny with the duty to send lifted, a
// maintenance → offline, KSeF unreachable → offline24; "" when KSeF is available. why
// says which, for the audit row and the operator.
func ModeFor(st Status) (mode offline.Mode, lifted bool, why string) {
	switch {
	case st.Err != nil:
		return offline.Offline24, false, "KSeF's status service could not be reached (" + st.Err.Error() + ")"
	case st.Status == ksef.LatarniaFailure:
		return offline.Emergency, false, "Latarnia announces a KSeF failure"
	case st.Status == ksef.LatarniaTotalFailure:
		return offline.Emergency, true, "Latarnia announces a total KSeF failure (no duty to send)"
	case st.Status == ksef.LatarniaMaintenance:
		return offline.Unavailable, false, "Latarnia announces a KSeF maintenance"
	}
	return "", false, ""
}

// Deadline computes an offline document's deadline from the environment's kept
// announcements.
func Deadline(ctx context.Context, db *store.DB, environment string, mode offline.Mode, issueDate string) (offline.Deadline, error) {
	day, err := offline.ParseDay(issueDate)
	if err != nil {
		return offline.Deadline{}, fmt.Errorf("issue date of an offline document: %w", err)
	}
	events, err := Events(ctx, db, environment)
	if err != nil {
		return offline.Deadline{}, err
	}
	return offline.Compute(mode, day, events), nil
}

// Redeadline recomputes the deadline of every offline job of the website not yet
// ACCEPTED from the kept announcements, and records each change (one audit row each).
// It returns the jobs whose deadline changed.
func Redeadline(ctx context.Context, d *deps.Deps, s *website.Settings, actor string) ([]*store.Job, error) {
	events, err := Events(ctx, d.DB, s.EnvironmentName)
	if err != nil {
		return nil, err
	}
	jobs, err := d.DB.Jobs(ctx, store.JobFilter{WebsiteID: s.WebsiteID, OfflineOnly: true,
		Statuses: []string{store.JobPending, store.JobAuthError, store.JobSending, store.JobSubmitted, store.JobFailed}})
	if err != nil {
		return nil, err
	}
	var changed []*store.Job
	for _, j := range jobs {
		if j.DeadlineLifted {
			continue // a total failure lifted the duty; nothing reinstates it
		}
		mode, err := offline.ParseMode(j.OfflineMode)
		if err != nil {
			continue
		}
		day, err := offline.ParseDay(j.IssueDate)
		if err != nil {
			continue
		}
		dl := offline.Compute(mode, day, events)
		if dl.Date() == j.Deadline && dl.Lifted == j.DeadlineLifted {
			continue
		}
		nj, err := d.DB.UpdateJob(ctx, j.ID, nil, func(x *store.Job) error {
			x.Deadline, x.DeadlineLifted = dl.Date(), dl.Lifted
			return nil
		}, store.AuditEntry{Event: store.EventWarning, Actor: actor, Reason: ReasonDeadline, Notify: store.EventDeadline,
			Message: fmt.Sprintf("offline deadline of %s %s now %s (was %s)", j.EntityType, j.IncrementID, dl, orOpen(j.Deadline))})
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		if err != nil {
			return changed, err
		}
		changed = append(changed, nj)
	}
	return changed, nil
}

func orOpen(day string) string {
	if day == "" {
		return "open"
	}
	return day
}
