package submit

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"strconv"
	"strings"

	"github.com/ksefpl/ksefpl/pkg/ksef"
	"github.com/ksefpl/ksefpl/pkg/store"
)

// Reasons of the batch path.
const (
	ReasonBatchUpload    = "BATCH_UPLOAD_FAILED"
	ReasonBatchAbandoned = "BATCH_NEVER_CLOSED"
)

// batchFileName names a job's file inside a batch package; KSeF reports it back as
// invoiceFileName, which maps results to jobs.
func batchFileName(jobID int64) string { return "job-" + strconv.FormatInt(jobID, 10) + ".xml" }

// jobOfFile is the inverse of batchFileName (0 when the name is not one of ours).
func jobOfFile(name string) int64 {
	s, ok := strings.CutPrefix(name, "job-")
	if !ok {
		return 0
	}
	id, err := strconv.ParseInt(strings.TrimSuffix(s, ".xml"), 10, 64)
	if err != nil {
		return 0
	}
	return id
}

// frozenRef is what the batch path keeps in memory per job: no XML.
type frozenRef struct {
	id   int64
	size int64
	form ksef.FormCode
}

// sendBatch freezes the jobs, then sends them in batch sessions: per form code, as many
// sessions as KSeF's limits need, each package streamed from the store to disk.
//
// offline declares the invoices issued in an offline mode. A technical correction never
// goes in a batch session (KSeF takes it only in an online one): it is sent online after
// the batch sessions.
func (w *websiteRun) sendBatch(ctx context.Context, ids []int64, offline bool) error {
	groups := map[string][]frozenRef{}
	var order []string
	var corrections []int64
	// Freeze in chunks: one transaction per chunk, and only a chunk's XML in memory.
	const chunk = 250
	for start := 0; start < len(ids); start += chunk {
		if err := ctx.Err(); err != nil {
			return err
		}
		jobs, err := w.env.DB.Jobs(ctx, store.JobFilter{IDs: ids[start:min(len(ids), start+chunk)], Statuses: []string{store.JobPending}})
		if err != nil {
			return err
		}
		ready, err := w.freezeMany(ctx, jobs)
		if err != nil {
			return err
		}
		for _, j := range ready {
			if j.CorrectedHash != "" {
				corrections = append(corrections, j.ID)
				continue
			}
			form := formCodeOf(j.XML)
			if _, ok := groups[form.SystemCode]; !ok {
				order = append(order, form.SystemCode)
			}
			groups[form.SystemCode] = append(groups[form.SystemCode], frozenRef{id: j.ID, size: int64(len(j.XML)), form: form})
		}
	}
	for _, code := range order {
		refs := groups[code]
		sizes := make([]int64, len(refs))
		for i, r := range refs {
			sizes[i] = r.size
		}
		for _, rng := range ksef.PlanBatchSessions(sizes, w.o.BatchLimits) {
			if err := w.sendBatchSession(ctx, refs[rng[0]:rng[1]], offline); err != nil {
				if errors.Is(err, errStopSending) {
					w.stopped = true
					return nil
				}
				return err
			}
		}
	}
	if len(corrections) > 0 {
		return w.sendOnline(ctx, corrections)
	}
	return nil
}

