package ksefsim

import (
	"encoding/json"
	"math/big"
	"strings"
	"time"
)

// Wire shapes of invoice metadata (open-api-2.8.1.json InvoiceMetadata and its parts):
// the items of POST /invoices/query/metadata and of _metadata.json in export packages.
type (
	invoiceMetadata struct {
		KsefNumber             string                 `json:"ksefNumber"`
		InvoiceNumber          string                 `json:"invoiceNumber"`
		IssueDate              string                 `json:"issueDate"`
		InvoicingDate          string                 `json:"invoicingDate"`
		AcquisitionDate        string                 `json:"acquisitionDate"`
		PermanentStorageDate   string                 `json:"permanentStorageDate"`
		Seller                 metadataSeller         `json:"seller"`
		Buyer                  metadataBuyer          `json:"buyer"`
		NetAmount              json.Number            `json:"netAmount"`
		GrossAmount            json.Number            `json:"grossAmount"`
		VatAmount              json.Number            `json:"vatAmount"`
		Currency               string                 `json:"currency"`
		InvoicingMode          string                 `json:"invoicingMode"`
		InvoiceType            string                 `json:"invoiceType"`
		FormCode               FormCode               `json:"formCode"`
		IsSelfInvoicing        bool                   `json:"isSelfInvoicing"`
		HasAttachment          bool                   `json:"hasAttachment"`
		InvoiceHash            string                 `json:"invoiceHash"`
		HashOfCorrectedInvoice *string                `json:"hashOfCorrectedInvoice,omitempty"`
		ThirdSubjects          []metadataThirdSubject `json:"thirdSubjects"`
		AuthorizedSubject      *metadataAuthorized    `json:"authorizedSubject,omitempty"`
	}
	metadataSeller struct {
		Nip  string  `json:"nip"`
		Name *string `json:"name,omitempty"`
	}
	metadataIdentifier struct {
		Type  string  `json:"type"`
		Value *string `json:"value,omitempty"`
	}
	metadataBuyer struct {
		Identifier metadataIdentifier `json:"identifier"`
		Name       *string            `json:"name,omitempty"`
	}
	metadataThirdSubject struct {
		Identifier metadataIdentifier `json:"identifier"`
		Name       *string            `json:"name,omitempty"`
		Role       int                `json:"role"`
	}
	metadataAuthorized struct {
		Nip  string  `json:"nip"`
		Name *string `json:"name,omitempty"`
		Role int     `json:"role"`
	}
)

// invoiceTypes maps FA RodzajFaktury to the contract's InvoiceType.
var invoiceTypes = map[string]string{
	"VAT": "Vat", "ZAL": "Zal", "KOR": "Kor", "ROZ": "Roz", "UPR": "Upr", "KOR_ZAL": "KorZal", "KOR_ROZ": "KorRoz",
}

// invoiceType is the InvoiceType of an invoice ("Vat" when the kind is unknown).
func (f invoiceFacts) invoiceType() string {
	if t, ok := invoiceTypes[strings.ToUpper(f.kind)]; ok {
		return t
	}
	return "Vat"
}

// currencyCode is the invoice currency (KodWaluty; PLN when absent).
func (f invoiceFacts) currencyCode() string {
	if len(f.currency) == 3 {
		return f.currency
	}
	return "PLN"
}

// amountSum adds the amounts whose element names pick selects; unreadable values
// count as zero.
func (f invoiceFacts) amountSum(pick func(name string) bool) *big.Rat {
	sum := new(big.Rat)
	for name, v := range f.amounts {
		if !pick(name) {
			continue
		}
		if x, ok := new(big.Rat).SetString(v); ok {
			sum.Add(sum, x)
		}
	}
	return sum
}

// amountJSON is an amount as the exact JSON number KSeF writes (two decimals): money
// never passes through a float here.
func amountJSON(r *big.Rat) json.Number { return json.Number(r.FloatString(2)) }

// netAmount is the sum of the P_13_* net amounts.
func (f invoiceFacts) netAmount() *big.Rat {
	return f.amountSum(func(n string) bool { return strings.HasPrefix(n, "P_13_") })
}

// grossAmount is P_15.
func (f invoiceFacts) grossAmount() *big.Rat {
	return f.amountSum(func(n string) bool { return n == "P_15" })
}

// vatAmount is the VAT in PLN: P_14_xW where given (invoices in a foreign currency),
// else P_14_x.
func (f invoiceFacts) vatAmount() *big.Rat {
	return f.amountSum(func(n string) bool {
		if !strings.HasPrefix(n, "P_14_") {
			return false
		}
		if strings.HasSuffix(n, "W") {
			return true
		}
		_, inPLN := f.amounts[n+"W"]
		return !inPLN
	})
}

// identifier renders a party's identification as InvoiceMetadataBuyerIdentifier /
// InvoiceMetadataThirdSubjectIdentifier.
func (p partyID) identifier() metadataIdentifier {
	v := func(s string) metadataIdentifier { return metadataIdentifier{Value: &s} }
	var id metadataIdentifier
	switch {
	case p.nip != "":
		id = v(p.nip)
		id.Type = "Nip"
	case p.internalID != "":
		id = v(p.internalID)
		id.Type = "InternalId"
	case p.euVAT != "":
		id = v(p.euCode + p.euVAT)
		id.Type = "VatUe"
	case p.otherID != "":
		id = v(p.country + p.otherID)
		id.Type = "Other"
	default:
		id.Type = "None"
	}
	return id
}

// optional is a nullable string: nil when empty.
func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// permanentStorage is when a numbered invoice was permanently stored.
func (inv *invoiceRec) permanentStorage() time.Time { return inv.acquired.Add(permanentStorageDelay) }

// invoicingMode is the InvoicingMode of a numbered invoice.
func (inv *invoiceRec) invoicingMode() string {
	if inv.invoicingOff {
		return "Offline"
	}
	return "Online"
}

// metadata renders a numbered invoice as InvoiceMetadata. Caller holds the lock.
func (inv *invoiceRec) metadata() invoiceMetadata {
	f := inv.facts
	m := invoiceMetadata{
		KsefNumber: inv.ksefNumber, InvoiceNumber: f.number, IssueDate: f.issueDate,
		InvoicingDate: formatTime(inv.invoicingDate()), AcquisitionDate: formatTime(inv.acquired),
		PermanentStorageDate: formatTime(inv.permanentStorage()),
		Seller:               metadataSeller{Nip: f.sellerNIP, Name: optional(f.sellerName)},
		Buyer:                metadataBuyer{Identifier: f.buyer.identifier(), Name: optional(f.buyer.name)},
		NetAmount:            amountJSON(f.netAmount()), GrossAmount: amountJSON(f.grossAmount()), VatAmount: amountJSON(f.vatAmount()),
		Currency: f.currencyCode(), InvoicingMode: inv.invoicingMode(), InvoiceType: f.invoiceType(),
		FormCode: inv.sess.form, IsSelfInvoicing: f.selfInvoicing, HasAttachment: f.hasAttachment,
		InvoiceHash: inv.hash, HashOfCorrectedInvoice: optional(inv.correctedHash),
		ThirdSubjects: []metadataThirdSubject{},
	}
	for _, t := range f.third {
		m.ThirdSubjects = append(m.ThirdSubjects, metadataThirdSubject{Identifier: t.id.identifier(), Name: optional(t.id.name), Role: t.role})
	}
	if a := f.authorized; a != nil && a.nip != "" {
		m.AuthorizedSubject = &metadataAuthorized{Nip: a.nip, Name: optional(a.name), Role: a.role}
	}
	return m
}
