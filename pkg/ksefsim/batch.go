package ksefsim

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Wire shapes of the batch endpoints (open-api.json components.schemas).
type (
	openBatchRequest struct {
		FormCode    *FormCode       `json:"formCode"`
		BatchFile   *batchFileInfo  `json:"batchFile"`
		Encryption  *encryptionInfo `json:"encryption"`
		OfflineMode bool            `json:"offlineMode"`
		// HashOfCorrectedInvoice is not in OpenBatchSessionRequest: a technical
		// correction goes to an interactive session only, so the field is refused.
		HashOfCorrectedInvoice *string `json:"hashOfCorrectedInvoice"`
	}
	batchFileInfo struct {
		FileSize        *int64              `json:"fileSize"`
		FileHash        *string             `json:"fileHash"`
		CompressionType *string             `json:"compressionType"`
		FileParts       []batchFilePartInfo `json:"fileParts"`
	}
	batchFilePartInfo struct {
		OrdinalNumber *int    `json:"ordinalNumber"`
		FileSize      *int64  `json:"fileSize"`
		FileHash      *string `json:"fileHash"`
	}
	openBatchResponse struct {
		ReferenceNumber    string              `json:"referenceNumber"`
		PartUploadRequests []partUploadRequest `json:"partUploadRequests"`
	}
	partUploadRequest struct {
		OrdinalNumber int               `json:"ordinalNumber"`
		Method        string            `json:"method"`
		URL           string            `json:"url"`
		Headers       map[string]string `json:"headers"`
	}
)

// validateBatchFile checks batchFile: the 21405 details for a malformed description,
// else a 21161 or 21157 error, else the declared parts by ordinal number.
func validateBatchFile(bf *batchFileInfo) ([]batchPart, []string, *apiError) {
	if bf == nil {
		return nil, []string{"Pole 'batchFile' jest wymagane."}, nil
	}
	var d []string
	if bf.FileSize == nil || *bf.FileSize < 1 || *bf.FileSize > maxPackageSize {
		d = append(d, fmt.Sprintf("Pole 'batchFile.fileSize' jest wymagane i musi mieścić się w zakresie 1-%d (paczka do 5 GB).", int64(maxPackageSize)))
	}
	if !validSHA256B64(bf.FileHash) {
		d = append(d, "Pole 'batchFile.fileHash' musi zawierać skrót SHA-256 zakodowany w Base64 (44 znaki).")
	}
	if ct := bf.CompressionType; ct != nil && *ct != compressionZip && *ct != compressionTarGz {
		d = append(d, "Wartość '"+*ct+"' pola 'batchFile.compressionType' jest niedozwolona (Zip lub TarGz).")
	}
	if len(bf.FileParts) == 0 {
		d = append(d, "Pole 'batchFile.fileParts' musi zawierać co najmniej jedną część.")
	}
	if len(d) > 0 {
		return nil, d, nil
	}
	if len(bf.FileParts) > maxBatchParts {
		return nil, nil, &apiError{Code: codeTooManyParts, Description: descTooManyParts,
			Details: []string{fmt.Sprintf("Zadeklarowano %d części; dozwolone jest najwyżej %d.", len(bf.FileParts), maxBatchParts)}}
	}
	parts := make([]batchPart, len(bf.FileParts))
	seen := make([]bool, len(bf.FileParts))
	for i, p := range bf.FileParts {
		switch {
		case p.OrdinalNumber == nil || *p.OrdinalNumber < 1 || *p.OrdinalNumber > len(parts):
			d = append(d, fmt.Sprintf("Pole 'batchFile.fileParts[%d].ordinalNumber' musi mieścić się w zakresie 1-%d (kolejne numery części).", i, len(parts)))
			continue
		case seen[*p.OrdinalNumber-1]:
			d = append(d, fmt.Sprintf("Numer części %d powtarza się w 'batchFile.fileParts'.", *p.OrdinalNumber))
			continue
		}
		n := *p.OrdinalNumber
		seen[n-1] = true
		if p.FileSize == nil || *p.FileSize < 1 {
			d = append(d, fmt.Sprintf("Pole 'fileSize' części %d jest wymagane i musi być większe od 0.", n))
		}
		if !validSHA256B64(p.FileHash) {
			d = append(d, fmt.Sprintf("Pole 'fileHash' części %d musi zawierać skrót SHA-256 zakodowany w Base64 (44 znaki).", n))
		}
		if len(d) == 0 {
			parts[n-1] = batchPart{size: *p.FileSize, hash: *p.FileHash}
		}
	}
	if len(d) > 0 {
		return nil, d, nil
	}
	// Each part is encrypted separately: its size is a multiple of the AES block and
	// at most 100 MB plus the padding; together they carry exactly the package.
	var lo, hi int64
	for i, p := range parts {
		if p.size%16 != 0 || p.size > maxPartEncrypted {
			return nil, nil, &apiError{Code: codeBadPartSize, Description: descBadPartSize, Details: []string{fmt.Sprintf(
				"Rozmiar części %d (%d B) jest nieprawidłowy: zaszyfrowana część ma rozmiar będący wielokrotnością 16 B i nie większy niż %d B (100 MB przed zaszyfrowaniem).",
				i+1, p.size, int64(maxPartEncrypted))}}
		}
		lo, hi = lo+p.size-16, hi+p.size-1
	}
	if *bf.FileSize < lo || *bf.FileSize > hi {
		return nil, nil, &apiError{Code: codeBadPartSize, Description: descBadPartSize, Details: []string{fmt.Sprintf(
			"Rozmiary zaszyfrowanych części nie odpowiadają rozmiarowi paczki %d B.", *bf.FileSize)}}
	}
	return parts, nil, nil
}

