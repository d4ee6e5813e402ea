// Package config owns ksefpl's configuration model: the typed registry of known paths
// (Magento's system.xml), validation of values by type, scope resolution and inheritance
// (store view → website → default, as core_config_data does), environment-variable
// overrides, and encryption of secret paths with the deployment key before they reach the
// store.
package config

import (
	"sort"
	"strings"
)

// Kind is the type of a configuration value; it decides validation and display.
type Kind int

// Value kinds.
const (
	KindString Kind = iota
	KindSecret
	KindNIP
	KindEnum
	KindURL
	KindDuration
	KindCountry
	KindInt
)

// Known paths.
const (
	PathEnvironment    = "ksefpl/connection/environment"
	PathBaseURL        = "ksefpl/connection/base_url"
	PathAPIToken       = "ksefpl/connection/api_token"
	PathAPIVersion     = "ksefpl/connection/api_version"
	PathAuthMethod     = "ksefpl/connection/auth_method"
	PathTokenTTLMargin = "ksefpl/connection/token_ttl_margin"
	PathSellerNIP      = "ksefpl/seller/nip"
	PathSellerName     = "ksefpl/seller/name"
	PathSellerAddress1 = "ksefpl/seller/address_line1"
	PathSellerAddress2 = "ksefpl/seller/address_line2"
	PathSellerCountry  = "ksefpl/seller/country_code"
	PathInvoiceSchema  = "ksefpl/invoice/schema"
	PathNBPBaseURL     = "ksefpl/nbp/base_url"
	PathBatchThreshold = "ksefpl/submit/batch_threshold"
)

// Authentication methods (PathAuthMethod).
const (
	AuthToken       = "token"
	AuthCertificate = "certificate"
)

// EnvAPICert is the environment variable holding a PEM bundle (certificate and
// unencrypted PKCS#8 key) that overrides the stored authentication certificate of every
// website; EnvAPICert + "_" + CODE overrides one website's.
const EnvAPICert = "KSEFPL_API_CERT"

// EnvAPIToken is the environment variable that overrides the stored API token at default
// scope; EnvAPIToken + "_" + upper-cased website code overrides it for one website.
const EnvAPIToken = "KSEFPL_API_TOKEN"

// Field describes one configuration path.
type Field struct {
	Path    string
	Kind    Kind
	Default string
	Options []string // allowed values for KindEnum
	Help    string
	// EnvVar, when set, overrides the stored value at default scope, and EnvVar_<CODE>
	// at website scope.
	EnvVar string
}

// registry is the immutable table of known paths, sorted by path.
var registry = []Field{
	{Path: PathAPIToken, Kind: KindSecret, EnvVar: EnvAPIToken, Help: "KSeF API token (stored encrypted; use - to read it from stdin)"},
	{Path: PathAPIVersion, Kind: KindEnum, Default: "2", Options: []string{"2", "legacy"}, Help: "authentication profile: 2 (KSeF 2.0) or legacy (KSeF 1.0, connection tests only)"},
	{Path: PathAuthMethod, Kind: KindEnum, Default: AuthToken, Options: []string{AuthToken, AuthCertificate}, Help: "how the website authenticates: token (a KSeF token; usable for authentication only until 2026-12-31 under § 13 of the regulation) or certificate (an XAdES signature with the website's authentication certificate: ksefpl certificate:import / certificate:enroll)"},
	{Path: PathBaseURL, Kind: KindURL, Help: "API base URL: required for environment local (e.g. the simulator's http://127.0.0.1:8089/v2); for the other environments it overrides their address (a proxy)"},
	{Path: PathEnvironment, Kind: KindEnum, Default: "test", Options: []string{"test", "demo", "production", "local"}, Help: "KSeF environment"},
	{Path: PathTokenTTLMargin, Kind: KindDuration, Default: "5m", Help: "cached access tokens are dropped this long before KSeF's expiry"},
	{Path: PathInvoiceSchema, Kind: KindEnum, Default: "FA3", Options: []string{"FA3", "FA2"}, Help: "structured invoice schema (production accepts only FA3)"},
	{Path: PathNBPBaseURL, Kind: KindURL, Default: "https://api.nbp.pl/api", Help: "NBP exchange-rate API base URL"},
	{Path: PathSellerAddress1, Kind: KindString, Help: "seller address, first line (AdresL1)"},
	{Path: PathSellerAddress2, Kind: KindString, Help: "seller address, second line (AdresL2)"},
	{Path: PathSellerCountry, Kind: KindCountry, Default: "PL", Help: "seller country code (ISO 3166-1 alpha-2)"},
	{Path: PathSellerName, Kind: KindString, Help: "seller legal name"},
	{Path: PathSellerNIP, Kind: KindNIP, Help: "seller NIP (tax id); normalised before saving"},
	{Path: PathBatchThreshold, Kind: KindInt, Default: "100", Help: "submit --mode auto sends a website's backlog in batch sessions when it exceeds this many invoices"},
}

// Lookup returns the field registered at path.
func Lookup(path string) (Field, bool) {
	i := sort.Search(len(registry), func(i int) bool { return registry[i].Path >= path })
	if i < len(registry) && registry[i].Path == path {
		return registry[i], true
	}
	return Field{}, false
}

// Fields returns every registered field, sorted by path.
func Fields() []Field { return append([]Field(nil), registry...) }

// Secret reports whether values of this field are stored encrypted and never shown.
func (f Field) Secret() bool { return f.Kind == KindSecret }

// suggest returns registered paths close to path: same prefix or small edit distance.
func suggest(path string) []string {
	type cand struct {
		path string
		dist int
	}
	var cs []cand
	for _, f := range registry {
		d := editDistance(path, f.Path)
		last := f.Path[strings.LastIndex(f.Path, "/")+1:]
		if d <= 4 || strings.HasPrefix(f.Path, path) || (len(path) > 2 && strings.Contains(f.Path, path)) ||
			strings.HasSuffix(path, "/"+last) {
			cs = append(cs, cand{f.Path, d})
		}
	}
	sort.Slice(cs, func(i, j int) bool {
		if cs[i].dist != cs[j].dist {
			return cs[i].dist < cs[j].dist
		}
		return cs[i].path < cs[j].path
	})
	var out []string
	for i, c := range cs {
		if i == 5 {
			break
		}
		out = append(out, c.path)
	}
	return out
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
