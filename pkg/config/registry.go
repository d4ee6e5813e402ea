// Package config owns ksefpl's configuration model: the typed registry of known paths
// (Magento's system.xml), validation of values by type, scope resolution and inheritance
// (store view → website → default, as core_config_data does), environment-variable
// overrides, and encryption of secret paths with the deployment key before they reach the
// store.
package config

import (
	"sort"
	"strings"
	"time"
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
	// KindBool is a yes/no switch stored as "1" or "0" (Magento's yesno source model);
	// true/false, yes/no and on/off are accepted and normalised.
	KindBool
	// KindIBAN is a bank account number, normalised (no spaces, upper case, PL added to
	// a 26-digit NRB) and checked (country length, mod-97).
	KindIBAN
	// KindSWIFT is a SWIFT/BIC code.
	KindSWIFT
	// KindCommand is the absolute path of an executable.
	KindCommand
)

// Known paths.
const (
	PathEnvironment = "ksefpl/connection/environment"
	// PathAllowCustomHost ("0" or "1") lets ksefpl/connection/base_url point the test,
	// demo or production environment at a host other than the Ministry of Finance's
	// (a corporate proxy in front of KSeF). Every command that uses such a connection
	// warns, naming the host (see OfficialHost and Service.CustomHostAllowed).
	PathAllowCustomHost   = "ksefpl/connection/allow_custom_host"
	PathBaseURL           = "ksefpl/connection/base_url"
	PathAPIToken          = "ksefpl/connection/api_token"
	PathAPIVersion        = "ksefpl/connection/api_version"
	PathAuthMethod        = "ksefpl/connection/auth_method"
	PathTokenTTLMargin    = "ksefpl/connection/token_ttl_margin"
	PathSellerNIP         = "ksefpl/seller/nip"
	PathSellerName        = "ksefpl/seller/name"
	PathSellerAddress1    = "ksefpl/seller/address_line1"
	PathSellerAddress2    = "ksefpl/seller/address_line2"
	PathSellerCountry     = "ksefpl/seller/country_code"
	PathSellerBankAccount = "ksefpl/seller/bank_account"
	PathSellerBankSWIFT   = "ksefpl/seller/bank_swift"
	PathSellerBankName    = "ksefpl/seller/bank_name"
	PathInvoiceSchema     = "ksefpl/invoice/schema"
	PathNBPBaseURL        = "ksefpl/nbp/base_url"
	PathBatchThreshold    = "ksefpl/submit/batch_threshold"
	// Notification of job events to the shop (the outbox): a webhook POST signed with
	// the secret, and/or a command given the event on stdin; max_attempts failures park
	// an event as dead.
	PathNotifyWebhookURL  = "ksefpl/notify/webhook_url"
	PathNotifySecret      = "ksefpl/notify/webhook_secret"
	PathNotifyCommand     = "ksefpl/notify/command"
	PathNotifyMaxAttempts = "ksefpl/notify/max_attempts"
	// PathValidateSubjectIdentifiers sends X-KSeF-Feature: subject-identifier-validation
	// when sessions are opened (KSeF then checks the buyer and other subjects'
	// identifiers of every invoice); meaningful on the test environment.
	PathValidateSubjectIdentifiers = "ksefpl/submit/validate_subject_identifiers"
	// PathOfflineWhenUnavailable makes queue issue new documents in an offline mode
	// while KSeF is unreachable or Latarnia announces a failure or maintenance.
	PathOfflineWhenUnavailable = "ksefpl/submit/offline_when_unavailable"
	// The thresholds of status --check (pkg/monitor), per website: crossing one is a
	// WARNING; see monitor for what is CRITICAL. A duration of 0 turns its check off.
	PathMonitorMaxPendingAge       = "ksefpl/monitor/max_pending_age"
	PathMonitorMaxFailed           = "ksefpl/monitor/max_failed"
	PathMonitorCertExpiryWarn      = "ksefpl/monitor/cert_expiry_warn"
	PathMonitorOfflineDeadlineWarn = "ksefpl/monitor/offline_deadline_warn"
	PathMonitorMaxDeadEvents       = "ksefpl/monitor/max_dead_events"
	PathMonitorMaxSinceLastSubmit  = "ksefpl/monitor/max_since_last_submit"
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
	Options []string // allowed values for KindEnum and KindBool
	Help    string
	// EnvVar, when set, overrides the stored value at default scope, and EnvVar_<CODE>
	// at website scope.
	EnvVar string
	// MinDuration and MaxDuration bound a KindDuration value (both inclusive).
	MinDuration, MaxDuration time.Duration
	// MinInt and MaxInt bound a KindInt value (both inclusive).
	MinInt, MaxInt int
}

