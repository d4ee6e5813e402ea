package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/ksefpl/ksefpl/pkg/config"
	"github.com/ksefpl/ksefpl/pkg/deps"
	"github.com/ksefpl/ksefpl/pkg/failure"
	"github.com/ksefpl/ksefpl/pkg/store"
	"github.com/ksefpl/ksefpl/pkg/website"
)

// Sites reads the receivers of one website (code) or of every website ("").
func Sites(ctx context.Context, d *deps.Deps, code string) ([]Site, error) {
	scopes, err := d.Config.WebsiteScopes(ctx, code)
	if err != nil {
		return nil, err
	}
	out := make([]Site, 0, len(scopes))
	for _, sc := range scopes {
		n, err := website.LoadNotify(ctx, d.Config, sc)
		if err != nil {
			return nil, fmt.Errorf("read the event receivers of website %s: %w", sc.WebsiteCode, err)
		}
		site := Site{WebsiteID: sc.WebsiteID, Code: sc.WebsiteCode, MaxAttempts: n.MaxAttempts,
			Receiver: Receiver{WebhookURL: n.WebhookURL, Secret: n.WebhookSecret, Command: n.Command}}
		switch {
		case n.SecretErr != nil:
			site.Err = fmt.Errorf("the webhook secret cannot be decrypted (%v): set it again with ksefpl config:set %s -", n.SecretErr, config.PathNotifySecret)
		case n.WebhookURL != "" && n.WebhookSecret == "":
			site.Err = fmt.Errorf("no webhook secret: events are signed, set one with printf '%%s' \"$SECRET\" | ksefpl config:set %s -", config.PathNotifySecret)
		}
		out = append(out, site)
	}
	return out, nil
}

// websiteID is the id of the website with this code, 0 for "" (every website).
func websiteID(ctx context.Context, d *deps.Deps, code string) (int64, error) {
	if code == "" {
		return 0, nil
	}
	sc, err := d.Config.WebsiteScope(ctx, code)
	return sc.WebsiteID, err
}

// NewSender is the sender of d's deployment.
func NewSender(d *deps.Deps) *Sender {
	return &Sender{Now: d.Now, UserAgent: "ksefpl/" + d.Version}
}

// Deliver delivers the due events of one website (code) or of every website ("").
func Deliver(ctx context.Context, d *deps.Deps, code string, o Options) (Report, error) {
	sites, err := Sites(ctx, d, code)
	if err != nil {
		return Report{}, err
	}
	dl := &Deliverer{DB: d.DB, Sender: NewSender(d), Now: d.Now, Holder: store.NewLeaseHolder()}
	return dl.Deliver(ctx, sites, o)
}

// TestResult is what notify:test learned from one website's receivers.
type TestResult struct {
	Website  string `json:"website"`
	EventID  string `json:"event_id"`
	Webhook  string `json:"webhook,omitempty"`
	Command  string `json:"command,omitempty"`
	Status   int    `json:"status,omitempty"`
	ExitCode int    `json:"exit_code"`
	Answer   string `json:"answer,omitempty"`
	OK       bool   `json:"ok"`
	Error    string `json:"error,omitempty"`
}

// ErrNotConfigured says a website has no receiver.
var ErrNotConfigured = fmt.Errorf("no receiver configured: set %s and %s, or %s", config.PathNotifyWebhookURL, config.PathNotifySecret, config.PathNotifyCommand)

