package queue

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ksefpl/ksefpl/pkg/config"
	"github.com/ksefpl/ksefpl/pkg/deps"
	"github.com/ksefpl/ksefpl/pkg/invoice"
	"github.com/ksefpl/ksefpl/pkg/store"
)

// Document kinds a Request may carry.
const (
	KindInvoice    = "invoice"    // shop invoice JSON
	KindCreditMemo = "creditmemo" // shop credit memo JSON
	KindXML        = "xml"        // a ready FA(3)/FA(2) invoice, sent byte for byte
)

// Audit and job reasons written by this package.
const (
	ReasonQueued       = "QUEUED"        // a new job
	ReasonReplaced     = "REPLACED"      // an unsent job got a new input
	ReasonAuthError    = "AUTH_ERROR"    // held: the website's token was refused
	ReasonAuthReleased = "AUTH_RELEASED" // released by a successful test-connection
	ReasonRetry        = "RETRY"         // a FAILED job queued again by an operator
	ReasonDuplicate    = "DUPLICATE"     // failed: KSeF already holds this seller's invoice with this number
	ReasonResolved     = "RESOLVED"      // a DUPLICATE given the KSeF number KSeF reported, by an operator
)

// reasonTokenRejected is conncheck.ReasonTokenRejected; conncheck imports this package,
// so the value is repeated here instead of imported.
const reasonTokenRejected = "TOKEN_REJECTED"

// Request is one document to queue.
type Request struct {
	// Scope is the website the document belongs to (a websites scope).
	Scope config.Scope
	// Kind is KindInvoice, KindCreditMemo or KindXML.
	Kind string
	// Data is the raw input: shop JSON or invoice XML.
	Data []byte
	// Replace replaces the input of an existing job that was never sent.
	Replace bool
	// Actor is written into the audit row (e.g. "cli:alice").
	Actor string
	// Offline issues the document in this offline mode (offline24, offline, awaryjny):
	// its bytes are frozen at once, with a deadline. "" issues it online, unless
	// ksefpl/submit/offline_when_unavailable is 1 and KSeF is unavailable now.
	Offline string
}

// Result says what Enqueue did.
type Result struct {
	// Job is the job as stored (the existing one when Outcome is store.Existed).
	Job *store.Job
	// Outcome is store.Enqueued, store.Existed or store.Replaced.
	Outcome store.EnqueueResult
	// Warnings are things the operator should know, e.g. that the job is held as
	// AUTH_ERROR, or that the file differs from the queued input.
	Warnings []string
	// Offline says how the document was issued offline (nil: online).
	Offline *OfflineIssue
}

// Held reports whether the job was stored as AUTH_ERROR by the pre-flight.
func (r *Result) Held() bool { return r.Job != nil && r.Job.Status == store.JobAuthError }

// admission is a validated document ready to be stored.
type admission struct {
	entityType  string
	incrementID string
	issueDate   string
	inputFormat string
	// warnings are findings on a ready XML that KSeF does not enforce (fa.Problem.Warning):
	// printed and stored in the job's audit row, never a reason to refuse.
	warnings []string
}

