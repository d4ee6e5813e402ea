package ksef

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ksefpl/ksefpl/pkg/failure"
)

// SessionStatusCode is the status code of a session (GET /sessions/{ref}).
type SessionStatusCode int

// Session status codes. Online sessions go 100 → 170 → 200 | 440 | 445 (415
// when KSeF cannot decrypt the session key); batch sessions use 100, 150 and
// the batch failure codes.
const (
	SessionOpen                 SessionStatusCode = 100 // open (online) / started (batch)
	SessionProcessing           SessionStatusCode = 150 // batch: processing
	SessionClosed               SessionStatusCode = 170 // online: closed, invoices and UPO being processed
	SessionSucceeded            SessionStatusCode = 200 // processed; at least one invoice accepted, UPO available
	SessionPackageInvalid       SessionStatusCode = 405 // batch: package element verification error
	SessionKeyDecryptionFailed  SessionStatusCode = 415 // the session key could not be decrypted
	SessionInvoiceLimitExceeded SessionStatusCode = 420 // batch: invoice limit per session exceeded
	SessionDecompressionFailed  SessionStatusCode = 430 // batch: archive decompression error
	SessionPartDecryptionFailed SessionStatusCode = 435 // batch: part decryption error
	SessionCancelled            SessionStatusCode = 440 // cancelled: no invoices sent (or batch upload time exceeded)
	SessionNoValidInvoices      SessionStatusCode = 445 // verification error: no valid invoices
	SessionUnknownError         SessionStatusCode = 500 // unknown error
)

// Open reports status 100: invoices may be sent.
func (c SessionStatusCode) Open() bool { return c == SessionOpen }

// Closing reports a closed session still being processed (170, or 150 for
// batch): poll again for the final status and the UPO.
func (c SessionStatusCode) Closing() bool { return c == SessionClosed || c == SessionProcessing }

// Succeeded reports status 200: processed, UPO available.
func (c SessionStatusCode) Succeeded() bool { return c == SessionSucceeded }

// Failed reports a terminal failure status (400 and above: 415, 440, 445 …).
func (c SessionStatusCode) Failed() bool { return c >= 400 }

// Final reports a status that will not change any more (success or failure).
func (c SessionStatusCode) Final() bool { return c.Succeeded() || c.Failed() }

// SessionState is the status object of a session.
type SessionState struct {
	Code        SessionStatusCode `json:"code"`
	Description string            `json:"description"`
	Details     []string          `json:"details"`
}

// UPOPage is one page of a collective session UPO (at most 10 000 invoices).
type UPOPage struct {
	// ReferenceNumber is the UPO reference for SessionUPO.
	ReferenceNumber string `json:"referenceNumber"`
	// DownloadURL is a pre-signed link for DownloadUPO (no authorisation;
	// it carries its own signature, treat it as a secret).
	DownloadURL string `json:"downloadUrl"`
	// DownloadURLExpirationDate is when the link stops working; query the
	// session status again for a fresh one.
	DownloadURLExpirationDate time.Time `json:"downloadUrlExpirationDate"`
}

// UPOList is the API's UpoResponse: the pages of a collective session UPO.
type UPOList struct {
	Pages []UPOPage `json:"pages"`
}

// SessionStatus is the answer of GET /sessions/{ref}.
type SessionStatus struct {
	// ReferenceNumber is the session asked about (not part of the answer).
	ReferenceNumber string       `json:"-"`
	Status          SessionState `json:"status"`
	DateCreated     time.Time    `json:"dateCreated"`
	DateUpdated     time.Time    `json:"dateUpdated"`
	// ValidUntil is when an online session closes by itself (nil when KSeF
	// does not say).
	ValidUntil *time.Time `json:"validUntil"`
	// UPO lists the collective UPO pages once the session is processed.
	UPO                    *UPOList `json:"upo"`
	InvoiceCount           int      `json:"invoiceCount"`
	SuccessfulInvoiceCount int      `json:"successfulInvoiceCount"`
	FailedInvoiceCount     int      `json:"failedInvoiceCount"`
}

// UPOPages returns the UPO pages (none before the session is processed).
func (s *SessionStatus) UPOPages() []UPOPage {
	if s.UPO == nil {
		return nil
	}
	return s.UPO.Pages
}

// Open reports status 100.
func (s *SessionStatus) Open() bool { return s.Status.Code.Open() }