// sendBatchSession sends one package: build → open → record SENDING → upload → close →
// record SUBMITTED. Before the close KSeF processes nothing, so a failed upload puts the
// jobs back to PENDING; an uncertain close leaves them SENDING for recovery.
func (w *websiteRun) sendBatchSession(ctx context.Context, refs []frozenRef, offline bool) error {
	form := refs[0].form
	pkg, err := ksef.BuildBatchPackage(ctx, w.files(ctx, refs), ksef.BatchPackageOptions{Limits: w.o.BatchLimits})
	if err != nil {
		return fmt.Errorf("build batch package: %w", err)
	}
	defer pkg.Remove()
	tok, err := w.token(ctx)
	if err != nil {
		return err
	}
	bs, err := w.client.OpenBatchSession(ctx, tok, form, pkg, ksef.BatchOptions{OfflineMode: offline, SubjectIdentifierValidation: w.s.ValidateSubjectIdentifiers})
	if err != nil {
		return fmt.Errorf("open a KSeF batch session: %w", err)
	}
	now := w.env.Now()
	if err := w.env.DB.CreateSession(ctx, store.Session{Reference: bs.ReferenceNumber, WebsiteID: w.s.WebsiteID, Kind: store.SessionBatch,
		Environment: w.s.EnvironmentName, APIURL: w.s.Endpoints.API, FormCode: form.SystemCode, Status: store.SessionSending,
		OpenedAt: now, ValidUntil: bs.UploadDeadline(), InvoiceCount: len(refs), Owner: w.env.Holder, OwnerTTL: w.o.LeaseTTL}, store.AuditEntry{Event: store.EventSession, Actor: w.env.Actor,
		Reason: "OPENED", Message: fmt.Sprintf("batch session %s: %d invoices, %d parts, %d bytes; %s %s", form, len(refs), len(pkg.Parts), pkg.FileSize, openedBy, w.env.Holder)}); err != nil {
		return err
	}
	w.own[bs.ReferenceNumber], w.owned[bs.ReferenceNumber] = true, true
	w.res.Sessions = append(w.res.Sessions, bs.ReferenceNumber)
	ids := make([]int64, len(refs))
	for i, r := range refs {
		ids[i] = r.id
	}
	// Record before the remote calls; only the process that claimed the jobs sends them.
	err = w.env.DB.MoveJobs(ctx, ids, []string{store.JobPending}, func(x *store.Job) error {
		if err := w.checkClaim(x); err != nil {
			return err
		}
		x.Status, x.Reason, x.ReasonDetail = store.JobSending, "", ""
		x.Attempts++
		x.SessionReference, x.InvoiceReference = bs.ReferenceNumber, ""
		return nil
	}, w.audit(ReasonSend, "in batch session "+bs.ReferenceNumber))
	if errors.Is(err, store.ErrConflict) {
		// Another process took one of the jobs (this run's claim expired). The package
		// is never uploaded nor closed, so KSeF processes none of it.
		_, _ = w.env.DB.UpdateSession(ctx, bs.ReferenceNumber, nil, func(x *store.Session) error {
			x.Status, x.KSeFStatusText, x.ClosedAt = store.SessionTerminated, ReasonBatchAbandoned+": "+err.Error(), w.env.Now()
			return nil
		}, store.AuditEntry{Event: store.EventSession, Actor: w.env.Actor, Reason: ReasonBatchAbandoned, Message: err.Error()})
		delete(w.own, bs.ReferenceNumber)
		return errStopSending
	}
	if err != nil {
		return err
	}
	for _, id := range ids {
		w.progress(id, bs.ReferenceNumber, store.JobSending)
	}
	if err := w.client.UploadBatchParts(ctx, bs, pkg.Parts, w.o.UploadParallelism); err != nil {
		return w.abandonBatch(ctx, bs.ReferenceNumber, ids, ReasonBatchUpload, err)
	}
	if w.env.Hooks.BeforeBatchClose != nil {
		if err := w.env.Hooks.BeforeBatchClose(bs.ReferenceNumber); err != nil {
			return err
		}
	}
	tok, err = w.token(ctx)
	if err != nil {
		return err
	}
	if err := w.client.CloseBatchSession(ctx, tok, bs.ReferenceNumber); err != nil {
		if ambiguous(err) {
			// KSeF may be processing it: the next pass asks.
			delete(w.own, bs.ReferenceNumber)
			return fmt.Errorf("%w: closing batch session %s: %v", errStopSending, bs.ReferenceNumber, err)
		}
		return w.abandonBatch(ctx, bs.ReferenceNumber, ids, ReasonBatchUpload, err)
	}
	// Record after: KSeF has the package; results come with the invoice references.
	if err := w.env.DB.MoveJobs(ctx, ids, []string{store.JobSending}, func(x *store.Job) error {
		x.Status = store.JobSubmitted
		return nil
	}, w.audit(ReasonSubmitted, "batch session "+bs.ReferenceNumber+" closed; KSeF is processing it")); err != nil {
		return err
	}
	if _, err := w.env.DB.UpdateSession(ctx, bs.ReferenceNumber, nil, func(x *store.Session) error {
		x.Status = store.SessionClosing
		return nil
	}, store.AuditEntry{Event: store.EventSession, Actor: w.env.Actor, Reason: "CLOSE_REQUESTED"}); err != nil {
		return err
	}
	delete(w.own, bs.ReferenceNumber)
	w.res.Sent += len(ids)
	for _, id := range ids {
		w.progress(id, bs.ReferenceNumber, store.JobSubmitted)
	}
	return nil
}

// errStopFiles ends FrozenXML early when the package stops taking files.
var errStopFiles = errors.New("stop")

// files streams the jobs' frozen bytes from the store, a chunk of jobs per query.
func (w *websiteRun) files(ctx context.Context, refs []frozenRef) iter.Seq2[string, []byte] {
	return func(yield func(string, []byte) bool) {
		ids := make([]int64, len(refs))
		for i, r := range refs {
			ids[i] = r.id
		}
		// An error ends the stream: BuildBatchPackage then reports fewer invoices than
		// planned.
		_ = w.env.DB.FrozenXML(ctx, ids, func(id int64, xml []byte) error {
			if !yield(batchFileName(id), xml) {
				return errStopFiles
			}
			return nil
		})
	}
}

// abandonBatch gives up a batch session that KSeF will never process (never closed): its
// jobs go back to PENDING, the session is recorded as terminated.
func (w *websiteRun) abandonBatch(ctx context.Context, ref string, ids []int64, reason string, cause error) error {
	if err := w.env.DB.MoveJobs(ctx, ids, []string{store.JobSending}, func(x *store.Job) error {
		x.Status, x.Reason, x.ReasonDetail = store.JobPending, reason, cause.Error()
		x.SessionReference = ""
		return nil
	}, w.audit(reason, "batch session "+ref+" was not closed, so KSeF processes none of it; the jobs will be sent again: "+cause.Error())); err != nil {
		return err
	}
	if _, err := w.env.DB.UpdateSession(ctx, ref, nil, func(x *store.Session) error {
		x.Status, x.KSeFStatusText, x.ClosedAt = store.SessionTerminated, reason+": "+cause.Error(), w.env.Now()
		return nil
	}, store.AuditEntry{Event: store.EventSession, Actor: w.env.Actor, Reason: reason, Message: cause.Error()}); err != nil {
		return err
	}
	delete(w.own, ref)
	w.res.Warnings = append(w.res.Warnings, fmt.Sprintf("batch session %s abandoned (%v); its %d jobs are PENDING again", ref, cause, len(ids)))
	return errStopSending
}
