package kcert

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/youmark/pkcs8"
)

const (
	secretPassword = "Tajne-Hasło-42!"
	wrongPassword  = "Zle-Haslo-7x"
)

func sameMaterial(t *testing.T, got, want *Material) {
	t.Helper()
	if !bytes.Equal(got.Cert.Raw, want.Cert.Raw) {
		t.Fatalf("certificate differs: got %s, want %s", got.Cert.Subject, want.Cert.Subject)
	}
	if len(got.Chain) != len(want.Chain) {
		t.Fatalf("chain: got %d certificates, want %d", len(got.Chain), len(want.Chain))
	}
	for i := range want.Chain {
		if !bytes.Equal(got.Chain[i].Raw, want.Chain[i].Raw) {
			t.Fatalf("chain[%d] differs", i)
		}
	}
	if err := got.KeyMatches(); err != nil {
		t.Fatal(err)
	}
	if !publicKeysEqual(got.Key.Public(), want.Key.Public()) {
		t.Fatal("key differs")
	}
}

// noSecret fails when an error message contains the password or key bytes.
func noSecret(t *testing.T, err error, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if s != "" && strings.Contains(err.Error(), s) {
			t.Fatalf("error message %q contains a secret", err)
		}
	}
}

func TestPKCS12RoundTrip(t *testing.T) {
	_, seal, personal := fixtures(t)
	for _, m := range []*Material{seal, personal} {
		pfx, err := EncodePKCS12(m, secretPassword)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ParsePKCS12(pfx, secretPassword)
		if err != nil {
			t.Fatal(err)
		}
		sameMaterial(t, got, m)

		_, err = ParsePKCS12(pfx, wrongPassword)
		var pe *PasswordError
		if !errors.As(err, &pe) || pe.Missing {
			t.Fatalf("wrong password: got %v, want a *PasswordError (not missing)", err)
		}
		noSecret(t, err, secretPassword, wrongPassword)
		_, err = ParsePKCS12(pfx, "")
		if !errors.As(err, &pe) || !pe.Missing {
			t.Fatalf("no password: got %v, want a *PasswordError (missing)", err)
		}
	}
}

func TestPKCS12OpenedByOpenSSL(t *testing.T) {
	_, seal, _ := fixtures(t)
	dir := t.TempDir()
	pfx, err := EncodePKCS12(seal, secretPassword)
	if err != nil {
		t.Fatal(err)
	}
	p := writeFile(t, dir, "f.p12", pfx)
	out := openssl(t, "pkcs12", "-in", p, "-passin", "pass:"+secretPassword, "-nodes")
	if !strings.Contains(out, "BEGIN CERTIFICATE") || !strings.Contains(out, "BEGIN PRIVATE KEY") {
		t.Fatalf("openssl output lacks the certificate or the key:\n%s", out)
	}
	// openssl prints "Bag Attributes" lines between the blocks; the PEM
	// reader must skip them, and the key openssl decrypted must be ours.
	got, err := ParsePEM([]byte(out), []byte(out), "")
	if err != nil {
		t.Fatal(err)
	}
	sameMaterial(t, got, seal)

	if out, err := opensslErr(t, "pkcs12", "-in", p, "-passin", "pass:"+wrongPassword, "-nodes"); err == nil {
		t.Fatalf("openssl accepted a wrong password:\n%s", out)
	}
}

