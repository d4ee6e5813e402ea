package ksef

import (
	"archive/zip"
	"compress/flate"
	"context"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"io"
	"iter"
	"os"
	"path/filepath"
	"time"

	"github.com/ksefpl/ksefpl/pkg/failure"
)

// Batch package limits (sesja-wsadowa.md, limity/limity.md, BatchFileInfo in
// open-api-2.8.1.json): parts of at most 100 MB before encryption, at most 50
// parts, a package of at most 5 GB and at most 10 000 invoices per session.
const (
	DefaultMaxPartSize     = 100_000_000
	MaxBatchParts          = 50
	MaxBatchPackageSize    = 5_000_000_000
	MaxInvoicesPerSession  = 10_000
	batchCompressionZip    = "Zip"
	batchEntryOverheadSize = 512 // ZIP headers and central directory per entry, upper bound with the name
)

// BatchLimits bound one batch session's package. Zero fields take the
// official defaults; tests use tiny parts.
type BatchLimits struct {
	// MaxPartSize is the largest part before encryption (default 100 MB).
	MaxPartSize int64
	// MaxParts is the most parts per package (default and cap 50).
	MaxParts int
	// MaxInvoices is the most invoices per session (default 10 000).
	MaxInvoices int
}

func (l BatchLimits) withDefaults() BatchLimits {
	if l.MaxPartSize <= 0 {
		l.MaxPartSize = DefaultMaxPartSize
	}
	if l.MaxParts <= 0 || l.MaxParts > MaxBatchParts {
		l.MaxParts = MaxBatchParts
	}
	if l.MaxInvoices <= 0 || l.MaxInvoices > MaxInvoicesPerSession {
		l.MaxInvoices = MaxInvoicesPerSession
	}
	return l
}

// maxPackage is the largest package (before encryption) within the limits.
func (l BatchLimits) maxPackage() int64 {
	return min(l.MaxPartSize*int64(l.MaxParts), MaxBatchPackageSize)
}

// PlanBatchSessions splits a backlog into batch sessions. sizes holds each
// invoice's XML size in bytes, in sending order; the result lists the
// half-open index ranges [start, end) of consecutive invoices that fit one
// session each: at most MaxInvoices invoices, and a package that stays
// within MaxParts parts even if the XML did not compress at all. A backlog
// that fits one session gives one range; an empty one gives none.
func PlanBatchSessions(sizes []int64, lim BatchLimits) [][2]int {
	lim = lim.withDefaults()
	budget := lim.maxPackage() - 22 - 1024 // end of central directory, slack
	var out [][2]int
	start, used := 0, int64(0)
	for i, s := range sizes {
		need := s + s/100 + batchEntryOverheadSize
		if i > start && (i-start >= lim.MaxInvoices || used+need > budget) {
			out = append(out, [2]int{start, i})
			start, used = i, 0
		}
		used += need
	}
	if start < len(sizes) {
		out = append(out, [2]int{start, len(sizes)})
	}
	return out
}

// BatchPart is one encrypted part of a batch package, stored in a file.
type BatchPart struct {
	// OrdinalNumber numbers the parts from 1.
	OrdinalNumber int
	// Path is the file holding the encrypted part.
	Path string
	// PlainSize is the part's size before encryption.
	PlainSize int64
	// FileSize and FileHash (Base64 SHA-256) describe the encrypted part, as
	// declared in BatchFilePartInfo.
	FileSize int64
	FileHash string
}

// BatchEntry is one invoice file of a package.
type BatchEntry struct {
	// FileName is the name inside the ZIP; KSeF reports it back as
	// invoiceFileName, which maps results to local documents.
	FileName string
	// Hash is the Base64 SHA-256 of the XML (KSeF's invoiceHash).
	Hash string
	// Size is the XML size in bytes.
	Size int
}

// BatchPackage is a ZIP of invoices, split into parts encrypted with one
// AES-256 key and IV, ready for OpenBatchSession. The parts live in files
// under Dir; Remove deletes them. The key is a secret: String never shows it.
type BatchPackage struct {
	// FileSize and FileHash (Base64 SHA-256) describe the whole ZIP before
	// encryption.
	FileSize int64
	FileHash string
	// Parts are the encrypted parts in order.
	Parts []BatchPart
	// Entries are the invoices in the ZIP, in order.
	Entries []BatchEntry
	// Dir holds the part files.
	Dir string

	ownDir bool
	key    []byte
	iv     []byte
}

