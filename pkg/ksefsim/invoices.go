package ksefsim

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Wire shapes of the invoice endpoints (open-api.json components.schemas).
type (
	sendInvoiceRequest struct {
		InvoiceHash             *string `json:"invoiceHash"`
		InvoiceSize             *int64  `json:"invoiceSize"`
		EncryptedInvoiceHash    *string `json:"encryptedInvoiceHash"`
		EncryptedInvoiceSize    *int64  `json:"encryptedInvoiceSize"`
		EncryptedInvoiceContent *string `json:"encryptedInvoiceContent"`
		OfflineMode             bool    `json:"offlineMode"`
		HashOfCorrectedInvoice  *string `json:"hashOfCorrectedInvoice"`
	}
	sendInvoiceResponse struct {
		ReferenceNumber string `json:"referenceNumber"`
	}
	sessionInvoiceStatus struct {
		OrdinalNumber                int           `json:"ordinalNumber"`
		InvoiceNumber                *string       `json:"invoiceNumber,omitempty"`
		KsefNumber                   *string       `json:"ksefNumber,omitempty"`
		ReferenceNumber              string        `json:"referenceNumber"`
		InvoiceHash                  string        `json:"invoiceHash"`
		InvoiceFileName              *string       `json:"invoiceFileName,omitempty"`
		AcquisitionDate              *string       `json:"acquisitionDate,omitempty"`
		InvoicingDate                string        `json:"invoicingDate"`
		PermanentStorageDate         *string       `json:"permanentStorageDate,omitempty"`
		UpoDownloadURL               *string       `json:"upoDownloadUrl,omitempty"`
		UpoDownloadURLExpirationDate *string       `json:"upoDownloadUrlExpirationDate,omitempty"`
		InvoicingMode                *string       `json:"invoicingMode,omitempty"`
		Status                       invoiceStatus `json:"status"`
	}
	sessionInvoicesResponse struct {
		ContinuationToken *string                `json:"continuationToken,omitempty"`
		Invoices          []sessionInvoiceStatus `json:"invoices"`
	}
)

func validSHA256B64(s *string) bool {
	if s == nil || len(*s) != 44 {
		return false
	}
	b, err := base64.StdEncoding.DecodeString(*s)
	return err == nil && len(b) == sha256.Size
}

// validateSendInvoice returns the 21405 details for a malformed body and the decoded
// ciphertext.
func validateSendInvoice(req *sendInvoiceRequest) ([]byte, []string) {
	var d []string
	if !validSHA256B64(req.InvoiceHash) {
		d = append(d, "Pole 'invoiceHash' musi zawierać skrót SHA-256 zakodowany w Base64 (44 znaki).")
	}
	if !validSHA256B64(req.EncryptedInvoiceHash) {
		d = append(d, "Pole 'encryptedInvoiceHash' musi zawierać skrót SHA-256 zakodowany w Base64 (44 znaki).")
	}
	if req.InvoiceSize == nil || *req.InvoiceSize < 1 {
		d = append(d, "Pole 'invoiceSize' jest wymagane i musi być większe od 0.")
	} else if *req.InvoiceSize > maxInvoiceSize {
		d = append(d, fmt.Sprintf("Rozmiar faktury %d B przekracza dozwolony limit %d B.", *req.InvoiceSize, maxInvoiceSize))
	}
	if req.EncryptedInvoiceSize == nil || *req.EncryptedInvoiceSize < 1 {
		d = append(d, "Pole 'encryptedInvoiceSize' jest wymagane i musi być większe od 0.")
	}
	switch {
	case req.HashOfCorrectedInvoice == nil:
	case !validSHA256B64(req.HashOfCorrectedInvoice):
		d = append(d, "Pole 'hashOfCorrectedInvoice' musi zawierać skrót SHA-256 zakodowany w Base64 (44 znaki).")
	case !req.OfflineMode:
		d = append(d, detCorrectionOnlyOffline)
	}
	var ct []byte
	if req.EncryptedInvoiceContent == nil || *req.EncryptedInvoiceContent == "" {
		d = append(d, "Pole 'encryptedInvoiceContent' jest wymagane.")
	} else {
		var err error
		if ct, err = base64.StdEncoding.DecodeString(*req.EncryptedInvoiceContent); err != nil {
			d = append(d, "Pole 'encryptedInvoiceContent' nie jest poprawnym ciągiem Base64.")
		}
	}
	return ct, d
}

