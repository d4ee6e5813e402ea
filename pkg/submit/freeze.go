package submit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/ksefpl/ksefpl/pkg/fa"
	"github.com/ksefpl/ksefpl/pkg/failure"
	"github.com/ksefpl/ksefpl/pkg/invoice"
	"github.com/ksefpl/ksefpl/pkg/ksef"
	"github.com/ksefpl/ksefpl/pkg/store"
)

// errOriginalPending means a credit memo's original invoice is still on its way to KSeF:
// the memo waits so that it can carry the original's KSeF number.
var errOriginalPending = errors.New("the corrected invoice has no KSeF number yet")

// originalPendingError is errOriginalPending naming the original.
type originalPendingError struct{ IncrementID string }

func (e *originalPendingError) Error() string {
	return fmt.Sprintf("waits for the KSeF number of invoice %s, which it corrects", e.IncrementID)
}

func (e *originalPendingError) Is(target error) bool { return target == errOriginalPending }

// Reasons of a job held back, on the job and in its audit trail.
const (
	ReasonWaitingOriginal = "WAITING_FOR_ORIGINAL" // a credit memo before its invoice's KSeF number
	ReasonNBPUnavailable  = "NBP_UNAVAILABLE"      // the exchange rate cannot be fetched now
	ReasonDeferred        = "DEFERRED"             // anything else that may pass later
)

// deferralReasons are the reasons a PENDING job carries while held back.
var deferralReasons = map[string]bool{ReasonWaitingOriginal: true, ReasonNBPUnavailable: true, ReasonDeferred: true}

// IsDeferral reports whether j is a PENDING job a submit run held back (its reason is
// one of WAITING_FOR_ORIGINAL, NBP_UNAVAILABLE, DEFERRED).
func IsDeferral(j *store.Job) bool {
	return j.Status == store.JobPending && deferralReasons[j.Reason]
}

// deferral classifies why a job is held back.
func deferral(err error) (reason, detail string) {
	switch {
	case errors.Is(err, errOriginalPending):
		return ReasonWaitingOriginal, err.Error()
	case failure.Is(err, failure.Unavailable):
		return ReasonNBPUnavailable, err.Error()
	}
	return ReasonDeferred, err.Error()
}

// markDeferred records on the job why it is held back: its reason, and one audit row the
// first time and whenever the reason changes.
func (w *websiteRun) markDeferred(ctx context.Context, j *store.Job, cause error) error {
	reason, detail := deferral(cause)
	w.warnOnce(fmt.Sprintf("defer:%d", j.ID), fmt.Sprintf("job %d (%s) deferred: %s", j.ID, j.IncrementID, detail))
	if j.Reason == reason && j.ReasonDetail == detail {
		return nil
	}
	_, err := w.env.DB.UpdateJob(ctx, j.ID, []string{store.JobPending}, func(x *store.Job) error {
		if err := w.checkClaim(x); err != nil {
			return err
		}
		x.Reason, x.ReasonDetail = reason, detail
		return nil
	}, w.deferredAudit(reason, detail))
	if errors.Is(err, store.ErrConflict) {
		return nil // another run moved it meanwhile
	}
	return err
}

// deferredAudit is the audit row of a job held back, which tells the shop too (an
// outbox event).
func (w *websiteRun) deferredAudit(reason, detail string) store.AuditEntry {
	a := w.audit(reason, "held back: "+detail)
	a.Notify = store.EventDeferred
	return a
}

// freezeOutcome says what freeze did with a job.
type freezeOutcome int

const (
	frozen   freezeOutcome = iota // bytes fixed, ready to send
	deferred                      // not now (original pending, NBP unavailable): stays PENDING
	failed                        // invalid: the job is FAILED
)

// freeze fixes one job's XML bytes and hash (see freezeMany).
func (w *websiteRun) freeze(ctx context.Context, j *store.Job) (*store.Job, freezeOutcome, error) {
	ready, err := w.freezeMany(ctx, []*store.Job{j})
	switch {
	case err != nil:
		return nil, failed, err
	case len(ready) == 1:
		return ready[0], frozen, nil
	}
	nj, err := w.env.DB.JobByID(ctx, j.ID)
	if err != nil {
		return nil, failed, err
	}
	if nj.Status == store.JobFailed {
		return nj, failed, nil
	}
	return nj, deferred, nil
}

