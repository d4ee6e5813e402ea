package submit

import (
	"context"
	"errors"
	"fmt"

	"github.com/ksefpl/ksefpl/pkg/ksef"
	"github.com/ksefpl/ksefpl/pkg/store"
)

// openedBy introduces, in a session's OPENED audit row, the process that opened it
// ("node|pid|nonce"), so that the audit log tells which server sent what.
const openedBy = "opened by"

// errSessionGone means the session stopped taking invoices; the job is PENDING again.
var errSessionGone = errors.New("session gone")

// errStopSending ends the sending phase for this website (KSeF unstable, rate limited).
var errStopSending = errors.New("stop sending")

// sender holds the online sessions this run sends into, one per form code, and how many
// invoices each has taken.
type sender struct {
	sessions map[string]*ksef.OnlineSession
	sent     map[string]int
}

// send claims and sends the website's PENDING jobs — through online sessions, or batch
// sessions when the mode (or, in auto mode, the backlog) says so. Jobs are claimed a
// window at a time (ClaimWindow online, one batch session's worth in batch), so that
// other submit processes of the website send other windows in parallel and memory does
// not grow with the backlog; jobs are loaded one at a time.
func (w *websiteRun) send(ctx context.Context) error {
	counts, err := w.env.DB.JobCounts(ctx, w.s.WebsiteID)
	if err != nil {
		return err
	}
	backlog := counts[store.JobPending]
	if w.o.Limit > 0 {
		backlog = min(backlog, w.o.Limit)
	}
	if backlog == 0 {
		return nil
	}
	w.sending = backlog
	batch := w.useBatch(backlog)
	window := w.o.ClaimWindow
	if batch {
		window = ksef.MaxInvoicesPerSession
	}
	w.online = &sender{sessions: map[string]*ksef.OnlineSession{}, sent: map[string]int{}}
	defer w.closeSessions(context.WithoutCancel(ctx))
	// Documents issued offline first, the nearest deadline first: the law gives them a
	// deadline. Then the rest, oldest first. Jobs left PENDING (deferred) stay claimed by
	// this run, so they are not claimed again.
	left := backlog
	for _, offline := range []bool{true, false} {
		var after int64
		for left > 0 {
			if w.pastDeadline(ctx) {
				return nil
			}
			f := store.JobFilter{WebsiteID: w.s.WebsiteID, OfflineOnly: offline, ByDeadline: offline, OnlineOnly: !offline,
				AfterID: after, Limit: min(left, window)}
			ids, err := w.env.DB.ClaimJobs(ctx, f, w.env.Holder, w.o.LeaseTTL)
			if err != nil {
				return err
			}
			if len(ids) == 0 {
				break
			}
			if !offline {
				after = ids[len(ids)-1]
			}
			left -= len(ids)
			if err := w.sendGroup(ctx, ids, batch, offline); err != nil || w.stopped {
				return err
			}
		}
	}
	return nil
}

// sendGroup sends jobs through batch or online sessions; offline says they were issued
// in an offline mode (a batch session declares that for all its invoices).
func (w *websiteRun) sendGroup(ctx context.Context, ids []int64, batch, offline bool) error {
	if batch {
		return w.sendBatch(ctx, ids, offline)
	}
	return w.sendOnline(ctx, ids)
}

// useBatch decides the path for a backlog of n jobs.
func (w *websiteRun) useBatch(n int) bool {
	switch w.o.Mode {
	case ModeBatch:
		return true
	case ModeOnline:
		return false
	}
	return n > w.s.BatchThreshold
}