func TestPKCS12FromOpenSSL(t *testing.T) {
	ca, seal, personal := fixtures(t)
	dir := t.TempDir()
	for _, m := range []*Material{seal, personal} {
		_, keyPEM, err := EncodePEM(m)
		if err != nil {
			t.Fatal(err)
		}
		// Only the leaf in -in; the chain (if any) through -certfile.
		leaf := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: m.Cert.Raw})
		certFile := writeFile(t, dir, "cert.pem", leaf)
		keyFile := writeFile(t, dir, "key.pem", keyPEM)
		base := []string{"pkcs12", "-export", "-in", certFile, "-inkey", keyFile, "-passout", "pass:" + secretPassword}
		if len(m.Chain) > 0 {
			base = append(base, "-certfile", writeFile(t, dir, "chain.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Cert.Raw})))
		}
		variants := []struct {
			name     string
			args     []string
			optional bool
		}{
			{"modern default (AES-256, SHA-256 MAC)", nil, false},
			{"3DES with SHA-1 MAC", []string{"-keypbe", "PBE-SHA1-3DES", "-certpbe", "PBE-SHA1-3DES", "-macalg", "sha1"}, false},
			{"-legacy (RC2-40 certificates, 3DES key)", []string{"-legacy"}, true},
		}
		for _, v := range variants {
			t.Run(describeKey(m.Key.Public())+" "+v.name, func(t *testing.T) {
				out := writeFile(t, dir, "o.p12", nil)
				args := append(append(append([]string{}, base...), "-out", out), v.args...)
				if msg, err := opensslErr(t, args...); err != nil {
					if v.optional {
						t.Skipf("openssl %s is not available here: %v\n%s", v.name, err, msg)
					}
					t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, msg)
				}
				got, err := ParsePKCS12(readFile(t, out), secretPassword)
				if err != nil {
					t.Fatal(err)
				}
				sameMaterial(t, got, m)
				_, err = ParsePKCS12(readFile(t, out), wrongPassword)
				var pe *PasswordError
				if !errors.As(err, &pe) {
					t.Fatalf("wrong password: got %v, want *PasswordError", err)
				}
			})
		}
	}
}

func TestParsePEMEncryptedPKCS8(t *testing.T) {
	_, seal, personal := fixtures(t)
	dir := t.TempDir()
	for _, m := range []*Material{seal, personal} {
		certPEM, keyPEM, err := EncodePEM(m)
		if err != nil {
			t.Fatal(err)
		}
		der, _ := pem.Decode(keyPEM)
		// Encrypted by youmark/pkcs8 (AES-256-CBC, PBKDF2) and, independently, by openssl.
		enc, err := pkcs8.MarshalPrivateKey(m.Key, []byte(secretPassword), nil)
		if err != nil {
			t.Fatal(err)
		}
		goEnc := pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: enc})
		keyFile := writeFile(t, dir, "k.pem", keyPEM)
		osslEnc := []byte(openssl(t, "pkcs8", "-topk8", "-v2", "aes-256-cbc", "-in", keyFile, "-passout", "pass:"+secretPassword))
		osslScrypt := []byte(openssl(t, "pkcs8", "-topk8", "-scrypt", "-in", keyFile, "-passout", "pass:"+secretPassword))
		for name, encPEM := range map[string][]byte{"go": goEnc, "openssl": osslEnc, "openssl-scrypt": osslScrypt} {
			t.Run(describeKey(m.Key.Public())+" "+name, func(t *testing.T) {
				if !bytes.Contains(encPEM, []byte("ENCRYPTED PRIVATE KEY")) {
					t.Fatalf("not an encrypted key:\n%s", encPEM)
				}
				got, err := ParsePEM(certPEM, encPEM, secretPassword)
				if err != nil {
					t.Fatal(err)
				}
				sameMaterial(t, got, m)

				keyB64 := base64.StdEncoding.EncodeToString(der.Bytes)[:24]
				_, err = ParsePEM(certPEM, encPEM, wrongPassword)
				var pe *PasswordError
				if !errors.As(err, &pe) || pe.Missing {
					t.Fatalf("wrong password: got %v, want *PasswordError", err)
				}
				noSecret(t, err, secretPassword, wrongPassword, keyB64)
				if strings.Contains(strings.ToLower(err.Error()), "hasło") {
					t.Fatalf("message %q names the password", err)
				}

				_, err = ParsePEM(certPEM, encPEM, "")
				if !errors.As(err, &pe) || !pe.Missing {
					t.Fatalf("no password: got %v, want *PasswordError{Missing}", err)
				}
			})
		}
	}
}

