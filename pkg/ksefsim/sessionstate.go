package ksefsim

import (
	"time"
)

// Online session statuses (open-api.json SessionStatusResponse.status, "Sesja interaktywna").
const (
	sessionOpen      = 100
	sessionClosed    = 170
	sessionSucceeded = 200
	sessionKeyError  = 415
	sessionCancelled = 440
	sessionNoValid   = 445

	descSessionOpen      = "Sesja interaktywna otwarta"
	descSessionClosed    = "Sesja interaktywna zamknięta"
	descSessionSucceeded = "Sesja interaktywna przetworzona pomyślnie"
	descSessionKeyError  = "Błąd odszyfrowania dostarczonego klucza"
	descSessionCancelled = "Sesja anulowana"
	descSessionNoValid   = "Błąd weryfikacji, brak poprawnych faktur"
	detNoInvoices        = "Nie przesłano faktur"
	detTerminated        = "Sesja została przerwana przez system (ksefsim: TerminateSession)."
)

// Invoice statuses (open-api.json SessionInvoiceStatusResponse.status).
const (
	invReceived   = 100
	invProcessing = 150
	invSucceeded  = 200
	invCancelled  = 405
	invDecrypt    = 435
	invDuplicate  = 440
	invSemantic   = 450

	descInvReceived   = "Faktura przyjęta do dalszego przetwarzania"
	descInvProcessing = "Trwa przetwarzanie"
	descInvSucceeded  = "Sukces"
	descInvCancelled  = "Przetwarzanie anulowane z powodu błędu sesji"
	descInvDecrypt    = "Błąd odszyfrowania pliku"
	descInvDuplicate  = "Duplikat faktury"
	descInvSemantic   = "Błąd weryfikacji semantyki dokumentu faktury"
)

// Session limits and lifetimes (research §6.1, §6.2).
const (
	onlineSessionTTL      = 12 * time.Hour
	maxInvoicesPerSession = 10000
	maxInvoiceSize        = 1_000_000
	storageURLTTL         = 72 * time.Hour // the official examples show pre-signed links valid ~3 days
	permanentStorageDelay = time.Second    // permanentStorageDate is "always later than acquisitionDate"
)

// invoiceStatus is InvoiceStatusInfo: statusInfo plus extensions.
type invoiceStatus struct {
	Code        int               `json:"code"`
	Description string            `json:"description"`
	Details     []string          `json:"details,omitempty"`
	Extensions  map[string]string `json:"extensions,omitempty"`
}

// upoDoc is one generated UPO document.
type upoDoc struct {
	ref  string // EU reference number (session UPO pages only)
	body []byte
	hash string // base64 SHA-256 of body (x-ms-meta-hash)
}

// onlineSession is one interactive session (SO reference number).
type onlineSession struct {
	ref            string
	ctxType        string
	ctxValue       string
	tokenRef       string    // reference number of the KSeF token behind the authentication
	creator        subjectID // the authenticated subject that opened the session
	authDocHash    string    // XAdES: base64 SHA-256 of the signed AuthTokenRequest (UPO SkrotDokumentuUwierzytelniajacego)
	form           FormCode
	key, iv        []byte // nil key: the symmetric key could not be decrypted (status 415)
	created        time.Time
	updated        time.Time
	validUntil     time.Time
	status         statusInfo
	closePolls     int       // status reads that saw 170
	closedAt       time.Time // when the session reached 170
	terminateAfter int       // terminate once this many invoices were accepted (fault); 0 = never
	sends          int       // invoice sends that reached the open session (online only)
	unavailableAt  int       // from this send on, sends answer 21184 (fault); 0 = never
	validateIDs    bool      // X-KSeF-Feature: subject-identifier-validation was sent on open
	invoices       []*invoiceRec
	upo            []*upoDoc  // the collective UPO pages once the session succeeded
	batch          *batchInfo // nil for an online session
}

