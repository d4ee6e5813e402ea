package ksefsim

import (
	"slices"
	"strconv"
	"time"
)

// Offline invoicing (tryby-offline.md, offline/automatyczne-okreslanie-trybu-offline.md,
// offline/korekta-techniczna.md).
//
// An invoice is Offline when it was sent with offlineMode: true (POST
// /sessions/online/{ref}/invoices, or POST /sessions/batch for the whole package), or
// when its P_1 calendar day is earlier than the Polish calendar day of its
// invoicingDate: the moment it was sent in an online session, the moment the session
// was opened (dateCreated) in a batch session. The mode shows as invoicingMode in
// the invoice status, as TrybWysylki in the UPO and as invoicingMode in the invoice
// metadata (query, export).
//
// A technical correction is a send with offlineMode: true and hashOfCorrectedInvoice
// (interactive sessions only: POST /sessions/batch refuses the field with 21405, and
// a batch session is no online session for the send endpoint, 21173). The hash must
// be that of an offline invoice of the same context (seller) that this simulator
// rejected for a technical reason (any final rejection except 410 "Nieprawidłowy
// zakres uprawnień" and 415 "Brak możliwości wysyłania faktury z załącznikiem"). The
// send is refused at once (400):
//
//   - 21405 when offlineMode is false (KSeF: "HashOfCorrectedInvoice can only be
//     provided for offline invoices", CIRFMF/ksef-api issue #582);
//   - 21166 "Korekta techniczna niedostępna." when a correction of that invoice was
//     already accepted (status 200);
//   - 21167 "Status faktury nie pozwala na korektę techniczną." when the invoice was
//     processed correctly (200); the simulator also answers 21167, with its own
//     detail, when no rejected offline invoice of the context has that hash, when it
//     is still being processed, when it was not an offline invoice, or when it was
//     rejected for a non-technical reason. (The real TEST environment was seen
//     accepting corrections of hashes it never rejected, issue #404: the simulator is
//     stricter on purpose.)
//
// An accepted correction is linked to its original: the correction's metadata carry
// hashOfCorrectedInvoice, and the KOD I page of the original says it was technically
// corrected and shows the new invoice. Should two corrections of one invoice be
// processed at the same time, the second to finish fails with 450 (the first one
// wins).

// Invoice statuses that are not technical rejections: a technical correction cannot
// repair missing permissions (korekta-techniczna.md "Uwaga" 1).
var nonTechnicalRejections = []int{410, 415}

// Details of the technical correction errors (open-api-2.8.1.json, POST
// /sessions/online/{referenceNumber}/invoices).
const (
	codeCorrectionUnavailable = 21166
	codeCorrectionStatus      = 21167
	descCorrectionUnavailable = "Korekta techniczna niedostępna."
	descCorrectionStatus      = "Status faktury nie pozwala na korektę techniczną."
	detCorrectionUnavailable  = "Faktura posiada już przetworzoną prawidłowo korektę techniczną."
	detCorrectionStatus       = "Nie można wysłać korekty technicznej do prawidłowo przetworzonej faktury."
	detCorrectionOnlyOffline  = "Pole 'hashOfCorrectedInvoice' może być podane wyłącznie dla faktury offline (offlineMode: true): korekta techniczna dotyczy faktur offline."
	detCorrectionNotInBatch   = "Korekta techniczna może być przesłana wyłącznie w sesji interaktywnej: pole 'hashOfCorrectedInvoice' nie jest dozwolone przy otwarciu sesji wsadowej."
)

// invoicingDate is the invoice's invoicingDate ("Data przyjęcia faktury w systemie
// KSeF (do dalszego przetwarzania)"): when it was sent in an online session, when
// its session was opened in a batch session.
func (inv *invoiceRec) invoicingDate() time.Time {
	if inv.sess.batch != nil {
		return inv.sess.created
	}
	return inv.received
}