// Closing reports status 170 (or 150): closed, still being processed.
func (s *SessionStatus) Closing() bool { return s.Status.Code.Closing() }

// Succeeded reports status 200.
func (s *SessionStatus) Succeeded() bool { return s.Status.Code.Succeeded() }

// Failed reports a terminal failure status (415, 440, 445 …).
func (s *SessionStatus) Failed() bool { return s.Status.Code.Failed() }

// Err returns a *SessionFailedError for a failure status and nil otherwise.
func (s *SessionStatus) Err() error {
	if !s.Failed() {
		return nil
	}
	return &SessionFailedError{ReferenceNumber: s.ReferenceNumber, Code: s.Status.Code, Description: s.Status.Description, Details: s.Status.Details}
}

// SessionFailedError is a terminal failure status of a session.
type SessionFailedError struct {
	ReferenceNumber string
	Code            SessionStatusCode
	Description     string
	Details         []string
}

// Class is failure.Unavailable for 500 and failure.Rejected otherwise.
func (e *SessionFailedError) Class() failure.Class {
	if e.Code >= 500 {
		return failure.Unavailable
	}
	return failure.Rejected
}

// Error describes the failure and what to do about it.
func (e *SessionFailedError) Error() string {
	hint := "see the KSeF status description"
	switch e.Code {
	case SessionKeyDecryptionFailed:
		hint = "KSeF could not decrypt the session key; open a new session (the public keys are re-fetched automatically)"
	case SessionCancelled:
		hint = "no invoices were sent in this session (or the batch upload window passed); nothing was issued"
	case SessionPackageInvalid:
		hint = "KSeF found the batch package's parts different from their declaration (size or SHA-256); rebuild the package and send it in a new batch session"
	case SessionInvoiceLimitExceeded:
		hint = "the batch package has more invoices than a session allows; split it (PlanBatchSessions) and send the parts in separate sessions"
	case SessionDecompressionFailed:
		hint = "KSeF could not unpack the batch archive; rebuild the package and send it in a new batch session"
	case SessionPartDecryptionFailed:
		hint = "KSeF could not decrypt a part of the batch package; rebuild the package with a new key and send it in a new batch session"
	case SessionNoValidInvoices:
		hint = "every invoice of the session was rejected; check each invoice's status for the reason"
	case SessionUnknownError:
		hint = "KSeF had an unknown error; retry later"
	}
	return fmt.Sprintf("KSeF session %s ended with status %d: %s%s — %s", e.ReferenceNumber, e.Code, e.Description, joinDetails(e.Details), hint)
}

// InvoiceStatusCode is the status code of an invoice in a session.
type InvoiceStatusCode int

// Invoice status codes (GET /sessions/{ref}/invoices/{invoiceRef}).
const (
	InvoiceAccepted             InvoiceStatusCode = 100 // accepted for further processing
	InvoiceProcessing           InvoiceStatusCode = 150 // processing
	InvoiceSucceeded            InvoiceStatusCode = 200 // success: the KSeF number is assigned
	InvoiceSessionError         InvoiceStatusCode = 405 // processing cancelled because of a session error
	InvoicePermissionScope      InvoiceStatusCode = 410 // wrong permission scope
	InvoiceAttachmentNotAllowed InvoiceStatusCode = 415 // sending invoices with attachments not allowed
	InvoiceFileInvalid          InvoiceStatusCode = 430 // invoice file verification error (schema)
	InvoiceDecryptionFailed     InvoiceStatusCode = 435 // file decryption error
	InvoiceDuplicate            InvoiceStatusCode = 440 // duplicate invoice
	InvoiceSemanticError        InvoiceStatusCode = 450 // semantic verification error
	InvoiceUnknownError         InvoiceStatusCode = 500 // unknown error
	InvoiceCancelledBySystem    InvoiceStatusCode = 550 // cancelled by the system; retry
)

// Pending reports 100 or 150: verification is still running.
func (c InvoiceStatusCode) Pending() bool { return c == InvoiceAccepted || c == InvoiceProcessing }

// Succeeded reports 200.
func (c InvoiceStatusCode) Succeeded() bool { return c == InvoiceSucceeded }

// Failed reports a terminal failure (400 and above).
func (c InvoiceStatusCode) Failed() bool { return c >= 400 }

