package notify

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/ksefpl/ksefpl/pkg/store"
)

// Backoff bounds: the first retry after FirstRetry, doubling, never more than MaxRetry apart.
const (
	FirstRetry = time.Minute
	MaxRetry   = time.Hour
)

// Backoff is the wait before attempt n+1 after n failed attempts (n ≥ 1).
func Backoff(n int) time.Duration {
	d := FirstRetry
	for i := 1; i < n && d < MaxRetry; i++ {
		d *= 2
	}
	return min(d, MaxRetry)
}

// Site is one website's receivers, as configured.
type Site struct {
	WebsiteID   int64
	Code        string
	Receiver    Receiver
	MaxAttempts int
	// Err is why the receivers cannot be used now (e.g. the webhook secret cannot be
	// decrypted): its events wait.
	Err error
}

// Configured reports whether the site has a receiver.
func (s Site) Configured() bool { return s.Receiver.WebhookURL != "" || s.Receiver.Command != "" }

// Deliverer delivers the outbox's due events.
type Deliverer struct {
	DB     *store.DB
	Sender *Sender
	// Now is the clock of due times and backoff; nil is time.Now.
	Now func() time.Time
	// Holder names this process in the per-website delivery lease.
	Holder string
}

// Options bound one Deliver call.
type Options struct {
	// Until stops delivering once passed (zero: no bound).
	Until time.Time
	// Force attempts pending events now, ignoring their backoff (an operator who fixed
	// the receiver).
	Force bool
}

// Failure is one failed attempt.
type Failure struct {
	EventID  string `json:"event_id"`
	Type     string `json:"type"`
	Website  string `json:"website"`
	Attempts int    `json:"attempts"`
	Dead     bool   `json:"dead"`
	Error    string `json:"error"`
}

// Report says what one Deliver call did.
type Report struct {
	// Websites is how many websites have a receiver.
	Websites  int       `json:"websites"`
	Delivered int       `json:"delivered"`
	Failed    int       `json:"failed"`  // attempts that failed and will be retried
	Dead      int       `json:"dead"`    // events parked as dead by this call
	Waiting   int       `json:"waiting"` // websites whose next event waits for its backoff
	Failures  []Failure `json:"failures"`
	// Skipped lists websites not delivered to, with why (another process delivers, or
	// their receivers cannot be used).
	Skipped []string `json:"skipped"`
}

func (d *Deliverer) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

// leaseTTL covers one delivery (the command's 30 s at most) with room to spare; the lease
// is renewed before each event.
const leaseTTL = 2 * time.Minute

// batch is how many events are read at a time.
const batch = 200

// Deliver sends each configured site's pending events in sequence order. An event that
// fails holds back the later events of its website (their order must not contradict the
// jobs' history) until it is delivered, or parked as dead after MaxAttempts. Each attempt
// is recorded before the call (a process killed during it leaves the event due again
// after its backoff) and after it.
func (d *Deliverer) Deliver(ctx context.Context, sites []Site, o Options) (Report, error) {
	r := Report{Failures: []Failure{}, Skipped: []string{}}
	for _, s := range sites {
		if !s.Configured() {
			continue
		}
		r.Websites++
		if s.Err != nil {
			r.Skipped = append(r.Skipped, fmt.Sprintf("%s: %v", s.Code, s.Err))
			continue
		}
		if err := d.site(ctx, s, o, &r); err != nil {
			return r, err
		}
		if d.expired(o) {
			break
		}
	}
	return r, nil
}

func (d *Deliverer) expired(o Options) bool { return !o.Until.IsZero() && !d.now().Before(o.Until) }

func (d *Deliverer) site(ctx context.Context, s Site, o Options, r *Report) error {
	lease := "notify:" + strconv.FormatInt(s.WebsiteID, 10)
	defer func() { _ = d.DB.ReleaseLease(context.WithoutCancel(ctx), lease, d.Holder) }()
	maxAttempts := s.MaxAttempts
	if maxAttempts < 1 {
		maxAttempts = 50
	}
	for {
		evs, err := d.DB.Events(ctx, store.EventFilter{WebsiteID: s.WebsiteID, Delivery: store.DeliveryPending, Limit: batch})
		if err != nil || len(evs) == 0 {
			return err
		}
		for _, ev := range evs {
			if err := ctx.Err(); err != nil {
				return err
			}
			if d.expired(o) {
				return nil
			}
			now := d.now()
			if !o.Force && ev.NextAttemptAt.After(now) {
				r.Waiting++
				return nil
			}
			var held *store.LeaseHeldError
			switch _, err := d.DB.AcquireOrTakeOver(ctx, lease, d.Holder, leaseTTL); {
			case errors.As(err, &held):
				r.Skipped = append(r.Skipped, fmt.Sprintf("%s: another process is delivering its events (%s)", s.Code, held.Holder))
				return nil
			case err != nil:
				return err
			}
			started, err := d.DB.StartDelivery(ctx, ev.ID, now.Add(Backoff(ev.Attempts+1)))
			if errors.Is(err, store.ErrEventNotPending) {
				continue // delivered or parked by another process meanwhile
			}
			if err != nil {
				return err
			}
			_, sendErr := d.Sender.Send(ctx, s.Receiver, ev.ID, ev.Type, ev.Payload)
			if sendErr == nil {
				if err := d.DB.FinishDelivery(context.WithoutCancel(ctx), ev.ID, "", false); err != nil {
					return err
				}
				r.Delivered++
				continue
			}
			if ctx.Err() != nil {
				// Interrupted, not refused: the attempt stays counted, the event due later.
				return ctx.Err()
			}
			dead := started.Attempts >= maxAttempts
			if err := d.DB.FinishDelivery(ctx, ev.ID, sendErr.Error(), dead); err != nil {
				return err
			}
			r.Failures = append(r.Failures, Failure{EventID: ev.ID, Type: ev.Type, Website: s.Code,
				Attempts: started.Attempts, Dead: dead, Error: sendErr.Error()})
			if !dead {
				r.Failed++
				return nil
			}
			r.Dead++
		}
		if len(evs) < batch {
			return nil
		}
	}
}