// freezeMany fixes the jobs' XML bytes and hashes, once, in one transaction: a frozen job
// is never rebuilt, so a resend carries exactly the bytes of the first send. Invalid jobs
// FAIL in the same transaction; deferred ones (original not yet numbered, NBP down) stay
// PENDING. It returns the jobs ready to send, in order.
func (w *websiteRun) freezeMany(ctx context.Context, jobs []*store.Job) ([]*store.Job, error) {
	type plan struct {
		xml     []byte
		hash    string
		invalid error
	}
	plans := map[int64]plan{}
	var ids []int64
	builds := w.buildAll(ctx, jobs)
	for i, j := range jobs {
		if j.Frozen() {
			continue
		}
		xml, err := builds[i].xml, builds[i].err
		var invalid error
		switch {
		case err == nil:
		case failure.Is(err, failure.Invalid):
			invalid = err
			var ie *invoice.InvalidError
			if errors.As(err, &ie) {
				invalid = errors.New(ie.Summary())
			}
		default:
			// Not now: the original has no KSeF number yet, NBP is unreachable, …
			if err := w.markDeferred(ctx, j, err); err != nil {
				return nil, err
			}
			continue
		}
		p := plan{xml: xml, invalid: invalid}
		if invalid == nil {
			p.hash = ksef.SHA256Base64(xml)
		}
		plans[j.ID] = p
		ids = append(ids, j.ID)
	}
	changed := map[int64]*store.Job{}
	if len(ids) > 0 {
		now := w.env.Now()
		out, err := w.env.DB.UpdateJobsEach(ctx, ids, []string{store.JobPending}, func(x *store.Job) (store.AuditEntry, error) {
			if err := w.checkClaim(x); err != nil {
				return store.AuditEntry{}, err
			}
			p := plans[x.ID]
			if p.invalid != nil {
				x.Status, x.Reason, x.ReasonDetail = store.JobFailed, ReasonInvalid, p.invalid.Error()
				return w.audit(ReasonInvalid, p.invalid.Error()), nil
			}
			x.XML, x.InvoiceHash, x.FrozenAt = p.xml, p.hash, now
			if deferralReasons[x.Reason] {
				x.Reason, x.ReasonDetail = "", "" // no longer held back
			}
			if x.IssueDate == "" {
				x.IssueDate = issueDateOf(p.xml)
			}
			return w.audit(ReasonFrozen, fmt.Sprintf("%d bytes frozen, SHA-256 %s", len(p.xml), p.hash)), nil
		})
		if errors.Is(err, store.ErrConflict) && len(jobs) > 1 {
			// Another process claimed or moved one of them meanwhile (this run's claim
			// expired): freeze the others one by one.
			return w.freezeEach(ctx, jobs)
		}
		if errors.Is(err, store.ErrConflict) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		var offline []*store.Job
		for _, j := range out {
			changed[j.ID] = j
			if j.Status == store.JobFailed {
				w.res.Failed++
				w.res.FailedJobs = append(w.res.FailedJobs, j.ID)
				w.progress(j.ID, j.SessionReference, store.JobFailed)
			} else {
				offline = append(offline, j)
			}
		}
		if err := w.warnOffline(ctx, offline); err != nil {
			return nil, err
		}
	}
	var ready []*store.Job
	for _, j := range jobs {
		switch {
		case j.Frozen():
			ready = append(ready, j)
		case changed[j.ID] != nil && changed[j.ID].Status == store.JobPending:
			ready = append(ready, changed[j.ID])
		}
	}
	return ready, nil
}

// freezeEach is freezeMany one job at a time: a job another process took is passed by.
func (w *websiteRun) freezeEach(ctx context.Context, jobs []*store.Job) ([]*store.Job, error) {
	var ready []*store.Job
	for _, j := range jobs {
		r, err := w.freezeMany(ctx, []*store.Job{j})
		if err != nil {
			return nil, err
		}
		ready = append(ready, r...)
	}
	return ready, nil
}

// buildResult is one job's build: its bytes or why there are none.
type buildResult struct {
	xml []byte
	err error
}

// buildAll builds the jobs not yet frozen (see build), on as many goroutines as there are
// processors: a build reads the store and the settings but writes nothing, and what
// follows from each (a deferral, a failure) is recorded afterwards in the jobs' order.
func (w *websiteRun) buildAll(ctx context.Context, jobs []*store.Job) []buildResult {
	out := make([]buildResult, len(jobs))
	var todo []int
	for i, j := range jobs {
		if !j.Frozen() {
			todo = append(todo, i)
		}
	}
	workers := min(runtime.GOMAXPROCS(0), len(todo))
	var wg sync.WaitGroup
	for k := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := k; n < len(todo); n += workers {
				i := todo[n]
				out[i].xml, out[i].err = w.build(ctx, jobs[i])
			}
		}()
	}
	wg.Wait()
	return out
}