// Final reports a status that will not change any more.
func (c InvoiceStatusCode) Final() bool { return c.Succeeded() || c.Failed() }

// Retryable reports a failure on KSeF's side (500, 550) after which the same
// invoice may be sent again.
func (c InvoiceStatusCode) Retryable() bool {
	return c == InvoiceUnknownError || c == InvoiceCancelledBySystem
}

// Extensions are the string extensions of an invoice status (for 440:
// originalKsefNumber and originalSessionReferenceNumber). Values that are not
// strings are kept in their JSON text form; nulls are dropped.
type Extensions map[string]string

// UnmarshalJSON decodes tolerantly (see Extensions).
func (x *Extensions) UnmarshalJSON(b []byte) error {
	var raw map[string]any
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	out := Extensions{}
	for k, v := range raw {
		switch t := v.(type) {
		case nil:
		case string:
			out[k] = t
		case float64:
			out[k] = strconv.FormatFloat(t, 'f', -1, 64)
		default:
			out[k] = fmt.Sprint(t)
		}
	}
	*x = out
	return nil
}

// InvoiceStatus is the status object of an invoice in a session.
type InvoiceStatus struct {
	Code        InvoiceStatusCode `json:"code"`
	Description string            `json:"description"`
	Details     []string          `json:"details"`
	Extensions  Extensions        `json:"extensions"`
}

// Pending reports 100 or 150.
func (s InvoiceStatus) Pending() bool { return s.Code.Pending() }

// Final reports a status that will not change any more.
func (s InvoiceStatus) Final() bool { return s.Code.Final() }

// Succeeded reports 200.
func (s InvoiceStatus) Succeeded() bool { return s.Code.Succeeded() }

// Failed reports a terminal failure.
func (s InvoiceStatus) Failed() bool { return s.Code.Failed() }

// Duplicate reports status 440 and returns the KSeF number and session
// reference of the invoice accepted earlier, from the status extensions (or,
// when KSeF omits them, from the details text). Either may be empty if KSeF
// gave neither.
func (s InvoiceStatus) Duplicate() (originalKSeFNumber, originalSessionRef string, ok bool) {
	if s.Code != InvoiceDuplicate {
		return "", "", false
	}
	originalKSeFNumber = s.Extensions["originalKsefNumber"]
	originalSessionRef = s.Extensions["originalSessionReferenceNumber"]
	if originalKSeFNumber == "" || originalSessionRef == "" {
		n, r := parseDuplicateDetails(s.Details)
		if originalKSeFNumber == "" {
			originalKSeFNumber = n
		}
		if originalSessionRef == "" {
			originalSessionRef = r
		}
	}
	return originalKSeFNumber, originalSessionRef, true
}

// parseDuplicateDetails reads "… Faktura o numerze KSeF: <n> została już
// prawidłowo przesłana do systemu w sesji: <ref>".
func parseDuplicateDetails(details []string) (ksefNumber, sessionRef string) {
	for _, d := range details {
		if n := tokenAfter(d, "numerze KSeF:"); n != "" && ValidateKSeFNumber(n) == nil {
			ksefNumber = n
		}
		if r := tokenAfter(d, "w sesji:"); len(r) == 36 {
			sessionRef = r
		}
	}
	return ksefNumber, sessionRef
}

// tokenAfter returns the whitespace-delimited word following marker in s,
// without trailing punctuation.
func tokenAfter(s, marker string) string {
	i := strings.Index(s, marker)
	if i < 0 {
		return ""
	}
	rest := []rune(s[i+len(marker):])
	start := 0
	for start < len(rest) && (rest[start] == ' ' || rest[start] == '\t') {
		start++
	}
	end := start
	for end < len(rest) && rest[end] != ' ' && rest[end] != ',' && rest[end] != ';' && rest[end] != ')' {
		end++
	}
	w := string(rest[start:end])
	for len(w) > 0 && (w[len(w)-1] == '.') {
		w = w[:len(w)-1]
	}
	return w
}

// Err returns nil unless the status is a terminal failure, then an
// *InvoiceRejectedError — wrapped in a *SubjectIdentifierError when the
// failure is status 450 for a party's NIP or internal identifier.
func (s InvoiceStatus) Err() error {
	if !s.Failed() {
		return nil
	}
	e := &InvoiceRejectedError{Code: s.Code, Description: s.Description, Details: s.Details}
	e.OriginalKSeFNumber, e.OriginalSessionRef, _ = s.Duplicate()
	if se := subjectIdentifierError(e); se != nil {
		return se
	}
	return e
}

