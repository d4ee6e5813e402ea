package ksefsim

import (
	"testing"
	"time"
)

func TestReferenceNumberCheckMatchesOfficialExamples(t *testing.T) {
	for _, ref := range []string{
		"20250514-CR-226FB7B000-3ACF9BE4C0-10",
		"20250514-AU-2DFC46C000-3AC6D5877F-D4",
		"20250625-SO-2C3E6C8000-B675CF5D68-07",
		"20251010-EC-1DCE3E3000-12ECB5B36E-45",
	} {
		if !validRefNumber(ref) {
			t.Errorf("official example %s fails the check", ref)
		}
	}
	if validRefNumber("20250514-CR-226FB7B000-3ACF9BE4C0-11") {
		t.Error("a wrong check digit passes")
	}
	ref := newRefNumber(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), infixOnline)
	if !validRefNumber(ref) || ref[:12] != "20260102-SO-" || !refPattern.MatchString(ref) {
		t.Errorf("generated %q", ref)
	}
}

func TestCRC8MatchesKsefNumberExample(t *testing.T) {
	// faktury/numer-ksef.md: 5265877635-20250826-0100001AF629-AF
	if got := crc8([]byte("5265877635-20250826-0100001AF629")); got != 0xAF {
		t.Fatalf("crc8 = %02X, want AF", got)
	}
}
