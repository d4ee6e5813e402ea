package ksef

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"time"
)

// KSeF certificate types.
const (
	CertificateTypeAuthentication = "Authentication"
	CertificateTypeOffline        = "Offline"
)

// Certificate enrolment status codes (GET /certificates/enrollments/{ref}).
const (
	EnrollmentProcessing = 100
	EnrollmentIssued     = 200
	EnrollmentRejected   = 400
)

// CertificateLimit is one limit of GET /certificates/limits.
type CertificateLimit struct {
	Remaining int `json:"remaining"`
	Limit     int `json:"limit"`
}

// CertificateLimits is the answer of GET /certificates/limits.
type CertificateLimits struct {
	CanRequest  bool             `json:"canRequest"`
	Enrollment  CertificateLimit `json:"enrollment"`
	Certificate CertificateLimit `json:"certificate"`
}

// CertificateLimits calls GET /certificates/limits.
func (c *Client) CertificateLimits(ctx context.Context, accessToken string) (*CertificateLimits, error) {
	var out CertificateLimits
	if _, err := c.do(ctx, call{method: "GET", path: "/certificates/limits", bearer: accessToken, idempotent: true, out: &out}); err != nil {
		return nil, err
	}
	return &out, nil
}

// CertificateEnrollmentData calls GET /certificates/enrollments/data and returns the
// answer undecoded (the subject a CSR must carry; decode it with kcert.EnrollmentData).
// KSeF answers it only after an XAdES authentication.
func (c *Client) CertificateEnrollmentData(ctx context.Context, accessToken string) (json.RawMessage, error) {
	var out json.RawMessage
	if _, err := c.do(ctx, call{method: "GET", path: "/certificates/enrollments/data", bearer: accessToken, idempotent: true, out: &out}); err != nil {
		return nil, err
	}
	return out, nil
}

// EnrollRequest is the body of POST /certificates/enrollments.
type EnrollRequest struct {
	Name string `json:"certificateName"`
	// Type is CertificateTypeAuthentication or CertificateTypeOffline.
	Type string `json:"certificateType"`
	// CSR is the PKCS#10 DER (sent base64).
	CSR       []byte     `json:"csr"`
	ValidFrom *time.Time `json:"validFrom,omitempty"`
}

// Enroll calls POST /certificates/enrollments and returns the enrolment's reference.
func (c *Client) Enroll(ctx context.Context, accessToken string, r EnrollRequest) (string, error) {
	var out struct {
		ReferenceNumber string `json:"referenceNumber"`
	}
	if _, err := c.do(ctx, call{method: "POST", path: "/certificates/enrollments", bearer: accessToken, body: r, out: &out}); err != nil {
		return "", err
	}
	if out.ReferenceNumber == "" {
		return "", &ResponseError{Method: "POST", Path: "/certificates/enrollments", Err: errors.New("referenceNumber missing")}
	}
	return out.ReferenceNumber, nil
}

// EnrollmentStatus is the answer of GET /certificates/enrollments/{ref}.
type EnrollmentStatus struct {
	RequestDate             time.Time  `json:"requestDate"`
	Status                  StatusInfo `json:"status"`
	CertificateSerialNumber string     `json:"certificateSerialNumber"`
}

// EnrollmentStatus calls GET /certificates/enrollments/{ref}.
func (c *Client) EnrollmentStatus(ctx context.Context, accessToken, ref string) (*EnrollmentStatus, error) {
	var out EnrollmentStatus
	if _, err := c.do(ctx, call{method: "GET", path: "/certificates/enrollments/" + url.PathEscape(ref), bearer: accessToken,
		idempotent: true, out: &out}); err != nil {
		return nil, err
	}
	return &out, nil
}

// RetrievedCertificate is one certificate of POST /certificates/retrieve.
type RetrievedCertificate struct {
	// Certificate is the DER.
	Certificate []byte `json:"certificate"`
	Name        string `json:"certificateName"`
	Serial      string `json:"certificateSerialNumber"`
	Type        string `json:"certificateType"`
}

// RetrieveCertificates calls POST /certificates/retrieve for up to 10 serial numbers.
func (c *Client) RetrieveCertificates(ctx context.Context, accessToken string, serials ...string) ([]RetrievedCertificate, error) {
	var out struct {
		Certificates []RetrievedCertificate `json:"certificates"`
	}
	body := struct {
		Serials []string `json:"certificateSerialNumbers"`
	}{serials}
	if _, err := c.do(ctx, call{method: "POST", path: "/certificates/retrieve", bearer: accessToken, body: body, idempotent: true, out: &out}); err != nil {
		return nil, err
	}
	return out.Certificates, nil
}

// CertificateQuery filters POST /certificates/query; zero fields match everything.
type CertificateQuery struct {
	Serial       string     `json:"certificateSerialNumber,omitempty"`
	Name         string     `json:"name,omitempty"`
	Type         string     `json:"type,omitempty"`
	Status       string     `json:"status,omitempty"`
	ExpiresAfter *time.Time `json:"expiresAfter,omitempty"`
}

// CertificateInfo is one certificate's metadata in POST /certificates/query.
type CertificateInfo struct {
	Serial            string    `json:"certificateSerialNumber"`
	Name              string    `json:"name"`
	Type              string    `json:"type"`
	CommonName        string    `json:"commonName"`
	Status            string    `json:"status"`
	ValidFrom         time.Time `json:"validFrom"`
	ValidTo           time.Time `json:"validTo"`
	RequestDate       time.Time `json:"requestDate"`
	LastUseDate       time.Time `json:"lastUseDate"`
	SubjectIdentifier struct {
		Type  string `json:"type"`
		Value string `json:"value"`
	} `json:"subjectIdentifier"`
}

// QueryCertificates calls POST /certificates/query for one page (pageSize 10..50).
func (c *Client) QueryCertificates(ctx context.Context, accessToken string, q CertificateQuery, pageSize, pageOffset int) ([]CertificateInfo, bool, error) {
	var out struct {
		Certificates []CertificateInfo `json:"certificates"`
		HasMore      bool              `json:"hasMore"`
	}
	path := fmt.Sprintf("/certificates/query?pageSize=%d&pageOffset=%d", pageSize, pageOffset)
	if _, err := c.do(ctx, call{method: "POST", path: path, bearer: accessToken, body: q, idempotent: true, out: &out}); err != nil {
		return nil, false, err
	}
	return out.Certificates, out.HasMore, nil
}

// Certificate revocation reasons.
const (
	RevocationUnspecified   = "Unspecified"
	RevocationSuperseded    = "Superseded"
	RevocationKeyCompromise = "KeyCompromise"
)

// RevokeCertificate calls POST /certificates/{serial}/revoke.
func (c *Client) RevokeCertificate(ctx context.Context, accessToken, serial, reason string) error {
	body := struct {
		Reason string `json:"revocationReason,omitempty"`
	}{reason}
	_, err := c.do(ctx, call{method: "POST", path: "/certificates/" + url.PathEscape(serial) + "/revoke", bearer: accessToken, body: body})
	return err
}
