package ksefsim

import (
	"time"
)

// Batch session statuses (open-api.json SessionStatusResponse.status, "Sesja wsadowa").
const (
	batchStarted       = 100
	batchProcessing    = 150
	batchSucceeded     = 200
	batchBadElements   = 405
	batchKeyError      = 415
	batchLimit         = 420
	batchDecompress    = 430
	batchPartDecrypt   = 435
	batchCancelled     = 440
	batchNoValid       = 445
	descBatchStarted   = "Sesja wsadowa rozpoczęta"
	descBatchProc      = "Trwa przetwarzanie"
	descBatchSucceeded = "Sesja wsadowa przetworzona pomyślnie"
	descBatchElements  = "Błąd weryfikacji poprawności dostarczonych elementów paczki"
	descBatchKey       = "Błąd odszyfrowania dostarczonego klucza"
	descBatchLimit     = "Przekroczony limit faktur w sesji"
	descBatchDecomp    = "Błąd dekompresji pierwotnego archiwum"
	descBatchDecrypt   = "Błąd odszyfrowania zaszyfrowanych części archiwum"
	detUploadTimeout   = "Przekroczono czas wysyłki"
)

// Invoice statuses used only by batch processing.
const (
	invFileError     = 430
	descInvFileError = "Błąd weryfikacji pliku faktury"
)

// Exception codes of the batch endpoints (open-api.json 400 descriptions).
const (
	codeBadPartSize     = 21157
	codeTooManyParts    = 21161
	codePartMissing     = 21205
	codeUploadTimeout   = 21208
	descBadPartSize     = "Nieprawidłowy rozmiar części pakietu."
	descTooManyParts    = "Przekroczono dozwoloną liczbę części pakietu."
	descPartMissing     = "Pakiet nie może być pusty."
	descUploadTimeout   = "Czas oczekiwania na requesty upload lub finish został przekroczony."
	detUploadTimeoutExc = "Sesja anulowana, przekroczony czas wysyłki."
)

// Batch limits (limity/limity.md, faktury/weryfikacja-faktury.md, sesja-wsadowa.md).
const (
	maxBatchParts        = 50
	maxPartPlainSize     = 100_000_000                     // a part before encryption
	maxPartEncrypted     = maxPartPlainSize + 16           // after AES-CBC with PKCS#7 padding
	maxPackageSize       = 5_000_000_000                   // the whole package before encryption
	maxInvoiceAttachSize = 3_000_000                       // an invoice with attachments
	uploadTimePerPart    = 20 * time.Minute                // upload window = parts × 20 min
	batchSessionTTL      = 12 * time.Hour                  // a batch left at 100 is cancelled
	maxUPOPageSize       = 10000                           // UPO v4-3 Dokument maxOccurs
	partUploadBlobType   = "BlockBlob"                     // the x-ms-blob-type header value
	headerBlobType       = "x-ms-blob-type"                // required on every part upload
	compressionZip       = "Zip"                           // BatchFileInfo.compressionType default
	compressionTarGz     = "TarGz"                         // since API 2.6.0
	storageShard         = "00"                            // first path segment of the upload URLs
	partUploadPathFormat = "/storage/%s/%s/batch-parts/%d" // shard, lower-case session ref, ordinal
)

// batchInfo is what a batch session adds to a session: the declared package and
// parts, the uploads, and the outcome of processing.
type batchInfo struct {
	fileSize    int64
	fileHash    string
	compression string
	offline     bool
	parts       []batchPart // index = ordinalNumber - 1
	uploadUntil time.Time
	processed   bool        // the package was unpacked (or failed) after close
	failure     *statusInfo // the package-level failure, shown once processing time passed
}

// batchPart is one declared part and its upload.
type batchPart struct {
	size     int64
	hash     string
	uploaded bool
	got      storedPart
}

// expireBatch cancels a batch session left at 100 for 12 hours (440 "Przekroczono czas
// wysyłki"). Caller holds the lock.
func (s *Server) expireBatch(ss *onlineSession, now time.Time) {
	if ss.status.Code != batchStarted || now.Before(ss.validUntil) {
		return
	}
	ss.status = statusInfo{Code: batchCancelled, Description: descSessionCancelled, Details: []string{detUploadTimeout}}
	ss.touch(ss.validUntil)
	s.st.parts.drop(ss.ref, len(ss.batch.parts))
}
