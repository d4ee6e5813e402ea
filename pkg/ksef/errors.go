package ksef

import (
	"fmt"
	"strings"
	"time"

	"github.com/ksefpl/ksefpl/pkg/failure"
)

// ExceptionDetail is one KSeF error entry: an exception code with its
// description and optional details. Both KSeF error formats (ExceptionResponse
// and problem+json) are normalised into it.
type ExceptionDetail struct {
	Code        int
	Description string
	Details     []string
}

// APIError is a non-2xx JSON answer from KSeF. It carries everything KSeF said,
// from either error format: the legacy ExceptionResponse
// {"exception":{"exceptionDetailList":[…]}}, RFC 7807 problem+json (400, 401,
// 403, 410, 429) and the TooManyRequestsResponse {"status":{…}}.
type APIError struct {
	// Method and Path identify the call (the path never contains secrets).
	Method string
	Path   string
	// HTTPStatus is the HTTP status code.
	HTTPStatus int
	// Title and Detail come from problem+json (or the 429 status object).
	Title  string
	Detail string
	// Exceptions lists the KSeF exception codes with descriptions and details.
	Exceptions []ExceptionDetail
	// ServiceCode, ServiceCtx and ServiceName come from ExceptionResponse.
	ServiceCode string
	ServiceCtx  string
	ServiceName string
	// ReferenceNumber is the reference KSeF attached to the error, if any.
	ReferenceNumber string
	// TraceID and Instance come from problem+json.
	TraceID  string
	Instance string
	// ReasonCode and Security come from the 403 problem+json.
	ReasonCode string
	Security   map[string]any
	// RetryAfter is the parsed Retry-After header (0 when absent).
	RetryAfter time.Duration
	// Warnings are the X-System-Warning warnings sent with the answer.
	Warnings []SystemWarning
}

// HasCode reports whether KSeF returned the exception code.
func (e *APIError) HasCode(code int) bool {
	for _, d := range e.Exceptions {
		if d.Code == code {
			return true
		}
	}
	return false
}

// authExceptionCodes are 400 exception codes that mean the credentials or the
// authentication operation were refused: a redeemed or unknown operation, a deceased
// person's credentials, and every refusal of a signed AuthTokenRequest (its document,
// signature, certificate or subject identifier).
var authExceptionCodes = [...]int{21301, 21304, 21308, 9101, 9102, 9103, 9105, 21001, 21115, 21117, 21217, 21401, 21406}

// Class implements the classification described on Class.
func (e *APIError) Class() failure.Class {
	switch {
	case e.HTTPStatus >= 500, e.HTTPStatus == 429:
		return failure.Unavailable
	case e.HTTPStatus == 401, e.HTTPStatus == 403:
		return failure.Auth
	}
	for _, c := range authExceptionCodes {
		if e.HasCode(c) {
			return failure.Auth
		}
	}
	if e.HasCode(500) || e.HasCode(ErrCodeSessionUnavailable) {
		return failure.Unavailable
	}
	if e.HTTPStatus >= 400 {
		return failure.Rejected
	}
	return failure.Unknown
}

// Error renders the error with KSeF's codes, descriptions and details, plus a
// hint on what to do for the codes we know.
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "KSeF answered %s %s with HTTP %d", e.Method, e.Path, e.HTTPStatus)
	if e.Title != "" || e.Detail != "" {
		b.WriteString(":")
		if e.Title != "" {
			b.WriteString(" " + e.Title)
		}
		if e.Detail != "" {
			if e.Title != "" {
				b.WriteString(" —")
			}
			b.WriteString(" " + e.Detail)
		}
	}
	for _, d := range e.Exceptions {
		fmt.Fprintf(&b, "; [%d] %s", d.Code, d.Description)
		if len(d.Details) > 0 {
			b.WriteString(" (" + strings.Join(d.Details, "; ") + ")")
		}
	}
	if e.ReasonCode != "" {
		b.WriteString("; reason: " + e.ReasonCode)
	}
	if e.ServiceCode != "" {
		b.WriteString("; service code " + e.ServiceCode)
	}
	if e.TraceID != "" {
		b.WriteString("; trace id " + e.TraceID)
	}
	if e.ReferenceNumber != "" {
		b.WriteString("; reference " + e.ReferenceNumber)
	}
	for _, w := range e.Warnings {
		b.WriteString("; KSeF warning ")
		if w.Code != "" {
			b.WriteString("[" + w.Code + "] ")
		}
		b.WriteString(w.Message)
	}
	if h := e.hint(); h != "" {
		b.WriteString(" — " + h)
	}
	return b.String()
}

