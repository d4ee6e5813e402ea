package nip

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Length is the number of digits in a NIP.
const Length = 10

// weights holds the check-digit weights of digits 1–9, one decimal digit each.
const weights = "657234567"

// Normalize turns user input into the bare digit form that Validate expects.
// It removes white space (including no-break spaces), dashes (ASCII and
// Unicode dash punctuation) and dots between the characters, upper-cases the
// rest and removes a leading "PL" country prefix (repeatedly, so Normalize is
// idempotent). A dash or dot that starts or ends the value is kept, so that
// "-5261040828" (a negative number, a cut-off value) fails Validate instead of
// passing as a NIP. It does not validate; "PL 526-104-08-28" becomes
// "5261040828".
func Normalize(s string) string {
	s = strings.ToUpper(strings.TrimFunc(s, unicode.IsSpace))
	prefixed := false
	for strings.HasPrefix(s, "PL") {
		s = strings.TrimLeftFunc(s[len("PL"):], unicode.IsSpace)
		prefixed = true
	}
	if prefixed {
		// "PL-526…": a separator after the country prefix.
		s = strings.TrimLeftFunc(s, func(r rune) bool { return isSeparator(r) || unicode.IsSpace(r) })
	}
	if r, _ := utf8.DecodeRuneInString(s); isSeparator(r) {
		return s
	}
	if r, _ := utf8.DecodeLastRuneInString(s); isSeparator(r) {
		return s
	}
	s = strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) || isSeparator(r) {
			return -1
		}
		return r
	}, s)
	for strings.HasPrefix(s, "PL") {
		s = s[len("PL"):]
	}
	return s
}

// isSeparator reports whether r is a dash or a dot, which people type between groups of
// digits.
func isSeparator(r rune) bool { return r == '-' || r == '.' || unicode.Is(unicode.Pd, r) }

// Validate checks a normalised NIP: exactly 10 ASCII digits, a matching check
// digit, and KSeF's schema pattern. It returns nil or an *Error. Call
// Normalize first (or use Parse) for input typed by people.
func Validate(s string) error {
	for i, r := range s {
		if r < '0' || r > '9' {
			return &Error{Reason: ReasonNonDigit, Input: s,
				detail: fmt.Sprintf("NIP %s: character %q at position %d is not a digit; a NIP is 10 digits, optionally prefixed with PL",
					display(s), r, len([]rune(s[:i]))+1)}
		}
	}
	if len(s) != Length {
		if s == "" {
			return &Error{Reason: ReasonLength, Input: s,
				detail: "NIP is empty: enter the 10-digit tax identification number"}
		}
		return &Error{Reason: ReasonLength, Input: s,
			detail: fmt.Sprintf("NIP must have 10 digits, got %d: %s", len(s), display(s))}
	}
	expected := checkDigit(s)
	got := int(s[9] - '0')
	if expected == 10 {
		return &Error{Reason: ReasonChecksum, Input: s, Expected: -1,
			detail: fmt.Sprintf("NIP %s: checksum of the first nine digits leaves remainder 10, which no valid NIP has; check the number for typos", s)}
	}
	if expected != got {
		return &Error{Reason: ReasonChecksum, Input: s, Expected: expected,
			detail: fmt.Sprintf("NIP %s: checksum digit is %d, expected %d; check the number for typos", s, got, expected)}
	}
	if err := patternError(s); err != nil {
		return err
	}
	return nil
}

// ValidatePattern checks only what KSeF's XML schema checks (etd:TNrNIP,
// [1-9]((\d[1-9])|([1-9]\d))\d{7}): 10 digits, not starting with 0, second
// and third digits not both 0. It ignores the check digit, so it accepts
// numbers such as 1234567890 that appear in the Ministry's sample invoices.
// Use it where a NIP must be accepted exactly when KSeF would accept it.
func ValidatePattern(s string) error {
	for _, r := range s {
		if r < '0' || r > '9' {
			return Validate(s) // reports the non-digit
		}
	}
	if len(s) != Length {
		return Validate(s) // reports the length
	}
	return patternError(s)
}

// patternError applies the schema pattern to 10 ASCII digits.
func patternError(s string) error {
	switch {
	case s[0] == '0':
		return &Error{Reason: ReasonPattern, Input: s,
			detail: fmt.Sprintf("NIP %s: a NIP cannot start with 0 (KSeF rejects it)", s)}
	case s[1] == '0' && s[2] == '0':
		return &Error{Reason: ReasonPattern, Input: s,
			detail: fmt.Sprintf("NIP %s: a NIP cannot have 0 as both its second and third digit (KSeF rejects it)", s)}
	}
	return nil
}

// checkDigit returns the weighted sum of the first nine digits of s modulo
// 11; 10 means no check digit is possible.
func checkDigit(s string) int {
	sum := 0
	for i := range len(weights) {
		sum += int(weights[i]-'0') * int(s[i]-'0')
	}
	return sum % 11
}

// Parse normalises s and validates the result, returning the bare 10-digit
// NIP or an *Error.
func Parse(s string) (string, error) {
	n := Normalize(s)
	if err := Validate(n); err != nil {
		return "", err
	}
	return n, nil
}

// Format renders a NIP as XXX-XXX-XX-XX. The input is normalised first;
// if the result is not 10 digits, s is returned unchanged. Format does not
// check the check digit.
func Format(s string) string {
	n := Normalize(s)
	if len(n) != Length || !allDigits(n) {
		return s
	}
	return n[0:3] + "-" + n[3:6] + "-" + n[6:8] + "-" + n[8:10]
}