// registry is the immutable table of known paths, sorted by path.
var registry = []Field{
	{Path: PathAllowCustomHost, Kind: KindBool, Default: "0", Options: []string{"0", "1"}, Help: "1 lets base_url point the test, demo or production environment at a host other than the Ministry of Finance's API host — for a corporate proxy in front of KSeF; every command that uses the connection then warns, naming the host"},
	{Path: PathAPIToken, Kind: KindSecret, EnvVar: EnvAPIToken, Help: "KSeF API token <reference>|nip-<NIP>|<64 hex> (stored encrypted; use - to read it from stdin); with api_version legacy a KSeF 1.0 token is accepted too"},
	{Path: PathAPIVersion, Kind: KindEnum, Default: "2", Options: []string{"2", "legacy"}, Help: "authentication profile: 2 (KSeF 2.0) or legacy (KSeF 1.0, connection tests only)"},
	{Path: PathAuthMethod, Kind: KindEnum, Default: AuthToken, Options: []string{AuthToken, AuthCertificate}, Help: "how the website authenticates: token (a KSeF token; usable for authentication only until 2026-12-31 under § 13 of the regulation) or certificate (an XAdES signature with the website's authentication certificate: ksefpl certificate:import / certificate:enroll)"},
	{Path: PathBaseURL, Kind: KindURL, Help: "API base URL: required for environment local (e.g. the simulator's http://127.0.0.1:8089/v2, plain http only for a loopback host); for test, demo and production it must be that environment's Ministry of Finance API host unless allow_custom_host is 1 (a proxy, https)"},
	{Path: PathEnvironment, Kind: KindEnum, Default: "test", Options: []string{"test", "demo", "production", "local"}, Help: "KSeF environment"},
	{Path: PathTokenTTLMargin, Kind: KindDuration, Default: "5m", MinDuration: time.Second, MaxDuration: maxTokenTTLMargin, Help: "cached access tokens are dropped this long before KSeF's expiry (1s to 10m; KSeF access tokens live about 15 minutes)"},
	{Path: PathInvoiceSchema, Kind: KindEnum, Default: "FA3", Options: []string{"FA3", "FA2"}, Help: "structured invoice schema (production accepts only FA3)"},
	{Path: PathMonitorCertExpiryWarn, Kind: KindDuration, Default: "30d", MaxDuration: 365 * Day, Help: "status --check warns when a certificate, or KSeF-token authentication (allowed until 2026-12-31), ends within this time (0 to 365d; 0: off); CRITICAL once it has ended"},
	{Path: PathMonitorMaxDeadEvents, Kind: KindInt, Default: "0", MaxInt: maxMonitorCount, Help: "status --check warns when more job events than this are parked as dead (0 to 1000000)"},
	{Path: PathMonitorMaxFailed, Kind: KindInt, Default: "0", MaxInt: maxMonitorCount, Help: "status --check warns when more jobs than this are FAILED (0 to 1000000); any AUTH_ERROR job is CRITICAL"},
	{Path: PathMonitorMaxPendingAge, Kind: KindDuration, Default: "30m", MaxDuration: 30 * Day, Help: "status --check warns when the oldest PENDING job is older than this, CRITICAL past twice it (0 to 30d; 0: off)"},
	{Path: PathMonitorMaxSinceLastSubmit, Kind: KindDuration, Default: "15m", MaxDuration: 30 * Day, Help: "status --check warns when the last successful submit run of a configured website is older than this, CRITICAL past twice it (0 to 30d; 0: off)"},
	{Path: PathMonitorOfflineDeadlineWarn, Kind: KindDuration, Default: "4h", MaxDuration: 30 * Day, Help: "status --check warns when an offline document's deadline is less than this away, CRITICAL once missed (0 to 30d; 0: off)"},
	{Path: PathNBPBaseURL, Kind: KindURL, Default: "https://api.nbp.pl/api", Help: "NBP exchange-rate API base URL (https; plain http only for a loopback host)"},
	{Path: PathNotifyCommand, Kind: KindCommand, Help: "absolute path of an executable run with each job event (JSON) on its stdin, never in argv; exit 0 acknowledges it; 30 s timeout"},
	{Path: PathNotifyMaxAttempts, Kind: KindInt, Default: "50", MinInt: 1, MaxInt: 1000, Help: "failed deliveries of one event (retried with backoff up to 1 h apart) before it is parked as dead (1 to 1000)"},
	{Path: PathNotifySecret, Kind: KindSecret, Help: "secret of the HMAC-SHA256 signature of webhook events (stored encrypted; use - to read it from stdin)"},
	{Path: PathNotifyWebhookURL, Kind: KindURL, Help: "URL that receives each job event as a JSON POST signed with webhook_secret (Ksefpl-Signature header); https (plain http only to a loopback host); 10 s timeout"},
	{Path: PathSellerAddress1, Kind: KindString, Help: "seller address, first line (AdresL1)"},
	{Path: PathSellerAddress2, Kind: KindString, Help: "seller address, second line (AdresL2)"},
	{Path: PathSellerBankAccount, Kind: KindIBAN, Help: "the seller's bank account (IBAN, or a Polish 26-digit NRB) printed in Platnosc/RachunekBankowy when the document gives none; checksum validated"},
	{Path: PathSellerBankName, Kind: KindString, Help: "the name of the seller's bank (Platnosc/RachunekBankowy/NazwaBanku)"},
	{Path: PathSellerBankSWIFT, Kind: KindSWIFT, Help: "the SWIFT/BIC code of the seller's bank (Platnosc/RachunekBankowy/SWIFT)"},
	{Path: PathSellerCountry, Kind: KindCountry, Default: "PL", Help: "seller country code (ISO 3166-1 alpha-2)"},
	{Path: PathSellerName, Kind: KindString, Help: "seller legal name"},
	{Path: PathSellerNIP, Kind: KindNIP, Help: "seller NIP (tax id); normalised before saving"},
	{Path: PathBatchThreshold, Kind: KindInt, Default: "100", MinInt: 0, MaxInt: maxBatchThreshold, Help: "submit --mode auto sends a website's backlog in batch sessions when it exceeds this many invoices (0 to 100000)"},
	{Path: PathOfflineWhenUnavailable, Kind: KindBool, Default: "0", Options: []string{"0", "1"}, Help: "1 makes queue issue new documents in an offline mode, frozen at once with their QR codes and a deadline, while KSeF is unreachable (offline24) or Latarnia announces a maintenance (offline) or a failure (awaryjny); 0 queues them as ordinary PENDING jobs"},
	{Path: PathValidateSubjectIdentifiers, Kind: KindBool, Default: "0", Options: []string{"0", "1"}, Help: "1 asks KSeF to validate the subject identifiers (NIPs and other identifiers of the buyer and other parties) of every invoice when a session is opened (X-KSeF-Feature: subject-identifier-validation); an invoice that fails is rejected with its reason. Meaningful on the test environment"},
}

