package queue

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ksefpl/ksefpl/pkg/availability"
	"github.com/ksefpl/ksefpl/pkg/config"
	"github.com/ksefpl/ksefpl/pkg/deps"
	"github.com/ksefpl/ksefpl/pkg/failure"
	"github.com/ksefpl/ksefpl/pkg/invoice"
	"github.com/ksefpl/ksefpl/pkg/ksef"
	"github.com/ksefpl/ksefpl/pkg/offline"
	"github.com/ksefpl/ksefpl/pkg/qr"
	"github.com/ksefpl/ksefpl/pkg/store"
	"github.com/ksefpl/ksefpl/pkg/website"
)

// ReasonOfflineIssued is the audit reason of a document issued in an offline mode.
const ReasonOfflineIssued = "OFFLINE_ISSUED"

// OfflineIssue says how a document was issued offline.
type OfflineIssue struct {
	Mode     offline.Mode
	Deadline offline.Deadline
	// Why says what chose the mode: the operator (--offline), or what Latarnia said
	// with ksefpl/submit/offline_when_unavailable.
	Why string
}

// offlineChoice decides whether the document is issued offline, and in which mode: the
// request's mode, else (with offline_when_unavailable) what Latarnia says now. The zero
// mode means online.
func offlineChoice(ctx context.Context, d *deps.Deps, ws *website.Settings, req Request) (iss *OfflineIssue, lifted bool, warning string, err error) {
	certErr := qr.CheckOfflineCertificate(ws.OfflineCert, d.Clock())
	if oe, ok := certErr.(*qr.OfflineCertificateError); ok {
		oe.Website = ws.WebsiteCode
	}
	if req.Offline != "" {
		m, err := offline.ParseMode(req.Offline)
		if err != nil {
			return nil, false, "", err
		}
		if certErr != nil {
			// An offline invoice carries KOD II, signed with the Offline certificate:
			// without one it cannot be issued offline.
			return nil, false, "", fmt.Errorf("cannot issue %s offline, nothing was queued: %w", req.Kind, certErr)
		}
		return &OfflineIssue{Mode: m, Why: "issued offline by the operator"}, false, "", nil
	}
	on, err := d.Config.String(ctx, config.PathOfflineWhenUnavailable, config.Scope{Type: store.ScopeWebsites,
		Code: ws.WebsiteCode, ID: ws.WebsiteID, WebsiteID: ws.WebsiteID, WebsiteCode: ws.WebsiteCode})
	if err != nil || on != "1" {
		return nil, false, "", err
	}
	st, err := availability.Read(ctx, d, ws)
	if err != nil {
		return nil, false, "", err
	}
	m, lifted, why := availability.ModeFor(st)
	if m == "" {
		return nil, false, "", nil
	}
	if certErr != nil {
		// Nothing is lost: the document waits as an ordinary job for KSeF to return.
		return nil, false, fmt.Sprintf("KSeF is unavailable (%s) and %s is 1, but the document was queued online, not offline: %v",
			why, config.PathOfflineWhenUnavailable, certErr), nil
	}
	return &OfflineIssue{Mode: m, Why: why + "; " + config.PathOfflineWhenUnavailable + " is 1"}, lifted, "", nil
}

// freezeOffline builds the final bytes of a document issued offline now (a ready XML
// as it is; a shop JSON with the real NBP rate) and fixes them, their hash and the
// deadline on job: the QR codes printed for the buyer depend on those exact bytes.
func freezeOffline(ctx context.Context, d *deps.Deps, ws *website.Settings, req Request, job *store.Job, iss *OfflineIssue, lifted bool) error {
	xml := req.Data
	if req.Kind != KindXML {
		subject := req.Kind + " " + job.IncrementID
		b, err := invoice.FromJSON(ctx, ws, req.Data, invoice.Options{Name: subject,
			Rates: invoice.NBPRates(d.DB, ws.NBPURL, d.HTTPClient), Version: d.Version,
			LookupOriginal: numberedOriginal(d.DB, ws.WebsiteID), Now: d.Now})
		var oe *OriginalNotNumberedError
		switch {
		case errors.As(err, &oe):
			return oe
		case err != nil && failure.Is(err, failure.Unavailable):
			return fmt.Errorf("issue %s offline: its exchange rate is needed now, because the document is final once issued: %w", subject, err)
		case err != nil:
			return invalid(subject, err)
		case len(b.Problems) > 0:
			return &InvalidError{Subject: subject, Problems: problemStrings("the invoice built from the input: ", b.Problems)}
		}
		xml = b.XML
	}
	dl, err := availability.Deadline(ctx, d.DB, ws.EnvironmentName, iss.Mode, job.IssueDate)
	if err != nil {
		return err
	}
	if lifted {
		dl = offline.Deadline{Lifted: true, Basis: "a total KSeF failure was announced when it was issued: there is no duty to send it"}
	}
	iss.Deadline = dl
	job.XML, job.InvoiceHash, job.FrozenAt = xml, ksef.SHA256Base64(xml), d.Clock()
	job.OfflineMode, job.Deadline, job.DeadlineLifted = string(iss.Mode), dl.Date(), dl.Lifted
	return nil
}

// numberedOriginal is queuedOriginal for a credit memo issued offline: it is final at
// once, so an original in the queue must already have its KSeF number (KSeF takes a
// correction only after its original is numbered).
func numberedOriginal(db *store.DB, websiteID int64) func(ctx context.Context, incrementID string) (string, time.Time, bool, error) {
	queued := queuedOriginal(db, websiteID)
	return func(ctx context.Context, incrementID string) (string, time.Time, bool, error) {
		number, issued, ok, err := queued(ctx, incrementID)
		if err == nil && ok && number == "" {
			return "", time.Time{}, false, &OriginalNotNumberedError{IncrementID: incrementID}
		}
		return number, issued, ok, err
	}
}

// OriginalNotNumberedError refuses to issue offline a credit memo whose original invoice
// is queued but has no KSeF number yet.
type OriginalNotNumberedError struct{ IncrementID string }

func (e *OriginalNotNumberedError) Error() string {
	return fmt.Sprintf("the credit memo corrects invoice %s, which has no KSeF number yet: a correction is final once issued offline "+
		"and KSeF takes it only after its original is numbered; queue the memo without --offline (it waits for the number) "+
		"or issue it once invoice %s is ACCEPTED", e.IncrementID, e.IncrementID)
}

// Class is failure.Invalid: nothing was queued.
func (e *OriginalNotNumberedError) Class() failure.Class { return failure.Invalid }