// invoiceRec is one invoice sent in a session (EE reference number).
type invoiceRec struct {
	sess          *onlineSession
	seq           int // arrival order over the simulator's lifetime
	ordinal       int // ordinalNumber within the session, from 1
	ref           string
	hash          string // invoiceHash (base64 SHA-256 of the plaintext)
	correctedHash string // hashOfCorrectedInvoice of the send ("" when not given)
	content       []byte // the decrypted document
	facts         invoiceFacts
	verdict       *invoiceStatus // failure decided at send time, applied when processing ends
	offlineMode   bool
	stalled       bool // held at 150 by the stall fault until released
	received      time.Time
	stageSince    time.Time
	polls         int // status reads at the current stage
	status        invoiceStatus
	ksefNumber    string
	acquired      time.Time
	invoicingOff  bool          // invoicingMode Offline
	fileName      string        // the file name inside the batch package; "" for online invoices
	corrects      *invoiceRec   // a technical correction: the rejected offline invoice it corrects
	corrections   []*invoiceRec // technical corrections sent for this (rejected) invoice
	correctedBy   *invoiceRec   // the accepted technical correction of this invoice
}

// docKey identifies a document for duplicate detection (weryfikacja-faktury.md:
// Podmiot1 NIP, RodzajFaktury, P_2).
type docKey struct{ nip, kind, number string }

// sessionState holds sessions and invoices for the simulator's lifetime.
type sessionState struct {
	byRef    map[string]*onlineSession
	order    []*onlineSession // creation order
	invoices []*invoiceRec    // arrival order, all sessions
	docs     map[docKey][]*invoiceRec
	byKSeF   map[string]*invoiceRec
	seq      int
}

func newSessionState() sessionState {
	return sessionState{byRef: map[string]*onlineSession{}, docs: map[docKey][]*invoiceRec{}, byKSeF: map[string]*invoiceRec{}}
}

func (inv *invoiceRec) final() bool {
	return inv.status.Code != invReceived && inv.status.Code != invProcessing
}

func (ss *onlineSession) counts() (total, ok, failed int) {
	for _, inv := range ss.invoices {
		total++
		switch {
		case inv.status.Code == invSucceeded:
			ok++
		case inv.final():
			failed++
		}
	}
	return total, ok, failed
}

// stepDone reports whether an item that has been read polls times at its current
// stage, entered at since, may move on. Caller holds the lock.
func (s *Server) stepDone(polls int, since, now time.Time) (bool, time.Time) {
	if s.stepPolls >= 0 && polls >= s.stepPolls {
		return true, now
	}
	if s.cfg.InvoiceStepTime > 0 && now.Sub(since) >= s.cfg.InvoiceStepTime {
		return true, since.Add(s.cfg.InvoiceStepTime)
	}
	return false, since
}

// settleInvoice moves an invoice through 100 -> 150 -> final as far as its reads and
// the clock allow. Caller holds the lock.
func (s *Server) settleInvoice(inv *invoiceRec, now time.Time) {
	for !inv.final() {
		done, at := s.stepDone(inv.polls, inv.stageSince, now)
		if !done {
			return
		}
		if inv.status.Code == invReceived {
			inv.status = invoiceStatus{Code: invProcessing, Description: descInvProcessing}
			inv.stageSince, inv.polls = at, 0
			inv.sess.touch(at)
			continue
		}
		if inv.stalled || s.st.faults.sessions.StallAll || s.earlierPending(inv) {
			return
		}
		s.finishInvoice(inv, at)
	}
}

// observeInvoice is one status read of an invoice: it settles, then counts the read.
func (s *Server) observeInvoice(inv *invoiceRec, now time.Time) {
	s.settleInvoice(inv, now)
	if !inv.final() {
		inv.polls++
	}
}

func (ss *onlineSession) touch(t time.Time) {
	if t.After(ss.updated) {
		ss.updated = t
	}
}

// earlierPending reports whether an earlier invoice with the same document key is
// still being processed: the later one waits, so that one document never gets two
// KSeF numbers. Caller holds the lock.
func (s *Server) earlierPending(inv *invoiceRec) bool {
	if inv.verdict != nil || inv.facts.number == "" {
		return false
	}
	for _, o := range s.st.sessions.docs[inv.key()] {
		if o.seq < inv.seq && !o.final() {
			return true
		}
	}
	return false
}

func (inv *invoiceRec) key() docKey {
	return docKey{nip: inv.facts.sellerNIP, kind: inv.facts.kind, number: inv.facts.number}
}

