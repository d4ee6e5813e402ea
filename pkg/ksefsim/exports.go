package ksefsim

import (
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Export statuses (open-api-2.8.1.json InvoiceExportStatusResponse.status) and errors.
const (
	exportRunning   = 100
	exportDone      = 200
	exportExpired   = 210
	exportKeyError  = 415
	exportAfterHWM  = 420
	descExportRun   = "Eksport faktur w toku"
	descExportDone  = "Eksport faktur zakończony sukcesem"
	descExportGone  = "Eksport faktur wygasł i nie jest już dostępny do pobrania"
	descExportKey   = "Błąd odszyfrowania dostarczonego klucza"
	descExportHWM   = "Zakres filtrowania wykracza poza dostępny zakres danych"
	codeExportSubj  = 21181
	descExportSubj  = "Nieprawidłowe żądanie eksportu faktur."
	codeExportLimit = 21182
	descExportLimit = "Osiągnięto limit trwających eksportów."
	codeNoExport    = 21175
	descNoExport    = "Wynik zapytania o podanym identyfikatorze nie istnieje."

	maxRunningExports  = 10                 // "Maksymalnie można uruchomić 10 równoczesnych eksportów"
	exportRetention    = 7 * 24 * time.Hour // "Status eksportu paczki faktur jest dostępny przez 7 dni"
	exportPackageTTL   = 72 * time.Hour     // how long a finished package can be downloaded (simulator's choice)
	exportLinkTTL      = time.Hour          // part links are made at each status read (official example: 1 h)
	defaultExportPart  = int64(50_000_000)  // "części o maksymalnym rozmiarze 50 MB"
	exportPartKind     = "invoice-part"     // /storage/{ref}/invoice-part/{partName}
	exportPartMimeType = "application/octet-stream"
)

// Wire shapes of the export endpoints (InvoiceExportRequest, ExportInvoicesResponse,
// InvoiceExportStatusResponse, InvoicePackage, InvoicePackagePart).
type (
	exportRequest struct {
		Encryption      *encryptionInfo      `json:"encryption"`
		OnlyMetadata    bool                 `json:"onlyMetadata"`
		Filters         *invoiceQueryFilters `json:"filters"`
		CompressionType *string              `json:"compressionType"`
	}
	exportResponse struct {
		ReferenceNumber string `json:"referenceNumber"`
	}
	exportStatusResponse struct {
		Status                statusInfo          `json:"status"`
		CompletedDate         *string             `json:"completedDate,omitempty"`
		PackageExpirationDate *string             `json:"packageExpirationDate,omitempty"`
		Package               *invoicePackageView `json:"package,omitempty"`
	}
	invoicePackageView struct {
		InvoiceCount             int               `json:"invoiceCount"`
		Size                     int64             `json:"size"`
		Parts                    []packagePartView `json:"parts"`
		IsTruncated              bool              `json:"isTruncated"`
		LastIssueDate            *string           `json:"lastIssueDate,omitempty"`
		LastInvoicingDate        *string           `json:"lastInvoicingDate,omitempty"`
		LastPermanentStorageDate *string           `json:"lastPermanentStorageDate,omitempty"`
		PermanentStorageHwmDate  *string           `json:"permanentStorageHwmDate,omitempty"`
		CompressionType          string            `json:"compressionType"`
	}
	packagePartView struct {
		OrdinalNumber     int    `json:"ordinalNumber"`
		PartName          string `json:"partName"`
		Method            string `json:"method"`
		URL               string `json:"url"`
		PartSize          int64  `json:"partSize"`
		PartHash          string `json:"partHash"`
		EncryptedPartSize int64  `json:"encryptedPartSize"`
		EncryptedPartHash string `json:"encryptedPartHash"`
		ExpirationDate    string `json:"expirationDate"`
	}
)

// exportJob is one export (EH reference number).
type exportJob struct {
	ref       string
	ctxType   string
	ctxValue  string
	created   time.Time
	polls     int        // status reads that saw 100
	final     statusInfo // the outcome, shown once the export is ready
	completed time.Time
	query     invoiceQuery
	hwm       time.Time
	pkg       *exportPackage // nil unless final is 200
}

// exportState holds the exports for the simulator's lifetime.
type exportState struct {
	byRef map[string]*exportJob
}

// exportPollsNeeded is the number of status reads that see 100.
func (s *Server) exportPollsNeeded() int {
	switch {
	case s.cfg.ExportPolls < 0:
		return 0
	case s.cfg.ExportPolls == 0:
		return 1
	default:
		return s.cfg.ExportPolls
	}
}

// exportReady reports whether the export's outcome can be shown at now.
func (s *Server) exportReady(j *exportJob, now time.Time) bool {
	return j.polls >= s.exportPollsNeeded() || s.cfg.InvoiceStepTime > 0 && now.Sub(j.created) >= s.cfg.InvoiceStepTime
}

// handleExport serves POST /invoices/exports: it checks the request (21405, 21181,
// 21182, 21470), selects the invoices at once (ascending by the filter's date type,
// at most QueryResultLimit, then isTruncated) and builds the package: every invoice as
// {ksefNumber}.xml (unless onlyMetadata) and _metadata.json, zipped (or tar.gz),
// split into parts and each part encrypted with the client's AES key. The status
// endpoint shows it after Config.ExportPolls reads. A key that cannot be unwrapped
// ends the export with 415; restrictToPermanentStorageHwmDate with a range starting
// after the HWM ends it with 420.
func (s *Server) handleExport(w http.ResponseWriter, r *http.Request) {
	c, ok := s.requireAccess(w, r, permsRead)
	if !ok {
		return
	}
	var req exportRequest
	if !s.decodeRequest(w, r, &req, "InvoiceExportRequest") {
		return
	}
	iv, wrapped, d := validateEncryption(req.Encryption)
	var q invoiceQuery
	if req.Filters == nil {
		d = append(d, "Pole 'filters' jest wymagane.")
	} else {
		var fd []string
		q, fd = s.validateQuery(req.Filters, "filters.")
		d = append(d, fd...)
	}
	compression := compressionZip
	if ct := req.CompressionType; ct != nil {
		d = oneOf(d, "compressionType", ct, []string{compressionZip, compressionTarGz})
		compression = *ct
	}
	if len(d) > 0 {
		s.writeBadRequest(w, r, validationError(d...))
		return
	}
	if c.ContextType != "Nip" {
		s.writeBadRequest(w, r, apiError{Code: codeExportSubj, Description: descExportSubj, Details: []string{fmt.Sprintf(
			"Nie można wyeksportować paczki faktur dla wybranego podmiotu (%s) i zalogowanego identyfikatora kontekstu (%s).", q.subject, c.ContextType)}})
		return
	}
	now := s.now()
	if s.runningExports(c, now) >= maxRunningExports {
		s.writeBadRequest(w, r, apiError{Code: codeExportLimit, Description: descExportLimit, Details: []string{fmt.Sprintf(
			"Dla uwierzytelnionego podmiotu w bieżącym kontekście osiągnięto maksymalny limit %d równoczesnych eksportów faktur. Spróbuj ponownie później.", maxRunningExports)}})
		return
	}
	key, ok := s.unwrapSessionKey(w, r, req.Encryption, wrapped)
	if !ok {
		return
	}
	j := &exportJob{ref: newRefNumber(now, infixExport), ctxType: c.ContextType, ctxValue: c.ContextValue,
		created: now, query: q, hwm: q.hwm(now)}
	switch {
	case key == nil:
		j.final = statusInfo{Code: exportKeyError, Description: descExportKey}
	case q.restrict && q.dateType == datePermanentStorage && q.from.After(j.hwm):
		j.final = statusInfo{Code: exportAfterHWM, Description: descExportHWM, Details: []string{detailRangeAfterHWM}}
	default:
		pkg, err := s.buildExport(c, j, compression, req.OnlyMetadata, key, iv, now)
		if err != nil {
			j.final = statusInfo{Code: 500, Description: "Nieznany błąd (500)", Details: []string{err.Error()}}
			break
		}
		j.pkg, j.final = pkg, statusInfo{Code: exportDone, Description: descExportDone}
	}
	j.completed = now
	s.st.mu.Lock()
	s.st.exports.byRef[j.ref] = j
	s.st.mu.Unlock()
	writeOK(w, http.StatusCreated, exportResponse{ReferenceNumber: j.ref})
}

// runningExports counts the caller's exports still at 100.
func (s *Server) runningExports(c claims, now time.Time) int {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	n := 0
	for _, j := range s.st.exports.byRef {
		if j.ctxType == c.ContextType && j.ctxValue == c.ContextValue && !s.exportReady(j, now) {
			n++
		}
	}
	return n
}

// buildExport selects the invoices and builds the encrypted package.
func (s *Server) buildExport(c claims, j *exportJob, compression string, onlyMetadata bool, key, iv []byte, now time.Time) (*exportPackage, error) {
	limit := s.queryLimit()
	s.st.mu.Lock()
	sel := s.selectInvoices(c, j.query, now, false)
	pkg := &exportPackage{compression: compression, truncated: len(sel) > limit}
	sel = sel[:min(len(sel), limit)]
	meta := make([]invoiceMetadata, 0, len(sel))
	var files []exportFile
	for _, inv := range sel {
		meta = append(meta, inv.metadata())
		if !onlyMetadata {
			files = append(files, exportFile{name: inv.ksefNumber + ".xml", content: inv.content})
		}
	}
	if len(sel) > 0 {
		pkg.last = sel[len(sel)-1]
	}
	pkg.invoiceCount = len(sel)
	s.st.mu.Unlock()

	archive, err := exportArchive(compression, files, meta, now)
	if err != nil {
		return nil, fmt.Errorf("build the %s archive: %w", compression, err)
	}
	partSize := s.cfg.ExportPartSize
	if partSize <= 0 {
		partSize = defaultExportPart
	}
	pkg.size = int64(len(archive))
	if pkg.parts, err = splitAndEncrypt(j.ref, compression, archive, key, iv, partSize); err != nil {
		return nil, fmt.Errorf("encrypt the package: %w", err)
	}
	return pkg, nil
}

// handleExportStatus serves GET /invoices/exports/{ref}: 100 until the export is
// ready, then its outcome; a finished package lists its parts with fresh pre-signed
// links (no bearer needed, 1 h). After 72 h the package expires (210), after 7 days
// the status is gone (410).
func (s *Server) handleExportStatus(w http.ResponseWriter, r *http.Request) {
	c, ok := s.requireAccess(w, r, permsRead)
	if !ok {
		return
	}
	ref := r.PathValue("referenceNumber")
	now := s.now()
	s.st.mu.Lock()
	j := s.st.exports.byRef[ref]
	if j == nil || j.ctxType != c.ContextType || j.ctxValue != c.ContextValue {
		s.unlockBadRequest(w, r, apiError{Code: codeNoExport, Description: descNoExport,
			Details: []string{"Eksport o numerze referencyjnym " + ref + " nie istnieje."}})
		return
	}
	if now.Sub(j.created) > exportRetention {
		s.st.mu.Unlock()
		writeJSON(w, http.StatusGone, contentTypeProblem, simpleProblem{
			Title: "Gone", Status: http.StatusGone, Instance: r.URL.Path,
			Detail: "Status eksportu wygasł i nie jest już dostępny.", Timestamp: formatTime(now), TraceID: randomHex(16),
		})
		return
	}
	out := s.exportView(baseURL(r), j, now)
	s.st.mu.Unlock()
	writeOK(w, http.StatusOK, out)
}

// exportView renders the status of an export; a read of a running export counts
// towards ExportPolls. Caller holds the lock.
func (s *Server) exportView(base string, j *exportJob, now time.Time) exportStatusResponse {
	if !s.exportReady(j, now) {
		j.polls++
		return exportStatusResponse{Status: statusInfo{Code: exportRunning, Description: descExportRun}}
	}
	completed := formatTime(j.completed)
	out := exportStatusResponse{Status: j.final, CompletedDate: &completed}
	if j.pkg == nil {
		return out
	}
	expires := j.completed.Add(exportPackageTTL)
	exp := formatTime(expires)
	out.PackageExpirationDate = &exp
	if !now.Before(expires) {
		out.Status = statusInfo{Code: exportExpired, Description: descExportGone}
		return out
	}
	p := j.pkg
	view := &invoicePackageView{InvoiceCount: p.invoiceCount, Size: p.size, IsTruncated: p.truncated,
		CompressionType: p.compression, Parts: []packagePartView{}}
	linkExp := now.Add(exportLinkTTL).UTC().Truncate(time.Second)
	if linkExp.After(expires) {
		linkExp = expires.UTC().Truncate(time.Second)
	}
	for i, part := range p.parts {
		path := "/storage/" + j.ref + "/" + exportPartKind + "/" + part.name
		view.Parts = append(view.Parts, packagePartView{
			OrdinalNumber: i + 1, PartName: part.name, Method: http.MethodGet,
			URL:      s.signedURL(base, path, http.MethodGet, "r", now, linkExp),
			PartSize: part.plainSize, PartHash: part.plainHash,
			EncryptedPartSize: int64(len(part.encrypted)), EncryptedPartHash: part.encryptedHash,
			ExpirationDate: formatTime(linkExp),
		})
	}
	if p.truncated && p.last != nil {
		switch j.query.dateType {
		case dateIssue:
			v := p.last.facts.issueDate
			view.LastIssueDate = &v
		case dateInvoicing:
			v := formatTime(p.last.invoicingDate())
			view.LastInvoicingDate = &v
		default:
			v := formatTime(p.last.permanentStorage())
			view.LastPermanentStorageDate = &v
		}
	}
	if j.query.dateType == datePermanentStorage {
		v := formatTime(j.hwm)
		view.PermanentStorageHwmDate = &v
	}
	out.Package = view
	return out
}

// exportPartLocked finds a downloadable part of an export (nil when the export, the
// part or the package is gone). Caller holds the lock.
func (s *Server) exportPartLocked(ref, name string, now time.Time) *exportPart {
	j := s.st.exports.byRef[ref]
	if j == nil || j.pkg == nil || !now.Before(j.completed.Add(exportPackageTTL)) {
		return nil
	}
	for i := range j.pkg.parts {
		if j.pkg.parts[i].name == name {
			return &j.pkg.parts[i]
		}
	}
	return nil
}

// writeExportPart answers a part download: the encrypted bytes with x-ms-meta-hash.
func writeExportPart(w http.ResponseWriter, p *exportPart) {
	w.Header().Set("Content-Type", exportPartMimeType)
	w.Header().Set(headerMetaHash, p.encryptedHash)
	w.Header().Set("Content-Length", strconv.Itoa(len(p.encrypted)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(p.encrypted)
}