func TestParsePEMKeyFormats(t *testing.T) {
	_, seal, personal := fixtures(t)
	certSeal, _, _ := EncodePEM(seal)
	certPers, _, _ := EncodePEM(personal)

	ecDER, err := x509.MarshalECPrivateKey(seal.Key.(*ecdsa.PrivateKey))
	if err != nil {
		t.Fatal(err)
	}
	sec1 := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: ecDER})
	// openssl ecparam -genkey writes EC PARAMETERS before the key.
	sec1WithParams := append(pem.EncodeToMemory(&pem.Block{Type: "EC PARAMETERS", Bytes: []byte{0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07}}), sec1...)
	pkcs1 := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(personal.Key.(*rsa.PrivateKey))})

	for name, tc := range map[string]struct {
		cert, key []byte
		want      *Material
	}{
		"SEC1":             {certSeal, sec1, seal},
		"SEC1+EC PARAMS":   {certSeal, sec1WithParams, seal},
		"PKCS1":            {certPers, pkcs1, personal},
		"key in cert file": {append(append([]byte{}, certPers...), pkcs1...), nil, personal},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := ParsePEM(tc.cert, tc.key, "ignored")
			if err != nil {
				t.Fatal(err)
			}
			sameMaterial(t, got, tc.want)
		})
	}

	// The chain first, the leaf last: the leaf is still found by its key.
	_, keySeal, _ := EncodePEM(seal)
	reversed := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: seal.Chain[0].Raw}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: seal.Cert.Raw})...)
	got, err := ParsePEM(reversed, keySeal, "")
	if err != nil {
		t.Fatal(err)
	}
	sameMaterial(t, got, seal)

	// DER certificate and DER PKCS#8 key.
	der, _ := MarshalPKCS8(seal.Key)
	got, err = ParsePEM(seal.Cert.Raw, der, "")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Cert.Raw, seal.Cert.Raw) {
		t.Fatal("DER certificate not read")
	}
}

func TestParsePEMLegacyEncryptionRefused(t *testing.T) {
	_, _, personal := fixtures(t)
	certPEM, keyPEM, _ := EncodePEM(personal)
	keyFile := writeFile(t, t.TempDir(), "k.pem", keyPEM)
	legacy := []byte(openssl(t, "rsa", "-in", keyFile, "-aes256", "-traditional", "-passout", "pass:"+secretPassword))
	if !bytes.Contains(legacy, []byte("Proc-Type: 4,ENCRYPTED")) {
		t.Fatalf("openssl did not write a legacy encrypted key:\n%s", legacy)
	}
	_, err := ParsePEM(certPEM, legacy, secretPassword)
	if !errors.Is(err, ErrLegacyPEMEncryption) {
		t.Fatalf("got %v, want ErrLegacyPEMEncryption", err)
	}
	noSecret(t, err, secretPassword)
}

func TestParseBundle(t *testing.T) {
	_, seal, _ := fixtures(t)
	certPEM, keyPEM, err := EncodePEM(seal)
	if err != nil {
		t.Fatal(err)
	}
	bundle := append(append([]byte{}, certPEM...), keyPEM...)
	got, err := ParseBundle(bundle)
	if err != nil {
		t.Fatal(err)
	}
	sameMaterial(t, got, seal)

	// Key first, then certificates; and line breaks escaped as in an env var.
	keyFirst := append(append([]byte{}, keyPEM...), certPEM...)
	escaped := bytes.ReplaceAll(bytes.TrimSpace(keyFirst), []byte("\n"), []byte(`\n`))
	for name, b := range map[string][]byte{"key first": keyFirst, "escaped": escaped} {
		got, err := ParseBundle(b)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		sameMaterial(t, got, seal)
	}

	enc, err := pkcs8.MarshalPrivateKey(seal.Key, []byte(secretPassword), nil)
	if err != nil {
		t.Fatal(err)
	}
	encBundle := append(append([]byte{}, certPEM...), pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: enc})...)
	if _, err := ParseBundle(encBundle); err == nil || !strings.Contains(err.Error(), "encrypted") {
		t.Fatalf("encrypted key in bundle: got %v", err)
	}
	if _, err := ParseBundle(certPEM); err == nil {
		t.Fatal("a bundle without a key was accepted")
	}
	if _, err := ParseBundle(keyPEM); err == nil {
		t.Fatal("a bundle without a certificate was accepted")
	}
	if _, err := ParseBundle([]byte("not pem")); err == nil {
		t.Fatal("garbage accepted")
	}
}

