package qr

import (
	"context"
	"errors"
	"fmt"

	"github.com/ksefpl/ksefpl/pkg/config"
	"github.com/ksefpl/ksefpl/pkg/deps"
	"github.com/ksefpl/ksefpl/pkg/ksef"
	"github.com/ksefpl/ksefpl/pkg/store"
)

// Selector picks the job: exactly one of JobID and KSeFNumber. Website, when set,
// restricts the lookup to that website's jobs (and must match the job's website).
type Selector struct {
	JobID      int64
	KSeFNumber string
	Website    string
}

// JobCode is the verification code of one queued job.
type JobCode struct {
	JobID       int64
	EntityType  string // invoice | creditmemo
	IncrementID string
	Status      string
	Website     string // website code
	Environment ksef.Environment
	QRBase      string // the QR service address the link points at
	Invoice     Invoice
	KSeFNumber  string // "" until KSeF assigned one
	Link        string
	Label       string   // KSeF number, or LabelOffline
	Warnings    []string // things the user should know (e.g. an overridden API address)
}

// ForJob finds the job, reads its website's environment and builds KOD I from the
// job's frozen bytes: seller NIP and P_1 from the XML, the hash of those exact bytes.
// A job without frozen bytes gives *NotFrozenError; no job gives *NotFoundError.
func ForJob(ctx context.Context, src *deps.Deps, sel Selector) (*JobCode, error) {
	if (sel.JobID != 0) == (sel.KSeFNumber != "") {
		return nil, &InputError{Field: "job", Msg: "give exactly one of a job id and a KSeF number"}
	}
	j, web, err := findJob(ctx, src, sel)
	if err != nil {
		return nil, err
	}
	if !j.Frozen() {
		return nil, &NotFrozenError{JobID: j.ID, IncrementID: j.IncrementID, Status: j.Status}
	}
	if j.InvoiceHash != "" {
		if actual := ksef.SHA256Base64(j.XML); actual != j.InvoiceHash {
			return nil, &HashMismatchError{JobID: j.ID, Recorded: j.InvoiceHash, Actual: actual}
		}
	}
	inv, err := ReadInvoice(j.XML)
	if err != nil {
		return nil, fmt.Errorf("job %d: %w", j.ID, err)
	}
	sc, err := src.Config.WebsiteScope(ctx, web.Code)
	if err != nil {
		return nil, err
	}
	s, err := src.Website(ctx, sc)
	if err != nil {
		return nil, err
	}
	if s.EndpointsErr != nil {
		return nil, fmt.Errorf("website %q: %w", web.Code, s.EndpointsErr)
	}
	out := &JobCode{JobID: j.ID, EntityType: j.EntityType, IncrementID: j.IncrementID, Status: j.Status, Website: web.Code,
		Environment: s.Environment, Invoice: inv, KSeFNumber: j.KSeFNumber, Label: Label(j.KSeFNumber)}
	out.QRBase = s.Endpoints.QR
	if s.Environment != ksef.EnvLocal {
		// The code is printed for people: it points at the environment's own QR
		// service even when base_url sends API calls elsewhere (a proxy).
		own, err := s.Environment.Endpoints("")
		if err != nil {
			return nil, err
		}
		if own.QR != s.Endpoints.QR {
			out.Warnings = append(out.Warnings, fmt.Sprintf("%s overrides the API address of environment %s; the link uses that environment's QR service %s",
				config.PathBaseURL, s.Environment, own.QR))
		}
		out.QRBase = own.QR
	}
	if inv.SellerNIP != s.Seller.NIP && s.Seller.NIP != "" {
		out.Warnings = append(out.Warnings, fmt.Sprintf("the invoice's seller NIP %s differs from website %q's configured NIP %s; the link uses the invoice's",
			inv.SellerNIP, web.Code, s.Seller.NIP))
	}
	if out.Link, err = inv.Link(out.QRBase); err != nil {
		return nil, fmt.Errorf("job %d: %w", j.ID, err)
	}
	return out, nil
}

// findJob resolves the selector to one job and its website.
func findJob(ctx context.Context, src *deps.Deps, sel Selector) (*store.Job, store.Website, error) {
	var want store.Website
	if sel.Website != "" {
		w, err := src.DB.WebsiteByCode(ctx, sel.Website)
		if errors.Is(err, store.ErrNotFound) {
			return nil, want, &InputError{Field: "website", Msg: fmt.Sprintf("no website %q: list websites with ksefpl store:website:list", sel.Website), Err: err}
		}
		if err != nil {
			return nil, want, err
		}
		want = w
	}
	var j *store.Job
	if sel.JobID != 0 {
		var err error
		j, err = src.DB.JobByID(ctx, sel.JobID)
		if errors.Is(err, store.ErrNotFound) {
			return nil, want, &NotFoundError{Query: fmt.Sprintf("id %d", sel.JobID)}
		}
		if err != nil {
			return nil, want, err
		}
	} else {
		jobs, err := src.DB.Jobs(ctx, store.JobFilter{KSeFNumber: sel.KSeFNumber, WebsiteID: want.ID})
		if err != nil {
			return nil, want, err
		}
		switch len(jobs) {
		case 0:
			q := "KSeF number " + sel.KSeFNumber
			if sel.Website != "" {
				q += " in website " + sel.Website
			}
			return nil, want, &NotFoundError{Query: q}
		case 1:
			j = jobs[0]
		default:
			ids := make([]int64, len(jobs))
			for i, x := range jobs {
				ids[i] = x.ID
			}
			return nil, want, &AmbiguousError{KSeFNumber: sel.KSeFNumber, JobIDs: ids}
		}
	}
	web, err := src.DB.WebsiteByID(ctx, j.WebsiteID)
	if err != nil {
		return nil, want, fmt.Errorf("job %d: %w", j.ID, err)
	}
	if sel.Website != "" && web.ID != want.ID {
		return nil, want, &WebsiteMismatchError{JobID: j.ID, Website: web.Code, Asked: sel.Website}
	}
	return j, web, nil
}
