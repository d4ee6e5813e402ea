// Package iban owns bank account numbers: it normalises an IBAN (spaces removed, upper
// case; a bare 26-digit Polish NRB gets its PL prefix) and validates it — the country's
// length and the ISO 13616 mod-97 checksum — and checks SWIFT/BIC codes.
package iban

import (
	"errors"
	"fmt"
	"math/big"
	"strings"

	"github.com/ksefpl/ksefpl/pkg/failure"
)

// lengths are the IBAN lengths of the SEPA countries and a few others shops meet (ISO
// 13616 registry).
var lengths = map[string]int{
	"AD": 24, "AE": 23, "AL": 28, "AT": 20, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BR": 29, "CH": 21, "CY": 28,
	"CZ": 24, "DE": 22, "DK": 18, "EE": 20, "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23,
	"GL": 18, "GR": 27, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IS": 26, "IT": 27, "KW": 30, "KZ": 20, "LB": 28,
	"LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MT": 31, "MU": 30, "NL": 18,
	"NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24, "SE": 24, "SI": 19,
	"SK": 24, "SM": 27, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "XK": 20,
}

// Error says why an account number or SWIFT code is not valid.
type Error struct {
	Value  string
	Reason string
}

func (e *Error) Error() string { return fmt.Sprintf("%q is not a valid %s", e.Value, e.Reason) }

// Class is failure.Invalid.
func (e *Error) Class() failure.Class { return failure.Invalid }

// ErrInvalid matches every *Error with errors.Is.
var ErrInvalid = errors.New("invalid bank account")

// Is lets errors.Is(err, ErrInvalid) match.
func (e *Error) Is(target error) bool { return target == ErrInvalid }

// Normalize removes spaces and dashes and upper-cases; 26 digits alone (a Polish NRB)
// get the PL prefix.
func Normalize(s string) string {
	s = strings.ToUpper(strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || r == '\u00a0' {
			return -1 // separators of printed account numbers
		}
		return r
	}, strings.TrimSpace(s)))
	if len(s) == 26 && isDigits(s) {
		s = "PL" + s
	}
	return s
}

// Validate checks a normalised IBAN: country code, the country's length, digits and
// letters only, and the mod-97 checksum.
func Validate(s string) error {
	bad := func(why string) error { return &Error{Value: s, Reason: "IBAN: " + why} }
	if len(s) < 5 {
		return bad("too short")
	}
	country := s[:2]
	if country[0] < 'A' || country[0] > 'Z' || country[1] < 'A' || country[1] > 'Z' || !isDigits(s[2:4]) {
		return bad("it must start with a country code and two check digits, e.g. PL61 1090 1014 0000 0712 1981 2874")
	}
	want, ok := lengths[country]
	switch {
	case !ok:
		return bad("unknown IBAN country " + country)
	case len(s) != want:
		return bad(fmt.Sprintf("an IBAN of %s has %d characters, this one %d", country, want, len(s)))
	}
	var digits strings.Builder
	for _, r := range s[4:] + s[:4] {
		switch {
		case r >= '0' && r <= '9':
			digits.WriteRune(r)
		case r >= 'A' && r <= 'Z':
			fmt.Fprintf(&digits, "%d", r-'A'+10)
		default:
			return bad(fmt.Sprintf("character %q is not a letter or digit", r))
		}
	}
	n, _ := new(big.Int).SetString(digits.String(), 10)
	if new(big.Int).Mod(n, big.NewInt(97)).Int64() != 1 {
		return bad("the check digits do not match (mod 97): a digit is wrong or two are swapped")
	}
	return nil
}

// Parse normalises and validates an IBAN.
func Parse(s string) (string, error) {
	n := Normalize(s)
	return n, Validate(n)
}

// ValidateSWIFT checks a SWIFT/BIC code: 8 or 11 characters, bank code letters, country
// letters, location and branch letters or digits.
func ValidateSWIFT(s string) error {
	s = strings.ToUpper(strings.TrimSpace(s))
	bad := &Error{Value: s, Reason: "SWIFT/BIC code (8 or 11 characters, e.g. BPKOPLPW)"}
	if len(s) != 8 && len(s) != 11 {
		return bad
	}
	for i, r := range s {
		letter := r >= 'A' && r <= 'Z'
		digit := r >= '0' && r <= '9'
		if (i < 6 && !letter) || (i >= 6 && !letter && !digit) {
			return bad
		}
	}
	return nil
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}
