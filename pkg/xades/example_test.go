package xades_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"log"
	"math/big"
	"time"

	"github.com/ksefpl/ksefpl/pkg/xades"
)

func Example() {
	// A key and a self-signed certificate, as on KSeF's test environment.
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		log.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "Jan Kowalski", Country: []string{"PL"}},
		NotBefore:    time.Now(),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		log.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		log.Fatal(err)
	}

	doc := []byte(`<?xml version="1.0" encoding="utf-8"?>
<AuthTokenRequest xmlns="http://ksef.mf.gov.pl/auth/token/2.0">
  <Challenge>20250604-CR-461EA5B000-537A6BA15D-D7</Challenge>
  <ContextIdentifier><Nip>5265877635</Nip></ContextIdentifier>
  <SubjectIdentifierType>certificateSubject</SubjectIdentifierType>
</AuthTokenRequest>`)
	signed, err := xades.Sign(doc, key, cert, xades.SignOptions{})
	if err != nil {
		log.Fatal(err)
	}

	v, err := xades.Verify(signed)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("signed by", v.Certificate.Subject.CommonName)
	fmt.Println("signed data holds the challenge:", bytes.Contains(v.Document, []byte("20250604-CR-461EA5B000-537A6BA15D-D7")))

	_, err = xades.Verify(bytes.Replace(signed, []byte("5265877635"), []byte("1111111111"), 1))
	var ve *xades.VerifyError
	if errors.As(err, &ve) {
		fmt.Println("tampered:", ve.Kind)
	}
	// Output:
	// signed by Jan Kowalski
	// signed data holds the challenge: true
	// tampered: invalid signature
}
