package submit

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ksefpl/ksefpl/pkg/failure"
	"github.com/ksefpl/ksefpl/pkg/ksef"
	"github.com/ksefpl/ksefpl/pkg/store"
)

// listPageSize is the page size for session invoice listings (KSeF allows 10..1000).
const listPageSize = 1000

// listing is one session's invoices as KSeF lists them, indexed for matching jobs.
type listing struct {
	byRef  map[string]*ksef.SessionInvoice
	byFile map[string]*ksef.SessionInvoice // batch: invoiceFileName
	byHash map[string]*ksef.SessionInvoice
}

// findKey locates a job's invoice: by reference, or by batch file name.
func (l *listing) findKey(k store.JobKey) *ksef.SessionInvoice {
	if inv, ok := l.byRef[k.InvoiceReference]; ok && k.InvoiceReference != "" {
		return inv
	}
	if inv, ok := l.byFile[batchFileName(k.ID)]; ok {
		return inv
	}
	return nil
}

// sessionInvoices lists a session's invoices, once per pass.
func (w *websiteRun) sessionInvoices(ctx context.Context, ref string) (*listing, error) {
	if l, ok := w.listed[ref]; ok {
		return l, nil
	}
	tok, err := w.token(ctx)
	if err != nil {
		return nil, err
	}
	l := &listing{byRef: map[string]*ksef.SessionInvoice{}, byFile: map[string]*ksef.SessionInvoice{}, byHash: map[string]*ksef.SessionInvoice{}}
	for inv, err := range w.client.AllSessionInvoices(ctx, tok, ref, listPageSize) {
		if err != nil {
			return nil, err
		}
		l.byRef[inv.ReferenceNumber] = inv
		if inv.InvoiceFileName != "" {
			l.byFile[inv.InvoiceFileName] = inv
		}
		if _, seen := l.byHash[inv.InvoiceHash]; !seen {
			l.byHash[inv.InvoiceHash] = inv
		}
	}
	w.listed[ref] = l
	return l, nil
}

// recoverSending settles jobs left SENDING by a run that died (or gave up) between
// recording a send and recording KSeF's answer: if KSeF lists the bytes in that session,
// the job is SUBMITTED with the reference KSeF gave; otherwise it never arrived and goes
// back to PENDING, to be sent again with the same frozen bytes. Jobs of a batch session
// wait while KSeF processes it, and go back to PENDING if it was never closed.
func (w *websiteRun) recoverSending(ctx context.Context) error {
	jobs, err := w.env.DB.Jobs(ctx, store.JobFilter{WebsiteID: w.s.WebsiteID, Statuses: []string{store.JobSending}})
	if err != nil {
		return err
	}
	batches := map[string][]*store.Job{}
	var order []string
	for _, j := range jobs {
		if j.SessionReference != "" {
			if w.own[j.SessionReference] {
				continue // this run is sending it right now
			}
			// Another process may be sending it right now: only the session's owner
			// (or whoever takes over a dead owner's session) recovers it.
			if mine, err := w.ownsSession(ctx, j.SessionReference); err != nil || !mine {
				if err != nil {
					return err
				}
				continue
			}
			sess, err := w.env.DB.SessionByRef(ctx, j.SessionReference)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
			if sess != nil && sess.Kind == store.SessionBatch {
				if _, ok := batches[sess.Reference]; !ok {
					order = append(order, sess.Reference)
				}
				batches[sess.Reference] = append(batches[sess.Reference], j)
				continue
			}
		}
		var found *ksef.SessionInvoice
		if j.SessionReference != "" {
			l, err := w.sessionInvoices(ctx, j.SessionReference)
			if err != nil && !ksef.IsSessionGone(err) {
				return fmt.Errorf("check session %s for job %d: %w", j.SessionReference, j.ID, err)
			}
			if l != nil {
				found = l.byHash[j.InvoiceHash]
			}
		}
		if err := w.recoverJob(ctx, j, found); err != nil {
			return err
		}
	}
	for _, ref := range order {
		if err := w.recoverBatch(ctx, ref, batches[ref]); err != nil {
			return err
		}
	}
	return nil
}

