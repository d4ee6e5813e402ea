package ksef

import (
	"fmt"
	"strings"

	"github.com/ksefpl/ksefpl/pkg/failure"
)

// InvoiceSubject names the party of an invoice whose identifier KSeF
// validates: the FA element of its data.
type InvoiceSubject string

// The parties whose NIP KSeF validates (faktury/weryfikacja-faktury.md,
// "Walidacja numeru NIP"; the internal identifier only for Podmiot3).
const (
	SubjectUnknown    InvoiceSubject = ""
	SubjectSeller     InvoiceSubject = "Podmiot1"           // the seller
	SubjectBuyer      InvoiceSubject = "Podmiot2"           // the buyer
	SubjectThirdParty InvoiceSubject = "Podmiot3"           // a third party (recipient, factor, additional buyer …)
	SubjectAuthorized InvoiceSubject = "PodmiotUpowazniony" // the authorised subject (enforcement body, bailiff, tax representative)
)

// describe names the party for people.
func (s InvoiceSubject) describe() string {
	switch s {
	case SubjectSeller:
		return "the seller (Podmiot1)"
	case SubjectBuyer:
		return "the buyer (Podmiot2)"
	case SubjectThirdParty:
		return "a third party (Podmiot3)"
	case SubjectAuthorized:
		return "the authorised subject (PodmiotUpowazniony)"
	}
	return "a party of the invoice"
}

// Kinds of subject identifiers KSeF validates.
const (
	IdentifierNIP        = "NIP"   // a 10-digit NIP (check digit validated)
	IdentifierInternalID = "IdWew" // an internal identifier: NIP-NNNNN (the NIP part validated)
)

// SubjectIdentifierError is an invoice KSeF rejected with status 450
// ("Błąd weryfikacji semantyki dokumentu faktury") because the identifier of
// one of its parties failed validation: the NIP check digit of Podmiot1,
// Podmiot2, Podmiot3 or PodmiotUpowazniony, or the NIP inside Podmiot3's
// internal identifier (IdWew). Production always validates them (API 2.0.1+);
// the test environments only in sessions opened with
// SubjectIdentifierValidation (X-KSeF-Feature: subject-identifier-validation,
// API 2.8.0+). The error
// surfaces in the invoice status (InvoiceStatus.Err, SessionInvoice.Err), not
// at session open. It unwraps to the *InvoiceRejectedError.
type SubjectIdentifierError struct {
	// Rejected is the invoice's rejection (status 450).
	Rejected *InvoiceRejectedError
	// Subject is the party whose identifier failed (SubjectUnknown when the
	// detail does not say).
	Subject InvoiceSubject
	// Kind is IdentifierNIP or IdentifierInternalID.
	Kind string
	// Value is the identifier as KSeF quoted it ("" when it did not).
	Value string
	// Detail is KSeF's detail line that named it.
	Detail string
}

// Class is failure.Rejected: the invoice data must be corrected.
func (e *SubjectIdentifierError) Class() failure.Class { return failure.Rejected }

// Unwrap returns the invoice's rejection.
func (e *SubjectIdentifierError) Unwrap() error {
	if e.Rejected == nil {
		return nil
	}
	return e.Rejected
}

// Error says which identifier failed and what to fix.
func (e *SubjectIdentifierError) Error() string {
	ref := ""
	if e.Rejected != nil && e.Rejected.ReferenceNumber != "" {
		ref = " " + e.Rejected.ReferenceNumber
	}
	val := ""
	if e.Value != "" {
		val = fmt.Sprintf(" %q", e.Value)
	}
	var fix string
	switch e.Kind {
	case IdentifierInternalID:
		fix = "an internal identifier is the NIP of the entity followed by a dash and five digits (NIP-NNNNN), and its NIP part must have a valid check digit; correct the identifier in that party's data and send the invoice again (as a new invoice: this one was not issued)"
	default:
		fix = "a NIP is 10 digits with a valid check digit (ksefpl nip:validate checks it); correct the NIP in that party's data and send the invoice again (as a new invoice: this one was not issued)"
	}
	kind := e.Kind
	if kind == "" {
		kind = "identifier"
	}
	return fmt.Sprintf("KSeF rejected invoice%s with status 450: the %s%s of %s failed validation (%s) — %s",
		ref, kind, val, e.Subject.describe(), e.Detail, fix)
}

// subjectIdentifierError recognises a 450 whose Polish details say that a
// subject identifier is invalid, e.g. "Identyfikator wewnętrzny podmiotu
// trzeciego: '5265877635-12345' jest nieprawidłowy." English details (the
// XSD validator's) are never matched: a NIP that breaks the schema pattern is
// a schema error, not this validation.
func subjectIdentifierError(re *InvoiceRejectedError) *SubjectIdentifierError {
	if re == nil || re.Code != InvoiceSemanticError {
		return nil
	}
	for _, d := range re.Details {
		l := strings.ToLower(d)
		if !strings.Contains(l, "nieprawidłow") && !strings.Contains(l, "niepoprawn") && !strings.Contains(l, "suma kontrolna") {
			continue
		}
		kind := ""
		switch {
		case strings.Contains(l, "identyfikator wewnętrzny"), strings.Contains(l, "identyfikatora wewnętrznego"), strings.Contains(l, "idwew"):
			kind = IdentifierInternalID
		case containsWord(l, "nip"):
			kind = IdentifierNIP
		default:
			continue
		}
		return &SubjectIdentifierError{Rejected: re, Subject: subjectOf(l), Kind: kind, Value: quoted(d), Detail: d}
	}
	return nil
}

// subjectOf finds the party a lower-case Polish detail names.
func subjectOf(l string) InvoiceSubject {
	switch {
	case strings.Contains(l, "podmiotupowazniony"), strings.Contains(l, "podmiot upoważniony"), strings.Contains(l, "podmiotu upoważnionego"):
		return SubjectAuthorized
	case strings.Contains(l, "podmiot3"), strings.Contains(l, "podmiotu trzeciego"), strings.Contains(l, "podmiot trzeci"):
		return SubjectThirdParty
	case strings.Contains(l, "podmiot2"), strings.Contains(l, "podmiotu drugiego"), strings.Contains(l, "nabywc"):
		return SubjectBuyer
	case strings.Contains(l, "podmiot1"), strings.Contains(l, "podmiotu pierwszego"), strings.Contains(l, "sprzedawc"):
		return SubjectSeller
	}
	return SubjectUnknown
}

// containsWord reports whether w occurs in s as a whole word (letters and
// digits around it end the word).
func containsWord(s, w string) bool {
	for i := 0; ; {
		j := strings.Index(s[i:], w)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(w)
		if (start == 0 || !isWordByte(s[start-1])) && (end == len(s) || !isWordByte(s[end])) {
			return true
		}
		i = end
	}
}

func isWordByte(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b >= 0x80
}

// quoted returns the first text in quotes ('…', "…", „…”, “…”) of s.
func quoted(s string) string {
	for _, q := range [][2]string{{"'", "'"}, {`"`, `"`}, {"„", "”"}, {"“", "”"}} {
		i := strings.Index(s, q[0])
		if i < 0 {
			continue
		}
		rest := s[i+len(q[0]):]
		if j := strings.Index(rest, q[1]); j >= 0 {
			return strings.TrimSpace(rest[:j])
		}
	}
	return ""
}