// handleOpenBatch serves POST /sessions/batch: 201 with the SB reference number and a
// pre-signed PUT link per declared part, valid for parts × 20 minutes.
func (s *Server) handleOpenBatch(w http.ResponseWriter, r *http.Request) {
	c, ok := s.requireAccess(w, r, permsWrite)
	if !ok {
		return
	}
	var req openBatchRequest
	if !s.decodeRequest(w, r, &req, "OpenBatchSessionRequest") {
		return
	}
	iv, wrapped, d := s.validateOpenSession(&openSessionRequest{FormCode: req.FormCode, Encryption: req.Encryption})
	parts, pd, perr := validateBatchFile(req.BatchFile)
	if req.HashOfCorrectedInvoice != nil {
		pd = append(pd, detCorrectionNotInBatch)
	}
	if d = append(d, pd...); len(d) > 0 {
		s.writeBadRequest(w, r, validationError(d...))
		return
	}
	if perr != nil {
		s.writeBadRequest(w, r, *perr)
		return
	}
	sym, ok := s.unwrapSessionKey(w, r, req.Encryption, wrapped) // nil: processing ends with 415 after close
	if !ok {
		return
	}
	compression := compressionZip
	if ct := req.BatchFile.CompressionType; ct != nil {
		compression = *ct
	}
	now := s.now()
	ss := &onlineSession{
		ref: newRefNumber(now, infixBatch), ctxType: c.ContextType, ctxValue: c.ContextValue,
		form: *req.FormCode, key: sym, iv: iv, created: now, updated: now, validUntil: now.Add(batchSessionTTL),
		status:      statusInfo{Code: batchStarted, Description: descBatchStarted},
		validateIDs: wantsSubjectIDValidation(r),
		batch: &batchInfo{
			fileSize: *req.BatchFile.FileSize, fileHash: *req.BatchFile.FileHash, compression: compression,
			offline: req.OfflineMode, parts: parts,
			uploadUntil: now.Add(time.Duration(len(parts)) * uploadTimePerPart),
		},
	}
	out := openBatchResponse{ReferenceNumber: ss.ref}
	for i := range parts {
		out.PartUploadRequests = append(out.PartUploadRequests, partUploadRequest{
			OrdinalNumber: i + 1, Method: http.MethodPut,
			URL:     s.presignUpload(baseURL(r), ss.ref, i+1, now, ss.batch.uploadUntil),
			Headers: map[string]string{headerBlobType: partUploadBlobType},
		})
	}
	s.st.mu.Lock()
	s.addSessionLocked(c, ss)
	s.st.mu.Unlock()
	writeOK(w, http.StatusCreated, out)
}

