package queue

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ksefpl/ksefpl/pkg/config"
	"github.com/ksefpl/ksefpl/pkg/deps"
	"github.com/ksefpl/ksefpl/pkg/fa"
	"github.com/ksefpl/ksefpl/pkg/failure"
	"github.com/ksefpl/ksefpl/pkg/invoice"
	"github.com/ksefpl/ksefpl/pkg/nip"
	"github.com/ksefpl/ksefpl/pkg/store"
	"github.com/ksefpl/ksefpl/pkg/website"
)

// admitJSON validates a shop invoice or credit memo JSON by building and checking its
// XML exactly as the submit engine will (with a provisional exchange rate; the XML itself
// is discarded).
func admitJSON(ctx context.Context, d *deps.Deps, ws *website.Settings, req Request) (*admission, error) {
	subject := req.Kind + " input"
	in, err := invoice.Parse(ws, subject, req.Data)
	if err != nil {
		return nil, invalid(subject, err)
	}
	if in.IncrementID != "" {
		subject = req.Kind + " " + strings.TrimSpace(in.IncrementID)
	}
	if in.Type != req.Kind {
		return nil, &InvalidError{Subject: subject, Problems: []string{fmt.Sprintf(
			"type: the file is a %q document, not %q: queue it with ksefpl queue %s", in.Type, req.Kind, in.Type)}}
	}
	b, err := invoice.Build(ctx, ws, in, invoice.Options{Name: subject, Rates: invoice.Provisional, Version: d.Version,
		LookupOriginal: queuedOriginal(d.DB, ws.WebsiteID), Now: d.Now})
	if err != nil {
		return nil, invalid(subject, err)
	}
	if len(b.Problems) > 0 {
		return nil, &InvalidError{Subject: subject, Problems: problemStrings("the invoice built from the input: ", b.Problems)}
	}
	return &admission{entityType: in.Type, incrementID: b.Doc.Fa.P2, issueDate: b.Doc.Fa.P1, inputFormat: "json"}, nil
}

// queuedOriginal lets a credit memo refer to an invoice of the same website that is in
// the queue and not FAILED: its issue date (and KSeF number once accepted) are known, and
// the submit engine sends the memo after the invoice. Any other
// original is unknown here; the submit engine resolves it when it sends the memo.
func queuedOriginal(db *store.DB, websiteID int64) func(ctx context.Context, incrementID string) (string, time.Time, bool, error) {
	return func(ctx context.Context, incrementID string) (string, time.Time, bool, error) {
		j, err := findJob(ctx, db, websiteID, KindInvoice, incrementID)
		if err != nil || j == nil || j.Status == store.JobFailed {
			// A FAILED original is unknown to the submit engine too.
			return "", time.Time{}, false, err
		}
		issued, err := time.Parse(time.DateOnly, j.IssueDate)
		if err != nil {
			return "", time.Time{}, false, nil
		}
		return j.KSeFNumber, issued, true, nil
	}
}

// admitXML validates a ready invoice XML: the structural checks, and the seller NIP
// against the website's configuration.
func admitXML(ws *website.Settings, data []byte) (*admission, error) {
	all := fa.Check(data)
	if ps := fa.Errors(all); len(ps) > 0 {
		out := problemStrings("", ps)
		if t := bytes.TrimSpace(data); len(t) > 0 && (t[0] == '{' || t[0] == '[') && len(out) == 1 {
			out[0] += "; it looks like shop JSON: queue that with ksefpl queue invoice or ksefpl queue creditmemo"
		}
		return nil, &InvalidError{Subject: "the invoice XML", Problems: out}
	}
	d, err := fa.ParseXML(data)
	if err != nil {
		return nil, invalid("the invoice XML", err)
	}
	subject := "XML invoice " + d.Fa.P2
	want, err := nip.Parse(ws.Seller.NIP)
	if err != nil {
		return nil, &InvalidError{Subject: subject, Problems: []string{fmt.Sprintf(
			"the configured seller NIP of website %q is invalid (%v): run ksefpl config:set %s NIP%s",
			ws.WebsiteCode, err, config.PathSellerNIP, invoice.ScopeFlags(ws.WebsiteCode))}}
	}
	if got := strings.TrimSpace(d.Podmiot1.DaneIdentyfikacyjne.NIP); got != want {
		return nil, &InvalidError{Subject: subject, Problems: []string{fmt.Sprintf(
			"Faktura/Podmiot1/DaneIdentyfikacyjne/NIP: seller NIP %s is not website %q's NIP %s: queue it for the website of that seller (--website CODE) or fix the XML",
			got, ws.WebsiteCode, want)}}
	}
	if strings.TrimSpace(d.Fa.P2) == "" || strings.TrimSpace(d.Fa.P1) == "" {
		return nil, &InvalidError{Subject: subject, Problems: []string{"Faktura/Fa: P_1 (issue date) and P_2 (invoice number) are required"}}
	}
	entity := KindInvoice
	switch strings.TrimSpace(d.Fa.RodzajFaktury) {
	case "KOR", "KOR_ZAL", "KOR_ROZ":
		entity = KindCreditMemo
	}
	return &admission{entityType: entity, incrementID: strings.TrimSpace(d.Fa.P2), issueDate: strings.TrimSpace(d.Fa.P1), inputFormat: "xml",
		warnings: problemStrings("", fa.Warnings(all))}, nil
}

// invalid turns the pipeline's refusal into an *InvalidError listing each problem with the
// way to fix it; errors that are not about the input are returned wrapped.
func invalid(subject string, err error) error {
	var ie *invoice.InvalidError
	switch {
	case errors.As(err, &ie):
		out := make([]string, len(ie.Problems))
		for i, p := range ie.Problems {
			out[i] = p.String()
		}
		return &InvalidError{Subject: subject, Problems: out, Err: err}
	case failure.Is(err, failure.Invalid):
		return &InvalidError{Subject: subject, Problems: []string{err.Error()}, Err: err}
	}
	return fmt.Errorf("validate %s: %w", subject, err)
}

// problemStrings renders structural-check findings.
func problemStrings(prefix string, ps []fa.Problem) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = prefix + p.String()
	}
	return out
}
