package ksefsim

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/ksefpl/ksefpl/pkg/failure"
	"github.com/ksefpl/ksefpl/pkg/kcert"
)

// ControlClient drives a running simulator through its /sim/ endpoints (used by
// `ksefpl sim token` and by shell-level tests).
type ControlClient struct {
	// URL is the simulator's root URL (http://127.0.0.1:8089); a trailing /v2 is ignored.
	URL  string
	HTTP *http.Client
}

func (c *ControlClient) root() string {
	return strings.TrimSuffix(strings.TrimSuffix(c.URL, "/"), "/v2")
}

// IssueToken asks the simulator for a new KSeF token for nip.
func (c *ControlClient) IssueToken(ctx context.Context, nip string) (string, error) {
	var out simTokenResponse
	if err := c.call(ctx, http.MethodPost, "/sim/tokens", simTokenRequest{NIP: nip}, &out); err != nil {
		return "", err
	}
	return out.Token, nil
}

// RevokeToken revokes a token in the simulator.
func (c *ControlClient) RevokeToken(ctx context.Context, token string) error {
	return c.call(ctx, http.MethodPost, "/sim/tokens/revoke", simRevokeRequest{Token: token}, nil)
}

// SetFaults replaces the simulator's faults.
func (c *ControlClient) SetFaults(ctx context.Context, f Faults) error {
	return c.call(ctx, http.MethodPut, "/sim/faults", f, nil)
}

// Faults reads the installed fault plan (GET /sim/faults); its counters show what is
// still pending.
func (c *ControlClient) Faults(ctx context.Context) (Faults, error) {
	var out Faults
	if err := c.call(ctx, http.MethodGet, "/sim/faults", nil, &out); err != nil {
		return Faults{}, err
	}
	return out, nil
}

// Stats reads the request counters (GET /sim/stats).
func (c *ControlClient) Stats(ctx context.Context) (Stats, error) {
	var out Stats
	if err := c.call(ctx, http.MethodGet, "/sim/stats", nil, &out); err != nil {
		return Stats{}, err
	}
	return out, nil
}

// ResetStats sets the request counters back to zero (DELETE /sim/stats).
func (c *ControlClient) ResetStats(ctx context.Context) error {
	return c.call(ctx, http.MethodDelete, "/sim/stats", nil, nil)
}

// SetRateLimits switches rate limiting and sets the time scale (PUT /sim/rate-limits);
// scale <= 0 leaves the scale unchanged.
func (c *ControlClient) SetRateLimits(ctx context.Context, enabled bool, scale float64) error {
	in := simRateLimits{Enabled: enabled}
	if scale > 0 {
		in.TimeScale = &scale
	}
	return c.call(ctx, http.MethodPut, "/sim/rate-limits", in, nil)
}

// CACertificate fetches the simulator CA's certificate (GET /sim/ca).
func (c *ControlClient) CACertificate(ctx context.Context) (*x509.Certificate, error) {
	body, err := c.do(ctx, http.MethodGet, "/sim/ca", nil)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(body)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New("simulator: GET /sim/ca did not answer a PEM certificate")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("simulator: unreadable CA certificate: %w", err)
	}
	return cert, nil
}

// IssueCertificate asks the simulator's CA for a test certificate (POST
// /sim/certificates), for --strict-certificates mode. The Material holds the
// certificate, the CA certificate as its chain, and the private key.
func (c *ControlClient) IssueCertificate(ctx context.Context, req CertificateRequest) (*kcert.Material, error) {
	var out IssuedCertificate
	if err := c.call(ctx, http.MethodPost, "/sim/certificates", req, &out); err != nil {
		return nil, err
	}
	m, err := kcert.ParsePEM([]byte(out.Certificate), []byte(out.PrivateKey), "")
	if err != nil {
		return nil, fmt.Errorf("simulator: unreadable certificate from POST /sim/certificates: %w", err)
	}
	return m, nil
}

// IssueKSeFCertificate asks the simulator's CA for a KSeF certificate without the
// enrolment flow (POST /sim/ksef-certificates): by default an Offline certificate
// (keyUsage nonRepudiation) for signing KOD II links. Its serial number, as KOD II
// links carry it, is kcert.SerialHex(m.Cert).
func (c *ControlClient) IssueKSeFCertificate(ctx context.Context, req KSeFCertificateRequest) (*kcert.Material, error) {
	var out IssuedCertificate
	if err := c.call(ctx, http.MethodPost, "/sim/ksef-certificates", req, &out); err != nil {
		return nil, err
	}
	m, err := kcert.ParsePEM([]byte(out.Certificate), []byte(out.PrivateKey), "")
	if err != nil {
		return nil, fmt.Errorf("simulator: unreadable certificate from POST /sim/ksef-certificates: %w", err)
	}
	return m, nil
}

