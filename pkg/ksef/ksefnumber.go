package ksef

import (
	"fmt"
	"strings"
	"time"

	"github.com/ksefpl/ksefpl/pkg/failure"
)

// KSeFNumberError explains why a KSeF number is invalid.
type KSeFNumberError struct {
	Number string
	Reason string
}

// Class is failure.Invalid.
func (e *KSeFNumberError) Class() failure.Class { return failure.Invalid }

// Error describes the failure and what to do about it.
func (e *KSeFNumberError) Error() string {
	return fmt.Sprintf("invalid KSeF number %q: %s", e.Number, e.Reason)
}

// ValidateKSeFNumber checks a KSeF invoice number. KSeF 2.0 numbers have 35
// characters NNNNNNNNNN-YYYYMMDD-XXXXXXXXXXXX-CC, where CC is the CRC-8 (poly
// 0x07, init 0x00) of the first 32 characters in upper-case hex. 36-character
// KSeF 1.0 numbers (NNNNNNNNNN-YYYYMMDD-XXXXXX-XXXXXX-CC) are accepted on their
// format alone: the CRC rule does not apply to them.
func ValidateKSeFNumber(s string) error {
	bad := func(r string) error { return &KSeFNumberError{Number: s, Reason: r} }
	switch len(s) {
	case 35:
		if s[10] != '-' || s[19] != '-' || s[32] != '-' {
			return bad("expected the form NIP-YYYYMMDD-XXXXXXXXXXXX-CC")
		}
		if err := checkNumberHead(s); err != "" {
			return bad(err)
		}
		if !isUpperHex(s[20:32]) || !isUpperHex(s[33:35]) {
			return bad("the technical part and checksum must be upper-case hex (0-9, A-F)")
		}
		if want := KSeFNumberChecksum(s[:32]); want != s[33:] {
			return bad(fmt.Sprintf("checksum %s does not match (expected %s); the number was mistyped or altered", s[33:], want))
		}
		return nil
	case 36:
		if s[10] != '-' || s[19] != '-' || s[26] != '-' || s[33] != '-' {
			return bad("expected the KSeF 1.0 form NIP-YYYYMMDD-XXXXXX-XXXXXX-CC")
		}
		if err := checkNumberHead(s); err != "" {
			return bad(err)
		}
		if !isUpperHex(s[20:26]) || !isUpperHex(s[27:33]) || !isUpperHex(s[34:36]) {
			return bad("the technical part and checksum must be upper-case hex (0-9, A-F)")
		}
		return nil
	}
	return bad(fmt.Sprintf("must have 35 characters (KSeF 2.0) or 36 (KSeF 1.0), got %d", len(s)))
}

func checkNumberHead(s string) string {
	for i := 0; i < 10; i++ {
		if s[i] < '0' || s[i] > '9' {
			return "the first 10 characters must be the seller's NIP"
		}
	}
	if _, err := time.Parse("20060102", s[11:19]); err != nil {
		return "characters 12-19 must be a date YYYYMMDD"
	}
	return ""
}

func isUpperHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'A' || c > 'F') {
			return false
		}
	}
	return true
}

// KSeFNumberChecksum returns the two upper-case hex digits of CRC-8 (poly
// 0x07, init 0x00, no reflection, no final XOR) over data.
func KSeFNumberChecksum(data string) string {
	var crc byte
	for i := 0; i < len(data); i++ {
		crc ^= data[i]
		for b := 0; b < 8; b++ {
			if crc&0x80 != 0 {
				crc = crc<<1 ^ 0x07
			} else {
				crc <<= 1
			}
		}
	}
	return fmt.Sprintf("%02X", crc)
}

// NewKSeFNumber builds a 35-character KSeF number from the seller's NIP, the
// acceptance date and 12 hex characters of technical part, computing the
// checksum. random12hex is upper-cased; callers pass exactly 12 hex digits.
func NewKSeFNumber(nip string, date time.Time, random12hex string) string {
	head := nip + "-" + date.Format("20060102") + "-" + strings.ToUpper(random12hex)
	return head + "-" + KSeFNumberChecksum(head)
}