// sendOnline sends the jobs one by one through the run's online sessions (closed when
// the sending phase ends).
func (w *websiteRun) sendOnline(ctx context.Context, ids []int64) error {
	sd := w.online
	for _, id := range ids {
		if w.pastDeadline(ctx) {
			return nil
		}
		if err := w.whileSending(ctx); err != nil {
			return err
		}
		j, err := w.nextFrozen(ctx, id)
		if err != nil {
			return err
		}
		if j == nil {
			continue
		}
		err = w.sendJob(ctx, sd, j)
		if errors.Is(err, errSessionGone) {
			// Once more in a fresh session; a second loss stops sending for this run.
			if j, err = w.env.DB.JobByID(ctx, j.ID); err == nil {
				err = w.sendJob(ctx, sd, j)
			}
			if errors.Is(err, errSessionGone) {
				w.stopped = true
				return nil
			}
		}
		if errors.Is(err, errStopSending) {
			w.stopped = true
			return nil
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// nextFrozen loads a job that is still PENDING and freezes it; nil when it is not to be
// sent now (no longer pending, deferred, or failed as invalid).
func (w *websiteRun) nextFrozen(ctx context.Context, id int64) (*store.Job, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	j, err := w.env.DB.JobByID(ctx, id)
	if err != nil || j.Status != store.JobPending {
		return nil, err
	}
	j, outcome, err := w.freeze(ctx, j)
	if err != nil || outcome != frozen {
		return nil, err
	}
	return j, nil
}

// session returns the open session of this run for the job's form code, opening and
// recording one (owned by this run) when needed; a session that took KSeF's maximum of
// invoices is closed and replaced.
func (w *websiteRun) session(ctx context.Context, sd *sender, form ksef.FormCode) (*ksef.OnlineSession, error) {
	if s, ok := sd.sessions[form.SystemCode]; ok {
		if sd.sent[form.SystemCode] < ksef.MaxInvoicesPerSession {
			return s, nil
		}
		w.closeSession(context.WithoutCancel(ctx), s)
		delete(sd.sessions, form.SystemCode)
	}
	tok, err := w.token(ctx)
	if err != nil {
		return nil, err
	}
	s, err := w.client.OpenOnlineSessionWith(ctx, tok, form, ksef.OnlineSessionOptions{SubjectIdentifierValidation: w.s.ValidateSubjectIdentifiers})
	if err != nil {
		return nil, fmt.Errorf("open a KSeF session: %w", err)
	}
	now := w.env.Now()
	if err := w.env.DB.CreateSession(ctx, store.Session{Reference: s.ReferenceNumber, WebsiteID: w.s.WebsiteID,
		Environment: w.s.EnvironmentName, APIURL: w.s.Endpoints.API, FormCode: form.SystemCode, Status: store.SessionSending,
		OpenedAt: now, ValidUntil: s.ValidUntil, Owner: w.env.Holder, OwnerTTL: w.o.LeaseTTL}, store.AuditEntry{Event: store.EventSession, Actor: w.env.Actor, Reason: "OPENED",
		Message: "online session " + form.String() + "; " + openedBy + " " + w.env.Holder}); err != nil {
		return nil, err
	}
	sd.sessions[form.SystemCode], sd.sent[form.SystemCode] = s, 0
	w.own[s.ReferenceNumber], w.owned[s.ReferenceNumber] = true, true
	w.res.Sessions = append(w.res.Sessions, s.ReferenceNumber)
	return s, nil
}

// sendJob records the attempt, sends the frozen bytes and records the acknowledgement.
func (w *websiteRun) sendJob(ctx context.Context, sd *sender, j *store.Job) error {
	form := formCodeOf(j.XML)
	s, err := w.session(ctx, sd, form)
	if err != nil {
		return err
	}
	// Record before the remote call: from here on the job may be in KSeF. Only the
	// process that claimed the job sends it.
	j, err = w.env.DB.UpdateJob(ctx, j.ID, []string{store.JobPending}, func(x *store.Job) error {
		if err := w.checkClaim(x); err != nil {
			return err
		}
		x.Status, x.Reason, x.ReasonDetail = store.JobSending, "", ""
		x.Attempts++
		x.SessionReference, x.InvoiceReference = s.ReferenceNumber, ""
		return nil
	}, w.audit(ReasonSend, fmt.Sprintf("attempt %d in session %s", j.Attempts+1, s.ReferenceNumber)))
	if errors.Is(err, store.ErrConflict) {
		return nil // another process claimed or moved it meanwhile (this run's claim expired)
	}
	if err != nil {
		return err
	}
	w.progress(j.ID, s.ReferenceNumber, store.JobSending)
	sd.sent[form.SystemCode]++
	sent, err := w.sendBytes(ctx, s, j)
	if err != nil && ambiguous(err) {
		// KSeF may have the invoice. Resending the same bytes is safe: KSeF's duplicate
		// detection answers 440 with the original's number, which resolves to this job.
		_ = w.env.DB.AppendAudit(ctx, store.AuditEntry{WebsiteID: j.WebsiteID, JobID: j.ID, SessionReference: s.ReferenceNumber,
			Event: store.EventWarning, Actor: w.env.Actor, Reason: ReasonResent, Message: "send answered " + err.Error() + "; resending the same bytes"})
		sent, err = w.sendBytes(ctx, s, j)
	}
	switch {
	case err == nil:
	case ksef.IsSessionGone(err), ksef.IsSessionUnavailable(err):
		// The session no longer takes invoices (gone, or 21184: temporarily unavailable
		// during maintenance): the job is not failed, it is PENDING again for a new
		// session; what the old one accepted is settled by the in-flight polling.
		reason := ReasonSessionGone
		if ksef.IsSessionUnavailable(err) {
			reason = ReasonSessionUnavailable
		}
		_, uerr := w.env.DB.UpdateJob(ctx, j.ID, []string{store.JobSending}, func(x *store.Job) error {
			x.Status, x.Reason, x.ReasonDetail = store.JobPending, reason, err.Error()
			return nil
		}, w.audit(reason, err.Error()))
		// Leave the session to the in-flight polling, which settles what it holds.
		delete(sd.sessions, form.SystemCode)
		delete(w.own, s.ReferenceNumber)
		if uerr != nil {
			return uerr
		}
		return errSessionGone
	case ambiguous(err):
		// Leave it SENDING: the next run asks KSeF whether it arrived.
		return fmt.Errorf("%w: %v", errStopSending, err)
	case isRateLimited(err):
		_, uerr := w.env.DB.UpdateJob(ctx, j.ID, []string{store.JobSending}, func(x *store.Job) error {
			x.Status, x.Reason, x.ReasonDetail = store.JobPending, ReasonRateLimited, err.Error()
			return nil
		}, w.audit(ReasonRateLimited, err.Error()))
		if uerr != nil {
			return uerr
		}
		w.res.Warnings = append(w.res.Warnings, "KSeF rate limit reached; the rest waits for the next run")
		return errStopSending
	default:
		return w.failJob(ctx, j, ReasonRejected, err, store.JobSending)
	}
	if w.env.Hooks.AfterSend != nil {
		if herr := w.env.Hooks.AfterSend(j.ID); herr != nil {
			return herr
		}
	}
	// Record after the remote call.
	if _, err := w.env.DB.UpdateJob(ctx, j.ID, []string{store.JobSending}, func(x *store.Job) error {
		x.Status, x.InvoiceReference = store.JobSubmitted, sent.ReferenceNumber
		return nil
	}, w.audit(ReasonSubmitted, "invoice reference "+sent.ReferenceNumber)); err != nil {
		return err
	}
	w.res.Sent++
	w.progress(j.ID, s.ReferenceNumber, store.JobSubmitted)
	return nil
}

func (w *websiteRun) sendBytes(ctx context.Context, s *ksef.OnlineSession, j *store.Job) (*ksef.SentInvoice, error) {
	tok, err := w.token(ctx)
	if err != nil {
		return nil, err
	}
	// A document issued offline says so; its technical correction names the rejected
	// document's hash (corrections are sent only in online sessions).
	return w.client.SendInvoice(ctx, tok, s, j.XML, ksef.SendOptions{OfflineMode: j.OfflineMode != "", HashOfCorrectedInvoice: j.CorrectedHash})
}

// closeSessions closes the online sessions this run opened so that KSeF finishes them and
// issues their UPO.
func (w *websiteRun) closeSessions(ctx context.Context) {
	for code, s := range w.online.sessions {
		w.closeSession(ctx, s)
		delete(w.online.sessions, code)
	}
}

// closeSession closes one online session of this run. A failed close leaves the session
// for the next pass or run.
func (w *websiteRun) closeSession(ctx context.Context, s *ksef.OnlineSession) {
	tok, err := w.token(ctx)
	if err != nil {
		return
	}
	if err := w.client.CloseOnlineSession(ctx, tok, s.ReferenceNumber); err != nil && !ksef.IsSessionGone(err) {
		w.res.Warnings = append(w.res.Warnings, "closing session "+s.ReferenceNumber+" failed; the next run retries: "+err.Error())
		return
	}
	_, _ = w.env.DB.UpdateSession(ctx, s.ReferenceNumber, []string{store.SessionActive, store.SessionSending}, func(x *store.Session) error {
		x.Status = store.SessionClosing
		return nil
	}, store.AuditEntry{Event: store.EventSession, Actor: w.env.Actor, Reason: "CLOSE_REQUESTED"})
	delete(w.own, s.ReferenceNumber)
}

// failJob marks a job FAILED with KSeF's code and description.
func (w *websiteRun) failJob(ctx context.Context, j *store.Job, reason string, cause error, from ...string) error {
	a := w.audit(reason, cause.Error())
	var ae *ksef.APIError
	if errors.As(cause, &ae) && len(ae.Exceptions) > 0 {
		a.KSeFCode, a.KSeFDescription = ae.Exceptions[0].Code, ae.Exceptions[0].Description
	}
	var re *ksef.InvoiceRejectedError
	if errors.As(cause, &re) {
		a.KSeFCode, a.KSeFDescription = int(re.Code), re.Description
	}
	if _, err := w.env.DB.UpdateJob(ctx, j.ID, from, func(x *store.Job) error {
		x.Status, x.Reason, x.ReasonDetail = store.JobFailed, reason, cause.Error()
		return nil
	}, a); err != nil {
		return err
	}
	w.res.Failed++
	w.res.FailedJobs = append(w.res.FailedJobs, j.ID)
	w.progress(j.ID, j.SessionReference, store.JobFailed)
	return nil
}

// ambiguous reports errors after which KSeF may or may not have received the invoice:
// network errors, timeouts, 5xx.
func ambiguous(err error) bool {
	var ne *ksef.NetworkError
	var ae *ksef.APIError
	var he *ksef.HTMLResponseError
	var re *ksef.ResponseError
	switch {
	case errors.As(err, &ne), errors.As(err, &re):
		return true
	case errors.As(err, &ae):
		return ae.HTTPStatus >= 500
	case errors.As(err, &he):
		return false
	}
	return errors.Is(err, context.DeadlineExceeded)
}

func isRateLimited(err error) bool {
	var rl *ksef.RateLimitError
	return errors.As(err, &rl)
}
