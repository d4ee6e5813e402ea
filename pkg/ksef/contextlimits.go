package ksef

import "context"

// SessionLimits are the limits of one kind of session in the authenticated
// context (OnlineSessionEffectiveContextLimits, BatchSessionEffectiveContextLimits).
type SessionLimits struct {
	// MaxInvoiceSizeInMB is the largest invoice without attachments, in MB.
	MaxInvoiceSizeInMB int `json:"maxInvoiceSizeInMB"`
	// MaxInvoiceWithAttachmentSizeInMB is the largest invoice with
	// attachments, in MB.
	MaxInvoiceWithAttachmentSizeInMB int `json:"maxInvoiceWithAttachmentSizeInMB"`
	// MaxInvoices is the most invoices one session may hold.
	MaxInvoices int `json:"maxInvoices"`
}

// CollectiveIdentifierLimits are the limits of collective identifiers
// (identyfikatory zbiorcze, API 2.7.0+).
type CollectiveIdentifierLimits struct {
	// MaxInvoices is the most invoices one collective identifier may cover.
	MaxInvoices int `json:"maxInvoices"`
}

// ContextLimits is the answer of GET /limits/context (EffectiveContextLimits).
type ContextLimits struct {
	OnlineSession SessionLimits `json:"onlineSession"`
	BatchSession  SessionLimits `json:"batchSession"`
	// CollectiveIdentifier is required since API 2.7.0; nil when an older
	// KSeF omits it.
	CollectiveIdentifier *CollectiveIdentifierLimits `json:"collectiveIdentifier"`
}

// ContextLimits calls GET /limits/context: the session and collective
// identifier limits in force for the authenticated context.
func (c *Client) ContextLimits(ctx context.Context, accessToken string) (*ContextLimits, error) {
	var out ContextLimits
	if _, err := c.do(ctx, call{method: "GET", path: "/limits/context", bearer: accessToken, idempotent: true, out: &out}); err != nil {
		return nil, err
	}
	return &out, nil
}
