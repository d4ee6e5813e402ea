package nip_test

import (
	"errors"
	"regexp"
	"testing"

	"github.com/ksefpl/ksefpl/pkg/nip"
)

// schemaPattern is etd:TNrNIP's pattern, anchored as XSD patterns implicitly are.
var schemaPattern = regexp.MustCompile(`^[1-9]((\d[1-9])|([1-9]\d))\d{7}$`)

// checksumHolds recomputes the check digit independently of the package.
func checksumHolds(s string) bool {
	w := []int{6, 5, 7, 2, 3, 4, 5, 6, 7}
	sum := 0
	for i := range 9 {
		sum += w[i] * int(s[i]-'0')
	}
	return sum%11 != 10 && sum%11 == int(s[9]-'0')
}

func FuzzNormalizeValidate(f *testing.F) {
	for _, s := range []string{
		"5261040828", "526-104-08-28", "PL 526 104 08 28", "pl5261040828",
		"1234567890", "0000000000", "1000000001", "526104082", "5261O40828",
		"PLPL", "", "ß", "\u00a0PL\u2013", "\xff\xfe", "PL\x00",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := nip.Normalize(s)
		if again := nip.Normalize(n); again != n {
			t.Fatalf("Normalize not idempotent: %q -> %q -> %q", s, n, again)
		}
		err := nip.Validate(n)
		if err != nil {
			var e *nip.Error
			if !errors.As(err, &e) {
				t.Fatalf("Validate(%q) returned %T, want *nip.Error", n, err)
			}
			if e.Reason < nip.ReasonLength || e.Reason > nip.ReasonPattern {
				t.Fatalf("Validate(%q) returned unknown reason %d", n, e.Reason)
			}
			if e.Error() == "" {
				t.Fatalf("Validate(%q) returned an empty message", n)
			}
			return
		}
		if !schemaPattern.MatchString(n) {
			t.Fatalf("Validate accepted %q, which fails the schema pattern", n)
		}
		if !checksumHolds(n) {
			t.Fatalf("Validate accepted %q, whose checksum does not hold", n)
		}
		formatted := nip.Format(n)
		if len(formatted) != 13 {
			t.Fatalf("Format(%q) = %q, want XXX-XXX-XX-XX", n, formatted)
		}
		if back := nip.Normalize(formatted); back != n {
			t.Fatalf("Normalize(Format(%q)) = %q", n, back)
		}
		if p, err := nip.Parse(s); err != nil || p != n {
			t.Fatalf("Parse(%q) = %q, %v; want %q", s, p, err, n)
		}
	})
}
