package ksef

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/ksefpl/ksefpl/pkg/failure"
)

// maxUPO caps a UPO download (a collective UPO page lists up to 10 000
// invoices).
const maxUPO = 64 << 20

// UPO is an official receipt (Urzędowe Poświadczenie Odbioru): XML signed by
// the Ministry of Finance.
type UPO struct {
	// XML is the document exactly as downloaded.
	XML []byte
	// Hash is the Base64 SHA-256 of XML, computed locally.
	Hash string
	// HashVerified is true when KSeF sent x-ms-meta-hash and it matched Hash.
	// A mismatch is an *UPOHashError instead.
	HashVerified bool
}

// UPOHashError is returned when a downloaded UPO does not match the
// x-ms-meta-hash KSeF sent with it (a corrupted or altered download).
type UPOHashError struct {
	// What was downloaded ("" means a UPO; "invoice" for Client.Invoice).
	What string
	// Source names the download (path only, never a link's signature).
	Source string
	// Expected is KSeF's x-ms-meta-hash; Got is the hash of what arrived.
	Expected string
	Got      string
}

// Class is failure.Unavailable: downloading again usually helps.
func (e *UPOHashError) Class() failure.Class { return failure.Unavailable }

// Error describes the failure and what to do about it.
func (e *UPOHashError) Error() string {
	what := e.What
	if what == "" {
		what = "UPO"
	}
	return fmt.Sprintf("the %s downloaded from %s does not match its hash (x-ms-meta-hash %s, content %s); the download was corrupted or altered — download it again",
		what, e.Source, e.Expected, e.Got)
}

// UPOLinkError is returned when a pre-signed UPO link is unusable: not an
// absolute https URL (plain http only for loopback), or refused by the
// storage (typically expired).
type UPOLinkError struct {
	// Link is the link without its query (the signature).
	Link string
	// HTTPStatus is the storage's answer (0 when the link was refused
	// locally).
	HTTPStatus int
	Reason     string
}

// Class is failure.Invalid for links refused locally, failure.Unavailable for 5xx
// answers and failure.Rejected for other refusals.
func (e *UPOLinkError) Class() failure.Class {
	switch {
	case e.HTTPStatus == 0:
		return failure.Invalid
	case e.HTTPStatus >= 500:
		return failure.Unavailable
	}
	return failure.Rejected
}

// Error describes the failure and what to do about it.
func (e *UPOLinkError) Error() string {
	if e.HTTPStatus == 0 {
		return fmt.Sprintf("cannot use the UPO link %s: %s", e.Link, e.Reason)
	}
	return fmt.Sprintf("the UPO link %s was refused with HTTP %d%s; links expire — query the session or invoice status again for a fresh link, or download the UPO through the authenticated endpoint",
		e.Link, e.HTTPStatus, e.Reason)
}

// checkDownloadURL applies the transport rule to a pre-signed link: an
// absolute URL, https (plain http only for loopback hosts), no user info.
func checkDownloadURL(raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return nil, &UPOLinkError{Link: "(unparsable)", Reason: "the link cannot be parsed"}
	}
	link := redactURL(u.String())
	switch {
	case u.Host == "":
		return nil, &UPOLinkError{Link: link, Reason: "it is not an absolute URL; download the UPO by its reference number (SessionUPO, InvoiceUPO) instead"}
	case u.User != nil:
		return nil, &UPOLinkError{Link: link, Reason: "it carries user credentials"}
	case u.Scheme == "https":
	case u.Scheme == "http" && IsLoopbackHost(u.Hostname()):
	default:
		return nil, &UPOLinkError{Link: link, Reason: "only https links are followed (plain http only for loopback hosts)"}
	}
	return u, nil
}

// DownloadUPO fetches a UPO from a pre-signed link (UPOPage.DownloadURL,
// SessionInvoice.UPODownloadURL). The link carries its own signature, so NO
// Authorization header is sent; it must be https (or http to a loopback
// host). When the answer has x-ms-meta-hash (Base64 SHA-256), the content is
// verified against it: a mismatch is an *UPOHashError. Refusals by the
// storage (expired links) are *UPOLinkError. Retried on 5xx and network
// errors; the link's query never appears in errors.
func (c *Client) DownloadUPO(ctx context.Context, link string) (*UPO, error) {
	u, err := checkDownloadURL(link)
	if err != nil {
		return nil, err
	}
	shown := redactURL(u.String())
	var body []byte
	cl := call{method: "GET", path: shown, rawURL: u.String(), idempotent: true, accept: "application/xml",
		noProblemDetails: true, raw: &body, limit: maxUPO}
	hdr, err := c.do(ctx, cl)
	if err != nil {
		var ae *APIError
		var rl *RateLimitError
		if !errors.As(err, &rl) && errors.As(err, &ae) {
			return nil, &UPOLinkError{Link: shown, HTTPStatus: ae.HTTPStatus, Reason: storageReason(ae)}
		}
		return nil, err
	}
	return verifyUPO(shown, body, hdr)
}