// recoverJob moves a SENDING job to SUBMITTED (KSeF has it as found) or back to PENDING.
func (w *websiteRun) recoverJob(ctx context.Context, j *store.Job, found *ksef.SessionInvoice) error {
	if found != nil {
		ref := found.ReferenceNumber
		_, err := w.env.DB.UpdateJob(ctx, j.ID, []string{store.JobSending}, func(x *store.Job) error {
			x.Status, x.InvoiceReference = store.JobSubmitted, ref
			return nil
		}, w.audit(ReasonRecovered, "KSeF received it in session "+j.SessionReference+" as "+ref))
		w.settleAlso(j.SessionReference) // its session may be recorded as finished already
		return err
	}
	_, err := w.env.DB.UpdateJob(ctx, j.ID, []string{store.JobSending}, func(x *store.Job) error {
		x.Status, x.Reason = store.JobPending, ReasonNotReceived
		return nil
	}, w.audit(ReasonNotReceived, "KSeF has no record of it in session "+j.SessionReference+"; it will be sent again unchanged"))
	return err
}

// recoverBatch settles the SENDING jobs of a batch session a run left behind.
func (w *websiteRun) recoverBatch(ctx context.Context, ref string, jobs []*store.Job) error {
	tok, err := w.token(ctx)
	if err != nil {
		return err
	}
	ids := make([]int64, len(jobs))
	for i, j := range jobs {
		ids[i] = j.ID
	}
	st, err := w.client.SessionStatus(ctx, tok, ref)
	switch {
	case ksef.IsSessionGone(err), err == nil && st.Open():
		// Never closed: KSeF processes nothing of it.
		if err := w.abandonBatch(ctx, ref, ids, ReasonBatchAbandoned, fmt.Errorf("the run that opened it ended before closing it")); !errors.Is(err, errStopSending) {
			return err
		}
		return nil
	case err != nil:
		return err
	case st.Closing():
		return nil // KSeF is processing it; a later pass settles the jobs
	case st.Failed():
		for _, j := range jobs {
			cause := fmt.Errorf("batch session %s failed (%d %s): the invoice was not accepted and must be sent again", ref, st.Status.Code, st.Status.Description)
			if err := w.failTerminated(ctx, j, cause); err != nil {
				return err
			}
		}
		return nil
	}
	l, err := w.sessionInvoices(ctx, ref)
	if err != nil {
		return err
	}
	for _, j := range jobs {
		if err := w.recoverJob(ctx, j, l.byFile[batchFileName(j.ID)]); err != nil {
			return err
		}
	}
	return nil
}

// advance polls everything in flight once: submitted jobs, sessions, missing UPOs.
func (w *websiteRun) advance(ctx context.Context) error {
	w.newPass()
	if err := w.recoverSending(ctx); err != nil {
		return err
	}
	if err := w.pollJobs(ctx, false); err != nil {
		return err
	}
	if err := w.pollSessions(ctx); err != nil {
		return err
	}
	return w.fetchMissingUPOs(ctx)
}

// pollJobs moves SUBMITTED jobs on from their KSeF invoice status, session by session
// (see pollSessionJobs). The sessions asked about are the website's unfinished ones and
// those settleAlso named: the sessions of the SUBMITTED jobs the run's first pass finds
// anywhere (a run that died between recording a session's end and its jobs'), and those
// of jobs recovery found in KSeF. A pass costs a query per session, not a read of every
// job in flight: after an outage hundreds of thousands may be.
func (w *websiteRun) pollJobs(ctx context.Context, whileOpen bool) error {
	sessions, err := w.env.DB.Sessions(ctx, w.s.WebsiteID, append(store.InFlightSessionStatuses, store.SessionExpired)...)
	if err != nil {
		return err
	}
	if !w.sweptSubmitted {
		all, err := w.env.DB.SessionsOfJobs(ctx, w.s.WebsiteID, store.JobSubmitted)
		if err != nil {
			return err
		}
		for _, ref := range all {
			w.settleAlso(ref)
		}
		w.sweptSubmitted = true
	}
	refs := make([]string, 0, len(sessions)+len(w.alsoSettle))
	for _, s := range sessions {
		refs = append(refs, s.Reference)
	}
	for ref := range w.alsoSettle {
		if !slices.Contains(refs, ref) {
			refs = append(refs, ref)
		}
	}
	for _, ref := range refs {
		if err := w.pollSessionJobs(ctx, ref, whileOpen); err != nil {
			return err
		}
	}
	return nil
}

