package reconcile

import (
	"context"
	"time"

	"github.com/ksefpl/ksefpl/pkg/ksef"
)

// remoteInvoices reads the metadata of every invoice KSeF holds for the authenticated
// seller (Podmiot1) issued from the first to the last day (Europe/Warsaw calendar
// days): every page, in windows KSeF accepts, paced in the invoiceMetadata group.
func remoteInvoices(ctx context.Context, c *ksef.Client, tok string, from, to time.Time) ([]remoteInvoice, error) {
	end := to.AddDate(0, 0, 1).Add(-time.Second) // the last day, to its end
	f := ksef.InvoiceQueryFilters{SubjectType: ksef.SubjectTypeSeller,
		DateRange: ksef.InvoiceQueryDateRange{DateType: ksef.DateTypeIssue, From: from, To: &end}}
	var out []remoteInvoice
	seen := map[string]bool{}
	for m, err := range c.AllInvoiceMetadata(ctx, tok, f, 0, ksef.SortAsc) {
		if err != nil {
			return nil, err
		}
		if seen[m.KSeFNumber] {
			continue // a window edge listed it twice
		}
		seen[m.KSeFNumber] = true
		out = append(out, remoteInvoice{KSeFNumber: m.KSeFNumber, InvoiceNumber: m.InvoiceNumber, IssueDate: m.IssueDate, Hash: m.InvoiceHash})
	}
	return out, nil
}
