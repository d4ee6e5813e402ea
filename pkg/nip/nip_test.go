package nip_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/ksefpl/ksefpl/pkg/nip"
)

func TestNormalize(t *testing.T) {
	tests := []struct{ in, want string }{
		{"5261040828", "5261040828"},
		{"526-104-08-28", "5261040828"},
		{"PL 526 104 08 28", "5261040828"},
		{"pl5261040828", "5261040828"},
		{"PL526.104.08.28", "5261040828"},
		{" 526\t104\u00a008\u201328 ", "5261040828"}, // tab, no-break space, en dash
		{"PLPL5261040828", "5261040828"},
		{"DE123456789", "DE123456789"},
		{"", ""},
		{"PL-526-104-08-28", "5261040828"},
		// A leading or trailing dash is not a separator: the value stays invalid.
		{"-5261040828", "-5261040828"},
		{"5261040828-", "5261040828-"},
		{" -526 104 08 28", "-526 104 08 28"},
	}
	for _, tt := range tests {
		if got := nip.Normalize(tt.in); got != tt.want {
			t.Errorf("Normalize(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		want     string     // normalised NIP when valid
		reason   nip.Reason // 0 when valid
		msgParts []string   // substrings the error message must contain
	}{
		{name: "bare", in: "5261040828", want: "5261040828"},
		{name: "dashes", in: "526-104-08-28", want: "5261040828"},
		{name: "PL prefix and spaces", in: "PL 526 104 08 28", want: "5261040828"},
		{name: "repdigit passes checksum and pattern", in: "1111111111", want: "1111111111"},
		{name: "wrong check digit", in: "5261040827", reason: nip.ReasonChecksum,
			msgParts: []string{"NIP 5261040827", "checksum digit is 7, expected 8"}},
		{name: "remainder 10 (1234567890)", in: "1234567890", reason: nip.ReasonChecksum,
			msgParts: []string{"NIP 1234567890", "remainder 10"}},
		{name: "too short", in: "526104082", reason: nip.ReasonLength,
			msgParts: []string{"NIP must have 10 digits, got 9", "526104082"}},
		{name: "too long", in: "52610408281", reason: nip.ReasonLength,
			msgParts: []string{"NIP must have 10 digits, got 11"}},
		{name: "empty", in: "  ", reason: nip.ReasonLength, msgParts: []string{"NIP is empty"}},
		{name: "letter O for zero", in: "5261O40828", reason: nip.ReasonNonDigit,
			msgParts: []string{`'O' at position 5`}},
		{name: "foreign VAT number", in: "DE123456789", reason: nip.ReasonNonDigit,
			msgParts: []string{`'D' at position 1`}},
		{name: "all zeros passes checksum but not the schema", in: "0000000000", reason: nip.ReasonPattern,
			msgParts: []string{"NIP 0000000000", "cannot start with 0"}},
		{name: "second and third digit zero", in: "1000000006", reason: nip.ReasonPattern,
			msgParts: []string{"second and third"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := nip.Parse(tt.in)
			if tt.reason == 0 {
				if err != nil {
					t.Fatalf("Parse(%q) error: %v", tt.in, err)
				}
				if got != tt.want {
					t.Fatalf("Parse(%q) = %q, want %q", tt.in, got, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("Parse(%q) = %q, want error with reason %v", tt.in, got, tt.reason)
			}
			if got != "" {
				t.Errorf("Parse(%q) returned %q alongside an error", tt.in, got)
			}
			var e *nip.Error
			if !errors.As(err, &e) {
				t.Fatalf("Parse(%q) error %T is not *nip.Error", tt.in, err)
			}
			if e.Reason != tt.reason {
				t.Errorf("Reason = %s, want %s (%v)", e.Reason.String(), tt.reason.String(), err)
			}
			if e.Input != nip.Normalize(tt.in) {
				t.Errorf("Input = %q, want the normalised input %q", e.Input, nip.Normalize(tt.in))
			}
			if !errors.Is(err, tt.reason) {
				t.Errorf("errors.Is(err, %v) = false", tt.reason)
			}
			if r, ok := nip.ReasonOf(err); !ok || r != tt.reason {
				t.Errorf("ReasonOf = %s, %v; want %s, true", r.String(), ok, tt.reason.String())
			}
			for _, p := range tt.msgParts {
				if !strings.Contains(err.Error(), p) {
					t.Errorf("message %q does not contain %q", err.Error(), p)
				}
			}
		})
	}
}

func TestChecksumErrorExpectedDigit(t *testing.T) {
	// Every wrong last digit of a valid NIP must report the real check digit.
	const valid = "5261040828"
	for d := '0'; d <= '9'; d++ {
		s := valid[:9] + string(d)
		err := nip.Validate(s)
		if s == valid {
			if err != nil {
				t.Fatalf("Validate(%s): %v", s, err)
			}
			continue
		}
		var e *nip.Error
		if !errors.As(err, &e) || e.Reason != nip.ReasonChecksum {
			t.Fatalf("Validate(%s) = %v, want checksum error", s, err)
		}
		if e.Expected != int(valid[9]-'0') {
			t.Errorf("Validate(%s).Expected = %d, want %c", s, e.Expected, valid[9])
		}
	}
	var e *nip.Error
	if !errors.As(nip.Validate("1234567890"), &e) || e.Expected != -1 {
		t.Errorf("remainder-10 case: want Expected -1, got %+v", e)
	}
}

func TestReasonsAreDistinct(t *testing.T) {
	err := nip.Validate("0000000000")
	for _, r := range []nip.Reason{nip.ReasonLength, nip.ReasonNonDigit, nip.ReasonChecksum} {
		if errors.Is(err, r) {
			t.Errorf("pattern error also matches %v", r)
		}
	}
	if _, ok := nip.ReasonOf(errors.New("other")); ok {
		t.Error("ReasonOf reported a reason for a non-NIP error")
	}
}

func TestValidatePattern(t *testing.T) {
	if err := nip.ValidatePattern("1234567890"); err != nil {
		t.Errorf("ValidatePattern(1234567890) = %v; the schema does not check the check digit", err)
	}
	if !errors.Is(nip.ValidatePattern("0123456789"), nip.ReasonPattern) {
		t.Error("ValidatePattern(0123456789) should fail the pattern")
	}
	if !errors.Is(nip.ValidatePattern("123"), nip.ReasonLength) {
		t.Error("ValidatePattern(123) should fail on length")
	}
	if !errors.Is(nip.ValidatePattern("12345x7890"), nip.ReasonNonDigit) {
		t.Error("ValidatePattern(12345x7890) should fail on a non-digit")
	}
}

func TestFormat(t *testing.T) {
	tests := []struct{ in, want string }{
		{"5261040828", "526-104-08-28"},
		{"PL 5261040828", "526-104-08-28"},
		{"526-104-08-28", "526-104-08-28"},
		{"12345", "12345"},
		{"DE123456789", "DE123456789"},
	}
	for _, tt := range tests {
		if got := nip.Format(tt.in); got != tt.want {
			t.Errorf("Format(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestErrorMessageQuotesControlCharacters(t *testing.T) {
	err := nip.Validate("12\x1b[2J")
	if err == nil || strings.Contains(err.Error(), "\x1b") {
		t.Fatalf("message must not carry raw control characters: %q", err)
	}
	long := strings.Repeat("9", 500)
	err = nip.Validate(long)
	if err == nil || len(err.Error()) > 200 {
		t.Fatalf("message for a 500-digit input should be truncated, got %d bytes", len(err.Error()))
	}
}