// finishInvoice gives a processed invoice its final status. Caller holds the lock.
func (s *Server) finishInvoice(inv *invoiceRec, now time.Time) {
	defer inv.sess.touch(now)
	if inv.verdict != nil {
		inv.status = *inv.verdict
		return
	}
	for _, o := range s.st.sessions.docs[inv.key()] {
		if o != inv && o.status.Code == invSucceeded {
			inv.status = invoiceStatus{
				Code: invDuplicate, Description: descInvDuplicate,
				Details: []string{"Duplikat faktury. Faktura o numerze KSeF: " + o.ksefNumber +
					" została już prawidłowo przesłana do systemu w sesji: " + o.sess.ref},
				Extensions: map[string]string{"originalSessionReferenceNumber": o.sess.ref, "originalKsefNumber": o.ksefNumber},
			}
			return
		}
	}
	if st := s.finishCorrection(inv); st != nil {
		inv.status = *st
		return
	}
	inv.acquired = now
	inv.ksefNumber = s.newKSeFNumber(inv.facts.sellerNIP, now)
	s.st.sessions.byKSeF[inv.ksefNumber] = inv
	inv.invoicingOff = s.isOffline(inv)
	inv.status = invoiceStatus{Code: invSucceeded, Description: descInvSucceeded}
	linkCorrection(inv)
}

// settleSession applies expiry, advances the session's invoices (without counting a
// read) and decides the final status of a closed session. Caller holds the lock.
func (s *Server) settleSession(ss *onlineSession, now time.Time) {
	if ss.batch != nil {
		s.expireBatch(ss, now)
	} else if ss.status.Code == sessionOpen && !now.Before(ss.validUntil) {
		ss.status = statusInfo{Code: sessionClosed, Description: descSessionClosed}
		ss.closedAt = ss.validUntil
		ss.touch(ss.validUntil)
	}
	for _, inv := range ss.invoices {
		s.settleInvoice(inv, now)
	}
	if !ss.processing() || ss.batch != nil && !ss.batch.processed {
		return
	}
	if done, _ := s.stepDone(ss.closePolls, ss.closedAt, now); !done {
		return
	}
	if ss.batch != nil && ss.batch.failure != nil {
		ss.status = *ss.batch.failure
		ss.touch(now)
		return
	}
	total, ok, _ := ss.counts()
	for _, inv := range ss.invoices {
		if !inv.final() {
			return
		}
	}
	switch {
	case total == 0:
		ss.status = statusInfo{Code: sessionCancelled, Description: descSessionCancelled, Details: []string{detNoInvoices}}
	case ok == 0:
		ss.status = statusInfo{Code: sessionNoValid, Description: descSessionNoValid}
	case ss.batch != nil:
		ss.status = statusInfo{Code: batchSucceeded, Description: descBatchSucceeded}
		ss.upo = s.sessionUPO(ss, now)
	default:
		ss.status = statusInfo{Code: sessionSucceeded, Description: descSessionSucceeded}
		ss.upo = s.sessionUPO(ss, now)
	}
	ss.touch(now)
}

// processing reports whether the session is closed and its invoices are being
// processed: 170 for an online session, 150 for a batch session.
func (ss *onlineSession) processing() bool {
	if ss.batch != nil {
		return ss.status.Code == batchProcessing
	}
	return ss.status.Code == sessionClosed
}

// active reports whether the session is not final yet (open or processing).
func (ss *onlineSession) active() bool {
	return ss.status.Code == sessionOpen || ss.processing()
}

// observeSession is one read of the session status: it counts as a status read for
// every invoice still in processing, so that a client polling only the session sees
// it finish.
func (s *Server) observeSession(ss *onlineSession, now time.Time) {
	for _, inv := range ss.invoices {
		s.observeInvoice(inv, now)
	}
	s.settleSession(ss, now)
	if ss.processing() {
		ss.closePolls++
	}
}

// terminateLocked makes the session fail: status 440 "Sesja anulowana"; invoices
// still in processing end with 405 and never get a KSeF number. Caller holds the lock.
func (s *Server) terminateLocked(ss *onlineSession, now time.Time) {
	for _, inv := range ss.invoices {
		if !inv.final() {
			inv.status = invoiceStatus{Code: invCancelled, Description: descInvCancelled, Details: []string{detTerminated}}
		}
	}
	ss.status = statusInfo{Code: sessionCancelled, Description: descSessionCancelled, Details: []string{detTerminated}}
	ss.touch(now)
	if ss.batch != nil {
		s.st.parts.drop(ss.ref, len(ss.batch.parts))
	}
}

// localDate is the Polish calendar date of t, as midnight UTC of that date.
func (s *Server) localDate(t time.Time) time.Time {
	l := t.In(s.loc)
	return time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, time.UTC)
}