// Latarnia reads the status Latarnia answers now (GET /sim/latarnia).
func (c *ControlClient) Latarnia(ctx context.Context) (LatarniaStatus, error) {
	var out LatarniaStatus
	if err := c.call(ctx, http.MethodGet, "/sim/latarnia", nil, &out); err != nil {
		return LatarniaStatus{}, err
	}
	return out, nil
}

// SetLatarnia fixes the Latarnia status and messages (PUT /sim/latarnia) until
// ResetLatarnia or the next PublishLatarnia.
func (c *ControlClient) SetLatarnia(ctx context.Context, st LatarniaStatus) error {
	return c.call(ctx, http.MethodPut, "/sim/latarnia", st, nil)
}

// ResetLatarnia forgets every Latarnia message (DELETE /sim/latarnia): AVAILABLE.
func (c *ControlClient) ResetLatarnia(ctx context.Context) error {
	return c.call(ctx, http.MethodDelete, "/sim/latarnia", nil, nil)
}

// PublishLatarnia publishes a failure, total failure or maintenance announcement
// (POST /sim/latarnia/events; see LatarniaEvent) and returns its first message; its
// EventID is what EndLatarniaFailure takes.
func (c *ControlClient) PublishLatarnia(ctx context.Context, ev LatarniaEvent) (LatarniaMessage, error) {
	var out LatarniaMessage
	if err := c.call(ctx, http.MethodPost, "/sim/latarnia/events", ev, &out); err != nil {
		return LatarniaMessage{}, err
	}
	return out, nil
}

// EndLatarniaFailure publishes the FAILURE_END of a failure event (POST
// /sim/latarnia/events/{eventId}/end); a zero end means now (simulator clock).
func (c *ControlClient) EndLatarniaFailure(ctx context.Context, eventID int, end time.Time) (LatarniaMessage, error) {
	var out LatarniaMessage
	if err := c.call(ctx, http.MethodPost, fmt.Sprintf("/sim/latarnia/events/%d/end", eventID), simLatarniaEnd{End: end}, &out); err != nil {
		return LatarniaMessage{}, err
	}
	return out, nil
}

// RevokeCertificate makes the simulator treat a certificate serial number as revoked.
func (c *ControlClient) RevokeCertificate(ctx context.Context, serial string) error {
	return c.call(ctx, http.MethodPost, "/sim/certificates/revoke", simSerialRequest{SerialNumber: serial}, nil)
}

// ExpireCertificate makes the simulator treat a certificate serial number as expired.
func (c *ControlClient) ExpireCertificate(ctx context.Context, serial string) error {
	return c.call(ctx, http.MethodPost, "/sim/certificates/expire", simSerialRequest{SerialNumber: serial}, nil)
}

// GrantPermissions gives a subject identifier permissions in a NIP context.
func (c *ControlClient) GrantPermissions(ctx context.Context, g PermissionGrant) error {
	return c.call(ctx, http.MethodPost, "/sim/permissions", g, nil)
}

// SignedAuthRequests reads back the documents received by POST /auth/xades-signature.
func (c *ControlClient) SignedAuthRequests(ctx context.Context) ([]SignedAuthRequest, error) {
	var out []SignedAuthRequest
	if err := c.call(ctx, http.MethodGet, "/sim/auth-requests", nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}

func (c *ControlClient) call(ctx context.Context, method, path string, in, out any) error {
	body, err := c.do(ctx, method, path, in)
	if err != nil {
		return err
	}
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			return fmt.Errorf("simulator: unreadable answer on %s: %w", path, err)
		}
	}
	return nil
}

// do sends one control request and returns the body of a 2xx answer.
func (c *ControlClient) do(ctx context.Context, method, path string, in any) ([]byte, error) {
	var rd io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, fmt.Errorf("encode simulator request: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.root()+path, rd)
	if err != nil {
		return nil, fmt.Errorf("simulator URL %q: %w", c.URL, err)
	}
	req.Header.Set("Content-Type", "application/json")
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("simulator at %s not reachable (is 'ksefpl sim serve' running?): %w", c.root(), err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if resp.StatusCode >= 300 {
		ce := &ControlError{Status: resp.StatusCode, Msg: fmt.Sprintf("HTTP %d on %s", resp.StatusCode, path)}
		var e simError
		if json.Unmarshal(body, &e) == nil && e.Error != "" {
			ce.Msg = e.Error
		}
		return nil, ce
	}
	return body, nil
}

// ControlError is a control endpoint's refusal: Status 4xx when the request was wrong
// (an unknown token, a bad serial), 5xx when the simulator failed.
type ControlError struct {
	Status int
	Msg    string
}

// Error gives the simulator's message.
func (e *ControlError) Error() string { return "simulator: " + e.Msg }

// Class is invalid for a refused request (4xx), unavailable otherwise.
func (e *ControlError) Class() failure.Class {
	if e.Status >= 400 && e.Status < 500 {
		return failure.Invalid
	}
	return failure.Unavailable
}
