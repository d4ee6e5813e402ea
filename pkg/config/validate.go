package config

import (
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ksefpl/ksefpl/pkg/iban"
	"github.com/ksefpl/ksefpl/pkg/ksef"
	"github.com/ksefpl/ksefpl/pkg/nip"
)

// This file holds the rules a value must meet on its own, whatever else is configured
// (normalise). The rules that depend on other paths — base_url against environment and
// allow_custom_host, the token's shape against api_version — are in connection_rules.go.

// maxStringRunes is the longest KindString value: the FA(3) text fields the seller paths
// feed (Nazwa, AdresL1, AdresL2) are TZnakowy512, 512 characters.
const maxStringRunes = 512

// normalise validates value against f's own rules and returns the form to store. Its
// messages never contain a secret value nor the credentials of a URL.
func normalise(f Field, value string) (string, error) {
	bad := func(reason string, err error) error {
		return &InvalidValueError{Path: f.Path, Reason: reason, Err: err}
	}
	v := strings.TrimSpace(value)
	if reason := checkText(v); reason != "" {
		return "", bad(reason, nil)
	}
	switch f.Kind {
	case KindSecret:
		if v == "" {
			return "", bad("the value is empty", nil)
		}
	case KindNIP:
		n, err := nip.Parse(v)
		if err != nil {
			return "", bad(err.Error(), err)
		}
		v = n
	case KindEnum:
		for _, o := range f.Options {
			if strings.EqualFold(o, v) {
				return o, nil
			}
		}
		return "", bad(fmt.Sprintf("%q is not one of %s", v, strings.Join(f.Options, ", ")), nil)
	case KindBool:
		switch strings.ToLower(v) {
		case "1", "yes", "true", "on":
			return "1", nil
		case "0", "no", "false", "off":
			return "0", nil
		}
		return "", bad(fmt.Sprintf("%q is not 0 or 1", v), nil)
	case KindURL:
		u, reason := checkURL(v, urlExample(f.Path))
		if reason != "" {
			return "", bad(reason, nil)
		}
		if u.Scheme == "http" && !isLoopbackHost(u) {
			return "", bad(fmt.Sprintf("%s uses plain http: only a loopback host (127.0.0.0/8, ::1, localhost) may use http; use https", quoteURL(v)), nil)
		}
		v = strings.TrimSuffix(v, "/")
	case KindDuration:
		d, err := ParseDuration(v)
		if err != nil {
			return "", bad(fmt.Sprintf("%q is not a duration such as 5m, 90s, 4h or 30d", v), err)
		}
		if f.MaxDuration > 0 && (d < f.MinDuration || d > f.MaxDuration) {
			return "", bad(fmt.Sprintf("%s is out of range: use a duration from %s to %s", v, fmtDuration(f.MinDuration), fmtDuration(f.MaxDuration)), nil)
		}
		if d < 0 {
			return "", bad(fmt.Sprintf("%s is negative", v), nil)
		}
	case KindIBAN:
		n, err := iban.Parse(v)
		if err != nil {
			return "", bad(err.Error(), err)
		}
		v = n
	case KindSWIFT:
		if err := iban.ValidateSWIFT(v); err != nil {
			return "", bad(err.Error(), err)
		}
		v = strings.ToUpper(v)
	case KindCountry:
		c := strings.ToUpper(v)
		if len(c) != 2 || c[0] < 'A' || c[0] > 'Z' || c[1] < 'A' || c[1] > 'Z' {
			return "", bad(fmt.Sprintf("%q is not a two-letter country code such as PL", v), nil)
		}
		if !countryCodes[c] {
			return "", bad(fmt.Sprintf("%q is not an ISO 3166-1 alpha-2 country code (such as PL, DE or GB)", c), nil)
		}
		v = c
	case KindInt:
		n, err := strconv.Atoi(v)
		if err != nil {
			return "", bad(fmt.Sprintf("%q is not a whole number", v), err)
		}
		if f.MaxInt > 0 && (n < f.MinInt || n > f.MaxInt) {
			return "", bad(fmt.Sprintf("%d is out of range: use a whole number from %d to %d", n, f.MinInt, f.MaxInt), nil)
		}
		v = strconv.Itoa(n)
	case KindCommand:
		if !filepath.IsAbs(v) {
			return "", bad(fmt.Sprintf("%q is not an absolute path: give the full path of the executable, e.g. /usr/local/bin/ksefpl-event", v), nil)
		}
		v = filepath.Clean(v)
	case KindString:
		if utf8.RuneCountInString(v) > maxStringRunes {
			return "", bad(fmt.Sprintf("the value is longer than %d characters", maxStringRunes), nil)
		}
	}
	return v, nil
}

