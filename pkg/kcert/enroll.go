package kcert

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// EnrollmentData mirrors the response of GET /certificates/enrollments/data:
// the subject attributes, read by KSeF from the certificate used to
// authenticate, that a KSeF certificate request must carry unchanged.
// Absent attributes are empty.
type EnrollmentData struct {
	CommonName             string   `json:"commonName"`                       // 2.5.4.3
	CountryName            string   `json:"countryName"`                      // 2.5.4.6
	GivenNames             NameList `json:"givenName,omitempty"`              // 2.5.4.42, one attribute per name
	Surname                string   `json:"surname,omitempty"`                // 2.5.4.4
	SerialNumber           string   `json:"serialNumber,omitempty"`           // 2.5.4.5
	UniqueIdentifier       string   `json:"uniqueIdentifier,omitempty"`       // 2.5.4.45
	OrganizationName       string   `json:"organizationName,omitempty"`       // 2.5.4.10
	OrganizationIdentifier string   `json:"organizationIdentifier,omitempty"` // 2.5.4.97
}

// NameList holds the given names of EnrollmentData. KSeF documents givenName
// as a string in the API schema and as a list in its guide, so it unmarshals
// from a JSON string, a list of strings or null, and marshals one name as a
// string and several as a list.
type NameList []string

// UnmarshalJSON accepts "Jan", ["Jan","Maria"] or null.
func (n *NameList) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		*n = nil
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		if s == "" {
			*n = nil
		} else {
			*n = NameList{s}
		}
		return nil
	}
	var list []string
	if err := json.Unmarshal(b, &list); err != nil {
		return fmt.Errorf("kcert: givenName must be a string or a list of strings: %w", err)
	}
	out := list[:0]
	for _, s := range list {
		if s != "" {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		out = nil
	}
	*n = out
	return nil
}

// MarshalJSON writes one name as a string, several as a list.
func (n NameList) MarshalJSON() ([]byte, error) {
	switch len(n) {
	case 0:
		return []byte("null"), nil
	case 1:
		return json.Marshal(n[0])
	default:
		return json.Marshal([]string(n))
	}
}

// Equal reports whether d and o name the same subject: every attribute equal,
// given names in the same order.
func (d EnrollmentData) Equal(o EnrollmentData) bool {
	return d.CommonName == o.CommonName && d.CountryName == o.CountryName &&
		slices.Equal(d.GivenNames, o.GivenNames) && d.Surname == o.Surname &&
		d.SerialNumber == o.SerialNumber && d.UniqueIdentifier == o.UniqueIdentifier &&
		d.OrganizationName == o.OrganizationName && d.OrganizationIdentifier == o.OrganizationIdentifier
}

// NewKey generates a new EC P-256 key, the key type KSeF recommends for KSeF
// certificates.
func NewKey() (*ecdsa.PrivateKey, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("kcert: generating an EC P-256 key: %w", err)
	}
	return k, nil
}

// NewCSR builds a PKCS#10 certificate request (DER) for a KSeF certificate.
// Its subject is exactly the enrolment data: one RDN per non-empty attribute
// in the order of the official C# client — commonName, surname, givenName
// (one RDN per name), organizationName, organizationIdentifier, countryName,
// serialNumber, uniqueIdentifier — encoded as both official clients do:
// countryName and serialNumber as PrintableString (UTF8String when the value
// has characters PrintableString cannot hold), everything else as UTF8String.
// The key must be ECDSA P-256 (signed with ECDSA-SHA256) or RSA 2048
// (SHA256-RSA, PKCS#1 v1.5); commonName and countryName are required.
func NewCSR(key crypto.Signer, d EnrollmentData) ([]byte, error) {
	if key == nil {
		return nil, errors.New("kcert: no private key for the certificate request")
	}
	if err := CheckCSRKey(key.Public()); err != nil {
		return nil, err
	}
	if strings.TrimSpace(d.CommonName) == "" {
		return nil, errors.New("kcert: the enrolment data has no commonName")
	}
	if strings.TrimSpace(d.CountryName) == "" {
		return nil, errors.New("kcert: the enrolment data has no countryName")
	}
	attrs := []attr{{OIDCommonName, d.CommonName}, {OIDSurname, d.Surname}}
	for _, g := range d.GivenNames {
		attrs = append(attrs, attr{OIDGivenName, g})
	}
	attrs = append(attrs,
		attr{OIDOrganizationName, d.OrganizationName},
		attr{OIDOrganizationIdentifier, d.OrganizationIdentifier},
		attr{OIDCountryName, d.CountryName},
		attr{OIDSerialNumber, d.SerialNumber},
		attr{OIDUniqueIdentifier, d.UniqueIdentifier},
	)
	raw, err := encodeName(attrs)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.CertificateRequest{RawSubject: raw}
	switch key.Public().(type) {
	case *ecdsa.PublicKey:
		tmpl.SignatureAlgorithm = x509.ECDSAWithSHA256
	case *rsa.PublicKey:
		tmpl.SignatureAlgorithm = x509.SHA256WithRSA
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, key)
	if err != nil {
		return nil, fmt.Errorf("kcert: creating the certificate request: %w", err)
	}
	return der, nil
}