func sha256B64(b []byte) string {
	h := sha256.Sum256(b)
	return base64.StdEncoding.EncodeToString(h[:])
}

// errPadding marks ciphertext whose PKCS#7 padding is wrong after decryption.
var errPadding = errors.New("invalid PKCS#7 padding")

// decryptCBC decrypts AES-256-CBC with PKCS#7 padding (no IV prefix: the IV was
// given when the session was opened).
func decryptCBC(key, iv, ct []byte) ([]byte, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	if len(ct) == 0 || len(ct)%aes.BlockSize != 0 {
		return nil, fmt.Errorf("ciphertext length %d is not a multiple of %d", len(ct), aes.BlockSize)
	}
	out := make([]byte, len(ct))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(out, ct)
	n := int(out[len(out)-1])
	if n == 0 || n > aes.BlockSize {
		return nil, errPadding
	}
	for _, b := range out[len(out)-n:] {
		if int(b) != n {
			return nil, errPadding
		}
	}
	return out[:len(out)-n], nil
}

// handleSendInvoice serves POST /sessions/online/{ref}/invoices. Sizes and hashes are
// checked synchronously (21402/21403), the ciphertext first; everything about the
// document itself is decided asynchronously and shows in the invoice status.
func (s *Server) handleSendInvoice(w http.ResponseWriter, r *http.Request) {
	c, ok := s.requireAccess(w, r, permsWrite)
	if !ok {
		return
	}
	ref := r.PathValue("referenceNumber")
	var req sendInvoiceRequest
	if !s.decodeRequest(w, r, &req, "SendInvoiceRequest") {
		return
	}
	ct, d := validateSendInvoice(&req)
	if len(d) > 0 {
		s.writeBadRequest(w, r, validationError(d...))
		return
	}
	now := s.now()
	// Invoices go to online sessions only.
	ss, ok := s.lockOpenSession(w, r, c, ref, now, "wysyłkę faktur")
	if !ok {
		return
	}
	if s.sendPausedLocked(ss) {
		s.unlockBadRequest(w, r, sessionPaused(ref))
		return
	}
	if len(ss.invoices) >= maxInvoicesPerSession {
		s.unlockBadRequest(w, r, apiError{Code: codeInvoiceLimit, Description: descInvoiceLimit,
			Details: []string{fmt.Sprintf("Sesja o numerze referencyjnym %s osiągnęła dozwolony limit liczby faktur %d.", ref, maxInvoicesPerSession)}})
		return
	}
	sizeErr := apiError{Code: codeBadSize, Description: descBadSize, Details: []string{"Długość treści nie zgadza się z rozmiarem pliku."}}
	hashErr := apiError{Code: codeBadHash, Description: descBadHash, Details: []string{"Skrót treści nie zgadza się ze skrótem pliku."}}
	if int64(len(ct)) != *req.EncryptedInvoiceSize {
		s.unlockBadRequest(w, r, sizeErr)
		return
	}
	if sha256B64(ct) != *req.EncryptedInvoiceHash {
		s.unlockBadRequest(w, r, hashErr)
		return
	}
	plain, decErr := decryptCBC(ss.key, ss.iv, ct)
	if decErr == nil && int64(len(plain)) != *req.InvoiceSize {
		s.unlockBadRequest(w, r, sizeErr)
		return
	}
	if decErr == nil && sha256B64(plain) != *req.InvoiceHash {
		s.unlockBadRequest(w, r, hashErr)
		return
	}
	var orig *invoiceRec
	if req.HashOfCorrectedInvoice != nil {
		seller := ""
		if decErr == nil {
			f, _ := parseInvoice(plain)
			seller = f.sellerNIP
		}
		var cerr *apiError
		if orig, cerr = s.checkTechnicalCorrection(ss, *req.HashOfCorrectedInvoice, seller, now); cerr != nil {
			s.unlockBadRequest(w, r, *cerr)
			return
		}
	}
	inv := s.acceptInvoice(ss, &req, plain, decErr, orig, now)
	failAfter := false
	if f := &s.st.faults.sessions; f.FailAfterAccept > 0 {
		f.FailAfterAccept--
		failAfter = true
	}
	s.st.mu.Unlock()
	if failAfter {
		s.writeInternal(w, http.StatusInternalServerError)
		return
	}
	writeOK(w, http.StatusAccepted, sendInvoiceResponse{ReferenceNumber: inv.ref})
}