// checkText refuses what no configuration value may contain: bytes that are not UTF-8,
// line breaks, control characters (C0 and C1 other than tab, and DEL) and the invisible
// bidirectional-text overrides that make a value display as something else. The reason
// names the character and its position, never the value.
func checkText(v string) string {
	if !utf8.ValidString(v) {
		return "the value is not valid UTF-8 text"
	}
	pos := 0
	for _, r := range v {
		pos++
		switch {
		case r == '\t':
		case r == '\r' || r == '\n' || r == '\u2028' || r == '\u2029':
			return "the value must be a single line"
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f):
			return fmt.Sprintf("the value contains the control character U+%04X at position %d; control characters are not allowed", r, pos)
		case (r >= '\u202a' && r <= '\u202e') || (r >= '\u2066' && r <= '\u2069'):
			return fmt.Sprintf("the value contains the invisible bidirectional-text control U+%04X at position %d, which makes text display differently from what it is", r, pos)
		}
	}
	return ""
}

// urlExample is the example URL the messages about path give.
func urlExample(path string) string {
	switch path {
	case PathNBPBaseURL:
		return "https://api.nbp.pl/api"
	case PathNotifyWebhookURL:
		return "https://shop.example.com/ksefpl-webhook"
	}
	return "https://api-test.ksef.mf.gov.pl/v2 or, for the simulator, http://127.0.0.1:8089/v2"
}

// Cloud instance metadata services: a request there can hand out the host's cloud
// credentials, so no configured URL may point at them.
var (
	metadataIPs   = []string{"169.254.169.254", "fd00:ec2::254", "100.100.100.200", "169.254.170.2"}
	metadataHosts = []string{"metadata.google.internal", "metadata.goog", "metadata", "instance-data", "instance-data.ec2.internal"}
)

