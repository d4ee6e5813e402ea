package ksef

import (
	"errors"
	"testing"
	"time"

	"github.com/ksefpl/ksefpl/pkg/failure"
)

func TestValidateKSeFNumberDocumented(t *testing.T) {
	for _, n := range []string{
		"5265877635-20250826-0100001AF629-AF", // faktury/numer-ksef.md
		"5265877635-20250626-010080DD2B5E-26",
		"7335255579-20251120-0100605F504B-2F",
		"7781464139-20230721-80B510-9675F7-B5", // 36-char KSeF 1.0, no CRC rule
	} {
		if err := ValidateKSeFNumber(n); err != nil {
			t.Errorf("%s: %v", n, err)
		}
	}
}

func TestValidateKSeFNumberRejects(t *testing.T) {
	cases := map[string]string{
		"mutated technical part": "5265877635-20250826-0100001AF628-AF",
		"wrong checksum":         "9999999999-20251120-0E00E071034B-CF",
		"lower-case hex":         "5265877635-20250826-0100001af629-AF",
		"too short":              "5265877635-20250826-0100001AF629",
		"bad date":               "5265877635-20251326-0100001AF629-AF",
		"letters in NIP":         "52658776X5-20250826-0100001AF629-AF",
	}
	for name, n := range cases {
		err := ValidateKSeFNumber(n)
		var ke *KSeFNumberError
		if !errors.As(err, &ke) {
			t.Errorf("%s (%s): got %v, want KSeFNumberError", name, n, err)
			continue
		}
		if failure.Of(err) != failure.Invalid {
			t.Errorf("%s: class %v", name, failure.Of(err))
		}
	}
}

func TestNewKSeFNumberComputesChecksum(t *testing.T) {
	d := time.Date(2025, 8, 26, 0, 0, 0, 0, time.UTC)
	if got := NewKSeFNumber("5265877635", d, "0100001af629"); got != "5265877635-20250826-0100001AF629-AF" {
		t.Errorf("NewKSeFNumber = %s, want the documented example", got)
	}
	for i := 0; i < 50; i++ {
		n := NewKSeFNumber("1111111111", d.AddDate(0, 0, i), "ABCDEF0123"+string("0123456789ABCDEF"[i%16])+"0")
		if err := ValidateKSeFNumber(n); err != nil {
			t.Fatalf("generated %s does not validate: %v", n, err)
		}
	}
}
