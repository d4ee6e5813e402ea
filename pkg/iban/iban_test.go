package iban

import (
	"errors"
	"testing"
)

func TestValidate(t *testing.T) {
	for _, c := range []struct {
		in   string
		want string // normalised, "" when invalid
	}{
		{"PL61 1090 1014 0000 0712 1981 2874", "PL61109010140000071219812874"},
		{"61109010140000071219812874", "PL61109010140000071219812874"}, // NRB
		{"de89 3704 0044 0532 0130 00", "DE89370400440532013000"},
		{"GB82 WEST 1234 5698 7654 32", "GB82WEST12345698765432"},
		{"PL61 1090 1014 0000 0712 1981 2875", ""}, // one digit off
		{"PL16 1090 1014 0000 0712 1981 2874", ""}, // check digits swapped
		{"PL61 1090 1014 0000 0712 1981 287", ""},  // too short for PL
		{"XX00 1234", ""},
		{"", ""},
	} {
		got, err := Parse(c.in)
		if c.want == "" {
			if err == nil || !errors.Is(err, ErrInvalid) {
				t.Errorf("Parse(%q) = %q, %v; want an invalid-IBAN error", c.in, got, err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("Parse(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

func TestValidateSWIFT(t *testing.T) {
	for in, ok := range map[string]bool{"BPKOPLPW": true, "bpkoplpwxxx": true, "BPKOPL": false, "12KOPLPW": false, "BPKOPLP!": false} {
		if err := ValidateSWIFT(in); (err == nil) != ok {
			t.Errorf("ValidateSWIFT(%q) = %v, want ok %v", in, err, ok)
		}
	}
}