// Enqueue validates the document fully (no network: a foreign-currency invoice without
// a manual rate is checked with a provisional rate, the real one is resolved at submit)
// and stores it as a job of the website: PENDING, or AUTH_ERROR when the website's
// newest authentication outcome says its token was refused. Queuing a document that is
// already queued changes nothing (Outcome store.Existed); with Replace, an unsent job's
// input is replaced, and a sent one is refused with a *StateError. Invalid documents are
// refused with an *InvalidError and nothing is stored.
func Enqueue(ctx context.Context, d *deps.Deps, req Request) (*Result, error) {
	env := d.WithDefaults()
	if req.Scope.WebsiteID == 0 {
		return nil, errors.New("queue: the request has no website scope")
	}
	ws, err := env.Website(ctx, req.Scope)
	if err != nil {
		return nil, fmt.Errorf("read the configuration of website %s: %w", req.Scope.WebsiteCode, err)
	}
	if strings.TrimSpace(ws.Seller.NIP) == "" {
		return nil, &InvalidError{Subject: "the document for website " + ws.WebsiteCode, Problems: []string{
			fmt.Sprintf("no seller NIP configured for website %q: run ksefpl config:set %s NIP%s",
				ws.WebsiteCode, config.PathSellerNIP, invoice.ScopeFlags(ws.WebsiteCode))}}
	}

	var adm *admission
	switch req.Kind {
	case KindInvoice, KindCreditMemo:
		adm, err = admitJSON(ctx, env, ws, req)
	case KindXML:
		adm, err = admitXML(ws, req.Data)
	default:
		return nil, fmt.Errorf("queue: unknown document kind %q (want %s, %s or %s)", req.Kind, KindInvoice, KindCreditMemo, KindXML)
	}
	if err != nil {
		return nil, err
	}

	job := store.Job{
		WebsiteID: ws.WebsiteID, EntityType: adm.entityType, IncrementID: adm.incrementID,
		InputFormat: adm.inputFormat, Input: string(req.Data), Status: store.JobPending, IssueDate: adm.issueDate,
	}
	res := &Result{Warnings: adm.warnings}
	iss, lifted, warning, err := offlineChoice(ctx, env, ws, req)
	if err != nil {
		return nil, err
	}
	if warning != "" {
		res.Warnings = append(res.Warnings, warning)
	}
	if iss != nil {
		if err := freezeOffline(ctx, env, ws, req, &job, iss, lifted); err != nil {
			return nil, err
		}
		res.Offline = iss
	}
	held, err := preflight(ctx, env.DB, ws.WebsiteID)
	if err != nil {
		return nil, err
	}
	if held != "" {
		job.Status, job.Reason, job.ReasonDetail = store.JobAuthError, ReasonAuthError, held
	}

	existing, err := findJob(ctx, env.DB, job.WebsiteID, job.EntityType, job.IncrementID)
	if err != nil {
		return nil, err
	}
	audit := store.AuditEntry{Event: store.EventTransition, Actor: req.Actor, Reason: ReasonQueued,
		Message: fmt.Sprintf("queued %s %s from %s input (%d bytes)", job.EntityType, job.IncrementID, job.InputFormat, len(req.Data))}
	if existing != nil && req.Replace {
		audit.Reason = ReasonReplaced
		audit.Message = fmt.Sprintf("input of %s %s replaced from %s input (%d bytes)", job.EntityType, job.IncrementID, job.InputFormat, len(req.Data))
	}
	if held != "" {
		audit.Message += "; held as AUTH_ERROR: " + held
	}
	if len(adm.warnings) > 0 {
		audit.Message += "; warnings: " + strings.Join(adm.warnings, "; ")
	}
	if iss != nil {
		audit.Reason = ReasonOfflineIssued
		audit.Message += fmt.Sprintf("; issued offline (%s: %s), %d bytes frozen, SHA-256 %s; deadline %s",
			iss.Mode, iss.Why, len(job.XML), job.InvoiceHash, iss.Deadline)
	}
	stored, outcome, err := env.DB.Enqueue(ctx, job, req.Replace, audit)
	if err != nil {
		return nil, fmt.Errorf("store %s %s in the queue: %w", job.EntityType, job.IncrementID, err)
	}
	res.Job, res.Outcome = stored, outcome
	if outcome == store.Existed {
		if req.Replace {
			return nil, replaceRefused(stored)
		}
		if stored.Input != job.Input {
			res.Warnings = append(res.Warnings, fmt.Sprintf(
				"the queued input of %s differs from this file; use --replace to queue the new version (possible only while the job is unsent)",
				stored.IncrementID))
		}
		return res, nil
	}
	if held != "" {
		res.Warnings = append(res.Warnings, fmt.Sprintf("job %d is held as AUTH_ERROR and will not be sent: %s", stored.ID, held))
	}
	if w := futureIssueDate(stored.IssueDate, env.Now()); w != "" {
		res.Warnings = append(res.Warnings, w)
	}
	return res, nil
}

// futureIssueDate warns about an issue date (P_1) after today in Poland: KSeF rejects
// an invoice issued later than the day it receives it.
func futureIssueDate(issueDate string, now time.Time) string {
	loc, err := time.LoadLocation("Europe/Warsaw")
	if err != nil {
		loc = time.UTC
	}
	today := now.In(loc).Format(time.DateOnly)
	if issueDate == "" || issueDate <= today {
		return ""
	}
	return fmt.Sprintf("the issue date (P_1) %s is after today (%s): KSeF rejects an invoice it receives before its issue date, so submit will fail until then; fix created_at if it is wrong",
		issueDate, today)
}

// findJob returns the job of one document, or nil.
func findJob(ctx context.Context, db *store.DB, websiteID int64, entityType, incrementID string) (*store.Job, error) {
	jobs, err := db.Jobs(ctx, store.JobFilter{WebsiteID: websiteID, EntityType: entityType, IncrementID: incrementID})
	if err != nil {
		return nil, fmt.Errorf("look up %s %s in the queue: %w", entityType, incrementID, err)
	}
	if len(jobs) == 0 {
		return nil, nil
	}
	return jobs[0], nil
}

// replaceRefused explains why an existing job's input cannot be replaced.
func replaceRefused(j *store.Job) error {
	what := fmt.Sprintf("%s %s cannot be replaced: job %d (%s) was already sent to KSeF", j.EntityType, j.IncrementID, j.ID, j.Status)
	switch {
	case j.KSeFNumber != "":
		what += fmt.Sprintf(" and has KSeF number %s; correct it with a credit memo instead", j.KSeFNumber)
	default:
		what += "; wait for its outcome (ksefpl queue show " + fmt.Sprint(j.ID) + ") and correct it with a credit memo if needed"
	}
	return &StateError{JobID: j.ID, IncrementID: j.IncrementID, Status: j.Status, Msg: what}
}