// SubjectOfCSR parses a PKCS#10 request (DER) and returns its subject as
// enrolment data, for comparison with what GET /certificates/enrollments/data
// returned. A subject attribute enrolment data cannot carry (an OU, say), or a
// second copy of a single-valued attribute, is an error: such a request can
// never match. SubjectOfCSR does not verify the signature; CheckCSR does.
func SubjectOfCSR(der []byte) (EnrollmentData, error) {
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		return EnrollmentData{}, fmt.Errorf("kcert: reading the certificate request: %w", err)
	}
	return enrollmentDataOf(csr.Subject.Names, true)
}

// CheckCSR parses a PKCS#10 request (DER), verifies its signature and checks
// its key against KSeF's rules for certificate requests (CheckCSRKey).
func CheckCSR(der []byte) (*x509.CertificateRequest, error) {
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		return nil, fmt.Errorf("kcert: reading the certificate request: %w", err)
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, fmt.Errorf("kcert: the certificate request's signature is invalid: %w", err)
	}
	if err := CheckCSRKey(csr.PublicKey); err != nil {
		return nil, err
	}
	return csr, nil
}

// EnrollmentDataOf returns the enrolment data KSeF derives from a
// certificate used to authenticate: the eight enrolment attributes of its
// subject (other attributes are ignored; of a repeated single-valued
// attribute the first is kept).
func EnrollmentDataOf(c *x509.Certificate) EnrollmentData {
	if c == nil {
		return EnrollmentData{}
	}
	d, _ := enrollmentDataOf(c.Subject.Names, false)
	return d
}

func enrollmentDataOf(names []pkix.AttributeTypeAndValue, strict bool) (EnrollmentData, error) {
	var d EnrollmentData
	set := func(dst *string, name string, v string) error {
		if *dst != "" {
			if strict {
				return fmt.Errorf("kcert: the subject has more than one %s", name)
			}
			return nil
		}
		*dst = v
		return nil
	}
	for _, atv := range names {
		v, ok := atv.Value.(string)
		if !ok {
			if strict {
				return EnrollmentData{}, fmt.Errorf("kcert: subject attribute %s is not a string", atv.Type)
			}
			continue
		}
		var err error
		switch {
		case atv.Type.Equal(OIDCommonName):
			err = set(&d.CommonName, "commonName", v)
		case atv.Type.Equal(OIDCountryName):
			err = set(&d.CountryName, "countryName", v)
		case atv.Type.Equal(OIDGivenName):
			d.GivenNames = append(d.GivenNames, v)
		case atv.Type.Equal(OIDSurname):
			err = set(&d.Surname, "surname", v)
		case atv.Type.Equal(OIDSerialNumber):
			err = set(&d.SerialNumber, "serialNumber", v)
		case atv.Type.Equal(OIDUniqueIdentifier):
			err = set(&d.UniqueIdentifier, "uniqueIdentifier", v)
		case atv.Type.Equal(OIDOrganizationName):
			err = set(&d.OrganizationName, "organizationName", v)
		case atv.Type.Equal(OIDOrganizationIdentifier):
			err = set(&d.OrganizationIdentifier, "organizationIdentifier", v)
		default:
			if strict {
				err = fmt.Errorf("kcert: the subject has attribute %s, which enrolment data cannot carry", atv.Type)
			}
		}
		if err != nil {
			return EnrollmentData{}, err
		}
	}
	return d, nil
}

// attr is one subject attribute to encode.
type attr struct {
	oid   asn1.ObjectIdentifier
	value string
}

// encodeName DER-encodes a subject with one single-valued RDN per non-blank
// attribute, in the given order: countryName and serialNumber as
// PrintableString when their value allows it, everything else as UTF8String.
func encodeName(attrs []attr) ([]byte, error) {
	var seq pkix.RDNSequence
	for _, a := range attrs {
		if strings.TrimSpace(a.value) == "" {
			continue
		}
		if !utf8.ValidString(a.value) {
			return nil, fmt.Errorf("kcert: subject attribute %s is not valid UTF-8", a.oid)
		}
		tag := asn1.TagUTF8String
		if (a.oid.Equal(OIDCountryName) || a.oid.Equal(OIDSerialNumber)) && isPrintableString(a.value) {
			tag = asn1.TagPrintableString
		}
		seq = append(seq, pkix.RelativeDistinguishedNameSET{{
			Type:  a.oid,
			Value: asn1.RawValue{Class: asn1.ClassUniversal, Tag: tag, Bytes: []byte(a.value)},
		}})
	}
	raw, err := asn1.Marshal(seq)
	if err != nil {
		return nil, fmt.Errorf("kcert: encoding the subject: %w", err)
	}
	return raw, nil
}

// isPrintableString reports whether s fits the ASN.1 PrintableString
// alphabet.
func isPrintableString(s string) bool {
	for i := 0; i < len(s); i++ {
		b := s[i]
		switch {
		case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', '0' <= b && b <= '9':
		case strings.IndexByte(" '()+,-./:=?", b) >= 0:
		default:
			return false
		}
	}
	return true
}
