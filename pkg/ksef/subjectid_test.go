package ksef

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/ksefpl/ksefpl/pkg/failure"
)

func TestOpenSessionsSendSubjectIdentifierValidationOnlyWhenAsked(t *testing.T) {
	t.Parallel()
	f := newFakeSessions(t)
	c := f.client(t)
	ctx := context.Background()
	if _, err := c.OpenOnlineSession(ctx, f.access, FormCodeFA3()); err != nil {
		t.Fatal(err)
	}
	if h := f.header("POST /sessions/online").Values(FeatureHeader); len(h) != 0 {
		t.Errorf("a default open sent %s: %v", FeatureHeader, h)
	}
	if _, err := c.OpenOnlineSessionWith(ctx, f.access, FormCodeFA3(), OnlineSessionOptions{SubjectIdentifierValidation: true}); err != nil {
		t.Fatal(err)
	}
	if h := f.header("POST /sessions/online").Values(FeatureHeader); len(h) != 1 || h[0] != "subject-identifier-validation" {
		t.Errorf("%s = %v, want [subject-identifier-validation]", FeatureHeader, h)
	}

	b := newFakeBatch(t)
	bc := b.client(t, nil)
	p := buildTestPackage(t, 3, 10, 4096)
	if _, err := bc.OpenBatchSession(ctx, b.keys.access, FormCodeFA3(), p, BatchOptions{}); err != nil {
		t.Fatal(err)
	}
	b.mu.Lock()
	plain := b.openHeader.Values(FeatureHeader)
	b.mu.Unlock()
	if len(plain) != 0 {
		t.Errorf("a default batch open sent %s: %v", FeatureHeader, plain)
	}
	if _, err := bc.OpenBatchSession(ctx, b.keys.access, FormCodeFA3(), p, BatchOptions{SubjectIdentifierValidation: true}); err != nil {
		t.Fatal(err)
	}
	b.mu.Lock()
	asked := b.openHeader.Values(FeatureHeader)
	b.mu.Unlock()
	if len(asked) != 1 || asked[0] != FeatureSubjectIdentifierValidation {
		t.Errorf("batch %s = %v", FeatureHeader, asked)
	}
}

// TestSubjectIdentifier450IsTyped: the invoice status 450 of a failed
// subject identifier (the detail of CIRFMF/ksef-api issue #640) is a
// *SubjectIdentifierError naming the party and the identifier, still an
// *InvoiceRejectedError underneath.
func TestSubjectIdentifier450IsTyped(t *testing.T) {
	t.Parallel()
	f := newFakeSessions(t)
	f.invoiceResult = func([]byte) InvoiceStatus {
		return InvoiceStatus{Code: 450, Description: "Błąd weryfikacji semantyki dokumentu faktury",
			Details: []string{"Identyfikator wewnętrzny podmiotu trzeciego: '5265877634-00001' jest nieprawidłowy."}}
	}
	c := f.client(t)
	ctx := context.Background()
	s, err := c.OpenOnlineSessionWith(ctx, f.access, FormCodeFA3(), OnlineSessionOptions{SubjectIdentifierValidation: true})
	if err != nil {
		t.Fatal(err)
	}
	sent, err := c.SendInvoice(ctx, f.access, s, minimalInvoice(1), SendOptions{})
	if err != nil {
		t.Fatal(err)
	}
	inv, err := c.WaitForInvoice(ctx, f.access, s.ReferenceNumber, sent.ReferenceNumber)
	if err != nil {
		t.Fatal(err)
	}
	err = inv.Err()
	var se *SubjectIdentifierError
	if !errors.As(err, &se) {
		t.Fatalf("want a SubjectIdentifierError, got %T %v", err, err)
	}
	if se.Subject != SubjectThirdParty || se.Kind != IdentifierInternalID || se.Value != "5265877634-00001" {
		t.Errorf("parsed %+v", se)
	}
	var re *InvoiceRejectedError
	if !errors.As(err, &re) || re.Code != InvoiceSemanticError || re.ReferenceNumber != sent.ReferenceNumber {
		t.Errorf("the rejection underneath: %+v", re)
	}
	if failure.Of(err) != failure.Rejected {
		t.Errorf("class %v, want rejected", failure.Of(err))
	}
	for _, want := range []string{sent.ReferenceNumber, "IdWew", "5265877634-00001", "Podmiot3", "NIP-NNNNN", "send the invoice again"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q lacks %q", err, want)
		}
	}
}

// TestSubjectIdentifierDetails: the first detail is the one KSeF is known to
// send (CIRFMF/ksef-api issue #640); the others are the forms the matcher
// accepts for the other parties and for NIPs, whose exact texts KSeF does not
// document.
func TestSubjectIdentifierDetails(t *testing.T) {
	cases := []struct {
		detail  string
		ok      bool
		subject InvoiceSubject
		kind    string
		value   string
	}{
		{"Identyfikator wewnętrzny podmiotu trzeciego: '5265877634-00001' jest nieprawidłowy.", true, SubjectThirdParty, IdentifierInternalID, "5265877634-00001"},
		{"NIP nabywcy (Podmiot2): '1234567890' jest nieprawidłowy.", true, SubjectBuyer, IdentifierNIP, "1234567890"},
		{"Numer NIP sprzedawcy '1111111112' jest nieprawidłowy.", true, SubjectSeller, IdentifierNIP, "1111111112"},
		{"Nieprawidłowa suma kontrolna NIP podmiotu upoważnionego: „5265877634”.", true, SubjectAuthorized, IdentifierNIP, "5265877634"},
		{"NIP podmiotu: '1234567890' jest niepoprawny", true, SubjectUnknown, IdentifierNIP, "1234567890"},
		// The XSD validator's English messages are not this validation.
		{"The 'http://crd.gov.pl/wzor/2025/06/25/13775/:NIP' element is invalid - The value '123' is invalid according to its datatype 'TNIP' - The Pattern constraint failed.", false, "", "", ""},
		{"Nieprawidłowy XML", false, "", "", ""},
		{"P_1 później niż data przyjęcia", false, "", "", ""},
		{"Nieprawidłowa wartość pola NIPX", false, "", "", ""},
	}
	for _, tc := range cases {
		re := &InvoiceRejectedError{Code: InvoiceSemanticError, Description: "Błąd weryfikacji semantyki dokumentu faktury", Details: []string{tc.detail}}
		se := subjectIdentifierError(re)
		if (se != nil) != tc.ok {
			t.Errorf("%q: matched %v, want %v", tc.detail, se != nil, tc.ok)
			continue
		}
		if se == nil {
			continue
		}
		if se.Subject != tc.subject || se.Kind != tc.kind || se.Value != tc.value || se.Detail != tc.detail {
			t.Errorf("%q: parsed %+v", tc.detail, se)
		}
	}
	// Other statuses are never read as a subject identifier failure.
	if se := subjectIdentifierError(&InvoiceRejectedError{Code: InvoiceFileInvalid, Details: []string{cases[0].detail}}); se != nil {
		t.Error("status 430 taken for a subject identifier failure")
	}
	if err := (InvoiceStatus{Code: 450, Details: []string{"Nieprawidłowy XML"}}).Err(); !errors.As(err, new(*InvoiceRejectedError)) || errors.As(err, new(*SubjectIdentifierError)) {
		t.Errorf("a plain 450: %T", err)
	}
}