// presignUpload builds the pre-signed PUT link of one part, in the style of the
// official example (…/storage/00/{ref}/batch-parts/{n}?…&sp=w&sig=…).
func (s *Server) presignUpload(base, sessionRef string, ordinal int, now, until time.Time) string {
	path := fmt.Sprintf(partUploadPathFormat, storageShard, strings.ToLower(sessionRef), ordinal)
	return s.signedURL(base, path, http.MethodPut, "w", now, until.UTC().Truncate(time.Second))
}

// handleCloseBatch serves POST /sessions/batch/{ref}/close. The declared parts must all
// be uploaded with their declared sizes (21205, 21157); then the session goes to 150
// and the package is decrypted, checked and unpacked before the 204, so that the
// result is deterministic. Invoices then move 100 -> 150 -> final like online ones,
// and the session ends 200 (UPO) or with a batch failure status.
func (s *Server) handleCloseBatch(w http.ResponseWriter, r *http.Request) {
	c, ok := s.requireAccess(w, r, permsWrite)
	if !ok {
		return
	}
	now := s.now()
	ss, ok := s.lockSettledSession(w, r, c, r.PathValue("referenceNumber"), batchOnly, now)
	if !ok {
		return
	}
	if e := closeBatchError(ss); e != nil {
		s.unlockBadRequest(w, r, *e)
		return
	}
	ss.status = statusInfo{Code: batchProcessing, Description: descBatchProc}
	ss.closedAt, ss.closePolls = now, 0
	ss.touch(now)
	job := batchJob{
		ref: ss.ref, key: ss.key, iv: ss.iv, info: *ss.batch, form: ss.form, ctxNIP: ss.ctxValue,
		today: s.localDate(ss.created), validateIDs: ss.validateIDs,
	}
	s.st.mu.Unlock()

	res := s.unpackBatch(job)
	s.st.parts.drop(job.ref, len(job.info.parts))

	s.st.mu.Lock()
	switch {
	case ss.status.Code != batchProcessing: // terminated meanwhile
	case res.failure != nil:
		ss.batch.failure = res.failure
	default:
		for _, e := range res.entries {
			s.recordBatchInvoice(ss, e, now)
		}
	}
	ss.batch.processed = true
	s.st.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// closeBatchError is the 400 a close gets in the session's state, or nil.
// Caller holds the lock.
func closeBatchError(ss *onlineSession) *apiError {
	if ss.status.Code == batchCancelled && len(ss.status.Details) == 1 && ss.status.Details[0] == detUploadTimeout {
		return &apiError{Code: codeUploadTimeout, Description: descUploadTimeout, Details: []string{detUploadTimeoutExc}}
	}
	if ss.status.Code != batchStarted {
		e := sessionStatusError(ss.status.Code, "jej zamknięcie")
		return &e
	}
	for i, p := range ss.batch.parts {
		if !p.uploaded {
			return &apiError{Code: codePartMissing, Description: descPartMissing,
				Details: []string{fmt.Sprintf("Nie przesłano zadeklarowanej '%d' części pliku.", i+1)}}
		}
	}
	for i, p := range ss.batch.parts {
		if p.got.size != p.size {
			return &apiError{Code: codeBadPartSize, Description: descBadPartSize,
				Details: []string{fmt.Sprintf("Zadeklarowany rozmiar części '%d' nie zgadza się z rzeczywistym.", i+1)}}
		}
	}
	return nil
}

// recordBatchInvoice adds one unpacked invoice to a batch session at status 100.
// Caller holds the lock.
func (s *Server) recordBatchInvoice(ss *onlineSession, e batchEntry, now time.Time) {
	st := &s.st.sessions
	st.seq++
	inv := &invoiceRec{
		sess: ss, seq: st.seq, ordinal: len(ss.invoices) + 1, ref: newRefNumber(now, infixInvoice),
		hash: e.hash, content: e.content, facts: e.facts, verdict: e.verdict, fileName: e.name,
		offlineMode: ss.batch.offline, received: now, stageSince: now,
		status: invoiceStatus{Code: invReceived, Description: descInvReceived},
	}
	if inv.verdict == nil {
		st.docs[inv.key()] = append(st.docs[inv.key()], inv)
	}
	if f := &s.st.faults.sessions; f.StallInvoices > 0 {
		f.StallInvoices--
		inv.stalled = true
	}
	ss.invoices = append(ss.invoices, inv)
	st.invoices = append(st.invoices, inv)
}