// sendPausedLocked counts a send that reached the open session and reports whether
// the 21184 fault answers it (UnavailableAtSend armed on the session, or a pending
// UnavailableSends, which it consumes). Caller holds the lock.
func (s *Server) sendPausedLocked(ss *onlineSession) bool {
	ss.sends++
	if ss.unavailableAt > 0 && ss.sends >= ss.unavailableAt {
		return true
	}
	if f := &s.st.faults.sessions; f.UnavailableSends > 0 {
		f.UnavailableSends--
		return true
	}
	return false
}

// acceptInvoice records an invoice that passed the synchronous checks and decides,
// from its content, whether it will fail. Caller holds the lock.
func (s *Server) acceptInvoice(ss *onlineSession, req *sendInvoiceRequest, plain []byte, decErr error, orig *invoiceRec, now time.Time) *invoiceRec {
	st := &s.st.sessions
	st.seq++
	inv := &invoiceRec{
		sess: ss, seq: st.seq, ordinal: len(ss.invoices) + 1, ref: newRefNumber(now, infixInvoice),
		hash: *req.InvoiceHash, content: plain, offlineMode: req.OfflineMode,
		received: now, stageSince: now, status: invoiceStatus{Code: invReceived, Description: descInvReceived},
	}
	if req.HashOfCorrectedInvoice != nil {
		inv.correctedHash = *req.HashOfCorrectedInvoice
	}
	if orig != nil {
		inv.corrects = orig
		orig.corrections = append(orig.corrections, inv)
	}
	if decErr != nil {
		inv.verdict = &invoiceStatus{Code: invDecrypt, Description: descInvDecrypt,
			Details: []string{"Nie udało się odszyfrować faktury kluczem sesji (AES-256-CBC, PKCS#7)."}}
	} else {
		facts, problems := parseInvoice(plain)
		inv.facts = facts
		if problems == nil {
			problems = semanticProblems(facts, ss.form, ss.ctxValue, s.localDate(now))
			if ss.validateIDs {
				problems = append(problems, identifierProblems(facts)...)
			}
		}
		if len(problems) > 0 {
			inv.verdict = &invoiceStatus{Code: invSemantic, Description: descInvSemantic, Details: problems}
		} else {
			st.docs[inv.key()] = append(st.docs[inv.key()], inv)
		}
	}
	if f := &s.st.faults.sessions; f.StallInvoices > 0 {
		f.StallInvoices--
		inv.stalled = true
	}
	ss.invoices = append(ss.invoices, inv)
	st.invoices = append(st.invoices, inv)
	ss.touch(now)
	if ss.terminateAfter > 0 && len(ss.invoices) >= ss.terminateAfter {
		s.terminateLocked(ss, now)
	}
	return inv
}

