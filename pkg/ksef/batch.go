package ksef

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/ksefpl/ksefpl/pkg/failure"
)

// KSeF exception codes of the batch-session endpoints (HTTP 400).
const (
	ErrCodeBatchPartSize     = 21157 // a part's size does not match the declaration
	ErrCodeBatchTooManyParts = 21161 // more parts than allowed
	ErrCodeBatchPartMissing  = 21205 // a declared part was not uploaded
	ErrCodeBatchUploadTime   = 21208 // the upload (or close) came after the upload window
)

// BatchOptions are the optional fields of a batch session opening.
type BatchOptions struct {
	// OfflineMode declares the invoices as issued in an offline mode.
	OfflineMode bool
	// SubjectIdentifierValidation sends X-KSeF-Feature:
	// subject-identifier-validation when opening the session (see
	// OnlineSessionOptions.SubjectIdentifierValidation).
	SubjectIdentifierValidation bool
}

// PartUploadRequest tells how to upload one part: KSeF's PartUploadRequest.
// URL is pre-signed (its query is a signature, treat it as a secret); String
// hides it.
type PartUploadRequest struct {
	OrdinalNumber int               `json:"ordinalNumber"`
	Method        string            `json:"method"`
	URL           string            `json:"url"`
	Headers       map[string]string `json:"headers"`
}

// String shows the method and the link without its query.
func (r PartUploadRequest) String() string {
	return fmt.Sprintf("part %d: %s %s", r.OrdinalNumber, r.Method, redactURL(r.URL))
}

// GoString hides the signature in %#v output too.
func (r PartUploadRequest) GoString() string { return r.String() }

// BatchSession is an opened batch session: its reference (SB infix) and where
// to upload each part.
type BatchSession struct {
	ReferenceNumber    string
	PartUploadRequests []PartUploadRequest
	// OpenedAt is when the session was opened (client clock); the upload
	// window is 20 minutes per declared part.
	OpenedAt time.Time
}

// UploadDeadline is the end of the upload window: 20 minutes per declared
// part from the opening (sesja-wsadowa.md, "Limit czasu na przesłanie
// partów").
func (s *BatchSession) UploadDeadline() time.Time {
	return s.OpenedAt.Add(time.Duration(len(s.PartUploadRequests)) * 20 * time.Minute)
}

// batchPartInfo is the API's BatchFilePartInfo.
type batchPartInfo struct {
	OrdinalNumber int    `json:"ordinalNumber"`
	FileSize      int64  `json:"fileSize"`
	FileHash      string `json:"fileHash"`
}

// openBatchRequest is the API's OpenBatchSessionRequest.
type openBatchRequest struct {
	FormCode  FormCode `json:"formCode"`
	BatchFile struct {
		FileSize        int64           `json:"fileSize"`
		FileHash        string          `json:"fileHash"`
		CompressionType string          `json:"compressionType"`
		FileParts       []batchPartInfo `json:"fileParts"`
	} `json:"batchFile"`
	Encryption  encryptionInfo `json:"encryption"`
	OfflineMode bool           `json:"offlineMode"`
}

