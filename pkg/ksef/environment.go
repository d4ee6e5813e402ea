package ksef

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// Environment names a KSeF environment.
type Environment string

// The KSeF environments. EnvLocal talks to a base URL given by configuration
// (normally the ksefpl simulator).
const (
	EnvTest       Environment = "test"
	EnvDemo       Environment = "demo"
	EnvProduction Environment = "production"
	EnvLocal      Environment = "local"
)

// Endpoints are the base URLs of one environment.
type Endpoints struct {
	// API is the KSeF 2.0 API base URL, ending in /v2.
	API string
	// QR is the base URL of the QR verification service.
	QR string
	// Latarnia is the base URL of the status service (Latarnia); the client
	// appends /status and /messages.
	Latarnia string
	// Legacy is the base URL of the KSeF 1.0 API (host + /api), used only by
	// the legacy connection-test profile.
	Legacy string
}

// ParseEnvironment accepts test, demo, production (also prod/prd) and local,
// case-insensitively.
func ParseEnvironment(s string) (Environment, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "test", "te":
		return EnvTest, nil
	case "demo", "tr":
		return EnvDemo, nil
	case "production", "prod", "prd":
		return EnvProduction, nil
	case "local":
		return EnvLocal, nil
	}
	return "", &ConfigError{Field: "environment", Msg: fmt.Sprintf("unknown environment %q; use test, demo, production or local", s)}
}

// Endpoints returns the URLs of the environment. localBaseURL is used only for
// EnvLocal: it is the simulator's API base (for example
// http://127.0.0.1:8089/v2); Latarnia is then served at the server root under
// /latarnia and the legacy API under /api.
//
// Latarnia has no separate DEMO host; DEMO uses the test Latarnia, as the
// official clients do.
func (e Environment) Endpoints(localBaseURL string) (Endpoints, error) {
	switch e {
	case EnvTest:
		return Endpoints{
			API:      "https://api-test.ksef.mf.gov.pl/v2",
			QR:       "https://qr-test.ksef.mf.gov.pl",
			Latarnia: "https://api-latarnia-test.ksef.mf.gov.pl",
			Legacy:   "https://api-test.ksef.mf.gov.pl/api",
		}, nil
	case EnvDemo:
		return Endpoints{
			API:      "https://api-demo.ksef.mf.gov.pl/v2",
			QR:       "https://qr-demo.ksef.mf.gov.pl",
			Latarnia: "https://api-latarnia-test.ksef.mf.gov.pl",
			Legacy:   "https://api-demo.ksef.mf.gov.pl/api",
		}, nil
	case EnvProduction:
		return Endpoints{
			API:      "https://api.ksef.mf.gov.pl/v2",
			QR:       "https://qr.ksef.mf.gov.pl",
			Latarnia: "https://api-latarnia.ksef.mf.gov.pl",
			Legacy:   "https://api.ksef.mf.gov.pl/api",
		}, nil
	case EnvLocal:
		if localBaseURL == "" {
			return Endpoints{}, &ConfigError{Field: "base URL", Msg: "the local environment needs a base URL such as http://127.0.0.1:8089/v2"}
		}
		u, err := checkBaseURL("base URL", localBaseURL)
		if err != nil {
			return Endpoints{}, err
		}
		root := *u
		root.Path = strings.TrimSuffix(strings.TrimSuffix(u.Path, "/"), "/v2")
		r := strings.TrimSuffix(root.String(), "/")
		return Endpoints{
			API:      strings.TrimSuffix(u.String(), "/"),
			QR:       r + "/qr",
			Latarnia: r + "/latarnia",
			Legacy:   r + "/api",
		}, nil
	}
	return Endpoints{}, &ConfigError{Field: "environment", Msg: fmt.Sprintf("unknown environment %q; use test, demo, production or local", string(e))}
}

// checkBaseURL parses raw and enforces the transport rule: https everywhere,
// plain http only for loopback hosts (127.0.0.0/8, ::1, localhost).
func checkBaseURL(field, raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return nil, &ConfigError{Field: field, Msg: fmt.Sprintf("cannot parse %q: %v", raw, err)}
	}
	if u.Host == "" {
		return nil, &ConfigError{Field: field, Msg: fmt.Sprintf("%q has no host; use a full URL such as https://api-test.ksef.mf.gov.pl/v2", raw)}
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, &ConfigError{Field: field, Msg: fmt.Sprintf("%q must not carry credentials, a query or a fragment", u.Redacted())}
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !IsLoopbackHost(u.Hostname()) {
			return nil, &ConfigError{Field: field, Msg: fmt.Sprintf("%q uses plain http; only loopback hosts (127.0.0.1, ::1, localhost) may use http, everything else must be https", raw)}
		}
	default:
		return nil, &ConfigError{Field: field, Msg: fmt.Sprintf("%q must start with https:// (or http:// for a loopback host)", raw)}
	}
	return u, nil
}

// IsLoopbackHost reports whether host (without port) is localhost or a
// loopback IP address.
func IsLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}