// invoiceView renders an invoice for the status and list endpoints. Caller holds the lock.
func (s *Server) invoiceView(base string, inv *invoiceRec, now time.Time) sessionInvoiceStatus {
	v := sessionInvoiceStatus{
		OrdinalNumber: inv.ordinal, ReferenceNumber: inv.ref, InvoiceHash: inv.hash,
		InvoicingDate: formatTime(inv.invoicingDate()), Status: inv.status,
	}
	if inv.fileName != "" {
		name := inv.fileName
		v.InvoiceFileName = &name
	}
	if inv.status.Code == invSucceeded {
		num, kn := inv.facts.number, inv.ksefNumber
		acq := formatTime(inv.acquired)
		mode := inv.invoicingMode()
		v.InvoiceNumber, v.KsefNumber, v.AcquisitionDate, v.InvoicingMode = &num, &kn, &acq, &mode
		if ps := inv.acquired.Add(permanentStorageDelay); !now.Before(ps) {
			p := formatTime(ps)
			v.PermanentStorageDate = &p
		}
		url, exp := s.presign(base, inv.sess.ref, "invoice-upo", "upo_"+inv.ksefNumber+".xml", now)
		e := formatTime(exp)
		v.UpoDownloadURL, v.UpoDownloadURLExpirationDate = &url, &e
	}
	return v
}

// findInvoice looks an invoice up by reference within a session. Caller holds the lock.
func findInvoice(ss *onlineSession, ref string) *invoiceRec {
	for _, inv := range ss.invoices {
		if inv.ref == ref {
			return inv
		}
	}
	return nil
}

// handleInvoiceStatus serves GET /sessions/{ref}/invoices/{invoiceRef}; each call is
// one status read that moves the invoice along.
func (s *Server) handleInvoiceStatus(w http.ResponseWriter, r *http.Request) {
	c, ok := s.requireAccess(w, r, permsStatus)
	if !ok {
		return
	}
	ref, invRef := r.PathValue("referenceNumber"), r.PathValue("invoiceReferenceNumber")
	now := s.now()
	ss, ok := s.lockSettledSession(w, r, c, ref, anySession, now)
	if !ok {
		return
	}
	inv := findInvoice(ss, invRef)
	if inv == nil {
		s.unlockBadRequest(w, r, validationError("Faktura o numerze referencyjnym "+invRef+" nie została znaleziona w sesji "+ref+"."))
		return
	}
	s.observeInvoice(inv, now)
	v := s.invoiceView(baseURL(r), inv, now)
	s.st.mu.Unlock()
	writeOK(w, http.StatusOK, v)
}

func (s *Server) handleListInvoices(w http.ResponseWriter, r *http.Request) {
	s.listInvoices(w, r, false)
}

func (s *Server) handleListFailedInvoices(w http.ResponseWriter, r *http.Request) {
	s.listInvoices(w, r, true)
}

// listInvoices serves GET /sessions/{ref}/invoices and .../failed, by ordinal number,
// paged with x-continuation-token. Listing counts as a status read of the listed
// invoices.
func (s *Server) listInvoices(w http.ResponseWriter, r *http.Request, failedOnly bool) {
	c, ok := s.requireAccess(w, r, permsStatus)
	if !ok {
		return
	}
	ref := r.PathValue("referenceNumber")
	scope := "invoices:" + ref
	if failedOnly {
		scope = "failed:" + ref
	}
	size, offset, ok := s.pageParams(w, r, scope)
	if !ok {
		return
	}
	now := s.now()
	ss, ok := s.lockSettledSession(w, r, c, ref, anySession, now)
	if !ok {
		return
	}
	var sel []*invoiceRec
	for _, inv := range ss.invoices {
		if !failedOnly || inv.final() && inv.status.Code != invSucceeded {
			sel = append(sel, inv)
		}
	}
	pg, next := page(sel, scope, size, offset)
	out := sessionInvoicesResponse{ContinuationToken: next, Invoices: []sessionInvoiceStatus{}}
	for _, inv := range pg {
		s.observeInvoice(inv, now)
		out.Invoices = append(out.Invoices, s.invoiceView(baseURL(r), inv, now))
	}
	s.st.mu.Unlock()
	writeOK(w, http.StatusOK, out)
}