// settleAlso makes the passes settle the SUBMITTED jobs of session ref even when the
// session is not an unfinished one, until none is left.
func (w *websiteRun) settleAlso(ref string) {
	if ref == "" {
		return
	}
	if w.alsoSettle == nil {
		w.alsoSettle = map[string]bool{}
	}
	w.alsoSettle[ref] = true
}

// pollSessionJobs settles the SUBMITTED jobs of session ref. Its invoices are listed once
// the session is final (then every invoice in it is too); while this run still sends
// into it (whileOpen), they are listed anyway, so that KSeF numbers arrive as they are
// assigned — one listing per session per SettleEvery. A listing is walked page by page
// and settled as it goes, so memory does not grow with the session.
func (w *websiteRun) pollSessionJobs(ctx context.Context, ref string, whileOpen bool) error {
	if w.walked[ref] {
		return nil // listed in this pass already: what is still SUBMITTED waits for the next
	}
	waiting, err := w.env.DB.Jobs(ctx, store.JobFilter{SessionReference: ref, Statuses: []string{store.JobSubmitted}, Limit: 1, WithoutDocuments: true})
	if err != nil {
		return err
	}
	if len(waiting) == 0 {
		delete(w.alsoSettle, ref)
		return nil
	}
	if mine, err := w.ownsSession(ctx, ref); err != nil || !mine {
		return err // its owner settles it
	}
	// The session's status is cheap to ask (and allowed often); its invoice list is
	// not. List once the session is final: then every invoice in it is too.
	st, err := w.sessionStatus(ctx, ref)
	if err != nil {
		if ksef.IsSessionGone(err) {
			return nil // settled when the session is
		}
		return err
	}
	if !st.Status.Code.Final() && !(whileOpen && w.own[ref]) {
		return nil
	}
	keys, err := w.env.DB.JobKeys(ctx, store.JobFilter{SessionReference: ref, Statuses: []string{store.JobSubmitted}})
	if err != nil {
		return err
	}
	return w.settleSession(ctx, ref, keys)
}

// settleChunk is how many jobs settleSession records per transaction.
const settleChunk = 250

// settleSession walks a session's invoice listing page by page and records the final
// statuses of its SUBMITTED jobs (keys): the accepted ones in bulk (one transaction per
// chunk, their UPOs likewise), the others one by one. A batch invoice names its job in
// its file name, an online one is found by its reference.
func (w *websiteRun) settleSession(ctx context.Context, ref string, keys []store.JobKey) error {
	batch, err := w.batchSession(ctx, ref)
	if err != nil {
		return err
	}
	if w.listed[ref] != nil {
		// Listed whole in this pass already (recovery): no second walk.
		l := w.listed[ref]
		matches := map[int64]*ksef.SessionInvoice{}
		for _, k := range keys {
			if inv := l.findKey(k); inv != nil {
				matches[k.ID] = inv
			}
		}
		return w.settleMatches(ctx, matches, batch)
	}
	byRef := make(map[string]int64, len(keys))
	waiting := make(map[int64]bool, len(keys))
	for _, k := range keys {
		waiting[k.ID] = true
		if k.InvoiceReference != "" {
			byRef[k.InvoiceReference] = k.ID
		}
	}
	tok, err := w.token(ctx)
	if err != nil {
		return err
	}
	w.walked[ref] = true
	matches := map[int64]*ksef.SessionInvoice{}
	for inv, err := range w.client.AllSessionInvoices(ctx, tok, ref, listPageSize) {
		if err != nil {
			return err
		}
		id, ok := byRef[inv.ReferenceNumber]
		if !ok || inv.ReferenceNumber == "" {
			if id = jobOfFile(inv.InvoiceFileName); !waiting[id] {
				continue
			}
		}
		matches[id] = inv
		if len(matches) == settleChunk {
			if err := w.settleMatches(ctx, matches, batch); err != nil {
				return err
			}
			matches = map[int64]*ksef.SessionInvoice{}
		}
	}
	return w.settleMatches(ctx, matches, batch)
}