// OpenBatchSession calls POST /sessions/batch declaring the package: its size
// and hash before encryption, the size and hash of every encrypted part, and
// the package's AES key wrapped with RSA-OAEP-SHA256 under the
// SymmetricKeyEncryption public key, with the X-KSeF-Feature header opts ask
// for. On 21470 (rotated key) it re-fetches
// the keys and tries once more. Opening is not retried on 5xx or network
// errors (a session may have been opened; KSeF cancels an unused one).
func (c *Client) OpenBatchSession(ctx context.Context, accessToken string, form FormCode, pkg *BatchPackage, opts BatchOptions) (*BatchSession, error) {
	if form.SystemCode == "" || form.SchemaVersion == "" || form.Value == "" {
		return nil, &ConfigError{Field: "form code", Msg: fmt.Sprintf("%q is incomplete; use FormCodeFA3()", form.String())}
	}
	if pkg == nil || len(pkg.Parts) == 0 || len(pkg.key) != AESKeySize || len(pkg.iv) != AESIVSize {
		return nil, &ConfigError{Field: "batch package", Msg: "empty or without a key; build it with BuildBatchPackage"}
	}
	const path = "/sessions/batch"
	var body openBatchRequest
	body.FormCode = form
	body.BatchFile.FileSize, body.BatchFile.FileHash, body.BatchFile.CompressionType = pkg.FileSize, pkg.FileHash, batchCompressionZip
	for _, p := range pkg.Parts {
		body.BatchFile.FileParts = append(body.BatchFile.FileParts, batchPartInfo{OrdinalNumber: p.OrdinalNumber, FileSize: p.FileSize, FileHash: p.FileHash})
	}
	body.OfflineMode = opts.OfflineMode
	for attempt := 1; ; attempt++ {
		pub, err := c.PublicKey(ctx, UsageSymmetricKeyEncryption)
		if err != nil {
			return nil, err
		}
		wrapped, err := EncryptSymmetricKey(pub.Key, pkg.key)
		if err != nil {
			return nil, err
		}
		body.Encryption = encryptionInfo{
			EncryptedSymmetricKey: base64.StdEncoding.EncodeToString(wrapped),
			InitializationVector:  base64.StdEncoding.EncodeToString(pkg.iv),
			PublicKeyID:           pub.ID,
		}
		var out struct {
			ReferenceNumber    string              `json:"referenceNumber"`
			PartUploadRequests []PartUploadRequest `json:"partUploadRequests"`
		}
		opened := c.now()
		_, err = c.do(ctx, call{method: "POST", path: path, body: body, bearer: accessToken, out: &out,
			header: featureHeader(opts.SubjectIdentifierValidation)})
		var ae *APIError
		if err != nil && attempt == 1 && errors.As(err, &ae) && ae.HasCode(ErrCodePublicKeyUnknown) {
			c.ForgetPublicKeys()
			continue
		}
		if err != nil {
			return nil, err
		}
		if out.ReferenceNumber == "" {
			return nil, &ResponseError{Method: "POST", Path: path, Err: errors.New("referenceNumber missing")}
		}
		if err := checkUploadRequests(out.PartUploadRequests, pkg.Parts); err != nil {
			return nil, &ResponseError{Method: "POST", Path: path, Err: err}
		}
		return &BatchSession{ReferenceNumber: out.ReferenceNumber, PartUploadRequests: out.PartUploadRequests, OpenedAt: opened}, nil
	}
}

// checkUploadRequests requires one upload request per declared part.
func checkUploadRequests(reqs []PartUploadRequest, parts []BatchPart) error {
	have := map[int]bool{}
	for _, r := range reqs {
		if r.URL == "" || r.Method == "" {
			return fmt.Errorf("part %d has no upload URL or method", r.OrdinalNumber)
		}
		have[r.OrdinalNumber] = true
	}
	for _, p := range parts {
		if !have[p.OrdinalNumber] {
			return fmt.Errorf("no upload request for part %d", p.OrdinalNumber)
		}
	}
	return nil
}

// CloseBatchSession calls POST /sessions/batch/{ref}/close (204) after every
// part is uploaded, which starts processing the package (paced in its own
// group, batchSessionClose, API 2.8.0+); follow it with
// SessionStatus or WaitForSession, then AllSessionInvoices (invoiceFileName
// maps results back to BatchEntry). Retried on 5xx and network errors; 21180
// (the status does not allow closing: already closed) counts as success.
// 21205 (a part is missing), 21157 (a part's size differs) and 21208 (upload
// window passed) are returned as *APIError.
func (c *Client) CloseBatchSession(ctx context.Context, accessToken, referenceNumber string) error {
	if referenceNumber == "" {
		return &ConfigError{Field: "session reference", Msg: "empty"}
	}
	_, err := c.do(ctx, call{method: "POST", path: "/sessions/batch/" + url.PathEscape(referenceNumber) + "/close", bearer: accessToken, idempotent: true})
	var ae *APIError
	if err != nil && errors.As(err, &ae) && ae.HasCode(ErrCodeSessionStatus) {
		return nil
	}
	return err
}

// PartUploadError is one part that could not be uploaded.
type PartUploadError struct {
	OrdinalNumber int
	// Link is the upload URL without its query (the signature).
	Link string
	// HTTPStatus is the storage's last answer (0 for network errors).
	HTTPStatus int
	// Code is the storage error code when it sent one (e.g.
	// AuthenticationFailed), Detail the start of its answer.
	Code     string
	Detail   string
	Attempts int
	// Err is the network error, if that was the failure.
	Err error
}

// Class is failure.Unavailable for network errors and 5xx, failure.Auth for 401 and
// failure.Rejected for other refusals (400 bad data, 403 upload window over).
func (e *PartUploadError) Class() failure.Class {
	switch {
	case e.HTTPStatus == 0 || e.HTTPStatus >= 500 || e.HTTPStatus == 429:
		return failure.Unavailable
	case e.HTTPStatus == 401:
		return failure.Auth
	}
	return failure.Rejected
}

