package ksefsim

import (
	"encoding/pem"
	"net/http"
	"strings"

	"github.com/ksefpl/ksefpl/pkg/kcert"
)

// Control endpoints for certificates and XAdES (see control.go for the others):
//
//	GET  /sim/ca                          the CA certificate, PEM (application/x-pem-file)
//	POST /sim/certificates                CertificateRequest -> IssuedCertificate
//	POST /sim/certificates/revoke         {"serialNumber":"…"} -> 204
//	POST /sim/certificates/expire         {"serialNumber":"…"} -> 204
//	POST /sim/ksef-certificates           KSeFCertificateRequest -> IssuedCertificate (a KSeF certificate, e.g. Offline)
//	POST /sim/permissions                 PermissionGrant -> 204
//	GET  /sim/auth-requests               []SignedAuthRequest (document base64)

// CertificateRequest asks the simulator's CA for a test certificate (POST
// /sim/certificates): Kind "seal" (NIP required) or "personal" (NIP or PESEL), Key
// "ec" (P-256, the default) or "rsa" (2048), Name optional.
type CertificateRequest struct {
	NIP   string `json:"nip,omitempty"`
	PESEL string `json:"pesel,omitempty"`
	Kind  string `json:"kind"`
	Key   string `json:"key,omitempty"`
	Name  string `json:"name,omitempty"`
}

// IssuedCertificate is a test certificate issued by the simulator's CA: Certificate
// holds the certificate then the CA certificate (PEM), PrivateKey the unencrypted
// PKCS#8 key (PEM).
type IssuedCertificate struct {
	Certificate  string `json:"certificate"`
	PrivateKey   string `json:"privateKey"`
	SerialNumber string `json:"serialNumber"`
	Fingerprint  string `json:"fingerprint"`
}

type simSerialRequest struct {
	SerialNumber string `json:"serialNumber"`
}

// issue runs IssueCertificate for a control request.
func (s *Server) issue(req CertificateRequest) (IssuedCertificate, error) {
	m, err := s.IssueCertificate(kcert.TestCertOptions{
		Kind: strings.ToLower(req.Kind), NIP: req.NIP, PESEL: req.PESEL, KeyType: req.Key, Name: req.Name,
	})
	if err != nil {
		return IssuedCertificate{}, err
	}
	return issuedOf(m)
}

func (s *Server) handleSimCA(w http.ResponseWriter, _ *http.Request) {
	body := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.CACertificate().Raw})
	w.Header().Set("Content-Type", "application/x-pem-file")
	_, _ = w.Write(body)
}

func (s *Server) handleSimIssueCertificate(w http.ResponseWriter, r *http.Request) {
	var req CertificateRequest
	if !decodeSim(w, r, &req) {
		return
	}
	out, err := s.issue(req)
	if err != nil {
		writeSimError(w, http.StatusBadRequest, err.Error())
		return
	}
	writeOK(w, http.StatusOK, out)
}

func (s *Server) handleSimRevokeCertificate(w http.ResponseWriter, r *http.Request) {
	var req simSerialRequest
	if decodeSim(w, r, &req) {
		writeSimOutcome(w, s.RevokeCertificate(req.SerialNumber), nil)
	}
}

func (s *Server) handleSimExpireCertificate(w http.ResponseWriter, r *http.Request) {
	var req simSerialRequest
	if decodeSim(w, r, &req) {
		writeSimOutcome(w, s.ExpireCertificate(req.SerialNumber), nil)
	}
}

func (s *Server) handleSimGrantPermissions(w http.ResponseWriter, r *http.Request) {
	var g PermissionGrant
	if decodeSim(w, r, &g) {
		writeSimOutcome(w, s.GrantPermissions(g), nil)
	}
}

func (s *Server) handleSimAuthRequests(w http.ResponseWriter, _ *http.Request) {
	writeOK(w, http.StatusOK, s.signedRequests())
}
