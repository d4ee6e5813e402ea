package ksefsim

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// batchJob is everything processing a closed batch needs, copied out of the state so
// that the work runs without the lock.
type batchJob struct {
	ref     string
	key, iv []byte
	info    batchInfo
	form    FormCode
	ctxNIP  string
	today   time.Time // the acceptance day for the P_1 check: the session's opening (its invoicingDate)
	// validateIDs: the session was opened with X-KSeF-Feature: subject-identifier-validation.
	validateIDs bool
}

// batchEntry is one invoice file found in the package, already checked.
type batchEntry struct {
	name    string
	content []byte
	hash    string
	facts   invoiceFacts
	verdict *invoiceStatus
}

// batchResult is the outcome of processing: a package-level failure or the invoices.
type batchResult struct {
	failure *statusInfo
	entries []batchEntry
}

func batchFailure(code int, desc string, details ...string) batchResult {
	return batchResult{failure: &statusInfo{Code: code, Description: desc, Details: details}}
}

// unpackBatch does what KSeF does after close: unwraps the key (415), checks every
// part's hash (405), decrypts the parts one after another into the package (435),
// checks the package's size and hash (405), and unpacks it (430), reading each invoice
// file once (420 when there are more than 10 000).
func (s *Server) unpackBatch(job batchJob) batchResult {
	if job.key == nil {
		return batchFailure(batchKeyError, descBatchKey, "Nie udało się odszyfrować klucza symetrycznego kluczem prywatnym KSeF (RSA-OAEP SHA-256).")
	}
	for i, p := range job.info.parts {
		if p.got.hash != p.hash {
			return batchFailure(batchBadElements, descBatchElements, fmt.Sprintf("Skrót części '%d' nie zgadza się z zadeklarowanym.", i+1))
		}
	}
	pkg, err := s.st.parts.newScratch()
	if err != nil {
		return batchFailure(500, "Nieznany błąd (500)", err.Error())
	}
	defer pkg.close()
	h := sha256.New()
	var size int64
	for i := range job.info.parts {
		src, err := s.st.parts.open(job.ref, i+1)
		if err != nil {
			return batchFailure(500, "Nieznany błąd (500)", err.Error())
		}
		n, err := decryptCBCStream(job.key, job.iv, src, io.MultiWriter(pkg, h))
		_ = src.Close()
		size += n
		if err != nil {
			return batchFailure(batchPartDecrypt, descBatchDecrypt, fmt.Sprintf("Nie udało się odszyfrować części '%d' (AES-256-CBC, PKCS#7): %v.", i+1, err))
		}
	}
	if size != job.info.fileSize {
		return batchFailure(batchBadElements, descBatchElements, fmt.Sprintf("Rozmiar paczki po odszyfrowaniu (%d B) nie zgadza się z zadeklarowanym (%d B).", size, job.info.fileSize))
	}
	if got := base64.StdEncoding.EncodeToString(h.Sum(nil)); got != job.info.fileHash {
		return batchFailure(batchBadElements, descBatchElements, "Skrót paczki po odszyfrowaniu nie zgadza się z zadeklarowanym.")
	}
	var res batchResult
	visit := func(name string, r io.Reader) error {
		if len(res.entries) >= maxInvoicesPerSession {
			return errTooManyInvoices
		}
		res.entries = append(res.entries, checkBatchEntry(name, r, job))
		return nil
	}
	if job.info.compression == compressionTarGz {
		var rd io.Reader
		if rd, err = pkg.reader(); err == nil {
			err = walkTarGz(rd, visit)
		}
	} else {
		err = walkZip(pkg.readerAt(), size, visit)
	}
	switch {
	case errors.Is(err, errTooManyInvoices):
		return batchFailure(batchLimit, descBatchLimit, fmt.Sprintf("Paczka zawiera więcej niż %d faktur.", maxInvoicesPerSession))
	case err != nil:
		return batchFailure(batchDecompress, descBatchDecomp, fmt.Sprintf("Nie udało się rozpakować archiwum %s: %v.", job.info.compression, err))
	}
	return res
}

// errTooManyInvoices stops unpacking at the session's invoice limit.
var errTooManyInvoices = errors.New("too many invoices in the package")

