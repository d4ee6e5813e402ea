// Package reconcile owns queue:reconcile: it compares what the local queue says was sent
// with what KSeF holds for the seller (the metadata of its issued invoices), by KSeF
// number and invoice hash, reports every difference and, asked to, settles jobs KSeF
// already holds but the queue still has in flight.
package reconcile

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/ksefpl/ksefpl/pkg/config"
	"github.com/ksefpl/ksefpl/pkg/deps"
	"github.com/ksefpl/ksefpl/pkg/failure"
	"github.com/ksefpl/ksefpl/pkg/ksef"
	"github.com/ksefpl/ksefpl/pkg/offline"
	"github.com/ksefpl/ksefpl/pkg/queue"
	"github.com/ksefpl/ksefpl/pkg/store"
)

// ReasonReconciled is the reason of a job settled by reconcile --fix.
const ReasonReconciled = "RECONCILED"

// Options choose what to reconcile.
type Options struct {
	// Website is the website code ("" = base).
	Website string
	// From and To are the first and last issue dates (P_1) of the period, as calendar
	// dates; zero To is today, zero From 30 days before To.
	From, To time.Time
	// Fix settles in-flight jobs KSeF already holds (class d) to ACCEPTED.
	Fix bool
	// Actor names who ran it in audit rows.
	Actor string
}

// Entry is one difference: a job, a KSeF invoice, or both.
type Entry struct {
	JobID       int64  `json:"job_id,omitempty"`
	Type        string `json:"type,omitempty"`
	IncrementID string `json:"increment_id,omitempty"`
	Status      string `json:"status,omitempty"`
	KSeFNumber  string `json:"ksef_number,omitempty"`
	// InvoiceNumber and IssueDate are KSeF's (P_2, P_1) when KSeF has the invoice,
	// else the job's.
	InvoiceNumber string `json:"invoice_number,omitempty"`
	IssueDate     string `json:"issue_date,omitempty"`
	LocalHash     string `json:"local_hash,omitempty"`
	KSeFHash      string `json:"ksef_hash,omitempty"`
	// Fixed says reconcile --fix settled the job (class d).
	Fixed  bool   `json:"fixed,omitempty"`
	Detail string `json:"detail,omitempty"`
}

// Report is the comparison of one website's queue with KSeF over a period.
type Report struct {
	Website    string `json:"website"`
	From       string `json:"from"`
	To         string `json:"to"`
	KSeFCount  int    `json:"ksef_count"`
	LocalCount int    `json:"local_count"`
	// MissingInKSeF: jobs ACCEPTED locally whose KSeF number KSeF does not list (a).
	MissingInKSeF []Entry `json:"missing_in_ksef"`
	// UnknownToQueue: invoices KSeF holds for the seller that no job knows (b), e.g.
	// issued by another system with the same NIP.
	UnknownToQueue []Entry `json:"unknown_to_queue"`
	// HashMismatch: one KSeF number, two documents (c).
	HashMismatch []Entry `json:"hash_mismatch"`
	// Settled: jobs still SENDING or SUBMITTED whose invoice KSeF already holds (d);
	// Fixed when --fix moved them to ACCEPTED.
	Settled []Entry `json:"settled"`
}

// Agrees reports whether the queue and KSeF agree: no difference, or (with --fix) only
// in-flight jobs that were settled.
func (r *Report) Agrees() bool {
	if len(r.MissingInKSeF)+len(r.UnknownToQueue)+len(r.HashMismatch) > 0 {
		return false
	}
	for _, e := range r.Settled {
		if !e.Fixed {
			return false
		}
	}
	return true
}

// DifferencesError is returned with a report whose queue and KSeF disagree (exit 7:
// the comparison ran, some items differ).
type DifferencesError struct{ Report *Report }

func (e *DifferencesError) Error() string {
	r := e.Report
	unfixed := 0
	for _, s := range r.Settled {
		if !s.Fixed {
			unfixed++
		}
	}
	return fmt.Sprintf("the queue and KSeF disagree for website %s from %s to %s: %d missing in KSeF, %d unknown to the queue, "+
		"%d hash mismatch(es), %d in-flight job(s) KSeF already holds%s", r.Website, r.From, r.To, len(r.MissingInKSeF),
		len(r.UnknownToQueue), len(r.HashMismatch), unfixed, fixHint(unfixed))
}

