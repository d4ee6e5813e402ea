package ksef

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"math/big"
	"net/http"
	"testing"
	"time"

	"github.com/ksefpl/ksefpl/pkg/failure"
)

func selfSigned(t *testing.T) (string, *rsa.PrivateKey) {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(der), k
}

func TestSelectPublicKeyPicksLatestValid(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	older, _ := selfSigned(t)
	newer, newerKey := selfSigned(t)
	future, _ := selfSigned(t)
	certs := []PublicKeyCertificate{
		{Certificate: older, PublicKeyID: "old", ValidFrom: now.AddDate(-1, 0, 0), ValidTo: now.AddDate(1, 0, 0), Usage: []string{"KsefTokenEncryption"}},
		{Certificate: newer, ValidFrom: now.AddDate(0, -1, 0), ValidTo: now.AddDate(1, 0, 0), Usage: []string{"KsefTokenEncryption"}},
		{Certificate: future, PublicKeyID: "future", ValidFrom: now.AddDate(0, 1, 0), ValidTo: now.AddDate(2, 0, 0), Usage: []string{"KsefTokenEncryption"}},
		{Certificate: older, PublicKeyID: "sym", ValidFrom: now.AddDate(0, 0, -1), ValidTo: now.AddDate(1, 0, 0), Usage: []string{"SymmetricKeyEncryption"}},
	}
	k, err := SelectPublicKey(certs, UsageKSeFTokenEncryption, now)
	if err != nil {
		t.Fatal(err)
	}
	if k.Key.N.Cmp(newerKey.N) != 0 {
		t.Error("did not pick the currently valid key with the latest validFrom")
	}
	// No publicKeyId in the list: computed as Base64(SHA-256(SPKI DER)).
	spki, _ := x509.MarshalPKIXPublicKey(&newerKey.PublicKey)
	h := sha256.Sum256(spki)
	if k.ID != base64.StdEncoding.EncodeToString(h[:]) {
		t.Errorf("computed publicKeyId %s", k.ID)
	}
	s, err := SelectPublicKey(certs, UsageSymmetricKeyEncryption, now)
	if err != nil || s.ID != "sym" {
		t.Errorf("symmetric key: %+v %v", s, err)
	}
	_, err = SelectPublicKey(certs, UsageSymmetricKeyEncryption, now.AddDate(3, 0, 0))
	var ke *KeyError
	if !errors.As(err, &ke) {
		t.Errorf("expired keys: got %v", err)
	}
	_, err = SelectPublicKey([]PublicKeyCertificate{{Certificate: "!!", ValidFrom: now.Add(-time.Hour), ValidTo: now.Add(time.Hour), Usage: []string{"KsefTokenEncryption"}}}, UsageKSeFTokenEncryption, now)
	if !errors.As(err, &ke) {
		t.Errorf("bad base64: got %v", err)
	}
}

func TestPublicKeyIsCached(t *testing.T) {
	f := newFakeKSeF(t)
	c := newTestClient(t, f.url(), nil)
	for i := 0; i < 3; i++ {
		if _, err := c.PublicKey(context.Background(), UsageSymmetricKeyEncryption); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.PublicKey(context.Background(), UsageKSeFTokenEncryption); err != nil {
		t.Fatal(err)
	}
	if n := f.count("GET /security/public-key-certificates"); n != 1 {
		t.Errorf("keys fetched %d times, want 1", n)
	}
	c.ForgetPublicKeys()
	if _, err := c.PublicKey(context.Background(), UsageKSeFTokenEncryption); err != nil {
		t.Fatal(err)
	}
	if n := f.count("GET /security/public-key-certificates"); n != 2 {
		t.Errorf("keys fetched %d times after ForgetPublicKeys, want 2", n)
	}
}

func TestInsecureTLSRejected(t *testing.T) {
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	_, err := NewClient(Options{BaseURL: "https://api-test.ksef.mf.gov.pl/v2", HTTPClient: hc})
	if failure.Of(err) != failure.Invalid {
		t.Fatalf("InsecureSkipVerify accepted: %v", err)
	}
}