// storageReason extracts the error code of an Azure-storage style XML error
// (<Error><Code>AuthenticationFailed</Code>…) for the message.
func storageReason(ae *APIError) string {
	d := ae.Detail
	i := strings.Index(d, "<Code>")
	j := strings.Index(d, "</Code>")
	if i >= 0 && j > i {
		return " (" + d[i+len("<Code>"):j] + ")"
	}
	return ""
}

// verifyUPO checks the body against x-ms-meta-hash when present.
func verifyUPO(source string, body []byte, hdr http.Header) (*UPO, error) {
	if len(body) == 0 {
		return nil, &ResponseError{Method: "GET", Path: source, Err: fmt.Errorf("the UPO is empty")}
	}
	got := SHA256Base64(body)
	upo := &UPO{XML: body, Hash: got}
	if want := strings.TrimSpace(hdr.Get("x-ms-meta-hash")); want != "" {
		if want != got {
			return nil, &UPOHashError{Source: source, Expected: want, Got: got}
		}
		upo.HashVerified = true
	}
	return upo, nil
}

// getUPO downloads a UPO from an authenticated KSeF endpoint.
func (c *Client) getUPO(ctx context.Context, accessToken, path string) (*UPO, error) {
	var body []byte
	hdr, err := c.do(ctx, call{method: "GET", path: path, bearer: accessToken, idempotent: true, accept: "application/xml", raw: &body, limit: maxUPO})
	if err != nil {
		return nil, err
	}
	return verifyUPO(path, body, hdr)
}

// SessionUPO calls GET /sessions/{ref}/upo/{upoRef} for one page of the
// collective session UPO (UPOPage.ReferenceNumber), verifying x-ms-meta-hash.
// 21178 means the UPO is not (yet) there.
func (c *Client) SessionUPO(ctx context.Context, accessToken, sessionRef, upoRef string) (*UPO, error) {
	if sessionRef == "" || upoRef == "" {
		return nil, &ConfigError{Field: "session UPO", Msg: "the session and UPO reference numbers are required"}
	}
	return c.getUPO(ctx, accessToken, "/sessions/"+url.PathEscape(sessionRef)+"/upo/"+url.PathEscape(upoRef))
}

// InvoiceUPO calls GET /sessions/{ref}/invoices/{invoiceRef}/upo: the UPO of
// one accepted invoice, verifying x-ms-meta-hash.
func (c *Client) InvoiceUPO(ctx context.Context, accessToken, sessionRef, invoiceRef string) (*UPO, error) {
	if sessionRef == "" || invoiceRef == "" {
		return nil, &ConfigError{Field: "invoice UPO", Msg: "the session and invoice reference numbers are required"}
	}
	return c.getUPO(ctx, accessToken, "/sessions/"+url.PathEscape(sessionRef)+"/invoices/"+url.PathEscape(invoiceRef)+"/upo")
}

// InvoiceUPOByKSeFNumber calls GET /sessions/{ref}/invoices/ksef/{ksefNumber}/upo:
// the UPO of one accepted invoice found by its KSeF number, verifying
// x-ms-meta-hash.
func (c *Client) InvoiceUPOByKSeFNumber(ctx context.Context, accessToken, sessionRef, ksefNumber string) (*UPO, error) {
	if sessionRef == "" {
		return nil, &ConfigError{Field: "invoice UPO", Msg: "the session reference number is required"}
	}
	if err := ValidateKSeFNumber(ksefNumber); err != nil {
		return nil, err
	}
	return c.getUPO(ctx, accessToken, "/sessions/"+url.PathEscape(sessionRef)+"/invoices/ksef/"+url.PathEscape(ksefNumber)+"/upo")
}

// SessionUPOPage downloads one collective UPO page: through its pre-signed
// link when it is an absolute URL, otherwise (or when the link was refused)
// through the authenticated endpoint by its reference number.
func (c *Client) SessionUPOPage(ctx context.Context, accessToken, sessionRef string, page UPOPage) (*UPO, error) {
	if page.DownloadURL != "" {
		upo, err := c.DownloadUPO(ctx, page.DownloadURL)
		if err == nil {
			return upo, nil
		}
		var le *UPOLinkError
		if !errors.As(err, &le) {
			return nil, err
		}
	}
	return c.SessionUPO(ctx, accessToken, sessionRef, page.ReferenceNumber)
}
