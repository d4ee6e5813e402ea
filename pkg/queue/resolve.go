package queue

import (
	"context"
	"errors"
	"fmt"

	"github.com/ksefpl/ksefpl/pkg/deps"
	"github.com/ksefpl/ksefpl/pkg/fa"
	"github.com/ksefpl/ksefpl/pkg/failure"
	"github.com/ksefpl/ksefpl/pkg/ksef"
	"github.com/ksefpl/ksefpl/pkg/store"
	"github.com/ksefpl/ksefpl/pkg/website"
)

// ResolveRequest records the KSeF number KSeF reported for a job it refused as a
// duplicate.
type ResolveRequest struct {
	JobID      int64
	KSeFNumber string
	Actor      string
}

// ResolveResult is what Resolve recorded.
type ResolveResult struct {
	Job *store.Job `json:"-"`
	// Verified says KSeF returned an invoice under the number with this job's seller
	// and invoice number; SameDocument that its bytes are the job's frozen bytes.
	Verified     bool `json:"verified"`
	SameDocument bool `json:"same_document"`
	// Unverified says why KSeF could not be asked ("" when it was).
	Unverified string   `json:"unverified,omitempty"`
	Warnings   []string `json:"warnings,omitempty"`
}

// Resolve gives a FAILED job KSeF refused as a DUPLICATE the KSeF number KSeF holds the
// invoice under, and marks it ACCEPTED (reason RESOLVED, one audit row): credit memos
// waiting for it can then be sent and its QR code printed. The number is checked first:
// its form and checksum, its seller NIP against the job's, that no other job holds it,
// and, when KSeF is reachable, that KSeF has an invoice under it with this seller and
// this invoice number (a different number, or none, is refused; different content is
// a warning). When KSeF cannot be reached the number is recorded unverified and the
// result says so. Nothing changes on an error.
func Resolve(ctx context.Context, d *deps.Deps, req ResolveRequest) (*ResolveResult, error) {
	if err := ksef.ValidateKSeFNumber(req.KSeFNumber); err != nil {
		return nil, err
	}
	j, err := d.DB.JobByID(ctx, req.JobID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, &NotFoundError{Query: fmt.Sprint(req.JobID)}
	}
	if err != nil {
		return nil, err
	}
	if j.Status != store.JobFailed || j.Reason != ReasonDuplicate {
		return nil, &StateError{JobID: j.ID, IncrementID: j.IncrementID, Status: j.Status, Msg: fmt.Sprintf(
			"job %d (%s %s) is %s (reason %s): only a FAILED job KSeF refused as a DUPLICATE takes the KSeF number KSeF reported; "+
				"see ksefpl queue show %d", j.ID, j.EntityType, j.IncrementID, j.Status, orNone(j.Reason), j.ID)}
	}
	own, err := ownDocument(j)
	if err != nil {
		return nil, err
	}
	if nipOf := req.KSeFNumber[:10]; own.Seller.ID != "" && nipOf != own.Seller.ID {
		return nil, &ResolveError{Msg: fmt.Sprintf("KSeF number %s belongs to seller NIP %s, but job %d's invoice is from %s: "+
			"give the number KSeF reported for this invoice (ksefpl queue show %d)", req.KSeFNumber, nipOf, j.ID, own.Seller.ID, j.ID)}
	}
	others, err := d.DB.Jobs(ctx, store.JobFilter{KSeFNumber: req.KSeFNumber})
	if err != nil {
		return nil, err
	}
	for _, o := range others {
		if o.ID != j.ID {
			return nil, &ResolveError{Msg: fmt.Sprintf("KSeF number %s is already job %d's (%s %s): one KSeF number names one invoice",
				req.KSeFNumber, o.ID, o.EntityType, o.IncrementID)}
		}
	}
	res := &ResolveResult{}
	switch stored, err := fetchStored(ctx, d, j, req.KSeFNumber); {
	case err == nil:
		if err := res.compare(j, own, stored, req.KSeFNumber); err != nil {
			return nil, err
		}
	case failure.Of(err) == failure.Unavailable:
		res.Unverified = "KSeF could not be reached: " + err.Error()
		res.Warnings = append(res.Warnings, fmt.Sprintf("KSeF number %s was recorded without checking it against KSeF (%v)", req.KSeFNumber, err))
	case isInvoiceNotFound(err):
		return nil, &ResolveError{Msg: fmt.Sprintf("KSeF has no invoice %s that this website's credentials can read: "+
			"check the number KSeF reported (ksefpl queue show %d) and whose it is", req.KSeFNumber, j.ID), Err: err}
	default:
		return nil, fmt.Errorf("check KSeF number %s against KSeF: %w", req.KSeFNumber, err)
	}
	detail := "KSeF number " + req.KSeFNumber + " recorded by an operator; "
	switch {
	case res.SameDocument:
		detail += "KSeF holds this job's exact document under it"
	case res.Verified:
		detail += "KSeF holds an invoice with this seller and number under it, with different content"
	default:
		detail += "not verified: " + res.Unverified
	}
	j, err = d.DB.UpdateJob(ctx, j.ID, []string{store.JobFailed}, func(x *store.Job) error {
		if x.Reason != ReasonDuplicate {
			return &StateError{JobID: x.ID, IncrementID: x.IncrementID, Status: x.Status, Msg: fmt.Sprintf("job %d changed meanwhile (reason %s): nothing was recorded", x.ID, x.Reason)}
		}
		x.Status, x.KSeFNumber, x.Reason, x.ReasonDetail = store.JobAccepted, req.KSeFNumber, ReasonResolved, detail
		x.UPODue = true
		return nil
	}, store.AuditEntry{Event: store.EventTransition, Actor: req.Actor, Reason: ReasonResolved, Message: detail})
	if err != nil {
		return nil, err
	}
	res.Job = j
	return res, nil
}

