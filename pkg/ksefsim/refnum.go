package ksefsim

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// Reference-number infixes (research §2.2): the two letters after the date say
// what kind of object the number names.
const (
	infixChallenge = "CR" // authentication challenge
	infixAuth      = "AU" // authentication operation
	infixToken     = "EC" // KSeF token
	infixOnline    = "SO" // online (interactive) session
	infixBatch     = "SB" // batch session
	infixInvoice   = "EE" // invoice inside a session
	infixUPO       = "EU" // UPO page
	infixLegacy    = "SE" // KSeF 1.0 session
	infixEnroll    = "EH" // certificate enrolment (open-api EnrollCertificateResponse example)
	infixExport    = "EH" // invoice export (open-api ExportInvoicesResponse example)
)

// newRefNumber builds a 36-character reference number
// `YYYYMMDD-XX-TTTTTTTTTT-RRRRRRRRRR-CC`.
//
// The official examples (open-api.json: 20250514-CR-226FB7B000-3ACF9BE4C0-10,
// 20250514-AU-2DFC46C000-3AC6D5877F-D4, 20250625-SO-2C3E6C8000-B675CF5D68-07,
// 20251010-EC-1DCE3E3000-12ECB5B36E-45) end in the CRC-8 (polynomial 0x07, init 0)
// of the first 33 characters (everything before the last hyphen), written as two upper-case hex
// digits; the simulator computes the same check. The first hex group looks like a
// time of day in 100 ns ticks with the low 12 bits cleared, the second like random
// data; the simulator generates them that way.
func newRefNumber(now time.Time, infix string) string {
	now = now.UTC()
	midnight := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	ticks := uint64(now.Sub(midnight)/100) &^ 0xFFF
	var rnd [5]byte
	_, _ = rand.Read(rnd[:])
	body := fmt.Sprintf("%s-%s-%010X-%s", now.Format("20060102"), infix, ticks, strings.ToUpper(hex.EncodeToString(rnd[:])))
	return fmt.Sprintf("%s-%02X", body, crc8([]byte(body)))
}

// validRefNumber reports whether s has the reference-number shape and a correct check.
func validRefNumber(s string) bool {
	if len(s) != 36 || s[8] != '-' || s[11] != '-' || s[22] != '-' || s[33] != '-' {
		return false
	}
	return fmt.Sprintf("%02X", crc8([]byte(s[:33]))) == s[34:]
}

// crc8 is CRC-8 with polynomial 0x07, initial value 0, no reflection and no final
// XOR: the check used by KSeF numbers (faktury/numer-ksef.md) and reference numbers.
func crc8(b []byte) byte {
	var c byte
	for _, x := range b {
		c ^= x
		for i := 0; i < 8; i++ {
			if c&0x80 != 0 {
				c = c<<1 ^ 0x07
			} else {
				c <<= 1
			}
		}
	}
	return c
}
