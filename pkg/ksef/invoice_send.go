package ksef

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"

	"github.com/ksefpl/ksefpl/pkg/failure"
)

// MaxInvoiceSize is the largest invoice KSeF accepts without attachments
// (1 000 000 bytes); invoices with attachments may have up to
// MaxInvoiceSizeWithAttachments, but only in batch sessions or as technical
// corrections.
const (
	MaxInvoiceSize                = 1_000_000
	MaxInvoiceSizeWithAttachments = 3_000_000
)

// SendOptions are the optional fields of an invoice send.
type SendOptions struct {
	// OfflineMode marks an invoice issued earlier in an offline mode.
	OfflineMode bool
	// HashOfCorrectedInvoice is the Base64 SHA-256 of the original offline
	// invoice, set only when sending its technical correction.
	HashOfCorrectedInvoice string
}

// SentInvoice is KSeF's acknowledgement of an invoice send: the invoice
// reference (EE infix) under which its asynchronous verification can be
// followed with InvoiceStatus, and the hash and size of the plaintext sent.
type SentInvoice struct {
	ReferenceNumber string
	// InvoiceHash is the Base64 SHA-256 of the invoice XML as sent; KSeF
	// reports it back in the invoice status and uses it for offline QR codes.
	InvoiceHash string
	// InvoiceSize is the XML size in bytes.
	InvoiceSize int
}

// InvoiceContentError reports an invoice that cannot be sent as it is,
// detected locally before any request.
type InvoiceContentError struct {
	Reason string
}

// Class is failure.Invalid.
func (e *InvoiceContentError) Class() failure.Class { return failure.Invalid }

// Error describes the failure and what to do about it.
func (e *InvoiceContentError) Error() string {
	return "the invoice cannot be sent to KSeF: " + e.Reason
}

// InvoicePayload is the API's SendInvoiceRequest: the encrypted invoice with
// the hashes and sizes of its plaintext and ciphertext. Build it with
// OnlineSession.EncryptInvoice; record InvoiceHash before sending, so that
// after a lost answer the invoice can be found in the session's invoice list.
type InvoicePayload struct {
	// InvoiceHash is the Base64 SHA-256 of the plaintext XML.
	InvoiceHash string `json:"invoiceHash"`
	// InvoiceSize is the plaintext size in bytes.
	InvoiceSize int `json:"invoiceSize"`
	// EncryptedInvoiceHash is the Base64 SHA-256 of the ciphertext.
	EncryptedInvoiceHash string `json:"encryptedInvoiceHash"`
	// EncryptedInvoiceSize is the ciphertext size in bytes.
	EncryptedInvoiceSize int `json:"encryptedInvoiceSize"`
	// EncryptedInvoiceContent is the Base64 ciphertext.
	EncryptedInvoiceContent string `json:"encryptedInvoiceContent"`
	// OfflineMode marks an invoice issued in an offline mode.
	OfflineMode bool `json:"offlineMode"`
	// HashOfCorrectedInvoice is set only for technical corrections.
	HashOfCorrectedInvoice string `json:"hashOfCorrectedInvoice,omitempty"`
}

// utf8BOM is the byte-order mark KSeF refuses at the start of an invoice.
const utf8BOM = "\xEF\xBB\xBF"

// checkInvoiceXML applies the cheap local checks of KSeF's XML rules: not
// empty, no UTF-8 BOM, not over the size limit. The bytes are never altered:
// the hash must be computed over exactly what is sent.
func checkInvoiceXML(xml []byte) error {
	switch {
	case len(bytes.TrimSpace(xml)) == 0:
		return &InvoiceContentError{Reason: "the XML is empty"}
	case bytes.HasPrefix(xml, []byte(utf8BOM)):
		return &InvoiceContentError{Reason: "the XML starts with a UTF-8 byte-order mark (BOM), which KSeF rejects; save it as UTF-8 without BOM"}
	case len(xml) > MaxInvoiceSizeWithAttachments:
		return &InvoiceContentError{Reason: fmt.Sprintf("the XML has %d bytes, more than the KSeF limit of %d", len(xml), MaxInvoiceSizeWithAttachments)}
	}
	return nil
}

