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

// freeze fixes the job's XML bytes and hash, once: a frozen job is never rebuilt, so a
// resend carries exactly the bytes of the first send.
func (w *websiteRun) freeze(ctx context.Context, j *store.Job) (*store.Job, freezeOutcome, error) {
	if j.Frozen() {
		return j, frozen, nil
	}
	xml, deferErr, invalid := w.build(ctx, j)
	switch {
	case deferErr != nil:
		w.res.Warnings = append(w.res.Warnings, fmt.Sprintf("job %d (%s) deferred: %v", j.ID, j.IncrementID, deferErr))
		return j, deferred, nil
	case invalid != nil:
		nj, err := w.env.DB.UpdateJob(ctx, j.ID, []string{store.JobPending}, func(x *store.Job) error {
			x.Status, x.Reason, x.ReasonDetail = store.JobFailed, ReasonInvalid, invalid.Error()
			return nil
		}, w.audit(ReasonInvalid, invalid.Error()))
		if err == nil {
			w.res.Failed++
			w.res.FailedJobs = append(w.res.FailedJobs, j.ID)
		}
		return nj, failed, err
	}
	hash := ksef.SHA256Base64(xml)
	nj, err := w.env.DB.UpdateJob(ctx, j.ID, []string{store.JobPending}, func(x *store.Job) error {
		x.XML, x.InvoiceHash, x.FrozenAt = xml, hash, w.env.Now()
		if x.IssueDate == "" {
			x.IssueDate = issueDateOf(xml)
		}
		return nil
	}, w.audit(ReasonFrozen, fmt.Sprintf("%d bytes frozen, SHA-256 %s", len(xml), hash)))
	if err != nil {
		return nil, failed, err
	}
	w.warnOffline(ctx, nj)
	return nj, frozen, nil
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

// warnOffline records that KSeF will classify an invoice issued before today as offline.
func (w *websiteRun) warnOffline(ctx context.Context, j *store.Job) {
	today := w.env.Now().In(warsaw()).Format(time.DateOnly)
	if j.IssueDate == "" || j.IssueDate >= today {
		return
	}
	msg := fmt.Sprintf("invoice %s was issued on %s, before today (%s): KSeF classifies it as issued offline", j.IncrementID, j.IssueDate, today)
	w.res.Warnings = append(w.res.Warnings, msg)
	_ = w.env.DB.AppendAudit(ctx, store.AuditEntry{WebsiteID: j.WebsiteID, JobID: j.ID, Event: store.EventWarning,
		Actor: w.env.Actor, Reason: ReasonOffline, Message: msg})
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

func warsaw() *time.Location {
	loc, err := time.LoadLocation("Europe/Warsaw")
	if err != nil {
		return time.FixedZone("CET", 3600)
	}
	return loc
}