// Error describes the failure and what to do about it.
func (e *PartUploadError) Error() string {
	var hint string
	switch {
	case e.HTTPStatus == 0:
		return fmt.Sprintf("uploading batch part %d to %s failed after %d attempt(s): %v — check the network and upload the part again", e.OrdinalNumber, e.Link, e.Attempts, e.Err)
	case e.HTTPStatus == 400:
		hint = "the storage refused the data; rebuild the package and open a new batch session"
	case e.HTTPStatus == 401:
		hint = "the upload link's signature was refused; open a new batch session"
	case e.HTTPStatus == 403:
		hint = "writing is no longer allowed (the upload window of 20 minutes per part has passed); open a new batch session"
	case e.HTTPStatus >= 500:
		hint = "the storage failed; upload the part again later (the same bytes may be uploaded again)"
	default:
		hint = "open a new batch session"
	}
	code := ""
	if e.Code != "" {
		code = " (" + e.Code + ")"
	}
	return fmt.Sprintf("uploading batch part %d to %s was refused with HTTP %d%s after %d attempt(s) — %s", e.OrdinalNumber, e.Link, e.HTTPStatus, code, e.Attempts, hint)
}

// Unwrap returns the network error, if any.
func (e *PartUploadError) Unwrap() error { return e.Err }

// BatchUploadError lists the parts that failed; the others were uploaded.
type BatchUploadError struct {
	Failed []*PartUploadError
}

// Class is the class of the first failure.
func (e *BatchUploadError) Class() failure.Class {
	if len(e.Failed) == 0 {
		return failure.Unknown
	}
	return e.Failed[0].Class()
}

// Error describes every failure.
func (e *BatchUploadError) Error() string {
	msgs := make([]string, len(e.Failed))
	for i, f := range e.Failed {
		msgs[i] = f.Error()
	}
	return fmt.Sprintf("%d batch part(s) were not uploaded: %s", len(e.Failed), strings.Join(msgs, "; "))
}

// Unwrap returns the failures for errors.Is/As.
func (e *BatchUploadError) Unwrap() []error {
	out := make([]error, len(e.Failed))
	for i, f := range e.Failed {
		out[i] = f
	}
	return out
}

