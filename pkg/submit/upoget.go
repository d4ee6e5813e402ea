package submit

import (
	"context"
	"errors"
	"fmt"

	"github.com/ksefpl/ksefpl/pkg/deps"
	"github.com/ksefpl/ksefpl/pkg/failure"
	"github.com/ksefpl/ksefpl/pkg/ksef"
	"github.com/ksefpl/ksefpl/pkg/store"
)

// UPOSelector picks one UPO: a job's, an invoice's by KSeF number, or a session's.
type UPOSelector struct {
	JobID      int64
	KSeFNumber string
	Session    string
	// Actor is written into the audit rows of a download (default "upo:download").
	Actor string
}

// ErrNoUPO means there is no UPO to get yet (the document is not accepted, the session
// is not finished).
var ErrNoUPO = errors.New("no UPO yet")

// GetUPO returns the stored UPO, fetching and storing it from KSeF when it is not stored
// yet. For a session with several UPO pages it returns them all, in order.
func GetUPO(ctx context.Context, d *deps.Deps, sel UPOSelector) ([]*store.UPO, error) {
	env := newEnv(d, Options{RunSettings: RunSettings{Actor: sel.Actor}}, "upo:download")
	if sel.Session != "" {
		return sessionUPO(ctx, env, sel.Session)
	}
	var j *store.Job
	switch {
	case sel.JobID != 0:
		var err error
		if j, err = env.DB.JobByID(ctx, sel.JobID); err != nil {
			return nil, notFound(err)
		}
	case sel.KSeFNumber != "":
		jobs, err := env.DB.Jobs(ctx, store.JobFilter{KSeFNumber: sel.KSeFNumber})
		if err != nil {
			return nil, err
		}
		if len(jobs) == 0 {
			return nil, notFound(fmt.Errorf("no job has KSeF number %s: %w", sel.KSeFNumber, store.ErrNotFound))
		}
		j = jobs[0]
	default:
		return nil, errors.New("choose --job, --ksef-number or --session")
	}
	if have, err := env.DB.UPOs(ctx, store.UPOFilter{Kind: store.UPOInvoice, JobID: j.ID}); err != nil || len(have) > 0 {
		return have, err
	}
	if j.Status != store.JobAccepted {
		// Like a QR code for an unsent job: the request cannot be met as given (exit 3).
		return nil, failure.New(failure.Invalid, fmt.Errorf("job %d (%s) is %s: %w; run ksefpl submit", j.ID, j.IncrementID, j.Status, ErrNoUPO))
	}
	w, err := websiteFor(ctx, env, j.WebsiteID)
	if err != nil {
		return nil, err
	}
	tok, err := w.token(ctx)
	if err != nil {
		return nil, err
	}
	if err := w.storeInvoiceUPO(ctx, j, func() (*ksef.UPO, error) {
		return w.client.InvoiceUPOByKSeFNumber(ctx, tok, j.SessionReference, j.KSeFNumber)
	}); err != nil {
		return nil, err
	}
	return env.DB.UPOs(ctx, store.UPOFilter{Kind: store.UPOInvoice, JobID: j.ID})
}

// notFound gives a lookup that found nothing the class of a bad selector (invalid).
func notFound(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return failure.New(failure.Invalid, err)
	}
	return err
}

func sessionUPO(ctx context.Context, env env, ref string) ([]*store.UPO, error) {
	if have, err := env.DB.UPOs(ctx, store.UPOFilter{Kind: store.UPOSession, SessionReference: ref}); err != nil || len(have) > 0 {
		return have, err
	}
	s, err := env.DB.SessionByRef(ctx, ref)
	if err != nil {
		return nil, notFound(err)
	}
	w, err := websiteFor(ctx, env, s.WebsiteID)
	if err != nil {
		return nil, err
	}
	tok, err := w.token(ctx)
	if err != nil {
		return nil, err
	}
	st, err := w.client.SessionStatus(ctx, tok, ref)
	if err != nil {
		return nil, err
	}
	if !st.Succeeded() {
		return nil, failure.New(failure.Invalid, fmt.Errorf("session %s has KSeF status %d %s: %w; wait until it is processed", ref, st.Status.Code, st.Status.Description, ErrNoUPO))
	}
	if _, err := w.storeSessionUPO(ctx, s, st); err != nil {
		return nil, err
	}
	return env.DB.UPOs(ctx, store.UPOFilter{Kind: store.UPOSession, SessionReference: ref})
}

// websiteFor prepares a websiteRun (settings and client) for one-off calls.
func websiteFor(ctx context.Context, env env, websiteID int64) (*websiteRun, error) {
	wb, err := env.DB.WebsiteByID(ctx, websiteID)
	if err != nil {
		return nil, err
	}
	sc, err := env.Config.WebsiteScope(ctx, wb.Code)
	if err != nil {
		return nil, err
	}
	s, err := env.Website(ctx, sc)
	if err != nil {
		return nil, err
	}
	if s.TokenErr != nil {
		return nil, s.TokenErr
	}
	client, err := s.Client(clientOptions(env))
	if err != nil {
		return nil, err
	}
	return &websiteRun{env: env, s: s, client: client, res: &WebsiteResult{Website: wb.Code}, own: map[string]bool{}, owned: map[string]bool{}}, nil
}