// InvoiceRejectedError is a terminal failure status of an invoice.
type InvoiceRejectedError struct {
	ReferenceNumber string
	Code            InvoiceStatusCode
	Description     string
	Details         []string
	// OriginalKSeFNumber and OriginalSessionRef are set for duplicates (440).
	OriginalKSeFNumber string
	OriginalSessionRef string
}

// Class is failure.Unavailable for KSeF-side failures (500, 550) and
// failure.Rejected otherwise.
func (e *InvoiceRejectedError) Class() failure.Class {
	if e.Code.Retryable() {
		return failure.Unavailable
	}
	return failure.Rejected
}

// Error describes the failure and what to do about it.
func (e *InvoiceRejectedError) Error() string {
	hint := "fix the invoice and send it again"
	switch e.Code {
	case InvoiceDuplicate:
		hint = "KSeF already has this invoice (same seller NIP, invoice type and number)"
		if e.OriginalKSeFNumber != "" {
			hint += " under KSeF number " + e.OriginalKSeFNumber
		}
		if e.OriginalSessionRef != "" {
			hint += " from session " + e.OriginalSessionRef
		}
		hint += "; do not send it again — record that number"
	case InvoiceSessionError:
		hint = "the session failed; send the invoice again in a new session"
	case InvoicePermissionScope:
		hint = "the token lacks the permission to issue this invoice in this context; check the seller NIP and the token's permissions"
	case InvoiceAttachmentNotAllowed:
		hint = "invoices with attachments are allowed only in batch sessions and after enabling them in e-Urząd Skarbowy"
	case InvoiceFileInvalid:
		hint = "the XML does not match the session's schema; validate it against the XSD"
	case InvoiceDecryptionFailed:
		hint = "KSeF could not decrypt the invoice; open a new session and send again"
	case InvoiceUnknownError, InvoiceCancelledBySystem:
		hint = "KSeF failed internally; send the invoice again later"
	}
	return fmt.Sprintf("KSeF rejected invoice %s with status %d: %s%s — %s", e.ReferenceNumber, e.Code, e.Description, joinDetails(e.Details), hint)
}

func joinDetails(d []string) string {
	if len(d) == 0 {
		return ""
	}
	return " (" + strings.Join(d, "; ") + ")"
}

// SessionInvoice is the API's SessionInvoiceStatusResponse: one invoice of a
// session with its status and, once accepted, its KSeF number.
type SessionInvoice struct {
	OrdinalNumber int    `json:"ordinalNumber"`
	InvoiceNumber string `json:"invoiceNumber"`
	// KSeFNumber is set at status 200.
	KSeFNumber      string `json:"ksefNumber"`
	ReferenceNumber string `json:"referenceNumber"`
	// InvoiceHash is the Base64 SHA-256 of the invoice as sent.
	InvoiceHash     string `json:"invoiceHash"`
	InvoiceFileName string `json:"invoiceFileName"`
	// AcquisitionDate is when the KSeF number was assigned.
	AcquisitionDate *time.Time `json:"acquisitionDate"`
	// InvoicingDate is when KSeF accepted the invoice for processing.
	InvoicingDate        time.Time  `json:"invoicingDate"`
	PermanentStorageDate *time.Time `json:"permanentStorageDate"`
	// UPODownloadURL is a pre-signed link to the invoice's UPO (treat it as a
	// secret); use DownloadUPO.
	UPODownloadURL               string     `json:"upoDownloadUrl"`
	UPODownloadURLExpirationDate *time.Time `json:"upoDownloadUrlExpirationDate"`
	// InvoicingMode is Online or Offline.
	InvoicingMode string        `json:"invoicingMode"`
	Status        InvoiceStatus `json:"status"`
}

// Err returns an *InvoiceRejectedError (with the invoice reference) for a
// failure status — possibly wrapped in a *SubjectIdentifierError, see
// InvoiceStatus.Err — and nil otherwise.
func (i *SessionInvoice) Err() error {
	err := i.Status.Err()
	var re *InvoiceRejectedError
	if errors.As(err, &re) {
		re.ReferenceNumber = i.ReferenceNumber
	}
	return err
}

