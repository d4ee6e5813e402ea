package submit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ksefpl/ksefpl/pkg/fa"
	"github.com/ksefpl/ksefpl/pkg/ksef"
	"github.com/ksefpl/ksefpl/pkg/nbp"
	"github.com/ksefpl/ksefpl/pkg/ratecache"
	"github.com/ksefpl/ksefpl/pkg/store"
)

// errOriginalPending means a credit memo's original invoice is still on its way to KSeF:
// the memo waits so that it can carry the original's KSeF number.
var errOriginalPending = errors.New("the corrected invoice has no KSeF number yet")

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
	for _, j := range jobs {
		if j.Frozen() {
			continue
		}
		xml, deferErr, invalid := w.build(ctx, j)
		if deferErr != nil {
			w.warnOnce(fmt.Sprintf("defer:%d", j.ID), fmt.Sprintf("job %d (%s) deferred: %v", j.ID, j.IncrementID, deferErr))
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
			p := plans[x.ID]
			if p.invalid != nil {
				x.Status, x.Reason, x.ReasonDetail = store.JobFailed, ReasonInvalid, p.invalid.Error()
				return w.audit(ReasonInvalid, p.invalid.Error()), nil
			}
			x.XML, x.InvoiceHash, x.FrozenAt = p.xml, p.hash, now
			if x.IssueDate == "" {
				x.IssueDate = issueDateOf(p.xml)
			}
			return w.audit(ReasonFrozen, fmt.Sprintf("%d bytes frozen, SHA-256 %s", len(p.xml), p.hash)), nil
		})
		if err != nil {
			return nil, err
		}
		var offline []*store.Job
		for _, j := range out {
			changed[j.ID] = j
			if j.Status == store.JobFailed {
				w.res.Failed++
				w.res.FailedJobs = append(w.res.FailedJobs, j.ID)
				w.progress(j.ID, store.JobFailed)
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

// build turns the job's input into the bytes to send. It returns either the bytes, a
// reason to try later, or a reason the job is invalid.
func (w *websiteRun) build(ctx context.Context, j *store.Job) ([]byte, error, error) {
	if j.InputFormat == "xml" {
		b := []byte(j.Input)
		if probs := fa.Check(b); len(probs) > 0 {
			return nil, nil, problemsError(probs)
		}
		return b, nil, nil
	}
	in, err := fa.ParseInput(strings.NewReader(j.Input))
	if err != nil {
		return nil, nil, err
	}
	opts := fa.BuildOptions{Schema: w.s.Schema, Seller: w.s.Seller, Now: w.env.Now, SystemInfo: "ksefpl " + w.env.Version,
		LookupOriginal: w.lookupOriginal}
	if cur, taxPoint, ok := in.NeedsRate(); ok {
		c := &nbp.Client{BaseURL: w.s.NBPURL, HTTP: w.env.HTTPClient, Cache: ratecache.New(w.env.DB)}
		r, err := c.RateFor(ctx, cur, taxPoint)
		var ne *nbp.NetworkError
		switch {
		case errors.As(err, &ne):
			return nil, fmt.Errorf("NBP exchange rate for %s unavailable: %w", cur, err), nil
		case err != nil:
			return nil, nil, err
		}
		fr := fa.Rate(r)
		opts.Rate = &fr
	}
	doc, err := fa.Build(ctx, in, opts)
	if errors.Is(err, errOriginalPending) {
		return nil, err, nil
	}
	if err != nil {
		if fa.IsInvalid(err) {
			return nil, nil, err
		}
		return nil, err, nil
	}
	b, err := fa.Marshal(doc)
	if err != nil {
		return nil, nil, err
	}
	if probs := fa.Check(b); len(probs) > 0 {
		return nil, nil, problemsError(probs)
	}
	return b, nil, nil
}

// lookupOriginal finds the invoice a credit memo corrects among this website's jobs.
func (w *websiteRun) lookupOriginal(ctx context.Context, incrementID string) (string, time.Time, bool, error) {
	jobs, err := w.env.DB.Jobs(ctx, store.JobFilter{WebsiteID: w.s.WebsiteID, IncrementID: incrementID})
	if err != nil {
		return "", time.Time{}, false, err
	}
	for _, j := range jobs {
		if j.EntityType != "invoice" {
			continue
		}
		switch j.Status {
		case store.JobAccepted:
			issued, _ := time.Parse(time.DateOnly, j.IssueDate)
			return j.KSeFNumber, issued, j.KSeFNumber != "", nil
		case store.JobPending, store.JobSending, store.JobSubmitted, store.JobAuthError:
			return "", time.Time{}, false, errOriginalPending
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

type problemsErr []fa.Problem

func (p problemsErr) Error() string {
	var parts []string
	for _, x := range p {
		parts = append(parts, x.String())
	}
	return "invalid invoice: " + strings.Join(parts, "; ")
}

func problemsError(p []fa.Problem) error { return problemsErr(p) }