// settleMatches records what KSeF lists for a chunk of SUBMITTED jobs of one session (job
// id → its invoice in the listing); batch says it is a batch session.
func (w *websiteRun) settleMatches(ctx context.Context, matches map[int64]*ksef.SessionInvoice, batch bool) error {
	ids := make([]int64, 0, len(matches))
	for id := range matches {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for start := 0; start < len(ids); start += settleChunk {
		jobs, err := w.env.DB.Jobs(ctx, store.JobFilter{IDs: ids[start:min(len(ids), start+settleChunk)], Statuses: []string{store.JobSubmitted}, WithoutDocuments: true})
		if err != nil {
			return err
		}
		accepted := map[int64]*ksef.SessionInvoice{}
		var acceptedIDs []int64
		for _, j := range jobs {
			inv := matches[j.ID]
			if inv == nil || inv.Status.Pending() {
				continue
			}
			if inv.Status.Succeeded() {
				accepted[j.ID] = inv
				acceptedIDs = append(acceptedIDs, j.ID)
				continue
			}
			if j.InvoiceReference == "" {
				// A batch invoice: its reference comes with the results.
				if j, err = w.env.DB.UpdateJob(ctx, j.ID, []string{store.JobSubmitted}, func(x *store.Job) error {
					x.InvoiceReference = inv.ReferenceNumber
					return nil
				}, store.AuditEntry{}); err != nil {
					return err
				}
			}
			if err := w.settle(ctx, j, inv); err != nil {
				return err
			}
		}
		if err := w.acceptMany(ctx, acceptedIDs, accepted, batch); err != nil {
			return err
		}
	}
	return nil
}

// acceptMany marks jobs ACCEPTED with their KSeF numbers in one transaction. The
// invoices of an online session get their UPOs now (downloaded from the pre-signed links,
// which no rate limit applies to); those of a batch session are covered by the session's
// UPO and get their own on demand (upo:download), not 10,000 downloads per session.
func (w *websiteRun) acceptMany(ctx context.Context, ids []int64, invs map[int64]*ksef.SessionInvoice, batch bool) error {
	if len(ids) == 0 {
		return nil
	}
	done, err := w.env.DB.UpdateJobsEach(ctx, ids, []string{store.JobSubmitted}, func(x *store.Job) (store.AuditEntry, error) {
		inv := invs[x.ID]
		x.Status, x.Reason, x.ReasonDetail, x.KSeFNumber = store.JobAccepted, "", "", inv.KSeFNumber
		if x.InvoiceReference == "" {
			x.InvoiceReference = inv.ReferenceNumber // batch: the reference comes with the results
		}
		x.UPODue = !batch
		if inv.AcquisitionDate != nil {
			x.AcquisitionDate = inv.AcquisitionDate.UTC().Format(time.RFC3339)
		}
		x.InvoicingMode = inv.InvoicingMode
		a := w.audit(ReasonAccepted, "KSeF number "+inv.KSeFNumber)
		a.KSeFCode = int(ksef.InvoiceSucceeded)
		return a, nil
	})
	if err != nil {
		return err
	}
	// Download the UPOs a few at a time.
	got := make([]*ksef.UPO, len(done))
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for i, j := range done {
		w.res.Accepted++
		w.progress(j.ID, j.SessionReference, store.JobAccepted)
		if link := invs[j.ID].UPODownloadURL; link != "" && j.UPODue {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; wg.Done() }()
				if upo, err := w.client.DownloadUPO(ctx, link); err == nil {
					got[i] = upo // a failure is retried later by fetchMissingUPOs
				}
			}()
		}
	}
	wg.Wait()
	var upos []store.UPO
	var audits []store.AuditEntry
	for i, j := range done {
		upo := got[i]
		if upo == nil {
			continue
		}
		upos = append(upos, store.UPO{Kind: store.UPOInvoice, SessionReference: j.SessionReference, UPOReference: j.InvoiceReference,
			JobID: j.ID, KSeFNumber: j.KSeFNumber, XML: upo.XML, SHA256: upo.Hash, HashVerified: upo.HashVerified})
		audits = append(audits, store.AuditEntry{WebsiteID: j.WebsiteID, Event: store.EventUPO, Actor: w.env.Actor, Reason: "INVOICE_UPO",
			Message: fmt.Sprintf("UPO of %s stored (SHA-256 %s, hash verified: %v)", j.KSeFNumber, upo.Hash, upo.HashVerified)})
	}
	_, err = w.env.DB.SaveUPOs(ctx, upos, audits)
	return err
}