func fixHint(unfixed int) string {
	if unfixed == 0 {
		return ""
	}
	return " (ksefpl queue:reconcile --fix settles those)"
}

// Class is failure.Partial: the comparison ran and found differences (exit 7).
func (e *DifferencesError) Class() failure.Class { return failure.Partial }

// Run compares the website's queue with KSeF over the period. The report is returned
// with a *DifferencesError when they disagree; other errors mean the comparison could
// not run (nothing was changed).
func Run(ctx context.Context, d *deps.Deps, o Options) (*Report, error) {
	from, to, err := period(d, o)
	if err != nil {
		return nil, err
	}
	code := o.Website
	if code == "" {
		code = "base"
	}
	sc, err := d.Config.WebsiteScope(ctx, code)
	if err != nil {
		return nil, err
	}
	s, err := d.Website(ctx, sc)
	if err != nil {
		return nil, err
	}
	if m := s.Missing(); len(m) > 0 {
		return nil, &ksef.ConfigError{Field: "configuration", Msg: fmt.Sprintf("website %s is missing %v: run ksefpl test-connection --website %s", code, m, code)}
	}
	local, err := d.DB.JobDigests(ctx, store.JobFilter{WebsiteID: sc.WebsiteID, IssuedFrom: from.Format(time.DateOnly),
		IssuedTo: to.Format(time.DateOnly), Statuses: []string{store.JobAccepted, store.JobSending, store.JobSubmitted, store.JobFailed}})
	if err != nil {
		return nil, err
	}
	client, err := s.Client(d.ClientOptions())
	if err != nil {
		return nil, err
	}
	tok, err := client.AccessToken(ctx, s.Credentials())
	if err != nil {
		return nil, fmt.Errorf("authenticate website %s: %w", code, err)
	}
	remote, err := remoteInvoices(ctx, client, tok, from, to)
	if err != nil {
		return nil, fmt.Errorf("read KSeF's invoices of website %s from %s to %s: %w", code, from.Format(time.DateOnly), to.Format(time.DateOnly), err)
	}
	r := compare(code, from, to, local, remote)
	if o.Fix {
		if err := settle(ctx, d, r, o.Actor); err != nil {
			return r, err
		}
	}
	if !r.Agrees() {
		return r, &DifferencesError{Report: r}
	}
	return r, nil
}

// period resolves the options' dates (Europe/Warsaw calendar days).
func period(d *deps.Deps, o Options) (from, to time.Time, err error) {
	to = o.To
	if to.IsZero() {
		to = d.Clock()
	}
	to = day(to)
	from = o.From
	if from.IsZero() {
		from = to.AddDate(0, 0, -30)
	}
	from = day(from)
	if from.After(to) {
		return from, to, &config.InvalidValueError{Path: "--from", Reason: fmt.Sprintf("%s is after --to %s", from.Format(time.DateOnly), to.Format(time.DateOnly))}
	}
	return from, to, nil
}

// day is the Europe/Warsaw calendar day of t, at midnight there (a date parsed as UTC
// midnight keeps its day).
func day(t time.Time) time.Time { return offline.Day(t) }

// remoteInvoice is what the comparison needs of one invoice KSeF holds.
type remoteInvoice struct {
	KSeFNumber    string
	InvoiceNumber string
	IssueDate     string
	Hash          string
}

