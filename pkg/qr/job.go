package qr

import (
	"context"
	"errors"
	"fmt"
	"time"

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
	// Certificate asks for KOD II even when the job is not marked offline (an offline
	// job always gets it).
	Certificate bool
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

	// OfflineMode is the mode the invoice was issued in: "" online, else offline24,
	// offline or awaryjny (store.Job.OfflineMode). Deadline is the last day
	// (YYYY-MM-DD, Europe/Warsaw) it must reach KSeF; DeadlineLifted that a total
	// failure lifted that duty.
	OfflineMode    string
	Deadline       string
	DeadlineLifted bool

	// Certificate is KOD II, built for an offline job (or when Selector.Certificate
	// asks) with the website's offline certificate; nil when not built.
	Certificate *CertificateCode
	// CertificateErr says why KOD II could not be built although it was due: an
	// *OfflineCertificateError when the website's offline certificate is missing or
	// unusable (expired, an Authentication certificate, an undecryptable key, …),
	// whose message tells the user how to get one. ForJob still returns KOD I then;
	// the caller must show this error (an offline invoice needs both codes).
	CertificateErr error
}

// Offline reports whether the job's invoice was issued in an offline mode and so must
// carry KOD II as well as KOD I.
func (c *JobCode) Offline() bool { return c.OfflineMode != "" }

// Kod selects the codes of a job to draw.
type Kod int

// The choices of Kod.
const (
	// KodAll is every code the invoice must carry: KOD I, and for an offline invoice
	// KOD II too.
	KodAll Kod = 0
	// KodI is the invoice verification code alone.
	KodI Kod = 1
	// KodII is the certificate verification code alone.
	KodII Kod = 2
)

// Codes returns the codes k selects, ready for RenderCodes: KOD I with Label, KOD II
// with LabelCertificate. For KodAll of an offline job (or one KOD II was asked for),
// and for KodII, a KOD II that could not be built gives CertificateErr; KodII of an
// online job without one gives an *InputError (KOD II is only for offline invoices);
// any other k an *InputError.
func (c *JobCode) Codes(k Kod) ([]Code, error) {
	kod1 := Code{Link: c.Link, Label: c.Label}
	kod2 := func() (Code, error) {
		switch {
		case c.Certificate != nil:
			return Code{Link: c.Certificate.Link, Label: c.Certificate.Label}, nil
		case c.CertificateErr != nil:
			return Code{}, c.CertificateErr
		}
		return Code{}, &InputError{Field: "code", Msg: fmt.Sprintf("job %d is an online invoice: KOD II (CERTYFIKAT) exists only for invoices issued offline (offline24, offline, awaryjny)", c.JobID)}
	}
	switch k {
	case KodI:
		return []Code{kod1}, nil
	case KodII:
		k2, err := kod2()
		if err != nil {
			return nil, err
		}
		return []Code{k2}, nil
	case KodAll:
		if !c.Offline() && c.Certificate == nil && c.CertificateErr == nil {
			return []Code{kod1}, nil
		}
		k2, err := kod2()
		if err != nil {
			return nil, err
		}
		return []Code{kod1, k2}, nil
	}
	return nil, &InputError{Field: "code", Msg: fmt.Sprintf("%d: choose 1 (KOD I, the invoice) or 2 (KOD II, the certificate)", int(k))}
}

// ForJob finds the job, reads its website's environment and builds KOD I from the
// job's frozen bytes: seller NIP and P_1 from the XML, the hash of those exact bytes.
// A job without frozen bytes gives *NotFrozenError; no job gives *NotFoundError.
//
// For an offline job (store.Job.OfflineMode set), or when sel.Certificate asks, it
// also builds KOD II, signed with the website's offline certificate: context Nip with
// the website's seller NIP (the context the website authenticates in; the invoice's
// seller NIP when none is configured), the invoice's Podmiot1 NIP as seller, the same
// hash. A missing or unusable offline certificate does not fail ForJob: KOD I is
// returned with Certificate nil and the reason in CertificateErr (an
// *OfflineCertificateError naming the website), so the caller can print KOD I and
// tell the user how to get the certificate; JobCode.Codes(KodAll) returns that error.
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
	out.OfflineMode, out.Deadline, out.DeadlineLifted = j.OfflineMode, j.Deadline, j.DeadlineLifted
	if j.OfflineMode != "" || sel.Certificate {
		ctxNIP := s.Seller.NIP
		if ctxNIP == "" {
			ctxNIP = inv.SellerNIP
		}
		now := src.Clock()
		p := CertificateLinkParams{ContextType: ContextNip, ContextValue: ctxNIP, SellerNIP: inv.SellerNIP, Hash: inv.Hash}
		out.Certificate, out.CertificateErr = NewCertificateCode(out.QRBase, p, s.OfflineCert, now)
		var oe *OfflineCertificateError
		if errors.As(out.CertificateErr, &oe) {
			oe.Website = web.Code
		}
		if c := out.Certificate; c != nil && c.NotAfter.Sub(now) < certificateExpiryWarning {
			out.Warnings = append(out.Warnings, fmt.Sprintf("the offline certificate %s expires on %s: KSeF verifies KOD II only while it is valid; "+
				"obtain a new one in time with ksefpl certificate:enroll --type offline%s", c.Serial, c.NotAfter.UTC().Format(time.DateOnly), websiteFlag(web.Code)))
		}
	}
	return out, nil
}

// certificateExpiryWarning is how long before its end the offline certificate's
// expiry is reported.
const certificateExpiryWarning = 30 * 24 * time.Hour

// websiteFlag is the --website flag for hints ("" for base).
func websiteFlag(code string) string {
	if code == "" || code == "base" {
		return ""
	}
	return " --website " + code
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