// sessionStatus asks KSeF for a session's status, once per pass.
func (w *websiteRun) sessionStatus(ctx context.Context, ref string) (*ksef.SessionStatus, error) {
	if st, ok := w.statuses[ref]; ok {
		return st, nil
	}
	tok, err := w.token(ctx)
	if err != nil {
		return nil, err
	}
	st, err := w.client.SessionStatus(ctx, tok, ref)
	if err != nil {
		return nil, err
	}
	st.ReferenceNumber = ref
	w.statuses[ref] = st
	return st, nil
}

// settle records a final invoice status on its job.
func (w *websiteRun) settle(ctx context.Context, j *store.Job, inv *ksef.SessionInvoice) error {
	switch {
	case inv.Status.Succeeded():
		return w.accept(ctx, j, inv.KSeFNumber, inv, "", ReasonAccepted, "KSeF number "+inv.KSeFNumber)
	case inv.Status.Code == ksef.InvoiceDuplicate:
		orig, origSession, _ := inv.Status.Duplicate()
		original, why, err := w.sameDocument(ctx, j, orig, origSession)
		if err != nil {
			return err
		}
		if original != nil {
			// The job's acceptance is the original's: adopt its session and reference so
			// that its UPO is found where KSeF keeps it.
			return w.accept(ctx, j, orig, original, origSession, ReasonDuplicateResolved,
				"KSeF reported a duplicate of "+orig+" (session "+origSession+"), which is this same document: "+why)
		}
		next := fmt.Sprintf("do not send it again; if that is this invoice, record its number with ksefpl queue resolve %d --ksef-number %s", j.ID, orig)
		if orig == "" {
			next = "do not send it again; find its KSeF number in KSeF and record it with ksefpl queue resolve " + strconv.FormatInt(j.ID, 10) + " --ksef-number NUMBER"
		}
		return w.failJob(ctx, j, ReasonDuplicate, fmt.Errorf("KSeF already has invoice %s from this seller as %s (%s; %s): %w",
			j.IncrementID, orig, why, next, inv.Err()), store.JobSubmitted)
	case inv.Status.Code == ksef.InvoiceSessionError, inv.Status.Code == ksef.InvoiceCancelledBySystem:
		// Processing cancelled because the session failed: not accepted, send again.
		return w.failTerminated(ctx, j, fmt.Errorf("session %s was terminated by KSeF: the invoice was not accepted and must be sent again: %w", j.SessionReference, inv.Err()))
	default:
		reason := ReasonRejected
		var se *ksef.SubjectIdentifierError
		if errors.As(inv.Err(), &se) {
			reason = ReasonSubjectIdentifier
		}
		return w.failJob(ctx, j, reason, inv.Err(), store.JobSubmitted)
	}
}

// failTerminated fails a job whose session KSeF terminated, and requeues it at once
// with AutoRetry.
func (w *websiteRun) failTerminated(ctx context.Context, j *store.Job, cause error) error {
	if err := w.failJob(ctx, j, ReasonSessionTerminated, cause, store.JobSubmitted, store.JobSending); err != nil {
		return err
	}
	if !w.o.AutoRetry {
		return nil
	}
	if _, err := w.env.DB.UpdateJob(ctx, j.ID, []string{store.JobFailed}, func(x *store.Job) error {
		x.Status, x.Reason, x.ReasonDetail = store.JobPending, ReasonRetry, "auto-retry after "+ReasonSessionTerminated
		return nil
	}, w.audit(ReasonRetry, "--auto-retry after "+ReasonSessionTerminated)); err != nil {
		return err
	}
	w.res.Failed--
	w.res.FailedJobs = w.res.FailedJobs[:len(w.res.FailedJobs)-1]
	return nil
}