func TestKeyMatches(t *testing.T) {
	_, seal, personal := fixtures(t)
	if err := seal.KeyMatches(); err != nil {
		t.Fatal(err)
	}
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	for _, m := range []*Material{
		{Cert: seal.Cert, Key: other},
		{Cert: seal.Cert, Key: personal.Key},
	} {
		if err := m.KeyMatches(); !errors.Is(err, ErrKeyMismatch) {
			t.Fatalf("got %v, want ErrKeyMismatch", err)
		}
		if _, err := EncodePKCS12(m, "x"); !errors.Is(err, ErrKeyMismatch) {
			t.Fatalf("EncodePKCS12 with a wrong key: got %v", err)
		}
	}
	if err := (&Material{Cert: seal.Cert}).KeyMatches(); err == nil {
		t.Fatal("no key accepted")
	}
	if err := (*Material)(nil).KeyMatches(); err == nil {
		t.Fatal("nil material accepted")
	}
	certPEM, _, _ := EncodePEM(seal)
	der, _ := MarshalPKCS8(other)
	wrongKey := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	if _, err := ParsePEM(certPEM, wrongKey, ""); !errors.Is(err, ErrKeyMismatch) {
		t.Fatalf("ParsePEM with a wrong key: got %v", err)
	}
}

func TestPKCS8RoundTrip(t *testing.T) {
	_, seal, personal := fixtures(t)
	for _, m := range []*Material{seal, personal} {
		der, err := MarshalPKCS8(m.Key)
		if err != nil {
			t.Fatal(err)
		}
		k, err := ParsePKCS8(der)
		if err != nil {
			t.Fatal(err)
		}
		if !publicKeysEqual(k.Public(), m.Key.Public()) {
			t.Fatal("key differs after the round trip")
		}
	}
	if _, err := ParsePKCS8([]byte{1, 2, 3}); err == nil {
		t.Fatal("garbage accepted")
	}
}

func TestMaterialStringHidesKey(t *testing.T) {
	_, seal, personal := fixtures(t)
	for _, m := range []*Material{seal, personal} {
		der, _ := MarshalPKCS8(m.Key)
		b64 := base64.StdEncoding.EncodeToString(der)
		var secretNum string
		switch k := m.Key.(type) {
		case *rsa.PrivateKey:
			secretNum = k.Primes[0].String()
		case *ecdsa.PrivateKey:
			kb, err := k.Bytes()
			if err != nil {
				t.Fatal(err)
			}
			secretNum = fmt.Sprintf("%x", kb)
		}
		for _, s := range []string{fmt.Sprint(m), fmt.Sprintf("%+v", m), fmt.Sprintf("%#v", m), fmt.Sprintf("%s", m)} {
			if strings.Contains(s, secretNum) || strings.Contains(s, b64[40:80]) {
				t.Fatalf("String form reveals the key: %s", s)
			}
			if !strings.Contains(s, Fingerprint(m.Cert)) {
				t.Fatalf("String form lacks the fingerprint: %s", s)
			}
		}
	}
}

func TestParsePKCS12Garbage(t *testing.T) {
	_, seal, _ := fixtures(t)
	certPEM, _, _ := EncodePEM(seal)
	if _, err := ParsePKCS12(certPEM, "x"); err == nil || !strings.Contains(err.Error(), "PEM") {
		t.Fatalf("PEM given to ParsePKCS12: got %v", err)
	}
	if _, err := ParsePKCS12([]byte{0x30, 0x03, 0x02, 0x01, 0x03}, secretPassword); err == nil {
		t.Fatal("garbage accepted")
	} else {
		noSecret(t, err, secretPassword)
	}
	// A truncated encrypted PKCS#8 key must not panic (youmark/pkcs8 runs CBC
	// without checking the ciphertext length).
	enc, err := pkcs8.MarshalPrivateKey(seal.Key, []byte(secretPassword), nil)
	if err != nil {
		t.Fatal(err)
	}
	var info struct {
		Algo pkix.AlgorithmIdentifier
		Data []byte
	}
	if _, err := asn1.Unmarshal(enc, &info); err != nil {
		t.Fatal(err)
	}
	info.Data = info.Data[:len(info.Data)-5]
	bad, err := asn1.Marshal(info)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := decryptPKCS8(bad, secretPassword); err == nil {
		t.Fatal("truncated ciphertext accepted")
	} else {
		noSecret(t, err, secretPassword)
	}
}