// UploadBatchParts uploads each part with the method, URL and headers KSeF
// returned for its ordinal number, the encrypted bytes streamed from the
// part's file as the raw body and NO Authorization header (the URL carries
// its own signature). Up to parallelism parts (default 4) go at once, as the
// documentation recommends; uploads are not rate-limited. Each part is
// retried on network errors, 5xx and 429 per the client's RetryPolicy:
// re-uploading the same bytes to the same pre-signed blob URL overwrites it
// with identical content, so the retry is safe. The upload window (20 min
// per part) is not checked locally — KSeF's 403 says when it is over.
// Failures are collected in a *BatchUploadError; the parts not listed there
// were accepted (201).
func (c *Client) UploadBatchParts(ctx context.Context, bs *BatchSession, parts []BatchPart, parallelism int) error {
	if bs == nil || len(parts) == 0 {
		return &ConfigError{Field: "batch upload", Msg: "the batch session and the parts are required"}
	}
	if parallelism <= 0 {
		parallelism = 4
	}
	reqs := map[int]PartUploadRequest{}
	for _, r := range bs.PartUploadRequests {
		reqs[r.OrdinalNumber] = r
	}
	var (
		mu     sync.Mutex
		failed []*PartUploadError
		wg     sync.WaitGroup
		sem    = make(chan struct{}, parallelism)
	)
	for _, part := range parts {
		if _, ok := reqs[part.OrdinalNumber]; !ok {
			return &ConfigError{Field: "batch upload", Msg: fmt.Sprintf("KSeF gave no upload request for part %d; open the session with this package", part.OrdinalNumber)}
		}
	}
	for _, part := range parts {
		r := reqs[part.OrdinalNumber]
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				mu.Lock()
				failed = append(failed, &PartUploadError{OrdinalNumber: part.OrdinalNumber, Link: redactURL(r.URL), Err: ctx.Err()})
				mu.Unlock()
				return
			}
			defer func() { <-sem }()
			if err := c.uploadPart(ctx, r, part); err != nil {
				mu.Lock()
				failed = append(failed, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(failed) == 0 {
		return nil
	}
	sort.Slice(failed, func(i, j int) bool { return failed[i].OrdinalNumber < failed[j].OrdinalNumber })
	return &BatchUploadError{Failed: failed}
}

// uploadPart uploads one part with retries.
func (c *Client) uploadPart(ctx context.Context, r PartUploadRequest, part BatchPart) *PartUploadError {
	link := redactURL(r.URL)
	u, err := url.Parse(r.URL)
	if err != nil || u.Host == "" || u.User != nil || !(u.Scheme == "https" || u.Scheme == "http" && IsLoopbackHost(u.Hostname())) {
		return &PartUploadError{OrdinalNumber: part.OrdinalNumber, Link: link, Err: errors.New("the upload URL is not an absolute https URL (plain http only for loopback hosts)")}
	}
	var waited429 time.Duration
	for attempt := 1; ; attempt++ {
		status, hdr, body, err := c.putPart(ctx, r, part)
		if err == nil {
			c.reportWarnings(strings.ToUpper(r.Method), link, status, hdr)
		}
		retry := false
		var fail *PartUploadError
		switch {
		case err != nil:
			if ctx.Err() != nil {
				return &PartUploadError{OrdinalNumber: part.OrdinalNumber, Link: link, Attempts: attempt, Err: ctx.Err()}
			}
			fail = &PartUploadError{OrdinalNumber: part.OrdinalNumber, Link: link, Attempts: attempt, Err: err}
			retry = attempt < c.retry.MaxAttempts
		case status >= 200 && status < 300:
			return nil
		default:
			fail = &PartUploadError{OrdinalNumber: part.OrdinalNumber, Link: link, Attempts: attempt, HTTPStatus: status}
			fail.Code, fail.Detail = storageError(body)
			retry = status >= 500 && attempt < c.retry.MaxAttempts
			if status == http.StatusTooManyRequests {
				wait := parseRetryAfter(hdr.Get("Retry-After"), c.now())
				if wait <= 0 {
					wait = c.backoff(attempt)
				}
				if waited429+wait <= c.retry.RateLimitCeiling {
					waited429 += wait
					if err := sleep(ctx, wait); err != nil {
						return &PartUploadError{OrdinalNumber: part.OrdinalNumber, Link: link, Attempts: attempt, Err: err}
					}
					continue
				}
			}
		}
		if !retry {
			return fail
		}
		if err := sleep(ctx, c.backoff(attempt)); err != nil {
			return &PartUploadError{OrdinalNumber: part.OrdinalNumber, Link: link, Attempts: attempt, Err: err}
		}
	}
}

// uploadRate is the slowest upload speed the per-attempt timeout allows for.
const uploadRate = 256 << 10 // bytes per second

// putPart performs one upload attempt, streaming the part from its file.
func (c *Client) putPart(ctx context.Context, r PartUploadRequest, part BatchPart) (int, http.Header, []byte, error) {
	f, err := os.Open(part.Path)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("opening batch part %d: %w", part.OrdinalNumber, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, nil, nil, fmt.Errorf("reading batch part %d: %w", part.OrdinalNumber, err)
	}
	if st.Size() != part.FileSize {
		return 0, nil, nil, fmt.Errorf("batch part %d has %d bytes on disk but %d were declared; rebuild the package", part.OrdinalNumber, st.Size(), part.FileSize)
	}
	timeout := c.timeout + time.Duration(part.FileSize/uploadRate)*time.Second
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	method := strings.ToUpper(r.Method)
	req, err := http.NewRequestWithContext(ctx, method, r.URL, io.NopCloser(f))
	if err != nil {
		return 0, nil, nil, redactURLError(err)
	}
	req.ContentLength = part.FileSize
	for k, v := range r.Headers {
		req.Header.Set(k, v)
	}
	req.Header.Del("Authorization")
	req.Header.Set("User-Agent", c.userAgent)
	if req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/octet-stream")
	}
	res, err := c.http.Do(req)
	if err != nil {
		return 0, nil, nil, redactURLError(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	return res.StatusCode, res.Header, body, nil
}

// storageError reads the code and message of an Azure-storage XML error or a
// KSeF JSON error body.
func storageError(body []byte) (code, detail string) {
	s := strings.TrimSpace(string(body))
	if i, j := strings.Index(s, "<Code>"), strings.Index(s, "</Code>"); i >= 0 && j > i {
		code = s[i+len("<Code>") : j]
	} else if len(s) > 0 && s[0] == '{' {
		ae := ParseErrorBody(0, body)
		if len(ae.Exceptions) > 0 {
			code = fmt.Sprint(ae.Exceptions[0].Code)
		}
	}
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return code, s
}
