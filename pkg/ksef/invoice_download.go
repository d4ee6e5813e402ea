package ksef

import (
	"context"
	"net/url"
	"strings"
)

// maxInvoice bounds a downloaded invoice (KSeF accepts invoices up to 1 MB, 3 MB with
// attachments; the margin covers both).
const maxInvoice = 8 << 20

// StoredInvoice is an invoice as KSeF holds it under its KSeF number.
type StoredInvoice struct {
	KSeFNumber string
	XML        []byte
	// Hash is the SHA-256 (base64) of XML; HashVerified says KSeF sent x-ms-meta-hash
	// and it matched.
	Hash         string
	HashVerified bool
}

// Invoice calls GET /invoices/ksef/{ksefNumber}: the invoice KSeF holds under that
// number, readable by the authenticated context (21164: no such invoice, or not
// this context's; 21165: not yet available). x-ms-meta-hash is verified when sent.
func (c *Client) Invoice(ctx context.Context, accessToken, ksefNumber string) (*StoredInvoice, error) {
	if err := ValidateKSeFNumber(ksefNumber); err != nil {
		return nil, err
	}
	var body []byte
	path := "/invoices/ksef/" + url.PathEscape(ksefNumber)
	hdr, err := c.do(ctx, call{method: "GET", path: path, bearer: accessToken, idempotent: true,
		accept: "application/xml", raw: &body, limit: maxInvoice})
	if err != nil {
		return nil, err
	}
	inv := &StoredInvoice{KSeFNumber: ksefNumber, XML: body, Hash: SHA256Base64(body)}
	if want := strings.TrimSpace(hdr.Get("x-ms-meta-hash")); want != "" {
		if want != inv.Hash {
			return nil, &UPOHashError{What: "invoice", Source: path, Expected: want, Got: inv.Hash}
		}
		inv.HashVerified = true
	}
	return inv, nil
}