// accept marks a job ACCEPTED with its KSeF number and stores its UPO when available.
func (w *websiteRun) accept(ctx context.Context, j *store.Job, number string, inv *ksef.SessionInvoice, adoptSession, reason, msg string) error {
	a := w.audit(reason, msg)
	a.KSeFCode = int(ksef.InvoiceSucceeded)
	nj, err := w.env.DB.UpdateJob(ctx, j.ID, []string{store.JobSubmitted}, func(x *store.Job) error {
		x.Status, x.Reason, x.ReasonDetail, x.KSeFNumber = store.JobAccepted, "", "", number
		x.UPODue = true // one job accepted on its own: its UPO is fetched now or by a later pass
		if reason == ReasonDuplicateResolved {
			x.Reason, x.ReasonDetail = ReasonDuplicateResolved, msg
			x.SessionReference, x.InvoiceReference = adoptSession, inv.ReferenceNumber
		}
		if inv != nil {
			if inv.AcquisitionDate != nil {
				x.AcquisitionDate = inv.AcquisitionDate.UTC().Format(time.RFC3339)
			}
			x.InvoicingMode = inv.InvoicingMode
		}
		return nil
	}, a)
	if err != nil {
		return err
	}
	w.res.Accepted++
	w.progress(j.ID, j.SessionReference, store.JobAccepted)
	if inv != nil && inv.UPODownloadURL != "" {
		// Best effort now; fetchMissingUPOs retries later.
		_ = w.storeInvoiceUPO(ctx, nj, func() (*ksef.UPO, error) { return w.client.DownloadUPO(ctx, inv.UPODownloadURL) })
	}
	return nil
}

// sameDocument decides whether KSeF's original of a duplicate is this job's own earlier
// send: the original's hash (as KSeF lists it in its session) equals the frozen bytes'.
// It returns the original's listing entry when it is, or why not.
func (w *websiteRun) sameDocument(ctx context.Context, j *store.Job, orig, origSession string) (*ksef.SessionInvoice, string, error) {
	if orig == "" || origSession == "" {
		return nil, "KSeF did not name the original", nil
	}
	others, err := w.env.DB.Jobs(ctx, store.JobFilter{KSeFNumber: orig})
	if err != nil {
		return nil, "", err
	}
	for _, o := range others {
		if o.ID != j.ID {
			return nil, fmt.Sprintf("the original is job %d (%s %s)", o.ID, o.EntityType, o.IncrementID), nil
		}
	}
	l, err := w.sessionInvoices(ctx, origSession)
	if err != nil {
		if ksef.IsSessionGone(err) || failure.Of(err) == failure.Rejected || failure.Of(err) == failure.Auth {
			return nil, "the original's session cannot be read: " + err.Error(), nil
		}
		return nil, "", err
	}
	for _, inv := range l.byRef {
		if inv.KSeFNumber == orig {
			if inv.InvoiceHash == j.InvoiceHash {
				return inv, "identical SHA-256 " + j.InvoiceHash, nil
			}
			return nil, "the original's content differs (SHA-256 " + inv.InvoiceHash + ")", nil
		}
	}
	return nil, "the original is not in session " + origSession, nil
}

// pollSessions follows sessions in flight: closes ones left open by a dead run, marks
// expiry, stores the UPO of finished ones and fails the jobs of terminated ones.
func (w *websiteRun) pollSessions(ctx context.Context) error {
	sessions, err := w.env.DB.Sessions(ctx, w.s.WebsiteID, append(store.InFlightSessionStatuses, store.SessionExpired)...)
	if err != nil {
		return err
	}
	for _, s := range sessions {
		if w.own[s.Reference] {
			continue
		}
		if mine, err := w.ownsSession(ctx, s.Reference); err != nil || !mine {
			if err != nil {
				return err
			}
			continue // another process follows it up
		}
		if err := w.pollSession(ctx, s); err != nil {
			return err
		}
	}
	return nil
}