// compare sorts every local job and KSeF invoice into agreement or one difference
// class.
func compare(code string, from, to time.Time, local []store.JobDigest, remote []remoteInvoice) *Report {
	r := &Report{Website: code, From: from.Format(time.DateOnly), To: to.Format(time.DateOnly), KSeFCount: len(remote),
		MissingInKSeF: []Entry{}, UnknownToQueue: []Entry{}, HashMismatch: []Entry{}, Settled: []Entry{}}
	byNumber := map[string]remoteInvoice{}
	for _, inv := range remote {
		byNumber[inv.KSeFNumber] = inv
	}
	known := map[string]bool{}
	inFlight := map[string]store.JobDigest{} // frozen hash → SENDING/SUBMITTED job
	duplicates := map[string]store.JobDigest{}
	for _, j := range local {
		switch {
		case j.Status == store.JobAccepted && j.KSeFNumber != "":
			r.LocalCount++
			inv, ok := byNumber[j.KSeFNumber]
			if !ok {
				r.MissingInKSeF = append(r.MissingInKSeF, entryOf(j, "KSeF does not list this KSeF number for the seller in the period"))
				continue
			}
			known[j.KSeFNumber] = true
			if inv.Hash != j.InvoiceHash {
				e := entryOf(j, "KSeF holds a different document under this KSeF number")
				e.KSeFHash, e.InvoiceNumber, e.IssueDate = inv.Hash, inv.InvoiceNumber, inv.IssueDate
				r.HashMismatch = append(r.HashMismatch, e)
			}
		case j.Status == store.JobSending || j.Status == store.JobSubmitted:
			r.LocalCount++
			if j.InvoiceHash != "" {
				inFlight[j.InvoiceHash] = j
			}
		case j.Status == store.JobFailed && j.Reason == queue.ReasonDuplicate:
			duplicates[j.IncrementID] = j
		}
	}
	for _, inv := range remote {
		if known[inv.KSeFNumber] {
			continue
		}
		if j, ok := inFlight[inv.Hash]; ok {
			e := entryOf(j, "KSeF already holds this job's document")
			e.KSeFNumber, e.KSeFHash, e.InvoiceNumber, e.IssueDate = inv.KSeFNumber, inv.Hash, inv.InvoiceNumber, inv.IssueDate
			r.Settled = append(r.Settled, e)
			delete(inFlight, inv.Hash)
			continue
		}
		e := Entry{KSeFNumber: inv.KSeFNumber, InvoiceNumber: inv.InvoiceNumber, IssueDate: inv.IssueDate, KSeFHash: inv.Hash,
			Detail: "no job knows this invoice (issued by another system with this NIP?)"}
		if j, ok := duplicates[inv.InvoiceNumber]; ok {
			e.Detail = fmt.Sprintf("job %d (%s) failed as a DUPLICATE of it: ksefpl queue resolve %d --ksef-number %s", j.ID, j.IncrementID, j.ID, inv.KSeFNumber)
		}
		r.UnknownToQueue = append(r.UnknownToQueue, e)
	}
	sort.Slice(r.Settled, func(a, b int) bool { return r.Settled[a].JobID < r.Settled[b].JobID })
	return r
}

func entryOf(j store.JobDigest, detail string) Entry {
	return Entry{JobID: j.ID, Type: j.EntityType, IncrementID: j.IncrementID, Status: j.Status, KSeFNumber: j.KSeFNumber,
		InvoiceNumber: j.IncrementID, IssueDate: j.IssueDate, LocalHash: j.InvoiceHash, Detail: detail}
}

// settle moves the in-flight jobs KSeF already holds to ACCEPTED with their KSeF
// numbers, one audit row each. A job another run moved meanwhile is left to it.
func settle(ctx context.Context, d *deps.Deps, r *Report, actor string) error {
	for i := range r.Settled {
		e := &r.Settled[i]
		msg := fmt.Sprintf("KSeF holds this document as %s (found by queue:reconcile, SHA-256 %s)", e.KSeFNumber, e.KSeFHash)
		_, err := d.DB.UpdateJob(ctx, e.JobID, []string{store.JobSending, store.JobSubmitted}, func(x *store.Job) error {
			if x.InvoiceHash != e.KSeFHash {
				return fmt.Errorf("job %d's frozen bytes changed meanwhile: %w", x.ID, store.ErrConflict)
			}
			x.Status, x.KSeFNumber, x.Reason, x.ReasonDetail = store.JobAccepted, e.KSeFNumber, ReasonReconciled, msg
			x.UPODue = true
			return nil
		}, store.AuditEntry{Event: store.EventTransition, Actor: actor, Reason: ReasonReconciled, Message: msg})
		switch {
		case errors.Is(err, store.ErrConflict):
			e.Detail += "; another run changed the job meanwhile, so it was left to that run"
		case err != nil:
			return err
		default:
			e.Fixed, e.Status = true, store.JobAccepted
		}
	}
	return nil
}
