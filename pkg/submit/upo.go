package submit

import (
	"context"
	"errors"
	"fmt"

	"github.com/ksefpl/ksefpl/pkg/failure"
	"github.com/ksefpl/ksefpl/pkg/ksef"
	"github.com/ksefpl/ksefpl/pkg/store"
)

// storeSessionUPO downloads and stores every page of a finished session's collective
// UPO and returns their references.
func (w *websiteRun) storeSessionUPO(ctx context.Context, s *store.Session, st *ksef.SessionStatus) ([]string, error) {
	var refs []string
	have, err := w.env.DB.UPOs(ctx, store.UPOFilter{Kind: store.UPOSession, SessionReference: s.Reference})
	if err != nil {
		return nil, err
	}
	stored := map[string]bool{}
	for _, u := range have {
		stored[u.UPOReference] = true
	}
	for _, p := range st.UPOPages() {
		refs = append(refs, p.ReferenceNumber)
		if stored[p.ReferenceNumber] {
			continue
		}
		tok, err := w.token(ctx)
		if err != nil {
			return nil, err
		}
		upo, err := w.client.SessionUPOPage(ctx, tok, s.Reference, p)
		if err != nil {
			return nil, fmt.Errorf("download UPO %s of session %s: %w", p.ReferenceNumber, s.Reference, err)
		}
		if _, err := w.env.DB.SaveUPO(ctx, store.UPO{Kind: store.UPOSession, SessionReference: s.Reference, UPOReference: p.ReferenceNumber,
			XML: upo.XML, SHA256: upo.Hash, HashVerified: upo.HashVerified}, store.AuditEntry{WebsiteID: s.WebsiteID, Event: store.EventUPO,
			Actor: w.env.Actor, Reason: "SESSION_UPO", Message: fmt.Sprintf("UPO %s stored (%d bytes, SHA-256 %s, hash verified: %v)", p.ReferenceNumber, len(upo.XML), upo.Hash, upo.HashVerified)}); err != nil {
			return nil, err
		}
	}
	return refs, nil
}

// storeInvoiceUPO downloads (with get) and stores one accepted job's UPO.
func (w *websiteRun) storeInvoiceUPO(ctx context.Context, j *store.Job, get func() (*ksef.UPO, error)) error {
	upo, err := get()
	if err != nil {
		return err
	}
	_, err = w.env.DB.SaveUPO(ctx, store.UPO{Kind: store.UPOInvoice, SessionReference: j.SessionReference, UPOReference: j.InvoiceReference,
		JobID: j.ID, KSeFNumber: j.KSeFNumber, XML: upo.XML, SHA256: upo.Hash, HashVerified: upo.HashVerified},
		store.AuditEntry{WebsiteID: j.WebsiteID, Event: store.EventUPO, Actor: w.env.Actor, Reason: "INVOICE_UPO",
			Message: fmt.Sprintf("UPO of %s stored (SHA-256 %s, hash verified: %v)", j.KSeFNumber, upo.Hash, upo.HashVerified)})
	return err
}

// batchSession reports whether ref is a batch session (its kind is remembered for the run).
func (w *websiteRun) batchSession(ctx context.Context, ref string) (bool, error) {
	if k, ok := w.kinds[ref]; ok {
		return k == store.SessionBatch, nil
	}
	s, err := w.env.DB.SessionByRef(ctx, ref)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil // not opened by ksefpl (resolved by hand): an online invoice's UPO
	}
	if err != nil {
		return false, err
	}
	if w.kinds == nil {
		w.kinds = map[string]string{}
	}
	w.kinds[ref] = s.Kind
	return s.Kind == store.SessionBatch, nil
}

// fetchMissingUPOs fetches the UPOs still due (Job.UPODue): of accepted online invoices
// whose download failed or was not tried.
func (w *websiteRun) fetchMissingUPOs(ctx context.Context) error {
	jobs, err := w.env.DB.JobsWithUPODue(ctx, w.s.WebsiteID, 200)
	if err != nil {
		return err
	}
	for _, j := range jobs {
		if mine, err := w.ownsSession(ctx, j.SessionReference); err != nil || !mine {
			if err != nil {
				return err
			}
			continue // its session's owner fetches it
		}
		tok, err := w.token(ctx)
		if err != nil {
			return err
		}
		err = w.storeInvoiceUPO(ctx, j, func() (*ksef.UPO, error) {
			return w.client.InvoiceUPOByKSeFNumber(ctx, tok, j.SessionReference, j.KSeFNumber)
		})
		if err != nil {
			// Not fatal: the job keeps its KSeF number; later passes and runs fetch the UPO.
			w.warnOnce(fmt.Sprintf("upo:job:%d", j.ID), fmt.Sprintf("UPO of job %d (%s) not available yet: %v", j.ID, j.KSeFNumber, err))
			if failure.Of(err) == failure.Unavailable {
				return nil
			}
		}
	}
	return nil
}
