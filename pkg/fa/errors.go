package fa

import (
	"fmt"
	"strings"

	"github.com/ksefpl/ksefpl/pkg/failure"
)

// InputError is one problem with the shop's invoice JSON (or the seller
// configuration), naming the JSON field path, e.g. "items[2].qty" or "seller.nip".
type InputError struct {
	Field string
	Msg   string
}

func (e *InputError) Error() string {
	if e.Field == "" {
		return e.Msg
	}
	return e.Field + ": " + e.Msg
}

// InputErrors is the list of every problem found in one input; ParseInput and
// Build return it so the user can fix everything in one pass. errors.As finds
// both InputErrors and the first *InputError.
type InputErrors []*InputError

func (l InputErrors) Error() string {
	parts := make([]string, len(l))
	for i, e := range l {
		parts[i] = e.Error()
	}
	return "invalid invoice input: " + strings.Join(parts, "; ")
}

// Unwrap exposes the individual problems to errors.Is/As.
func (l InputErrors) Unwrap() []error {
	out := make([]error, len(l))
	for i, e := range l {
		out[i] = e
	}
	return out
}

// TotalsMismatchError reports that the computed gross total disagrees with the
// shop's grand_total by more than the tolerance (0.01 per rate bucket).
type TotalsMismatchError struct {
	Computed  string // gross computed by ksefpl (P_15, as a positive figure for credit memos)
	Declared  string // grand_total from the input
	Tolerance string
	Buckets   []string // rate groups present, e.g. ["23", "8"] or ["OSS 19%"]
	Gross     bool     // prices are gross: VAT was computed from each rate's gross total
}

func (e *TotalsMismatchError) Error() string {
	basis := "VAT per rate, rounded half-up on each rate's net total"
	if e.Gross {
		basis = "gross prices: the sum of the gross lines, VAT per rate taken from it"
	}
	return fmt.Sprintf("totals mismatch: computed gross %s (%s; rates %s) but grand_total is %s; the difference exceeds %s — check item prices, discounts, shipping and tax_percent in the input",
		e.Computed, basis, strings.Join(e.Buckets, ", "), e.Declared, e.Tolerance)
}

// RateError reports a missing or unusable exchange rate for a foreign-currency invoice.
type RateError struct {
	Currency string
	Msg      string
}

func (e *RateError) Error() string {
	return fmt.Sprintf("exchange rate for %s: %s", e.Currency, e.Msg)
}

// ParseError reports XML that cannot be read as an FA(3)/FA(2) invoice.
type ParseError struct {
	Line int
	Msg  string
}

func (e *ParseError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("invoice XML line %d: %s", e.Line, e.Msg)
	}
	return "invoice XML: " + e.Msg
}

// TooLargeError reports an invoice over MaxSize bytes.
type TooLargeError struct{ Size int }

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("invoice XML is %d bytes; KSeF accepts at most %d bytes — split the invoice or shorten line descriptions", e.Size, MaxSize)
}

// ToolError reports that xmllint is missing or failed to run.
type ToolError struct {
	Msg string
	Err error
}

func (e *ToolError) Error() string {
	if e.Err != nil {
		return e.Msg + ": " + e.Err.Error()
	}
	return e.Msg
}

// Unwrap returns the underlying error.
func (e *ToolError) Unwrap() error { return e.Err }

// SchemaDirError reports a schema directory without the expected XSD files.
type SchemaDirError struct {
	Dir  string
	File string
}

func (e *SchemaDirError) Error() string {
	return fmt.Sprintf("schema file %s not found in %q: point the schema directory at a folder holding FA3.xsd, FA2.xsd and bazowe/*.xsd (the official KSeF schemas from CIRFMF/ksef-docs faktury/schemy/FA, with the StrukturyDanych import rewritten to bazowe/)", e.File, e.Dir)
}

// Class is failure.Invalid.
func (e *InputError) Class() failure.Class { return failure.Invalid }

// Class is failure.Invalid.
func (l InputErrors) Class() failure.Class { return failure.Invalid }

// Class is failure.Invalid.
func (e *TotalsMismatchError) Class() failure.Class { return failure.Invalid }

// Class is failure.Invalid.
func (e *RateError) Class() failure.Class { return failure.Invalid }

// Class is failure.Invalid.
func (e *ParseError) Class() failure.Class { return failure.Invalid }

// Class is failure.Invalid.
func (e *TooLargeError) Class() failure.Class { return failure.Invalid }

// Class is failure.Invalid: the XSD tool is missing or failed (a setup problem).
func (e *ToolError) Class() failure.Class { return failure.Invalid }

// Class is failure.Invalid: the schema directory lacks the schemas.
func (e *SchemaDirError) Class() failure.Class { return failure.Invalid }