func (e *APIError) hint() string {
	switch {
	case e.HasCode(21470):
		return "the public key KSeF used for encryption was rotated; fetch /security/public-key-certificates again and retry"
	case e.HasCode(21111):
		return "the authorisation challenge is invalid or older than 10 minutes; start authentication again"
	case e.HasCode(9101), e.HasCode(21001), e.HasCode(21217), e.HasCode(21401):
		return "KSeF could not read the signed AuthTokenRequest (malformed XML, encoding or schema); this is a ksefpl bug — please report it"
	case e.HasCode(9102):
		return "the AuthTokenRequest carries no signature; this is a ksefpl bug — please report it"
	case e.HasCode(9103):
		return "the AuthTokenRequest carries more than one signature; this is a ksefpl bug — please report it"
	case e.HasCode(9105):
		return "KSeF found the XAdES signature invalid: check that the private key belongs to the certificate (ksefpl test-connection checks it)"
	case e.HasCode(21115):
		return "KSeF refused the certificate (invalid, expired, revoked or not trusted); import a valid qualified seal or signature, or a KSeF certificate"
	case e.HasCode(21117):
		return "the certificate's subject identifier does not fit the context: use a certificate that carries the seller NIP (or one whose fingerprint has permissions in KSeF)"
	case e.HasCode(21406):
		return "the signature does not match the authentication type (SubjectIdentifierType); this is a ksefpl bug — please report it"
	case e.HasCode(21301):
		return "the tokens were already redeemed, the authentication does not allow it or the KSeF token was revoked; authenticate again (and check the token is Active)"
	case e.HasCode(21304):
		return "KSeF does not know this authentication operation; authenticate again"
	case e.HasCode(21308):
		return "KSeF refused the credentials of a deceased person"
	case e.HasCode(ErrCodeSessionNotFound):
		return "KSeF does not know this session (wrong reference number or another context); open a new session"
	case e.HasCode(ErrCodeSessionStatus):
		return "the session no longer accepts this operation (it is closed, finished or past its 12 hours); open a new session and send there"
	case e.HasCode(ErrCodeSessionUnavailable):
		return "the session is temporarily unavailable (KSeF maintenance) and the invoice was not received; open a new session and send it there"
	case e.HasCode(ErrCodeQueryRangeBeyondData):
		return "the date range starts after KSeF's PermanentStorageHwmDate while restrictToPermanentStorageHwmDate is set; start the range earlier or query without the restriction"
	case e.HasCode(ErrCodeSessionInvoiceLimit):
		return "the session reached its invoice limit; close it and send the rest in a new session"
	case e.HasCode(ErrCodeInvoiceSize), e.HasCode(ErrCodeInvoiceHash):
		return "the size or hash sent does not match the encrypted content; this is a ksefpl bug — please report it"
	case e.HasCode(ErrCodeBatchPartMissing):
		return "a declared part of the batch package was not uploaded; upload every part, then close the session again"
	case e.HasCode(ErrCodeBatchPartSize):
		return "a part's size differs from what was declared; rebuild the package and open a new batch session"
	case e.HasCode(ErrCodeBatchTooManyParts):
		return "the package has too many parts (at most 50); split the invoices into several batch sessions"
	case e.HasCode(ErrCodeBatchUploadTime):
		return "the upload window (20 minutes per part) passed and KSeF cancelled the session; open a new batch session"
	case e.HasCode(ErrCodeUPONotFound):
		return "the UPO is not there (yet); wait until the session or invoice is processed and check its status again"
	case e.HasCode(ErrCodeContinuationToken):
		return "the continuation token is invalid; list again from the first page"
	case e.HasCode(ErrCodeTechnicalCorrectionDone), e.HasCode(ErrCodeTechnicalCorrectionRefused):
		return "a technical correction is not possible for this invoice (already corrected, or the original was accepted)"
	case e.HasCode(21405):
		return "KSeF found the request data invalid; see the details above"
	case e.HTTPStatus == 401:
		return "the access token is missing, invalid or expired; authenticate again"
	case e.HTTPStatus == 403:
		switch e.ReasonCode {
		case "missing-permissions":
			return "the KSeF token lacks a permission required here; generate a token with the needed permissions"
		case "ip-not-allowed":
			return "the request came from an IP address not allowed by the authorisation policy"
		case "security-service-blocked":
			return "KSeF security blocked the request; contact the Ministry of Finance with the incident id"
		}
		return "KSeF refused access to this operation in the current context"
	case e.HTTPStatus == 410:
		return "the operation status is past its retention period; start the operation again"
	case e.HTTPStatus == 429:
		return "KSeF rate limit reached; wait and retry later"
	case e.HTTPStatus >= 500:
		return "KSeF had an internal error; retry later"
	}
	return ""
}