// compare checks the invoice KSeF holds against the job's.
func (r *ResolveResult) compare(j *store.Job, own fa.Summary, stored *ksef.StoredInvoice, number string) error {
	doc, err := fa.ParseXML(stored.XML)
	if err != nil {
		return fmt.Errorf("KSeF's invoice %s cannot be read: %w", number, err)
	}
	theirs := fa.Summarize(doc)
	if theirs.Seller.ID != own.Seller.ID || theirs.Number != own.Number {
		return &ResolveError{Msg: fmt.Sprintf("KSeF's invoice %s is invoice %q of seller %s, not job %d's invoice %q of seller %s: "+
			"give the number KSeF reported for this invoice (ksefpl queue show %d)", number, theirs.Number, theirs.Seller.ID, j.ID, own.Number, own.Seller.ID, j.ID)}
	}
	r.Verified = true
	r.SameDocument = j.InvoiceHash != "" && stored.Hash == j.InvoiceHash
	if !r.SameDocument {
		r.Warnings = append(r.Warnings, fmt.Sprintf("KSeF's invoice %s has the same seller and number as job %d but different content "+
			"(SHA-256 %s, the job's %s): the document KSeF holds is the legal one; issue a correction if it is wrong", number, j.ID, stored.Hash, j.InvoiceHash))
	}
	return nil
}

// ownDocument is the summary of the job's frozen bytes (a DUPLICATE was sent, so it has
// them).
func ownDocument(j *store.Job) (fa.Summary, error) {
	if !j.Frozen() {
		return fa.Summary{}, &StateError{JobID: j.ID, IncrementID: j.IncrementID, Status: j.Status,
			Msg: fmt.Sprintf("job %d has no frozen document, so it was never sent: it cannot be a duplicate", j.ID)}
	}
	doc, err := fa.ParseXML(j.XML)
	if err != nil {
		return fa.Summary{}, fmt.Errorf("job %d's frozen document cannot be read: %w", j.ID, err)
	}
	return fa.Summarize(doc), nil
}

// fetchStored asks KSeF for the invoice under number with the job's website's
// credentials.
func fetchStored(ctx context.Context, d *deps.Deps, j *store.Job, number string) (*ksef.StoredInvoice, error) {
	s, err := websiteOf(ctx, d, j.WebsiteID)
	if err != nil {
		return nil, err
	}
	if m := s.Missing(); len(m) > 0 {
		return nil, &ksef.ConfigError{Field: "configuration", Msg: fmt.Sprintf("website %s is missing %v, so KSeF cannot be asked: run ksefpl test-connection --website %s", s.WebsiteCode, m, s.WebsiteCode)}
	}
	client, err := s.Client(d.ClientOptions())
	if err != nil {
		return nil, err
	}
	tok, err := client.AccessToken(ctx, s.Credentials())
	if err != nil {
		return nil, err
	}
	return client.Invoice(ctx, tok, number)
}

// isInvoiceNotFound reports KSeF's 21164 (no such invoice for this context).
func isInvoiceNotFound(err error) bool {
	var ae *ksef.APIError
	if !errors.As(err, &ae) {
		return false
	}
	for _, e := range ae.Exceptions {
		if e.Code == 21164 {
			return true
		}
	}
	return false
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// ResolveError reports a KSeF number that does not belong to the job. Nothing was
// recorded.
type ResolveError struct {
	Msg string
	Err error
}

func (e *ResolveError) Error() string { return e.Msg + "; nothing was recorded" }

// Unwrap returns KSeF's answer, when there is one.
func (e *ResolveError) Unwrap() error { return e.Err }

// Class is failure.Invalid: the number is wrong for this job.
func (e *ResolveError) Class() failure.Class { return failure.Invalid }

// websiteOf reads the effective settings of the website with the given id.
func websiteOf(ctx context.Context, d *deps.Deps, websiteID int64) (*website.Settings, error) {
	w, err := d.DB.WebsiteByID(ctx, websiteID)
	if err != nil {
		return nil, err
	}
	sc, err := d.Config.WebsiteScope(ctx, w.Code)
	if err != nil {
		return nil, err
	}
	return d.Website(ctx, sc)
}
