package ksefsim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
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

func (c *ControlClient) call(ctx context.Context, method, path string, in, out any) error {
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, method, c.root()+path, bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("simulator URL %q: %w", c.URL, err)
	}
	req.Header.Set("Content-Type", "application/json")
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("simulator at %s not reachable (is 'ksefpl sim serve' running?): %w", c.root(), err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode >= 300 {
		var e simError
		if json.Unmarshal(body, &e) == nil && e.Error != "" {
			return fmt.Errorf("simulator: %s", e.Error)
		}
		return fmt.Errorf("simulator: HTTP %d on %s", resp.StatusCode, path)
	}
	if out != nil {
		return json.Unmarshal(body, out)
	}
	return nil
}