// Test sends a signed test event (type "test", not stored) to the website's receivers
// and reports their answer.
func Test(ctx context.Context, d *deps.Deps, code string) (TestResult, error) {
	if code == "" {
		code = "base"
	}
	sites, err := Sites(ctx, d, code)
	if err != nil {
		return TestResult{}, err
	}
	s := sites[0]
	r := TestResult{Website: s.Code, Webhook: s.Receiver.WebhookURL, Command: s.Receiver.Command}
	if !s.Configured() {
		return r, fmt.Errorf("website %s: %w", s.Code, ErrNotConfigured)
	}
	if s.Err != nil {
		return r, fmt.Errorf("website %s: %w", s.Code, s.Err)
	}
	id, err := store.NewEventID()
	if err != nil {
		return r, err
	}
	r.EventID = id
	body, err := json.Marshal(store.EventPayload{ID: id, Type: store.EventTest, Website: s.Code,
		OccurredAt: d.Clock().UTC().Format(time.RFC3339), Message: "ksefpl notify:test"})
	if err != nil {
		return r, err
	}
	ans, err := NewSender(d).Send(ctx, s.Receiver, id, store.EventTest, body)
	r.Status, r.ExitCode, r.Answer = ans.Status, ans.ExitCode, ans.Body
	if err != nil {
		r.Error = err.Error()
		return r, nil
	}
	r.OK = true
	return r, nil
}

// FeedOptions select the events of the pull feed.
type FeedOptions struct {
	Website  string    // "" every website
	AfterSeq int64     // the cursor: events after this sequence number (needs Website)
	Since    time.Time // events that occurred at or after it
	Follow   bool      // keep waiting for new events until ctx ends
	Poll     time.Duration
}

// ErrCursorNeedsWebsite says --after was given without a website: sequences are per website.
var ErrCursorNeedsWebsite = failure.New(failure.Usage, fmt.Errorf("--after is a per-website cursor: give --website CODE too"))

// Feed calls emit with every selected event's payload, in order (by website, then
// sequence); with Follow it then waits for new ones, polling, until ctx ends.
func Feed(ctx context.Context, d *deps.Deps, o FeedOptions, emit func(ev *store.Event) error) error {
	if o.Website == "" && o.AfterSeq > 0 {
		return ErrCursorNeedsWebsite
	}
	id, err := websiteID(ctx, d, o.Website)
	if err != nil {
		return err
	}
	f := store.EventFilter{Since: o.Since, WebsiteID: id}
	f.AfterSeq = o.AfterSeq
	if o.Poll <= 0 {
		o.Poll = time.Second
	}
	last := map[int64]int64{} // website → last sequence emitted
	for {
		evs, err := d.DB.Events(ctx, f)
		if err != nil {
			return err
		}
		for _, ev := range evs {
			if ev.Seq <= last[ev.WebsiteID] {
				continue
			}
			if err := emit(ev); err != nil {
				return err
			}
			last[ev.WebsiteID] = ev.Seq
		}
		if !o.Follow {
			return nil
		}
		if f.WebsiteID != 0 {
			f.AfterSeq = max(f.AfterSeq, last[f.WebsiteID])
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(o.Poll):
		}
	}
}

// List returns the events of one website ("" all) in one delivery state ("" all).
func List(ctx context.Context, d *deps.Deps, website, delivery string) ([]*store.Event, error) {
	f := store.EventFilter{Delivery: delivery}
	switch delivery {
	case "", store.DeliveryPending, store.DeliveryDelivered, store.DeliveryDead:
	default:
		return nil, failure.New(failure.Usage, fmt.Errorf("unknown status %q: use pending, delivered or dead", delivery))
	}
	id, err := websiteID(ctx, d, website)
	if err != nil {
		return nil, err
	}
	f.WebsiteID = id
	return d.DB.Events(ctx, f)
}

// Retry puts events back to pending, due now: the given ids, or every dead event (of one
// website, or all). It returns how many changed.
func Retry(ctx context.Context, d *deps.Deps, ids []string, dead bool, website string) (int, error) {
	id, err := websiteID(ctx, d, website)
	if err != nil {
		return 0, err
	}
	if len(ids) > 0 {
		evs, err := d.DB.Events(ctx, store.EventFilter{IDs: ids})
		if err != nil {
			return 0, err
		}
		if len(evs) != len(ids) {
			known := map[string]bool{}
			for _, ev := range evs {
				known[ev.ID] = true
			}
			for _, id := range ids {
				if !known[id] {
					return 0, failure.New(failure.Invalid, fmt.Errorf("no event %s: see ksefpl notify:list", id))
				}
			}
		}
	}
	return d.DB.RetryEvents(ctx, ids, dead, id)
}