// String shows the sizes and hashes only.
func (p *BatchPackage) String() string {
	return fmt.Sprintf("BatchPackage{%d invoices, %d bytes, %d parts, sha256 %s}", len(p.Entries), p.FileSize, len(p.Parts), p.FileHash)
}

// GoString hides the key in %#v output too.
func (p *BatchPackage) GoString() string { return p.String() }

// SymmetricKey returns copies of the package's AES-256 key and IV (a
// secret), for recording the session so that a later run can decrypt what it
// declared.
func (p *BatchPackage) SymmetricKey() (key, iv []byte) {
	return append([]byte(nil), p.key...), append([]byte(nil), p.iv...)
}

// Remove deletes the part files (and the directory when BuildBatchPackage
// created it).
func (p *BatchPackage) Remove() error {
	var errs []error
	for _, part := range p.Parts {
		if err := os.Remove(part.Path); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if p.ownDir {
		if err := os.RemoveAll(p.Dir); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// BatchPackageOptions configure BuildBatchPackage.
type BatchPackageOptions struct {
	// Dir is where the part files go; empty means a new directory under the
	// system temporary directory, removed by Remove.
	Dir string
	// Limits bound the package (default: the official limits).
	Limits BatchLimits
	// Key and IV replace the random AES-256 key and IV (both or neither).
	Key, IV []byte
}

// BatchLimitError reports a backlog that does not fit one batch session.
type BatchLimitError struct {
	Reason string
}

// Class is failure.Invalid: the caller must split the backlog (PlanBatchSessions).
func (e *BatchLimitError) Class() failure.Class { return failure.Invalid }

// Error describes the failure and what to do about it.
func (e *BatchLimitError) Error() string {
	return "the invoices do not fit one KSeF batch session: " + e.Reason + "; split them into several sessions (PlanBatchSessions)"
}

// countingHash counts and hashes what is written through it.
type countingHash struct {
	h hash.Hash
	n int64
}

func (c *countingHash) Write(b []byte) (int, error) {
	c.h.Write(b)
	c.n += int64(len(b))
	return len(b), nil
}

func (c *countingHash) sum() string { return base64.StdEncoding.EncodeToString(c.h.Sum(nil)) }

// WriteBatchZIP streams the invoices into a ZIP written to w (deflate, one
// entry per file, modification time now), checking each XML like an online
// send (not empty, no BOM, within the size limit) and refusing duplicate or
// unsafe names and more than maxInvoices files (0 means 10 000). It returns
// the entries and the size and Base64 SHA-256 of everything written; memory
// does not grow with the number or size of the files beyond their entry list.
func WriteBatchZIP(ctx context.Context, w io.Writer, files iter.Seq2[string, []byte], maxInvoices int) (entries []BatchEntry, size int64, sha string, err error) {
	if maxInvoices <= 0 || maxInvoices > MaxInvoicesPerSession {
		maxInvoices = MaxInvoicesPerSession
	}
	ch := &countingHash{h: sha256.New()}
	zw := zip.NewWriter(io.MultiWriter(w, ch))
	// Fastest deflate, one compressor for every entry (the entries are written one after
	// the other, and a compressor is costly to set up): a 3 KB invoice comes out about
	// 10 % larger at level 1 than at the default level 6, in two thirds of the time
	// (BenchmarkWriteBatchZIP).
	fl, err := flate.NewWriter(io.Discard, flate.BestSpeed)
	if err != nil {
		return nil, 0, "", err
	}
	zw.RegisterCompressor(zip.Deflate, func(out io.Writer) (io.WriteCloser, error) {
		fl.Reset(out)
		return fl, nil
	})
	seen := map[string]bool{}
	now := time.Now()
	for name, xml := range files {
		if err := ctx.Err(); err != nil {
			return nil, 0, "", err
		}
		if err := checkEntryName(name); err != nil {
			return nil, 0, "", err
		}
		if seen[name] {
			return nil, 0, "", &InvoiceContentError{Reason: fmt.Sprintf("the file name %q appears twice in the batch package; give every invoice its own name", name)}
		}
		seen[name] = true
		if len(entries) >= maxInvoices {
			return nil, 0, "", &BatchLimitError{Reason: fmt.Sprintf("more than %d invoices", maxInvoices)}
		}
		if err := checkInvoiceXML(xml); err != nil {
			return nil, 0, "", fmt.Errorf("%s: %w", name, err)
		}
		fw, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: now})
		if err != nil {
			return nil, 0, "", fmt.Errorf("adding %s to the batch ZIP: %w", name, err)
		}
		if _, err := fw.Write(xml); err != nil {
			return nil, 0, "", fmt.Errorf("writing %s into the batch ZIP: %w", name, err)
		}
		entries = append(entries, BatchEntry{FileName: name, Hash: SHA256Base64(xml), Size: len(xml)})
	}
	if len(entries) == 0 {
		return nil, 0, "", &InvoiceContentError{Reason: "the batch package has no invoices"}
	}
	if err := zw.Close(); err != nil {
		return nil, 0, "", fmt.Errorf("finishing the batch ZIP: %w", err)
	}
	return entries, ch.n, ch.sum(), nil
}

// checkEntryName refuses names that are empty, absolute or climb out of the
// archive.
func checkEntryName(name string) error {
	clean := filepath.ToSlash(filepath.Clean(name))
	if name == "" || clean != name || filepath.IsAbs(name) || name[0] == '/' || clean == ".." || len(clean) > 2 && clean[:3] == "../" {
		return &InvoiceContentError{Reason: fmt.Sprintf("the file name %q cannot be used inside the batch ZIP; use a plain relative name such as FV-2025-001.xml", name)}
	}
	return nil
}

// BuildBatchPackage streams the invoices into a ZIP that is cut, as it is
// written, into parts of at most Limits.MaxPartSize bytes, each encrypted on
// the fly with AES-256-CBC/PKCS#7 under the package's key and IV (one key and
// IV for the whole session, as sesja-wsadowa.md prescribes) into its own
// file. The SHA-256 and size of the whole ZIP and of each encrypted part are
// computed in the same pass. Nothing but the current buffers is held in
// memory. More than Limits.MaxParts parts or Limits.MaxInvoices invoices is a
// *BatchLimitError (use PlanBatchSessions first); the files written so far
// are removed on any error.
func BuildBatchPackage(ctx context.Context, files iter.Seq2[string, []byte], o BatchPackageOptions) (*BatchPackage, error) {
	lim := o.Limits.withDefaults()
	key, iv := o.Key, o.IV
	if key == nil && iv == nil {
		var err error
		if key, iv, err = NewSessionKey(); err != nil {
			return nil, err
		}
	}
	if len(key) != AESKeySize || len(iv) != AESIVSize {
		return nil, &ConfigError{Field: "batch package", Msg: fmt.Sprintf("the key must have %d bytes and the IV %d", AESKeySize, AESIVSize)}
	}
	p := &BatchPackage{Dir: o.Dir, key: append([]byte(nil), key...), iv: append([]byte(nil), iv...)}
	if p.Dir == "" {
		d, err := os.MkdirTemp("", "ksef-batch-")
		if err != nil {
			return nil, fmt.Errorf("creating a directory for the batch parts: %w", err)
		}
		p.Dir, p.ownDir = d, true
	}
	sw := &partSplitter{p: p, max: lim.MaxPartSize, maxParts: lim.MaxParts}
	entries, size, sha, err := WriteBatchZIP(ctx, sw, files, lim.MaxInvoices)
	if err == nil {
		err = sw.finish()
	}
	if err != nil {
		sw.abort()
		_ = p.Remove()
		return nil, err
	}
	if size > MaxBatchPackageSize {
		_ = p.Remove()
		return nil, &BatchLimitError{Reason: fmt.Sprintf("the package has %d bytes, more than %d", size, int64(MaxBatchPackageSize))}
	}
	p.FileSize, p.FileHash, p.Entries = size, sha, entries
	return p, nil
}

// partSplitter is the io.Writer under the ZIP: it opens a new encrypted part
// file every max bytes.
type partSplitter struct {
	p        *BatchPackage
	max      int64
	maxParts int
	cur      *partWriter
}

func (s *partSplitter) Write(b []byte) (int, error) {
	written := 0
	for len(b) > 0 {
		if s.cur == nil || s.cur.plain == s.max {
			if err := s.next(); err != nil {
				return written, err
			}
		}
		n := int(min(int64(len(b)), s.max-s.cur.plain))
		if err := s.cur.write(b[:n]); err != nil {
			return written, err
		}
		b, written = b[n:], written+n
	}
	return written, nil
}

// next closes the current part and starts the following one.
func (s *partSplitter) next() error {
	if s.cur != nil {
		if err := s.closeCurrent(); err != nil {
			return err
		}
	}
	n := len(s.p.Parts) + 1
	if n > s.maxParts {
		return &BatchLimitError{Reason: fmt.Sprintf("the package needs more than %d parts of %d bytes", s.maxParts, s.max)}
	}
	path := filepath.Join(s.p.Dir, fmt.Sprintf("part-%02d.zip.aes", n))
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("creating batch part %d: %w", n, err)
	}
	block, err := newAES(s.p.key, s.p.iv)
	if err != nil {
		_ = f.Close()
		return err
	}
	s.cur = &partWriter{n: n, path: path, f: f, cbc: cipher.NewCBCEncrypter(block, s.p.iv), out: &countingHash{h: sha256.New()}}
	return nil
}

