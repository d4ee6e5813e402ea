package ksef

import (
	"errors"
	"strings"
	"testing"

	"github.com/ksefpl/ksefpl/pkg/failure"
)

func TestParseToken(t *testing.T) {
	secret := strings.Repeat("9f", 32)
	ti, err := ParseToken("20251010-EC-1DCE3E3000-12ECB5B36E-45|nip-7497725064|" + secret)
	if err != nil {
		t.Fatal(err)
	}
	if ti.Reference != "20251010-EC-1DCE3E3000-12ECB5B36E-45" || ti.ContextType != "Nip" || ti.ContextValue != "7497725064" {
		t.Errorf("%+v", ti)
	}
	ti, err = ParseToken("20251010-EC-1DCE3E3000-12ECB5B36E-45|internalId-5265877635-12345|" + secret)
	if err != nil {
		t.Fatal(err)
	}
	if ti.ContextType != "InternalId" || ti.ContextValue != "5265877635-12345" {
		t.Errorf("%+v", ti)
	}
}

func TestParseTokenRejectsWithoutLeaking(t *testing.T) {
	secret := strings.Repeat("ab", 32)
	for name, tok := range map[string]string{
		"KSeF 1.0 token":  strings.Repeat("C0FFEE", 10),
		"short reference": "20251010-EC|nip-7497725064|" + secret,
		"no context type": "20251010-EC-1DCE3E3000-12ECB5B36E-45|7497725064|" + secret,
		"unknown context": "20251010-EC-1DCE3E3000-12ECB5B36E-45|pesel-80010112345|" + secret,
		"short secret":    "20251010-EC-1DCE3E3000-12ECB5B36E-45|nip-7497725064|abcd",
		"non-hex secret":  "20251010-EC-1DCE3E3000-12ECB5B36E-45|nip-7497725064|" + strings.Repeat("zz", 32),
		"empty":           "",
	} {
		_, err := ParseToken(tok)
		var fe *TokenFormatError
		if !errors.As(err, &fe) {
			t.Errorf("%s: got %v", name, err)
			continue
		}
		if failure.Of(err) != failure.Invalid {
			t.Errorf("%s: class %v", name, failure.Of(err))
		}
		if tok != "" && strings.Contains(err.Error(), tok) {
			t.Errorf("%s: error leaks the token", name)
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("%s: error leaks the secret", name)
		}
	}
}

func TestTokenFingerprint(t *testing.T) {
	// SHA-256("abc") in hex (FIPS 180-2).
	if got := TokenFingerprint("abc"); got != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Errorf("fingerprint = %s", got)
	}
}