// build turns the job's input into the bytes to send: a ready XML as it is, a shop JSON
// through the invoice pipeline with the NBP rate. An error of class invalid means the job
// can never be sent; any other means "not now".
func (w *websiteRun) build(ctx context.Context, j *store.Job) ([]byte, error) {
	if j.InputFormat == "xml" {
		b := []byte(j.Input)
		// Warnings (rules KSeF does not enforce) were shown when the XML was queued.
		if probs := fa.Errors(fa.Check(b)); len(probs) > 0 {
			return nil, &invoice.CheckError{Problems: probs}
		}
		return b, nil
	}
	b, err := invoice.FromJSON(ctx, w.s, []byte(j.Input), invoice.Options{
		Name:           fmt.Sprintf("of job %d (%s)", j.ID, j.IncrementID),
		Rates:          invoice.NBPRates(w.env.DB, w.s.NBPURL, w.env.HTTPClient),
		Version:        w.env.Version,
		LookupOriginal: w.lookupOriginal,
		Now:            w.env.Now,
		// queue checked what this pipeline builds from the same input when it admitted
		// the job; the rebuild differs only in the rate and the original's number.
		SkipCheck: true,
	})
	if err != nil {
		return nil, err
	}
	if len(b.Problems) > 0 {
		return nil, &invoice.CheckError{Problems: b.Problems}
	}
	return b.XML, nil
}

// lookupOriginal finds the invoice a credit memo corrects among this website's jobs.
func (w *websiteRun) lookupOriginal(ctx context.Context, incrementID string) (string, time.Time, bool, error) {
	jobs, err := w.env.DB.Jobs(ctx, store.JobFilter{WebsiteID: w.s.WebsiteID, EntityType: "invoice", IncrementID: incrementID, WithoutDocuments: true})
	if err != nil {
		return "", time.Time{}, false, err
	}
	for _, j := range jobs {
		switch j.Status {
		case store.JobAccepted:
			issued, _ := time.Parse(time.DateOnly, j.IssueDate)
			return j.KSeFNumber, issued, j.KSeFNumber != "", nil
		case store.JobPending, store.JobSending, store.JobSubmitted, store.JobAuthError:
			return "", time.Time{}, false, &originalPendingError{IncrementID: incrementID}
		}
	}
	return "", time.Time{}, false, nil
}

// warnOffline records, for each job issued before today, that KSeF will classify it as
// issued offline (one audit row each, in one transaction; one warning line per run).
func (w *websiteRun) warnOffline(ctx context.Context, jobs []*store.Job) error {
	today := w.env.Now().In(fa.Warsaw()).Format(time.DateOnly)
	var rows []store.AuditEntry
	for _, j := range jobs {
		if j.IssueDate == "" || j.IssueDate >= today {
			continue
		}
		rows = append(rows, store.AuditEntry{WebsiteID: j.WebsiteID, JobID: j.ID, Event: store.EventWarning, Actor: w.env.Actor,
			Reason: ReasonOffline, Message: fmt.Sprintf("invoice %s was issued on %s, before today (%s): KSeF classifies it as issued offline", j.IncrementID, j.IssueDate, today)})
	}
	switch {
	case len(rows) == 1:
		w.res.Warnings = append(w.res.Warnings, rows[0].Message)
	case len(rows) > 1:
		w.res.Warnings = append(w.res.Warnings, fmt.Sprintf("%d invoices were issued before today (%s): KSeF classifies them as issued offline (see the audit log)", len(rows), today))
	}
	return w.env.DB.AppendAudits(ctx, rows)
}

// issueDateOf reads P_1 from an FA document.
func issueDateOf(xml []byte) string {
	doc, err := fa.ParseXML(xml)
	if err != nil {
		return ""
	}
	return fa.Summarize(doc).IssueDate
}

// formCodeOf picks the session form code for frozen bytes.
func formCodeOf(xml []byte) ksef.FormCode {
	if bytes.Contains(xml, []byte(fa.NamespaceFA2)) {
		return ksef.FormCodeFA2()
	}
	return ksef.FormCodeFA3()
}