func (s *partSplitter) closeCurrent() error {
	c := s.cur
	s.cur = nil
	if err := c.finish(); err != nil {
		return err
	}
	s.p.Parts = append(s.p.Parts, BatchPart{OrdinalNumber: c.n, Path: c.path, PlainSize: c.plain, FileSize: c.out.n, FileHash: c.out.sum()})
	return nil
}

func (s *partSplitter) finish() error {
	if s.cur == nil {
		return nil
	}
	return s.closeCurrent()
}

// abort closes the open part file (it is removed with the directory).
func (s *partSplitter) abort() {
	if s.cur != nil {
		_ = s.cur.f.Close()
		_ = os.Remove(s.cur.path)
		s.cur = nil
	}
}

// partWriter encrypts one part with AES-256-CBC as it is written: whole
// blocks go out at once, the tail waits for more data or the PKCS#7 padding.
type partWriter struct {
	n     int
	path  string
	f     *os.File
	cbc   cipher.BlockMode
	out   *countingHash
	plain int64
	tail  []byte
	buf   []byte
}

const partChunk = 64 << 10

func (w *partWriter) write(b []byte) error {
	w.plain += int64(len(b))
	for len(b) > 0 {
		take := min(len(b), partChunk)
		data := append(w.tail, b[:take]...)
		b = b[take:]
		whole := len(data) - len(data)%AESIVSize
		if whole > 0 {
			w.buf = append(w.buf[:0], data[:whole]...)
			w.cbc.CryptBlocks(w.buf, w.buf)
			if err := w.emit(w.buf); err != nil {
				return err
			}
		}
		w.tail = append(w.tail[:0:0], data[whole:]...)
	}
	return nil
}

func (w *partWriter) emit(b []byte) error {
	if _, err := w.f.Write(b); err != nil {
		return fmt.Errorf("writing batch part %d: %w", w.n, err)
	}
	_, _ = w.out.Write(b)
	return nil
}

// finish pads, encrypts the last block and closes the file.
func (w *partWriter) finish() error {
	pad := AESIVSize - len(w.tail)%AESIVSize
	last := append(w.tail, make([]byte, pad)...)
	for i := len(w.tail); i < len(last); i++ {
		last[i] = byte(pad)
	}
	w.cbc.CryptBlocks(last, last)
	if err := w.emit(last); err != nil {
		_ = w.f.Close()
		return err
	}
	if err := w.f.Close(); err != nil {
		return fmt.Errorf("closing batch part %d: %w", w.n, err)
	}
	return nil
}
