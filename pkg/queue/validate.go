package queue

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/ksefpl/ksefpl/pkg/config"
	"github.com/ksefpl/ksefpl/pkg/fa"
	"github.com/ksefpl/ksefpl/pkg/nip"
	"github.com/ksefpl/ksefpl/pkg/store"
	"github.com/ksefpl/ksefpl/pkg/website"
)

// provisionalTable marks the stand-in exchange rate used only to validate a
// foreign-currency document at queue time.
const provisionalTable = "provisional"

// sellerPaths maps the builder's seller fields to the configuration paths that set them.
var sellerPaths = map[string]string{
	"seller.nip":           config.PathSellerNIP,
	"seller.name":          config.PathSellerName,
	"seller.address_line1": config.PathSellerAddress1,
	"seller.address_line2": config.PathSellerAddress2,
	"seller.country_code":  config.PathSellerCountry,
}

// admitJSON validates a shop invoice or credit memo JSON by building and checking its
// XML exactly as the submit engine will (the XML itself is discarded).
func admitJSON(ctx context.Context, env Env, ws *website.Settings, req Request) (*admission, error) {
	subject := req.Kind + " input"
	in, err := fa.ParseInput(bytes.NewReader(req.Data))
	if err != nil {
		return nil, invalid(subject, ws.WebsiteCode, err)
	}
	if in.IncrementID != "" {
		subject = req.Kind + " " + strings.TrimSpace(in.IncrementID)
	}
	if in.Type != req.Kind {
		return nil, &InvalidError{Subject: subject, Problems: []string{fmt.Sprintf(
			"type: the file is a %q document, not %q: queue it with ksefpl queue %s", in.Type, req.Kind, in.Type)}}
	}
	schema := ws.Schema
	if schema == "" {
		schema = fa.FA3
	}
	opts := fa.BuildOptions{Schema: schema, Seller: ws.Seller, Now: env.Now,
		LookupOriginal: queuedOriginal(env.DB, ws.WebsiteID)}
	if cur, taxPoint, ok := in.NeedsRate(); ok {
		opts.Rate = &fa.Rate{Currency: cur, Value: decimal.NewFromInt(1), Table: provisionalTable, Date: taxPoint}
	}
	doc, err := fa.Build(ctx, in, opts)
	if err != nil {
		if fa.IsInvalid(err) {
			return nil, invalid(subject, ws.WebsiteCode, err)
		}
		return nil, fmt.Errorf("build %s: %w", subject, err)
	}
	xml, err := fa.Marshal(doc)
	if err != nil {
		if fa.IsInvalid(err) {
			return nil, invalid(subject, ws.WebsiteCode, err)
		}
		return nil, fmt.Errorf("build %s: %w", subject, err)
	}
	if ps := fa.Check(xml); len(ps) > 0 {
		return nil, &InvalidError{Subject: subject, Problems: problemStrings("the invoice built from the input: ", ps)}
	}
	return &admission{entityType: in.Type, incrementID: doc.Fa.P2, issueDate: doc.Fa.P1, inputFormat: "json"}, nil
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
	if ps := fa.Check(data); len(ps) > 0 {
		return nil, &InvalidError{Subject: "the invoice XML", Problems: problemStrings("", ps)}
	}
	d, err := fa.ParseXML(data)
	if err != nil {
		return nil, invalid("the invoice XML", ws.WebsiteCode, err)
	}
	subject := "XML invoice " + d.Fa.P2
	want, err := nip.Parse(ws.Seller.NIP)
	if err != nil {
		return nil, &InvalidError{Subject: subject, Problems: []string{fmt.Sprintf(
			"the configured seller NIP of website %q is invalid (%v): run ksefpl config:set %s NIP%s",
			ws.WebsiteCode, err, config.PathSellerNIP, scopeFlags(ws.WebsiteCode))}}
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
	return &admission{entityType: entity, incrementID: strings.TrimSpace(d.Fa.P2), issueDate: strings.TrimSpace(d.Fa.P1), inputFormat: "xml"}, nil
}

// invalid turns an fa error into an *InvalidError listing each problem with the way to
// fix it; errors that are not about the input are returned wrapped.
func invalid(subject, websiteCode string, err error) error {
	var list fa.InputErrors
	var ie *fa.InputError
	var out []string
	switch {
	case errors.As(err, &list):
		for _, e := range list {
			out = append(out, withHint(e, websiteCode))
		}
	case errors.As(err, &ie):
		out = []string{withHint(ie, websiteCode)}
	case fa.IsInvalid(err):
		out = []string{err.Error()}
	default:
		return fmt.Errorf("validate %s: %w", subject, err)
	}
	return &InvalidError{Subject: subject, Problems: out, Err: err}
}

// withHint renders an input problem, adding the config:set command for seller fields,
// which come from configuration rather than the file.
func withHint(e *fa.InputError, websiteCode string) string {
	if p, ok := sellerPaths[e.Field]; ok {
		return e.Error() + " (set it with: ksefpl config:set " + p + " VALUE" + scopeFlags(websiteCode) + ")"
	}
	return e.Error()
}

// problemStrings renders structural-check findings.
func problemStrings(prefix string, ps []fa.Problem) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = prefix + p.String()
	}
	return out
}
