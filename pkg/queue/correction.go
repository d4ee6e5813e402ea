package queue

import (
	"context"
	"errors"
	"fmt"

	"github.com/ksefpl/ksefpl/pkg/deps"
	"github.com/ksefpl/ksefpl/pkg/fa"
	"github.com/ksefpl/ksefpl/pkg/ksef"
	"github.com/ksefpl/ksefpl/pkg/store"
)

// ReasonTechnicalCorrection is the reason of a job that carries the technical
// correction of its rejected offline document.
const ReasonTechnicalCorrection = "TECHNICAL_CORRECTION"

// CorrectionRequest is the technical correction of a rejected offline invoice: the same
// document (same invoice number and seller), fixed so that KSeF can accept it.
type CorrectionRequest struct {
	JobID int64
	// Data is the corrected invoice XML.
	Data  []byte
	Actor string
}

// CorrectTechnically gives a FAILED offline job its corrected bytes: the rejected ones
// are kept in the job's history, the job is PENDING again with the new bytes frozen, and
// submit sends them in an online session with offlineMode and hashOfCorrectedInvoice =
// the rejected document's hash (KSeF then links the two, so the buyer's printed KOD I
// leads to the corrected invoice). The corrected XML must pass the structural checks,
// be the same invoice (P_2) of the same seller, and differ from the rejected bytes.
func CorrectTechnically(ctx context.Context, d *deps.Deps, req CorrectionRequest) (*store.Job, error) {
	j, err := d.DB.JobByID(ctx, req.JobID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, &NotFoundError{Query: fmt.Sprint(req.JobID)}
	}
	if err != nil {
		return nil, err
	}
	refuse := func(why string) error {
		return &StateError{JobID: j.ID, IncrementID: j.IncrementID, Status: j.Status, Msg: fmt.Sprintf(
			"job %d (%s %s) cannot take a technical correction: %s; nothing changed", j.ID, j.EntityType, j.IncrementID, why)}
	}
	switch {
	case j.OfflineMode == "":
		return nil, refuse("it was not issued offline (a technical correction is for offline invoices KSeF rejected); fix an online document by queuing it again with --replace while it is unsent, or with a credit memo")
	case j.Status != store.JobFailed:
		return nil, refuse(fmt.Sprintf("it is %s, and only an offline invoice KSeF rejected (FAILED) can be corrected technically", j.Status))
	case !j.Frozen():
		return nil, refuse("it has no frozen document")
	}
	ws, err := websiteOf(ctx, d, j.WebsiteID)
	if err != nil {
		return nil, err
	}
	adm, err := admitXML(ws, req.Data)
	if err != nil {
		return nil, err
	}
	old, err := fa.ParseXML(j.XML)
	if err != nil {
		return nil, fmt.Errorf("job %d's rejected document cannot be read: %w", j.ID, err)
	}
	oldSum := fa.Summarize(old)
	newDoc, _ := fa.ParseXML(req.Data)
	newSum := fa.Summarize(newDoc)
	hash := ksef.SHA256Base64(req.Data)
	switch {
	case adm.incrementID != j.IncrementID:
		return nil, &InvalidError{Subject: "the technical correction", Problems: []string{fmt.Sprintf(
			"P_2 is %q, but job %d is invoice %q: a technical correction is the same invoice, fixed (a different invoice is queued on its own)", adm.incrementID, j.ID, j.IncrementID)}}
	case newSum.Seller.ID != oldSum.Seller.ID:
		return nil, &InvalidError{Subject: "the technical correction", Problems: []string{fmt.Sprintf(
			"the seller NIP is %s, but the rejected document's is %s", newSum.Seller.ID, oldSum.Seller.ID)}}
	case hash == j.InvoiceHash:
		return nil, &InvalidError{Subject: "the technical correction", Problems: []string{
			"it is byte for byte the rejected document: fix what KSeF rejected (ksefpl queue show " + fmt.Sprint(j.ID) + " has its reason) and queue the fixed XML"}}
	}
	rejected, reason := j.InvoiceHash, j.Reason
	msg := fmt.Sprintf("technical correction of offline %s %s: corrected bytes frozen (%d bytes, SHA-256 %s); the rejected document (SHA-256 %s, %s) is kept in the job's history and sent as hashOfCorrectedInvoice",
		j.EntityType, j.IncrementID, len(req.Data), hash, rejected, reason)
	return d.DB.SupersedeDocument(ctx, j.ID, []string{store.JobFailed}, reason, func(x *store.Job) error {
		x.XML, x.InvoiceHash, x.FrozenAt, x.CorrectedHash = req.Data, hash, d.Clock(), rejected
		x.Status, x.Reason, x.ReasonDetail = store.JobPending, ReasonTechnicalCorrection, "corrects the rejected document SHA-256 "+rejected
		x.InvoiceReference, x.SessionReference = "", ""
		return nil
	}, store.AuditEntry{Event: store.EventTransition, Actor: req.Actor, Reason: ReasonTechnicalCorrection, Message: msg})
}
