package nip

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/ksefpl/ksefpl/pkg/failure"
)

// Reason classifies why a NIP was rejected. Each Reason is also an error, so
// callers can branch with errors.Is(err, nip.ReasonChecksum).
type Reason int

// The reasons Validate can reject a NIP for.
const (
	// ReasonLength: the number does not have exactly 10 digits.
	ReasonLength Reason = iota + 1
	// ReasonNonDigit: the number contains something other than ASCII digits
	// after normalisation.
	ReasonNonDigit
	// ReasonChecksum: the check digit (the 10th) does not match the first
	// nine digits, or no check digit is possible (weighted sum mod 11 is 10).
	ReasonChecksum
	// ReasonPattern: the number fails KSeF's schema pattern
	// [1-9]((\d[1-9])|([1-9]\d))\d{7}: it starts with 0, or its second and
	// third digits are both 0 (no tax office has such a prefix).
	ReasonPattern
)

// String returns a short lower-case name of the reason, e.g. "checksum".
func (r Reason) String() string {
	switch r {
	case ReasonLength:
		return "length"
	case ReasonNonDigit:
		return "non-digit"
	case ReasonChecksum:
		return "checksum"
	case ReasonPattern:
		return "pattern"
	default:
		return fmt.Sprintf("Reason(%d)", int(r))
	}
}

// Error makes a Reason usable as an errors.Is target; the text is a generic
// description of the reason.
func (r Reason) Error() string {
	switch r {
	case ReasonLength:
		return "invalid NIP: wrong number of digits"
	case ReasonNonDigit:
		return "invalid NIP: contains characters other than digits"
	case ReasonChecksum:
		return "invalid NIP: check digit does not match"
	case ReasonPattern:
		return "invalid NIP: not a possible NIP (rejected by the KSeF schema)"
	default:
		return "invalid NIP"
	}
}

// Error is returned by Validate and Parse for a NIP that is not valid.
type Error struct {
	// Reason says which rule the NIP broke.
	Reason Reason
	// Input is the string that was validated.
	Input string
	// Expected is the check digit the first nine digits call for, valid only
	// for ReasonChecksum; it is -1 when no check digit is possible (the
	// weighted sum mod 11 is 10).
	Expected int

	detail string
}

// Error returns a message naming the NIP and what is wrong with it, e.g.
// "NIP 5261040827: checksum digit is 7, expected 8".
func (e *Error) Error() string {
	return e.detail
}

// Unwrap returns the Reason, so errors.Is(err, nip.ReasonPattern) reports
// whether err is a NIP rejected for that reason.
func (e *Error) Unwrap() error {
	return e.Reason
}

// ReasonOf returns the Reason of the first *Error in err's chain, and false
// when err is not a NIP validation error.
func ReasonOf(err error) (Reason, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason, true
	}
	return 0, false
}

// maxShown caps how much of a (possibly huge) input an error message repeats.
const maxShown = 40

// display renders input for a message: bare when it is plain digits, quoted
// (so control characters cannot reach a terminal) otherwise, truncated when
// long.
func display(input string) string {
	if input != "" && allDigits(input) && len(input) <= maxShown {
		return input
	}
	if utf8.RuneCountInString(input) > maxShown {
		runes := []rune(input)
		return fmt.Sprintf("%q…", string(runes[:maxShown]))
	}
	return fmt.Sprintf("%q", input)
}

func allDigits(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return r < '0' || r > '9' }) < 0
}

// Class is failure.Invalid.
func (e *Error) Class() failure.Class { return failure.Invalid }