// SessionInvoicesPage is one page of GET /sessions/{ref}/invoices[/failed].
type SessionInvoicesPage struct {
	// ContinuationToken is empty on the last page.
	ContinuationToken string           `json:"continuationToken"`
	Invoices          []SessionInvoice `json:"invoices"`
}

// SessionStatus calls GET /sessions/{referenceNumber}.
func (c *Client) SessionStatus(ctx context.Context, accessToken, referenceNumber string) (*SessionStatus, error) {
	if referenceNumber == "" {
		return nil, &ConfigError{Field: "session reference", Msg: "empty"}
	}
	var st SessionStatus
	if _, err := c.do(ctx, call{method: "GET", path: "/sessions/" + url.PathEscape(referenceNumber), bearer: accessToken, idempotent: true, out: &st}); err != nil {
		return nil, err
	}
	st.ReferenceNumber = referenceNumber
	return &st, nil
}

// InvoiceStatus calls GET /sessions/{ref}/invoices/{invoiceRef}. A rejected
// invoice is not an error of this call: inspect Status or use Err.
func (c *Client) InvoiceStatus(ctx context.Context, accessToken, sessionRef, invoiceRef string) (*SessionInvoice, error) {
	if sessionRef == "" || invoiceRef == "" {
		return nil, &ConfigError{Field: "invoice status", Msg: "the session and invoice reference numbers are required"}
	}
	path := "/sessions/" + url.PathEscape(sessionRef) + "/invoices/" + url.PathEscape(invoiceRef)
	var inv SessionInvoice
	if _, err := c.do(ctx, call{method: "GET", path: path, bearer: accessToken, idempotent: true, out: &inv}); err != nil {
		return nil, err
	}
	return &inv, nil
}

// SessionInvoices calls GET /sessions/{ref}/invoices for one page. pageSize
// is 10..1000 (0 leaves KSeF's default of 10); continuation is the previous
// page's ContinuationToken ("" for the first page), sent as the
// x-continuation-token header.
func (c *Client) SessionInvoices(ctx context.Context, accessToken, sessionRef string, pageSize int, continuation string) (*SessionInvoicesPage, error) {
	return c.invoicesPage(ctx, accessToken, sessionRef, "/invoices", pageSize, continuation)
}

// FailedSessionInvoices calls GET /sessions/{ref}/invoices/failed for one
// page: only the rejected invoices, paged like SessionInvoices.
func (c *Client) FailedSessionInvoices(ctx context.Context, accessToken, sessionRef string, pageSize int, continuation string) (*SessionInvoicesPage, error) {
	return c.invoicesPage(ctx, accessToken, sessionRef, "/invoices/failed", pageSize, continuation)
}

func (c *Client) invoicesPage(ctx context.Context, accessToken, sessionRef, suffix string, pageSize int, continuation string) (*SessionInvoicesPage, error) {
	if sessionRef == "" {
		return nil, &ConfigError{Field: "session reference", Msg: "empty"}
	}
	if pageSize != 0 && (pageSize < 10 || pageSize > 1000) {
		return nil, &ConfigError{Field: "page size", Msg: fmt.Sprintf("%d is outside 10..1000", pageSize)}
	}
	path := "/sessions/" + url.PathEscape(sessionRef) + suffix
	if pageSize != 0 {
		path += "?pageSize=" + strconv.Itoa(pageSize)
	}
	cl := call{method: "GET", path: path, bearer: accessToken, idempotent: true}
	if continuation != "" {
		cl.header = map[string]string{"x-continuation-token": continuation}
	}
	var page SessionInvoicesPage
	cl.out = &page
	if _, err := c.do(ctx, cl); err != nil {
		return nil, err
	}
	return &page, nil
}

// AllSessionInvoices walks every page of GET /sessions/{ref}/invoices,
// yielding each invoice; on an error it yields (nil, err) once and stops.
func (c *Client) AllSessionInvoices(ctx context.Context, accessToken, sessionRef string, pageSize int) iter.Seq2[*SessionInvoice, error] {
	return c.walkInvoices(ctx, accessToken, sessionRef, "/invoices", pageSize)
}