// isOffline reports whether the invoice is (or, rejected, would have been) an
// offline invoice: declared so, or its P_1 day earlier than its invoicingDate day
// (Polish calendar days).
func (s *Server) isOffline(inv *invoiceRec) bool {
	if inv.offlineMode {
		return true
	}
	issue, err := time.Parse("2006-01-02", inv.facts.issueDate)
	return err == nil && issue.Before(s.localDate(inv.invoicingDate()))
}

func correctionError(code int, detail string) *apiError {
	desc := descCorrectionStatus
	if code == codeCorrectionUnavailable {
		desc = descCorrectionUnavailable
	}
	return &apiError{Code: code, Description: desc, Details: []string{detail}}
}

// checkTechnicalCorrection finds the original of a technical correction sent in ss:
// the latest rejected offline invoice of the same context (and, when both are known,
// the same seller NIP) whose hash is hash. It returns the original or the error the
// send gets (21166, 21167). Caller holds the lock.
func (s *Server) checkTechnicalCorrection(ss *onlineSession, hash, sellerNIP string, now time.Time) (*invoiceRec, *apiError) {
	var cands []*invoiceRec
	for _, o := range s.st.sessions.invoices {
		if o.hash != hash || o.sess.ctxType != ss.ctxType || o.sess.ctxValue != ss.ctxValue ||
			sellerNIP != "" && o.facts.sellerNIP != "" && o.facts.sellerNIP != sellerNIP {
			continue
		}
		s.settleInvoice(o, now)
		cands = append(cands, o)
	}
	for _, o := range cands {
		for _, c := range o.corrections {
			s.settleInvoice(c, now)
			if c.status.Code == invSucceeded {
				return nil, correctionError(codeCorrectionUnavailable, detCorrectionUnavailable)
			}
		}
	}
	for _, o := range cands {
		if o.status.Code == invSucceeded {
			return nil, correctionError(codeCorrectionStatus, detCorrectionStatus)
		}
	}
	if len(cands) == 0 {
		return nil, correctionError(codeCorrectionStatus,
			"Nie odnaleziono odrzuconej faktury offline o skrócie "+hash+" przesłanej w kontekście "+ss.ctxType+" "+ss.ctxValue+".")
	}
	var detail string
	for i := len(cands) - 1; i >= 0; i-- {
		o := cands[i]
		switch {
		case !o.final():
			detail = "Faktura o skrócie " + hash + " jest jeszcze przetwarzana (status " + strconv.Itoa(o.status.Code) + ")."
		case slices.Contains(nonTechnicalRejections, o.status.Code):
			detail = "Faktura o skrócie " + hash + " została odrzucona z przyczyny innej niż techniczna (status " + strconv.Itoa(o.status.Code) + ")."
		case !s.isOffline(o):
			detail = "Faktura o skrócie " + hash + " nie jest fakturą offline: korekta techniczna dotyczy wyłącznie faktur offline."
		default:
			return o, nil
		}
	}
	return nil, correctionError(codeCorrectionStatus, detail)
}

// finishCorrection decides, when a technical correction has passed every other
// check, whether it may succeed: not when another correction of the same original
// already did. Caller holds the lock.
func (s *Server) finishCorrection(inv *invoiceRec) *invoiceStatus {
	o := inv.corrects
	if o == nil {
		return nil
	}
	for _, c := range o.corrections {
		if c != inv && c.status.Code == invSucceeded {
			return &invoiceStatus{Code: invSemantic, Description: descInvSemantic, Details: []string{
				detCorrectionUnavailable + " Korekta techniczna faktury o skrócie " + o.hash + " została już przyjęta z numerem KSeF " + c.ksefNumber + "."}}
		}
	}
	return nil
}

// linkCorrection records an accepted technical correction on its original. Caller
// holds the lock.
func linkCorrection(inv *invoiceRec) {
	if o := inv.corrects; o != nil && o.correctedBy == nil {
		o.correctedBy = inv
	}
}