// checkURL applies the rules every configured URL meets, whatever the environment: it
// parses, has no credentials, the scheme http or https, a host, no query or fragment, a
// valid port, and a host that is neither link-local nor a cloud metadata service nor an
// IP address in a non-standard notation. (Plain http is further limited to loopback
// hosts: see checkTransport.) The reason quotes the URL without its credentials.
func checkURL(raw, example string) (*url.URL, string) {
	shown := quoteURL(raw)
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Sprintf("%s is not a valid URL; use a full URL such as %s", shown, example)
	}
	if u.User != nil || (u.Opaque != "" && strings.Contains(u.Opaque, "@")) {
		return nil, fmt.Sprintf("%s must not contain credentials (user:password@host): ksefpl authenticates with the API token or certificate, never with credentials in the URL; remove them", shown)
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return nil, fmt.Sprintf("%s must start with https:// (or http:// for a loopback host such as the simulator's 127.0.0.1)", shown)
	}
	if u.Host == "" || u.Opaque != "" || u.Hostname() == "" {
		return nil, fmt.Sprintf("%s has no host; use a full URL such as %s", shown, example)
	}
	if u.RawQuery != "" || u.ForceQuery || strings.Contains(raw, "?") {
		return nil, fmt.Sprintf("%s must not have a query (?…): give the base URL only", shown)
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return nil, fmt.Sprintf("%s must not have a fragment (#…): give the base URL only", shown)
	}
	if strings.HasSuffix(u.Host, ":") {
		return nil, fmt.Sprintf("%s has an empty port", shown)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, fmt.Sprintf("%s has an invalid port (use 1 to 65535)", shown)
		}
	}
	host := canonicalHost(u)
	if strings.Contains(host, "%") {
		return nil, fmt.Sprintf("%s has an IPv6 zone (%%…): link-local addresses are not allowed", shown)
	}
	for _, m := range metadataHosts {
		if host == m {
			return nil, fmt.Sprintf("%s points at a cloud metadata service (%s); ksefpl never sends requests there", shown, host)
		}
	}
	if ip := net.ParseIP(host); ip != nil {
		for _, m := range metadataIPs {
			if ip.Equal(net.ParseIP(m)) {
				return nil, fmt.Sprintf("%s points at a cloud metadata service (%s); ksefpl never sends requests there", shown, m)
			}
		}
		switch {
		case ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast():
			return nil, fmt.Sprintf("%s points at a link-local address (169.254.0.0/16, fe80::/10), which is never a KSeF or NBP server", shown)
		case ip.IsUnspecified() || ip.IsMulticast() || ip.Equal(net.IPv4bcast):
			return nil, fmt.Sprintf("%s does not name a single server (%s)", shown, host)
		}
		return u, ""
	}
	// A host name whose last label is numeric or hexadecimal (2852039166, 169.254.43518,
	// 0251.0376.0251.0376, 0xa9fea9fe) is not a DNS name: some resolvers read it as an IP
	// address in a legacy notation, which would slip past the address rules above.
	labels := strings.Split(host, ".")
	last := labels[len(labels)-1]
	if isDigits(last) || strings.HasPrefix(last, "0x") {
		return nil, fmt.Sprintf("%s: %q is neither a host name nor an IP address in the usual notation (such as 192.0.2.10)", shown, host)
	}
	return u, ""
}

// canonicalHost is u's host name in lower case, without brackets or a trailing dot.
func canonicalHost(u *url.URL) string {
	return strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
}

// isDigits reports whether s is a non-empty string of ASCII digits.
func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// isLoopbackHost reports whether u's host is 127.0.0.0/8, ::1 or localhost: the rule
// the KSeF client applies to plain http (ksef.IsLoopbackHost).
func isLoopbackHost(u *url.URL) bool { return ksef.IsLoopbackHost(u.Hostname()) }

// redactURL returns raw with the credentials of its userinfo (user:password@) replaced
// by ******, as config:show and every message print URLs. A value that does not parse
// and contains an @ is replaced whole, since its credentials cannot be told apart.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	switch {
	case err == nil && u.Opaque == "" && u.User == nil:
		return raw
	case err == nil && u.Opaque == "" && u.User != nil:
		// url.Parse cuts the authority at the first / ? or # after "//" and the userinfo
		// at its last @: redact the same span of the text.
		i := strings.Index(raw, "//")
		if i < 0 {
			return "******"
		}
		rest := raw[i+2:]
		end := strings.IndexAny(rest, "/?#")
		if end < 0 {
			end = len(rest)
		}
		at := strings.LastIndex(rest[:end], "@")
		if at < 0 {
			return "******"
		}
		return raw[:i+2] + "******" + rest[at:]
	case !strings.Contains(raw, "@"):
		return raw
	}
	return "******"
}

// quoteURL is redactURL, quoted.
func quoteURL(raw string) string { return strconv.Quote(redactURL(raw)) }

// fmtDuration prints d without trailing zero units (10m, not 10m0s).
func fmtDuration(d time.Duration) string {
	if d >= Day && d%Day == 0 {
		return strconv.FormatInt(int64(d/Day), 10) + "d"
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