// HTMLResponseError is returned when KSeF (or a firewall in front of it)
// answered with an HTML page where JSON was expected.
type HTMLResponseError struct {
	Method     string
	Path       string
	HTTPStatus int
	// Title is the page's <title>, when it has one.
	Title string
}

// Class is failure.Unavailable: the request never reached the KSeF API.
func (e *HTMLResponseError) Class() failure.Class { return failure.Unavailable }

// Error describes the failure and what to do about it.
func (e *HTMLResponseError) Error() string {
	t := ""
	if e.Title != "" {
		t = fmt.Sprintf(" (%q)", e.Title)
	}
	return fmt.Sprintf("KSeF returned an HTML page%s (HTTP %d) instead of JSON for %s %s — a firewall/WAF in front of KSeF blocked the request; "+
		"retry later, check that your IP address is not blocked (some foreign IP ranges are), and check the Latarnia status page",
		t, e.HTTPStatus, e.Method, e.Path)
}

// RedirectError is returned when an API call was answered with a redirect; API
// calls never follow redirects (the KSeF WAF is known to loop on 307).
type RedirectError struct {
	Method     string
	Path       string
	HTTPStatus int
	Location   string
}

// Class is failure.Unavailable.
func (e *RedirectError) Class() failure.Class { return failure.Unavailable }

// Error describes the failure and what to do about it.
func (e *RedirectError) Error() string {
	loc := e.Location
	if loc == "" {
		loc = "(no Location header)"
	}
	return fmt.Sprintf("KSeF answered %s %s with a redirect (HTTP %d to %s); the API never redirects, so this is a firewall/WAF redirect loop or a wrong base URL — check the configured environment URL and retry later",
		e.Method, e.Path, e.HTTPStatus, loc)
}

// RateLimitError is returned when KSeF kept answering 429 and honouring
// Retry-After would exceed the configured ceiling.
type RateLimitError struct {
	// Waited is how long this call already waited on 429 answers.
	Waited time.Duration
	// RetryAfter is the last Retry-After KSeF asked for.
	RetryAfter time.Duration
	// Last is the last 429 answer.
	Last *APIError
}

// Class is failure.Unavailable.
func (e *RateLimitError) Class() failure.Class { return failure.Unavailable }

// Error describes the failure and what to do about it.
func (e *RateLimitError) Error() string {
	return fmt.Sprintf("KSeF rate limit: still HTTP 429 after waiting %s; KSeF asks to retry in %s — run again later (%v)",
		e.Waited.Round(time.Millisecond), e.RetryAfter, e.Last)
}

// Unwrap returns the last 429 APIError.
func (e *RateLimitError) Unwrap() error { return e.Last }

// NetworkError wraps a transport failure (DNS, TCP, TLS, timeout) of a call.
type NetworkError struct {
	Method   string
	Path     string
	Attempts int
	Err      error
}

// Class is failure.Unavailable.
func (e *NetworkError) Class() failure.Class { return failure.Unavailable }

// Error describes the failure and what to do about it.
func (e *NetworkError) Error() string {
	return fmt.Sprintf("cannot reach KSeF for %s %s after %d attempt(s): %v — check the network connection and the environment URL, or retry later",
		e.Method, e.Path, e.Attempts, e.Err)
}

// Unwrap returns the underlying transport error.
func (e *NetworkError) Unwrap() error { return e.Err }

// ResponseError is returned when a 2xx answer could not be understood (not
// JSON, or missing required fields).
type ResponseError struct {
	Method string
	Path   string
	Err    error
}

// Class is failure.Unknown: KSeF answered but not as the contract says.
func (e *ResponseError) Class() failure.Class { return failure.Unknown }

// Error describes the failure and what to do about it.
func (e *ResponseError) Error() string {
	return fmt.Sprintf("unexpected KSeF answer to %s %s: %v", e.Method, e.Path, e.Err)
}

// Unwrap returns the decoding error.
func (e *ResponseError) Unwrap() error { return e.Err }

// ConfigError reports invalid client configuration (environment, URLs,
// options) detected locally.
type ConfigError struct {
	Field string
	Msg   string
}

// Class is failure.Invalid.
func (e *ConfigError) Class() failure.Class { return failure.Invalid }

// Error describes the failure and what to do about it.
func (e *ConfigError) Error() string {
	return fmt.Sprintf("invalid KSeF configuration %s: %s", e.Field, e.Msg)
}
