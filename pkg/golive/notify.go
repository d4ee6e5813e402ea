package golive

import (
	"context"
	"fmt"

	"github.com/ksefpl/ksefpl/pkg/conncheck"
	"github.com/ksefpl/ksefpl/pkg/failure"
	"github.com/ksefpl/ksefpl/pkg/notify"
	"github.com/ksefpl/ksefpl/pkg/store"
)

// notified checks that the test invoice's ACCEPTED event reached the shop's receiver and
// was acknowledged (2xx, or exit 0). The submit run delivered it already when the
// receiver answered; otherwise one more attempt is made now, ignoring the backoff.
func (g *runner) notified(ctx context.Context, jobID int64) (Check, error) {
	find := func() (*store.Event, error) {
		evs, err := g.env.DB.Events(ctx, store.EventFilter{JobID: jobID, Type: store.EventAccepted})
		if err != nil || len(evs) == 0 {
			return nil, err
		}
		return evs[0], nil
	}
	ev, err := find()
	if err != nil {
		return Check{}, err
	}
	hint := "ksefpl notify:test" + scopeFlag(g.s.WebsiteCode) + " shows the receiver's answer; ksefpl notify:list" + scopeFlag(g.s.WebsiteCode)
	if ev == nil {
		return Check{Status: conncheck.Fail, Class: failure.Unknown, Detail: fmt.Sprintf("job %d is ACCEPTED but no job.accepted event was written", jobID),
			Hint: "report this as a bug with the output of ksefpl audit --job " + fmt.Sprint(jobID)}, nil
	}
	if ev.Delivery == store.DeliveryPending {
		if _, err := notify.Deliver(ctx, g.env, g.s.WebsiteCode, notify.Options{Force: true}); err != nil {
			return Check{}, err
		}
		if ev, err = find(); err != nil {
			return Check{}, err
		}
	}
	if ev.Delivery != store.DeliveryDelivered {
		return Check{Status: conncheck.Fail, Class: failure.Unavailable,
			Detail: fmt.Sprintf("event %s (job.accepted of job %d) is %s after %d attempt(s): %s", ev.ID, jobID, ev.Delivery, ev.Attempts, ev.LastError),
			Hint:   hint}, nil
	}
	return Check{Detail: fmt.Sprintf("event %s (job.accepted, KSeF number %s) acknowledged by the receiver after %d attempt(s)",
		ev.ID, g.r.KSeFNumber, ev.Attempts)}, nil
}
