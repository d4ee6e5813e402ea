package ksefsim

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"net/http"
	"strings"

	"github.com/ksefpl/ksefpl/pkg/kcert"
)

// KSeFCertificateRequest asks the simulator's CA directly for a KSeF certificate
// (IssueKSeFCertificate, POST /sim/ksef-certificates), as if the subject had enrolled
// for it through /certificates/enrollments: Type "Offline" (the default; keyUsage
// nonRepudiation, for KOD II) or "Authentication" (digitalSignature); the subject is
// a company seal for NIP (organizationIdentifier VATPL-<NIP>) or a person with PESEL
// (serialNumber PNOPL-<PESEL>; with both, the person). Key is "ec" (P-256, the
// default) or "rsa" (2048). Name is the certificate's name (default
// "Certyfikat offline" / "Certyfikat uwierzytelniający").
type KSeFCertificateRequest struct {
	Type  string `json:"type,omitempty"`
	NIP   string `json:"nip,omitempty"`
	PESEL string `json:"pesel,omitempty"`
	Key   string `json:"key,omitempty"`
	Name  string `json:"name,omitempty"`
}

// IssueKSeFCertificate issues a KSeF certificate from the simulator's CA without the
// enrolment flow: it is registered exactly like an enrolled one (POST
// /certificates/query and /certificates/retrieve list it for its subject, it can be
// revoked or expired, an Offline one verifies KOD II links at
// /qr/certificate/…). It is valid from now (simulator clock) for two years. The
// Material holds the certificate, the CA certificate as its chain, and the key.
func (s *Server) IssueKSeFCertificate(req KSeFCertificateRequest) (*kcert.Material, error) {
	typ := req.Type
	if typ == "" {
		typ = certTypeOffline
	}
	usage := x509.KeyUsageDigitalSignature
	switch typ {
	case certTypeOffline:
		usage = x509.KeyUsageContentCommitment
	case certTypeAuthentication:
	default:
		return nil, fmt.Errorf("ksefsim: KSeF certificate type %q (want Offline or Authentication)", req.Type)
	}
	var data kcert.EnrollmentData
	switch {
	case req.PESEL != "":
		if len(req.PESEL) != 11 || strings.Trim(req.PESEL, "0123456789") != "" {
			return nil, fmt.Errorf("ksefsim: a PESEL must be 11 digits, got %q", req.PESEL)
		}
		data = kcert.EnrollmentData{CommonName: "Jan Kowalski", GivenNames: kcert.NameList{"Jan"}, Surname: "Kowalski",
			SerialNumber: "PNOPL-" + req.PESEL, CountryName: "PL"}
	case req.NIP != "":
		if !validNIPShape(req.NIP) {
			return nil, ErrInvalidNIP
		}
		name := "Test Company " + req.NIP
		data = kcert.EnrollmentData{CommonName: name, OrganizationName: name, OrganizationIdentifier: "VATPL-" + req.NIP, CountryName: "PL"}
	default:
		return nil, fmt.Errorf("ksefsim: a KSeF certificate needs the subject's NIP or PESEL")
	}
	var key crypto.Signer
	var err error
	switch strings.ToLower(req.Key) {
	case "", kcert.KeyEC:
		key, err = kcert.NewKey()
	case kcert.KeyRSA:
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	default:
		return nil, fmt.Errorf("ksefsim: key type %q (want ec or rsa)", req.Key)
	}
	if err != nil {
		return nil, err
	}
	csr, err := kcert.NewCSR(key, data)
	if err != nil {
		return nil, err
	}
	name := req.Name
	if name == "" {
		name = map[string]string{certTypeOffline: "Certyfikat offline", certTypeAuthentication: "Certyfikat uwierzytelniający"}[typ]
	}
	now := s.now()
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	var c *x509.Certificate
	for c == nil || s.st.certs.bySerial[kcert.SerialHex(c)] != nil {
		c, err = kcert.IssueFromCSR(csr, kcert.IssueOptions{
			Issuer: s.st.certs.ca, KeyUsage: usage, NotBefore: now, NotAfter: now.AddDate(ksefCertValidity, 0, 0),
		})
		if err != nil {
			return nil, err
		}
	}
	owner := identityOf(c)
	kc := &ksefCert{serial: kcert.SerialHex(c), name: name, typ: typ, cert: c, owner: owner, requestDate: now}
	s.st.certs.bySerial[kc.serial] = kc
	s.st.certs.keys[spkiKey(c.PublicKey)] = owner.key()
	return &kcert.Material{Cert: c, Chain: []*x509.Certificate{s.st.certs.ca.Cert}, Key: key}, nil
}

// issuedOf renders issued material for a control answer.
func issuedOf(m *kcert.Material) (IssuedCertificate, error) {
	certPEM, keyPEM, err := kcert.EncodePEM(m)
	if err != nil {
		return IssuedCertificate{}, err
	}
	return IssuedCertificate{
		Certificate: string(certPEM), PrivateKey: string(keyPEM),
		SerialNumber: kcert.SerialHex(m.Cert), Fingerprint: kcert.Fingerprint(m.Cert),
	}, nil
}

// handleSimIssueKSeFCertificate serves POST /sim/ksef-certificates.
func (s *Server) handleSimIssueKSeFCertificate(w http.ResponseWriter, r *http.Request) {
	var req KSeFCertificateRequest
	if !decodeSim(w, r, &req) {
		return
	}
	m, err := s.IssueKSeFCertificate(req)
	if err != nil {
		writeSimError(w, http.StatusBadRequest, err.Error())
		return
	}
	out, err := issuedOf(m)
	if err != nil {
		writeSimError(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeOK(w, http.StatusOK, out)
}