// AllFailedSessionInvoices walks every page of GET
// /sessions/{ref}/invoices/failed like AllSessionInvoices.
func (c *Client) AllFailedSessionInvoices(ctx context.Context, accessToken, sessionRef string, pageSize int) iter.Seq2[*SessionInvoice, error] {
	return c.walkInvoices(ctx, accessToken, sessionRef, "/invoices/failed", pageSize)
}

// maxPages bounds a walk, so a server that never ends the listing cannot
// loop forever (10 000 invoices per session / 10 per page, with margin).
const maxPages = 2000

func (c *Client) walkInvoices(ctx context.Context, accessToken, sessionRef, suffix string, pageSize int) iter.Seq2[*SessionInvoice, error] {
	return func(yield func(*SessionInvoice, error) bool) {
		token := ""
		seen := map[string]bool{}
		for range maxPages {
			page, err := c.invoicesPage(ctx, accessToken, sessionRef, suffix, pageSize, token)
			if err != nil {
				yield(nil, err)
				return
			}
			for i := range page.Invoices {
				if !yield(&page.Invoices[i], nil) {
					return
				}
			}
			if page.ContinuationToken == "" {
				return
			}
			if seen[page.ContinuationToken] {
				yield(nil, &ResponseError{Method: "GET", Path: "/sessions/" + sessionRef + suffix, Err: errors.New("KSeF repeated a continuation token; the listing does not advance")})
				return
			}
			seen[page.ContinuationToken] = true
			token = page.ContinuationToken
		}
		yield(nil, &ResponseError{Method: "GET", Path: "/sessions/" + sessionRef + suffix, Err: fmt.Errorf("more than %d pages", maxPages)})
	}
}

// StatusPendingError is returned when an invoice or session is still not in
// a final status after the poll timeout.
type StatusPendingError struct {
	// What names the object, e.g. "invoice 20250625-EE-…".
	What string
	// Code is the last status code seen.
	Code   int
	Waited time.Duration
}

// Class is failure.Unavailable.
func (e *StatusPendingError) Class() failure.Class { return failure.Unavailable }

// Error describes the failure and what to do about it.
func (e *StatusPendingError) Error() string {
	return fmt.Sprintf("KSeF is still processing %s (status %d) after %s; check its status again later", e.What, e.Code, e.Waited)
}

// WaitForInvoice polls InvoiceStatus while the status is 100 or 150, with
// growing delays, up to Options.StatusPollTimeout. It returns the final
// invoice; a rejection is not an error of this call (use Err), a timeout is a
// *StatusPendingError.
func (c *Client) WaitForInvoice(ctx context.Context, accessToken, sessionRef, invoiceRef string) (*SessionInvoice, error) {
	var last *SessionInvoice
	err := c.poll(ctx, "invoice "+invoiceRef, func() (int, bool, error) {
		inv, err := c.InvoiceStatus(ctx, accessToken, sessionRef, invoiceRef)
		if err != nil {
			return 0, false, err
		}
		last = inv
		return int(inv.Status.Code), inv.Status.Final(), nil
	})
	return last, err
}

// WaitForSession polls SessionStatus until the status is final (200 or a
// failure), up to Options.StatusPollTimeout; call it after
// CloseOnlineSession. A failed session is not an error of this call (use
// Err). Polling an open session waits for KSeF to close it.
func (c *Client) WaitForSession(ctx context.Context, accessToken, sessionRef string) (*SessionStatus, error) {
	var last *SessionStatus
	err := c.poll(ctx, "session "+sessionRef, func() (int, bool, error) {
		st, err := c.SessionStatus(ctx, accessToken, sessionRef)
		if err != nil {
			return 0, false, err
		}
		last = st
		return int(st.Status.Code), st.Status.Code.Final(), nil
	})
	return last, err
}

// poll calls check until it reports done, doubling the delay up to 5 s.
func (c *Client) poll(ctx context.Context, what string, check func() (code int, done bool, err error)) error {
	deadline := time.Now().Add(c.statusMax)
	delay := c.statusStart
	for {
		code, done, err := check()
		if err != nil || done {
			return err
		}
		if time.Now().Add(delay).After(deadline) {
			return &StatusPendingError{What: what, Code: code, Waited: c.statusMax}
		}
		if err := sleep(ctx, delay); err != nil {
			return fmt.Errorf("waiting for %s: %w", what, err)
		}
		delay = min(delay*2, 5*time.Second)
	}
}