// EncryptInvoice checks the XML (not empty, no BOM, within the size limit),
// encrypts it with the session's AES-256 key and IV (CBC, PKCS#7, no IV
// prefix) and computes the Base64 SHA-256 hashes and sizes of the plaintext
// and the ciphertext.
func (s *OnlineSession) EncryptInvoice(xml []byte, opts SendOptions) (*InvoicePayload, error) {
	if s == nil || s.ReferenceNumber == "" || len(s.key) != AESKeySize || len(s.iv) != AESIVSize {
		return nil, &ConfigError{Field: "online session", Msg: "not open; open one with OpenOnlineSession or ResumeOnlineSession"}
	}
	if err := checkInvoiceXML(xml); err != nil {
		return nil, err
	}
	ct, err := AESEncryptCBC(s.key, s.iv, xml)
	if err != nil {
		return nil, err
	}
	return &InvoicePayload{
		InvoiceHash:             SHA256Base64(xml),
		InvoiceSize:             len(xml),
		EncryptedInvoiceHash:    SHA256Base64(ct),
		EncryptedInvoiceSize:    len(ct),
		EncryptedInvoiceContent: base64.StdEncoding.EncodeToString(ct),
		OfflineMode:             opts.OfflineMode,
		HashOfCorrectedInvoice:  opts.HashOfCorrectedInvoice,
	}, nil
}

// SendInvoice encrypts the invoice XML with the session's key
// (EncryptInvoice) and sends it (SendInvoicePayload). KSeF answers 202 and
// verifies the invoice asynchronously: follow it with InvoiceStatus or
// WaitForInvoice.
//
// The send is NEVER retried on 5xx or network errors: KSeF may have received
// the invoice, and a blind resend could produce a duplicate (status 440). The
// caller decides (for example by looking for the invoice hash in
// SessionInvoices). A 429 is retried after Retry-After, as KSeF rejects it
// before processing. KSeF's 21184 (the session is temporarily unavailable,
// API 2.8.0+) is a *SessionUnavailableError (IsSessionUnavailable): the
// invoice was not received; send it in a new session.
func (c *Client) SendInvoice(ctx context.Context, accessToken string, s *OnlineSession, xml []byte, opts SendOptions) (*SentInvoice, error) {
	p, err := s.EncryptInvoice(xml, opts)
	if err != nil {
		return nil, err
	}
	return c.SendInvoicePayload(ctx, accessToken, s.ReferenceNumber, p)
}

// SendInvoicePayload calls POST /sessions/online/{ref}/invoices with a
// prepared payload, exactly as given (no local checks), with the retry rules
// of SendInvoice.
func (c *Client) SendInvoicePayload(ctx context.Context, accessToken, sessionRef string, p *InvoicePayload) (*SentInvoice, error) {
	if sessionRef == "" || p == nil {
		return nil, &ConfigError{Field: "invoice send", Msg: "the session reference and the payload are required"}
	}
	path := "/sessions/online/" + url.PathEscape(sessionRef) + "/invoices"
	var out struct {
		ReferenceNumber string `json:"referenceNumber"`
	}
	if _, err := c.do(ctx, call{method: "POST", path: path, body: p, bearer: accessToken, out: &out}); err != nil {
		return nil, sessionUnavailable(sessionRef, err)
	}
	if out.ReferenceNumber == "" {
		return nil, &ResponseError{Method: "POST", Path: path, Err: errors.New("referenceNumber missing")}
	}
	return &SentInvoice{ReferenceNumber: out.ReferenceNumber, InvoiceHash: p.InvoiceHash, InvoiceSize: p.InvoiceSize}, nil
}