func (w *websiteRun) pollSession(ctx context.Context, s *store.Session) error {
	st, err := w.sessionStatus(ctx, s.Reference)
	if err != nil {
		var ae *ksef.APIError
		if errors.As(err, &ae) && ae.HasCode(ksef.ErrCodeSessionNotFound) {
			return w.terminate(ctx, s, 0, "KSeF does not know the session any more")
		}
		return err
	}
	switch {
	case st.Open() && s.Kind == store.SessionBatch:
		// A batch never closed: KSeF processes none of it (recoverSending requeued its
		// jobs); never close it now, or the requeued jobs would be sent twice.
		return w.setSession(ctx, s, store.SessionTerminated, st, ReasonBatchAbandoned, "batch session left open by an interrupted run; abandoned")
	case st.Open():
		// Left open by a run that died: close it so KSeF processes what it has.
		tok, err := w.token(ctx)
		if err != nil {
			return err
		}
		if err := w.client.CloseOnlineSession(ctx, tok, s.Reference); err != nil && !ksef.IsSessionGone(err) {
			return err
		}
		return w.setSession(ctx, s, store.SessionClosing, st, "CLOSE_REQUESTED", "closed after an interrupted run")
	case st.Closing():
		next := store.SessionClosing
		if s.Status == store.SessionExpired || (s.Kind != store.SessionBatch && w.env.Now().After(s.ValidUntil)) {
			next = store.SessionExpired
		}
		return w.setSession(ctx, s, next, st, "", "")
	case st.Succeeded():
		// Settle the session's jobs first, so that counts and UPOs see final states.
		if err := w.pollSessionJobs(ctx, s.Reference, false); err != nil {
			return err
		}
		if waiting, err := w.env.DB.Jobs(ctx, store.JobFilter{SessionReference: s.Reference, Statuses: []string{store.JobSubmitted}, Limit: 1}); err != nil || len(waiting) > 0 {
			return err
		}
		refs, err := w.storeSessionUPO(ctx, s, st)
		if err != nil {
			// The session stays closing; the next poll fetches the UPO. Sending goes on.
			w.warnOnce("upo:"+s.Reference, err.Error())
			return nil
		}
		_, err = w.env.DB.UpdateSession(ctx, s.Reference, nil, func(x *store.Session) error {
			x.Status, x.KSeFStatusCode, x.KSeFStatusText = store.SessionClosed, int(st.Status.Code), st.Status.Description
			x.ClosedAt = w.env.Now()
			x.InvoiceCount, x.AcceptedCount, x.FailedCount = st.InvoiceCount, st.SuccessfulInvoiceCount, st.FailedInvoiceCount
			x.UPOReferences = refs
			return nil
		}, store.AuditEntry{Event: store.EventSession, Actor: w.env.Actor, Reason: "CLOSED", KSeFCode: int(st.Status.Code),
			KSeFDescription: st.Status.Description, Message: fmt.Sprintf("%d invoices, %d accepted, %d failed", st.InvoiceCount, st.SuccessfulInvoiceCount, st.FailedInvoiceCount)})
		return err
	case st.Failed():
		if err := w.pollSessionJobs(ctx, s.Reference, false); err != nil { // individually rejected invoices keep their own reason
			return err
		}
		return w.terminate(ctx, s, int(st.Status.Code), st.Status.Description+" "+strings.Join(st.Status.Details, "; "))
	}
	return nil
}

func (w *websiteRun) setSession(ctx context.Context, s *store.Session, status string, st *ksef.SessionStatus, reason, msg string) error {
	_, err := w.env.DB.UpdateSession(ctx, s.Reference, nil, func(x *store.Session) error {
		x.Status, x.KSeFStatusCode, x.KSeFStatusText = status, int(st.Status.Code), st.Status.Description
		x.InvoiceCount = st.InvoiceCount
		return nil
	}, store.AuditEntry{Event: store.EventSession, Actor: w.env.Actor, Reason: reason, KSeFCode: int(st.Status.Code),
		KSeFDescription: st.Status.Description, Message: msg})
	return err
}

// terminate records a session KSeF cancelled or failed: every job in it without a KSeF
// number was not accepted and FAILS with SESSION_TERMINATED (requeued at once with
// AutoRetry). Jobs that already have a number keep it.
func (w *websiteRun) terminate(ctx context.Context, s *store.Session, code int, why string) error {
	if _, err := w.env.DB.UpdateSession(ctx, s.Reference, nil, func(x *store.Session) error {
		x.Status, x.KSeFStatusCode, x.KSeFStatusText = store.SessionTerminated, code, strings.TrimSpace(why)
		x.ClosedAt = w.env.Now()
		return nil
	}, store.AuditEntry{Event: store.EventSession, Actor: w.env.Actor, Reason: ReasonSessionTerminated, KSeFCode: code, KSeFDescription: strings.TrimSpace(why)}); err != nil {
		return err
	}
	jobs, err := w.env.DB.Jobs(ctx, store.JobFilter{SessionReference: s.Reference, Statuses: []string{store.JobSubmitted, store.JobSending}, WithoutDocuments: true})
	if err != nil {
		return err
	}
	for _, j := range jobs {
		if j.KSeFNumber != "" {
			continue
		}
		cause := fmt.Errorf("session %s was terminated by KSeF (%d %s): the invoice was not accepted and must be sent again", s.Reference, code, strings.TrimSpace(why))
		if err := w.failTerminated(ctx, j, cause); err != nil {
			return err
		}
	}
	return nil
}
