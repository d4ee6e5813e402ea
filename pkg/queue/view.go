package queue

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ksefpl/ksefpl/pkg/store"
)

// JobView is a job as operators see it (list and show, JSON keys stable and snake_case).
// It never carries the frozen XML bytes.
type JobView struct {
	ID               int64  `json:"id"`
	Website          string `json:"website"`
	WebsiteID        int64  `json:"website_id"`
	Type             string `json:"type"`
	IncrementID      string `json:"increment_id"`
	InputFormat      string `json:"input_format"`
	Status           string `json:"status"`
	Reason           string `json:"reason"`
	ReasonDetail     string `json:"reason_detail"`
	Attempts         int    `json:"attempts"`
	IssueDate        string `json:"issue_date"`
	KSeFNumber       string `json:"ksef_number"`
	InvoiceReference string `json:"invoice_reference"`
	SessionReference string `json:"session_reference"`
	InvoiceHash      string `json:"invoice_hash"`
	AcquisitionDate  string `json:"acquisition_date"`
	InvoicingMode    string `json:"invoicing_mode"`
	// OfflineMode, Deadline and DeadlineLifted describe a document issued offline
	// (offline24, offline, awaryjny); CorrectedHash the rejected document a technical
	// correction replaces.
	OfflineMode    string     `json:"offline_mode,omitempty"`
	Deadline       string     `json:"deadline,omitempty"`
	DeadlineLifted bool       `json:"deadline_lifted,omitempty"`
	CorrectedHash  string     `json:"hash_of_corrected_invoice,omitempty"`
	FrozenAt       *time.Time `json:"frozen_at"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
}

// JobDetail is one job with its size and audit trail (queue show).
type JobDetail struct {
	JobView
	// XMLSize is the size of the frozen XML in bytes (0 until frozen).
	XMLSize int `json:"xml_size"`
	// InputSize is the size of the queued input in bytes.
	InputSize int         `json:"input_size"`
	Audit     []AuditView `json:"audit"`
}

// ListFilter selects jobs for List; zero fields match everything.
type ListFilter struct {
	WebsiteID int64
	Statuses  []string
	// Limit keeps only the newest Limit jobs (0: all).
	Limit int
	// Offline lists only the documents issued offline, nearest deadline first.
	Offline bool
}

// List returns the jobs the filter selects, oldest first (the newest Limit when set).
func List(ctx context.Context, db *store.DB, f ListFilter) ([]JobView, error) {
	jf := store.JobFilter{WebsiteID: f.WebsiteID, Statuses: f.Statuses, Limit: f.Limit, Newest: true}
	if f.Offline {
		jf.OfflineOnly, jf.ByDeadline, jf.Newest = true, true, false
	}
	jobs, err := db.Jobs(ctx, jf)
	if err != nil {
		return nil, fmt.Errorf("list the queue: %w", err)
	}
	return Views(ctx, db, jobs)
}

// Views renders jobs with their website codes.
func Views(ctx context.Context, db *store.DB, jobs []*store.Job) ([]JobView, error) {
	codes, err := websiteCodes(ctx, db)
	if err != nil {
		return nil, err
	}
	out := make([]JobView, 0, len(jobs))
	for _, j := range jobs {
		out = append(out, viewOf(j, codes[j.WebsiteID]))
	}
	return out, nil
}

func viewOf(j *store.Job, website string) JobView {
	v := JobView{ID: j.ID, Website: website, WebsiteID: j.WebsiteID, Type: j.EntityType, IncrementID: j.IncrementID,
		InputFormat: j.InputFormat, Status: j.Status, Reason: j.Reason, ReasonDetail: j.ReasonDetail, Attempts: j.Attempts,
		IssueDate: j.IssueDate, KSeFNumber: j.KSeFNumber, InvoiceReference: j.InvoiceReference,
		SessionReference: j.SessionReference, InvoiceHash: j.InvoiceHash, AcquisitionDate: j.AcquisitionDate,
		InvoicingMode: j.InvoicingMode, OfflineMode: j.OfflineMode, Deadline: j.Deadline, DeadlineLifted: j.DeadlineLifted,
		CorrectedHash: j.CorrectedHash, CreatedAt: j.CreatedAt.UTC(), UpdatedAt: j.UpdatedAt.UTC()}
	if !j.FrozenAt.IsZero() {
		t := j.FrozenAt.UTC()
		v.FrozenAt = &t
	}
	return v
}

// Show finds jobs by job id or increment id. An increment id may match jobs on several
// websites or of several types (an invoice and a credit memo numbered alike); all are
// returned, a job id match first. A number with a leading zero is only an increment id.
// No match is a *NotFoundError.
func Show(ctx context.Context, db *store.DB, idOrIncrement string) ([]*store.Job, error) {
	q := strings.TrimSpace(idOrIncrement)
	if q == "" {
		return nil, &NotFoundError{Query: idOrIncrement}
	}
	var out []*store.Job
	if id, err := strconv.ParseInt(q, 10, 64); err == nil && id > 0 && !strings.HasPrefix(q, "0") {
		j, err := db.JobByID(ctx, id)
		switch {
		case err == nil:
			out = append(out, j)
		case !errors.Is(err, store.ErrNotFound):
			return nil, fmt.Errorf("look up job %d: %w", id, err)
		}
	}
	byInc, err := db.Jobs(ctx, store.JobFilter{IncrementID: q})
	if err != nil {
		return nil, fmt.Errorf("look up increment id %q: %w", q, err)
	}
	for _, j := range byInc {
		if len(out) == 0 || out[0].ID != j.ID {
			out = append(out, j)
		}
	}
	if len(out) == 0 {
		return nil, &NotFoundError{Query: q}
	}
	return out, nil
}

// Describe renders jobs with their audit trails (queue show).
func Describe(ctx context.Context, db *store.DB, jobs []*store.Job) ([]JobDetail, error) {
	codes, err := websiteCodes(ctx, db)
	if err != nil {
		return nil, err
	}
	out := make([]JobDetail, 0, len(jobs))
	for _, j := range jobs {
		entries, err := db.Audit(ctx, store.AuditFilter{JobID: j.ID})
		if err != nil {
			return nil, fmt.Errorf("read the audit trail of job %d: %w", j.ID, err)
		}
		d := JobDetail{JobView: viewOf(j, codes[j.WebsiteID]), XMLSize: len(j.XML), InputSize: len(j.Input),
			Audit: make([]AuditView, 0, len(entries))}
		for _, e := range entries {
			d.Audit = append(d.Audit, auditViewOf(e, codes[e.WebsiteID]))
		}
		out = append(out, d)
	}
	return out, nil
}

// websiteCodes maps website ids to codes.
func websiteCodes(ctx context.Context, db *store.DB) (map[int64]string, error) {
	ws, err := db.Websites(ctx)
	if err != nil {
		return nil, fmt.Errorf("list websites: %w", err)
	}
	out := make(map[int64]string, len(ws))
	for _, w := range ws {
		out[w.ID] = w.Code
	}
	return out, nil
}
