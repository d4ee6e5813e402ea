package qr

import (
	"fmt"
	"time"

	"github.com/ksefpl/ksefpl/pkg/fa"
)

// Invoice is what KOD I is built from, read from an invoice's exact bytes.
type Invoice struct {
	SellerNIP string    // Podmiot1 NIP
	IssueDate time.Time // P_1 (a calendar date, UTC midnight)
	Number    string    // P_2, for messages
	Hash      string    // Base64URL SHA-256 of the bytes, no padding
}

// ReadInvoice parses FA(3)/FA(2) XML and takes the seller NIP and P_1 from it and the
// hash from the bytes as given (never re-marshalled). Unreadable XML or a missing
// field gives an *InputError.
func ReadInvoice(xml []byte) (Invoice, error) {
	d, err := fa.ParseXML(xml)
	if err != nil {
		return Invoice{}, &InputError{Field: "invoice XML", Msg: err.Error(), Err: err}
	}
	s := fa.Summarize(d)
	inv := Invoice{SellerNIP: s.Seller.ID, Number: s.Number, Hash: HashBase64URL(xml)}
	if inv.SellerNIP == "" {
		return Invoice{}, &InputError{Field: "invoice XML", Msg: "Podmiot1/DaneIdentyfikacyjne/NIP is empty: KOD I needs the seller's NIP"}
	}
	if inv.IssueDate, err = time.Parse(time.DateOnly, s.IssueDate); err != nil {
		return Invoice{}, &InputError{Field: "invoice XML", Msg: fmt.Sprintf("P_1 %q is not a YYYY-MM-DD date: KOD I needs the issue date", s.IssueDate)}
	}
	return inv, nil
}

// Link builds the KOD I link of inv on the QR service at base.
func (inv Invoice) Link(base string) (string, error) {
	return InvoiceLink(base, inv.SellerNIP, inv.IssueDate, inv.Hash)
}
