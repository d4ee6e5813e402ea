package submit

import (
	"context"
	"sync"

	"github.com/ksefpl/ksefpl/pkg/ksef"
	"github.com/ksefpl/ksefpl/pkg/store"
)

// ReasonSystemWarning is the audit reason of an X-System-Warning KSeF sent.
const ReasonSystemWarning = "KSEF_SYSTEM_WARNING"

// systemWarnings records the X-System-Warning headers KSeF sends during a website's
// run: each distinct warning (by code and message) once, as an audit warning row at once
// and in the run's warnings at its end. The client may call add from several goroutines
// (batch part uploads).
type systemWarnings struct {
	ctx       context.Context
	env       env
	websiteID int64

	mu   sync.Mutex
	seen map[string]bool
	msgs []string
}

func (r *systemWarnings) add(w ksef.SystemWarning) {
	r.mu.Lock()
	if r.seen[w.Key()] {
		r.mu.Unlock()
		return
	}
	r.seen[w.Key()] = true
	r.msgs = append(r.msgs, w.String())
	r.mu.Unlock()
	// Best effort: the warning is in the run's output even if the row cannot be written.
	_ = r.env.DB.AppendAudit(r.ctx, store.AuditEntry{WebsiteID: r.websiteID, Event: store.EventWarning, Actor: r.env.Actor,
		Reason: ReasonSystemWarning, Message: w.String()})
}

// drain returns the warnings recorded so far and forgets them (not their keys).
func (r *systemWarnings) drain() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.msgs
	r.msgs = nil
	return out
}
