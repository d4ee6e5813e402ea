package kcert

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"strings"

	"github.com/ksefpl/ksefpl/internal/lazyre"
)

// Subject attribute OIDs KSeF reads (X.520).
var (
	OIDCommonName             = asn1.ObjectIdentifier{2, 5, 4, 3}
	OIDSurname                = asn1.ObjectIdentifier{2, 5, 4, 4}
	OIDSerialNumber           = asn1.ObjectIdentifier{2, 5, 4, 5}
	OIDCountryName            = asn1.ObjectIdentifier{2, 5, 4, 6}
	OIDOrganizationName       = asn1.ObjectIdentifier{2, 5, 4, 10}
	OIDGivenName              = asn1.ObjectIdentifier{2, 5, 4, 42}
	OIDUniqueIdentifier       = asn1.ObjectIdentifier{2, 5, 4, 45}
	OIDOrganizationIdentifier = asn1.ObjectIdentifier{2, 5, 4, 97}
)

// IdentityKind is how KSeF identifies the subject that authenticates with a
// certificate. The values are those of the KSeF API's
// CertificateSubjectIdentifierType.
type IdentityKind string

const (
	// IdentityNIP: a NIP (10 digits) found in the subject.
	IdentityNIP IdentityKind = "Nip"
	// IdentityPESEL: a PESEL (11 digits) found in the subject.
	IdentityPESEL IdentityKind = "Pesel"
	// IdentityFingerprint: no recognised identifier; KSeF identifies the
	// certificate by its SHA-256 fingerprint.
	IdentityFingerprint IdentityKind = "Fingerprint"
)

// Identity is what KSeF reads from a certificate's subject to identify who
// authenticates.
type Identity struct {
	// Kind is NIP, PESEL or Fingerprint.
	Kind IdentityKind
	// Value is the NIP or PESEL digits, or the 64-digit upper-case SHA-256
	// fingerprint.
	Value string
	// Attribute is the subject attribute the value came from:
	// "organizationIdentifier" or "serialNumber"; empty for a fingerprint.
	Attribute string
}

// String renders the identity, e.g. "Nip 1234567890 (organizationIdentifier)".
func (id Identity) String() string {
	if id.Attribute == "" {
		return fmt.Sprintf("%s %s", id.Kind, id.Value)
	}
	return fmt.Sprintf("%s %s (%s)", id.Kind, id.Value, id.Attribute)
}

// The patterns of the KSeF documentation (auth/podpis-xades.md), unanchored
// and case-sensitive, the identifier being the last group.
var (
	reOrganizationVAT = lazyre.New(`(VATPL).*?(\d{10})`)
	reSerialPESEL     = lazyre.New(`(PNOPL|PESEL).*?(\d{11})`)
	reSerialNIP       = lazyre.New(`(TINPL|NIP).*?(\d{10})`)
)

// IdentityOf returns the identity KSeF reads from the certificate subject,
// applying the patterns of the KSeF XAdES documentation:
//
//   - a natural person's certificate (one with givenName or surname): the
//     serialNumber (2.5.4.5) attribute, `(PNOPL|PESEL).*?(\d{11})` → PESEL,
//     else `(TINPL|NIP).*?(\d{10})` → NIP;
//   - any other certificate (a seal): organizationIdentifier (2.5.4.97)
//     `(VATPL).*?(\d{10})` → NIP, else the serialNumber patterns above;
//   - nothing recognised: the SHA-256 fingerprint.
//
// A person's certificate never yields its organizationIdentifier: that names
// the organisation the person belongs to, not the person.
func IdentityOf(c *x509.Certificate) Identity {
	if c == nil {
		return Identity{Kind: IdentityFingerprint}
	}
	names := c.Subject.Names
	person := len(attrValues(names, OIDGivenName)) > 0 || len(attrValues(names, OIDSurname)) > 0
	if !person {
		for _, v := range attrValues(names, OIDOrganizationIdentifier) {
			if m := reOrganizationVAT.FindStringSubmatch(v); m != nil {
				return Identity{Kind: IdentityNIP, Value: m[2], Attribute: "organizationIdentifier"}
			}
		}
	}
	serials := attrValues(names, OIDSerialNumber)
	for _, v := range serials {
		if m := reSerialPESEL.FindStringSubmatch(v); m != nil {
			return Identity{Kind: IdentityPESEL, Value: m[2], Attribute: "serialNumber"}
		}
	}
	for _, v := range serials {
		if m := reSerialNIP.FindStringSubmatch(v); m != nil {
			return Identity{Kind: IdentityNIP, Value: m[2], Attribute: "serialNumber"}
		}
	}
	return Identity{Kind: IdentityFingerprint, Value: Fingerprint(c)}
}

// SubjectIdentifierType returns the AuthTokenRequest SubjectIdentifierType
// for the certificate: "certificateSubject" when IdentityOf finds a NIP or
// PESEL in the subject, "certificateFingerprint" otherwise.
func SubjectIdentifierType(c *x509.Certificate) string {
	if IdentityOf(c).Kind == IdentityFingerprint {
		return "certificateFingerprint"
	}
	return "certificateSubject"
}

// attrValues returns the string values of every attribute oid in names, in
// order. Go's pkix.Name has no field for organizationIdentifier (2.5.4.97)
// or uniqueIdentifier, so the raw Names are read.
func attrValues(names []pkix.AttributeTypeAndValue, oid asn1.ObjectIdentifier) []string {
	var out []string
	for _, atv := range names {
		if !atv.Type.Equal(oid) {
			continue
		}
		if s, ok := atv.Value.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// attributeNames are the short names NameString writes.
var attributeNames = map[string]string{
	OIDCommonName.String(): "CN", OIDSurname.String(): "SN", OIDSerialNumber.String(): "serialNumber",
	OIDCountryName.String(): "C", OIDOrganizationName.String(): "O", OIDGivenName.String(): "GN",
	OIDUniqueIdentifier.String(): "uniqueIdentifier", OIDOrganizationIdentifier.String(): "organizationIdentifier",
	"2.5.4.11": "OU", "2.5.4.7": "L", "2.5.4.8": "ST",
}

// NameString renders a subject or issuer like RFC 4514 (most significant attribute
// last), naming the attributes KSeF reads (organizationIdentifier, GN, SN, serialNumber)
// instead of showing their OIDs with hex values as pkix.Name.String does.
func NameString(n pkix.Name) string {
	parts := make([]string, 0, len(n.Names))
	for i := len(n.Names) - 1; i >= 0; i-- {
		atv := n.Names[i]
		name, ok := attributeNames[atv.Type.String()]
		if !ok {
			name = atv.Type.String()
		}
		parts = append(parts, name+"="+escapeRDN(fmt.Sprint(atv.Value)))
	}
	return strings.Join(parts, ",")
}

// escapeRDN escapes the characters RFC 4514 reserves in attribute values.
func escapeRDN(s string) string {
	var b strings.Builder
	for i, r := range s {
		switch {
		case strings.ContainsRune(",+\"\\<>;", r), (r == '#' || r == ' ') && i == 0, r == ' ' && i == len(s)-1:
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