// checkBatchEntry reads one invoice file (at most 3 MB of it is kept; the hash covers
// all of it) and decides, like an online send, whether it will fail.
func checkBatchEntry(name string, r io.Reader, job batchJob) batchEntry {
	h := sha256.New()
	var buf bytes.Buffer
	n, err := io.Copy(io.MultiWriter(h, &limitedBuffer{buf: &buf, max: maxInvoiceAttachSize}), r)
	e := batchEntry{name: name, hash: base64.StdEncoding.EncodeToString(h.Sum(nil))}
	fileErr := func(detail string) batchEntry {
		e.verdict = &invoiceStatus{Code: invFileError, Description: descInvFileError, Details: []string{detail}}
		return e
	}
	switch {
	case err != nil:
		return fileErr("Nie udało się odczytać pliku " + name + " z archiwum: " + err.Error())
	case n > maxInvoiceAttachSize:
		return fileErr(fmt.Sprintf("Rozmiar faktury %d B przekracza dozwolony limit %d B (faktura z załącznikiem).", n, maxInvoiceAttachSize))
	case n > maxInvoiceSize && !bytes.Contains(buf.Bytes(), []byte("Zalacznik")):
		return fileErr(fmt.Sprintf("Rozmiar faktury %d B przekracza dozwolony limit %d B (faktura bez załącznika).", n, maxInvoiceSize))
	}
	e.content = buf.Bytes()
	facts, problems := parseInvoice(e.content)
	e.facts = facts
	if problems == nil {
		problems = semanticProblems(facts, job.form, job.ctxNIP, job.today)
		if job.validateIDs {
			problems = append(problems, identifierProblems(facts)...)
		}
	}
	if len(problems) > 0 {
		e.verdict = &invoiceStatus{Code: invSemantic, Description: descInvSemantic, Details: problems}
	}
	return e
}

// limitedBuffer keeps the first max bytes written and silently drops the rest.
type limitedBuffer struct {
	buf *bytes.Buffer
	max int
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := l.max - l.buf.Len(); room > 0 {
		l.buf.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

// walkZip calls visit for every file of a ZIP archive, in archive order.
func walkZip(ra io.ReaderAt, size int64, visit func(name string, r io.Reader) error) error {
	zr, err := zip.NewReader(ra, size)
	if err != nil {
		return err
	}
	files := 0
	for _, f := range zr.File {
		if !f.FileInfo().IsDir() {
			files++
		}
	}
	if files > maxInvoicesPerSession {
		return errTooManyInvoices // known from the central directory: nothing to read
	}
	for _, f := range zr.File {
		if f.FileInfo().IsDir() {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return fmt.Errorf("%s: %w", f.Name, err)
		}
		err = visit(f.Name, rc)
		if cerr := rc.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("%s: %w", f.Name, cerr)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// walkTarGz calls visit for every regular file of a gzip-compressed tar stream.
func walkTarGz(r io.Reader, visit func(name string, r io.Reader) error) error {
	gz, err := gzip.NewReader(r)
	if err != nil {
		return err
	}
	defer gz.Close()
	tr := tar.NewReader(gz)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if hdr.Typeflag != tar.TypeReg {
			continue
		}
		if err := visit(strings.TrimPrefix(hdr.Name, "./"), tr); err != nil {
			return err
		}
	}
}

// decryptCBCStream decrypts one AES-256-CBC/PKCS#7 part from src to dst without
// holding it in memory, and returns the number of plaintext bytes written.
func decryptCBCStream(key, iv []byte, src io.Reader, dst io.Writer) (int64, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return 0, err
	}
	if len(iv) != aes.BlockSize {
		return 0, fmt.Errorf("IV of %d bytes", len(iv))
	}
	mode := cipher.NewCBCDecrypter(block, iv)
	buf := make([]byte, 64*1024)
	var held [aes.BlockSize]byte
	haveHeld := false
	var written int64
	write := func(b []byte) error {
		n, err := dst.Write(b)
		written += int64(n)
		return err
	}
	for {
		n, rerr := io.ReadFull(src, buf)
		if n > 0 {
			if n%aes.BlockSize != 0 {
				return written, fmt.Errorf("ciphertext length is not a multiple of %d", aes.BlockSize)
			}
			mode.CryptBlocks(buf[:n], buf[:n])
			if haveHeld {
				if err := write(held[:]); err != nil {
					return written, err
				}
			}
			if err := write(buf[:n-aes.BlockSize]); err != nil {
				return written, err
			}
			copy(held[:], buf[n-aes.BlockSize:n])
			haveHeld = true
		}
		if errors.Is(rerr, io.EOF) || errors.Is(rerr, io.ErrUnexpectedEOF) {
			break
		}
		if rerr != nil {
			return written, rerr
		}
	}
	if !haveHeld {
		return written, errors.New("empty ciphertext")
	}
	pad := int(held[aes.BlockSize-1])
	if pad == 0 || pad > aes.BlockSize {
		return written, errPadding
	}
	for _, b := range held[aes.BlockSize-pad:] {
		if int(b) != pad {
			return written, errPadding
		}
	}
	return written, write(held[:aes.BlockSize-pad])
}