// Bounds of the numeric paths.
const (
	// maxTokenTTLMargin: KSeF access tokens live about 15 minutes, so a larger margin
	// would make every cached access token stale on arrival (each command would refresh
	// it); the authenticator treats 0 as its 5m default, so 0 is not accepted either.
	maxTokenTTLMargin = 10 * time.Minute
	// maxBatchThreshold is ten full batch sessions (ksef.MaxInvoicesPerSession is
	// 10 000); above it --mode auto would never choose batch.
	maxBatchThreshold = 100_000
	// maxMonitorCount bounds the count thresholds of status --check.
	maxMonitorCount = 1_000_000
)

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

// suggest returns up to five registered paths close to path, closest first: a small edit
// distance over the whole path or its last segment, a shared prefix, or a path that
// contains (or ends with) what was typed; failing those, the paths of path's group when
// that group exists. It returns nothing when no path is close; the UnknownPathError
// message then lists the groups of paths instead.
func suggest(path string) []string {
	type cand struct {
		path string
		dist int
	}
	p := strings.ToLower(strings.Trim(strings.TrimSpace(path), "/"))
	if p == "" {
		return nil
	}
	pLast := p[strings.LastIndex(p, "/")+1:]
	var cs []cand
	for _, f := range registry {
		d := editDistance(p, f.Path)
		last := f.Path[strings.LastIndex(f.Path, "/")+1:]
		dl := editDistance(pLast, last)
		near := d <= 4 ||
			strings.HasPrefix(f.Path, p) ||
			(len(p) > 2 && strings.Contains(f.Path, p)) ||
			strings.HasSuffix(p, "/"+last) || pLast == last ||
			(len(pLast) > 3 && dl <= 2) ||
			(len(pLast) > 3 && (strings.Contains(last, pLast) || strings.Contains(pLast, last)))
		if near {
			cs = append(cs, cand{f.Path, min(d, dl+1)})
		}
	}
	if len(cs) == 0 {
		// Nothing is close: offer the group's paths when the group itself is known
		// (ksefpl/connection/no_such_path → the ksefpl/connection/ paths).
		group := p[:strings.LastIndex(p, "/")+1]
		for _, f := range registry {
			if group != "" && strings.HasPrefix(f.Path, group) && !strings.Contains(f.Path[len(group):], "/") {
				cs = append(cs, cand{f.Path, editDistance(pLast, f.Path[len(group):])})
			}
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

// groups returns the registered path groups ("ksefpl/seller/" …), sorted.
func groups() []string {
	var out []string
	for _, f := range registry {
		g := f.Path[:strings.LastIndex(f.Path, "/")+1]
		if len(out) == 0 || out[len(out)-1] != g {
			out = append(out, g)
		}
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
