// Package ksefsim is the KSeF 2.0 simulator: an http.Handler that serves the official
// API contract (open-api.json, API 2.6.0) under /v2, the Latarnia status service under
// /latarnia, the historic KSeF 1.0 session endpoints under /api/online, and simulator
// control endpoints under /sim. It owns its own request and response types, written
// from the contract, so that it is an independent peer for the ksef client: tests talk
// to it over real HTTP, and `ksefpl sim serve` runs it for demos.
//
// It issues KSeF tokens, runs the token authentication flow with real RSA-OAEP
// decryption, hands out HS256-signed JWTs, enforces the official rate-limit table
// (optional) and injects faults (latency, 5xx, 429, WAF pages) on demand.
//
// It runs XAdES authentication (POST /auth/xades-signature) for real: the signed
// AuthTokenRequest (schema v2.0 or v2.1) is verified with pkg/xades (digests,
// SignatureValue, SigningCertificate) and read only from what the signature covers;
// document and signature problems are answered at once (21001, 21217, 9101, 9102,
// 9103, 9105, 21115, 21401, 21111, 21406) and certificate and permission problems
// become the operation status (460 "Nieważny certyfikat", "Certyfikat odwołany",
// "Niezaufany łańcuch certyfikatów", "Niepoprawny certyfikat"; 415). The subject is
// read from the certificate with pkg/kcert (NIP, PESEL or fingerprint); a NIP equal
// to the context NIP is the owner, any other subject needs a grant (GrantPermissions,
// POST /sim/permissions). Self-signed certificates are accepted as on TEST; with
// Config.StrictCertificates (or ?verifyCertificateChain=true) only certificates of
// the simulator's CA are. Every received document is kept for read-back
// (SignedAuthRequests, GET /sim/auth-requests).
//
// It has its own CA (EC P-256, CACertificate, GET /sim/ca) that issues test
// certificates on request (IssueCertificate, POST /sim/certificates) and the KSeF
// certificates of the /certificates endpoints: limits, enrolment data (the subject of
// the authenticating certificate; refused after a KSeF token with 25001/25002),
// enrolments checked at once (21405, 25003, 25004, 25006, 25010, 25011) and issued
// asynchronously (100 for Config.EnrollmentPolls reads, then 200 or 400 "Wniosek
// odrzucony"), retrieve, query and revoke. KSeF certificates belong to the
// authenticated subject, not to the context; they authenticate as
// InternalCertificate. Certificates can be revoked or expired from outside
// (RevokeCertificate, ExpireCertificate, POST /sim/certificates/revoke and /expire).
//
// It runs online (interactive) sessions: AES-256-CBC invoices under an RSA-OAEP
// wrapped key, asynchronous invoice processing (100 -> 150 -> final, driven by status
// reads or the injected clock), basic XML and semantic checks, duplicate detection
// across all sessions, CRC-checked KSeF numbers, and UPO v4-3 documents served both
// under /v2 and through expiring pre-signed /storage/ links. Session faults (terminate,
// stall at 150, 500 after accepting) make the hard client paths testable, and
// Invoices (GET /sim/invoices) is the judge that tests assert against.
//
// It runs batch sessions: POST /sessions/batch validates the declared package and
// parts (21405, 21161, 21157, 21470) and hands out pre-signed PUT links on this server
// (no bearer; signature, upload window of parts × 20 min and x-ms-blob-type checked);
// the close checks the uploads (21205, 21157, 21180, 21208), then decrypts the parts
// as a stream, verifies the package, unpacks ZIP or TarGz and processes every file
// like an online invoice, with the batch failure statuses (405, 415, 420, 430, 435,
// 440, 445) where the package itself is wrong. Session UPOs come in pages of up to
// 10 000 invoices.
//
// Rate limits follow the official table per endpoint and can run on a compressed
// clock (Config.TimeScale); Stats (GET /sim/stats) counts requests and 429 answers per
// endpoint group.
package ksefsim

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Config tunes a simulator. The zero value gives the documented defaults.
type Config struct {
	AccessTokenTTL  time.Duration    // accessToken lifetime; default 15m (observed on TEST)
	RefreshTokenTTL time.Duration    // refreshToken lifetime; default 7 days
	AuthDelay       int              // GET /auth/{ref} polls that answer 100 before the final status; default 1, negative means 0
	RateLimits      bool             // enforce the official rate-limit table from the start
	Clock           func() time.Time // time source; nil means time.Now
	Logger          *slog.Logger     // request log; nil discards

	// InvoiceStepPolls is how many status reads see each intermediate invoice status
	// (100, then 150) and the closed session status (170 online, 150 batch) before it
	// moves on. Zero
	// means 1, or "reads do not count" when InvoiceStepTime is set; negative means 0
	// (an invoice is final at its first read).
	InvoiceStepPolls int
	// InvoiceStepTime, when positive, also moves each step on once this much Clock
	// time has passed at it, so tests can drive processing with an injected clock.
	InvoiceStepTime time.Duration
	// FormCodes are the form codes POST /sessions/online and /sessions/batch accept;
	// nil means FA (3) and FA (2) with schemaVersion 1-0E (the TEST environment).
	FormCodes []FormCode

	// TimeScale makes the rate limiter's sliding windows run TimeScale times faster
	// than Clock: with 3600 an hour of limits passes in one second, so hourly limits
	// can be exercised quickly. Zero or negative means 1 (real time). GET
	// /v2/rate-limits still reports the official values.
	TimeScale float64
	// StorageDir, when set, is where uploaded batch parts and reassembled packages are
	// kept (as temporary files, removed once the package is processed). Empty keeps
	// them in memory, which is fine for tests and packages of a few hundred MB.
	StorageDir string
	// UPOPageSize is the number of invoices per page of a session UPO; zero means the
	// official 10 000.
	UPOPageSize int

	// StrictCertificates makes XAdES authentication trust only certificates issued by
	// the simulator's own CA (CACertificate): others end in status 460 "Niezaufany
	// łańcuch certyfikatów", as on the pre-production and production environments.
	// By default self-signed certificates are accepted, as on KSeF's TEST
	// environment (a request can still ask for the check with
	// ?verifyCertificateChain=true).
	StrictCertificates bool
	// EnrollmentPolls is how many reads of GET /certificates/enrollments/{ref} see
	// status 100 before the certificate is issued (or the request rejected). Zero
	// means 1; negative means 0.
	EnrollmentPolls int
	// CertificateEnrollmentLimit and CertificateLimit are the certificate limits of
	// every authenticated subject (GET /certificates/limits): how many enrolment
	// requests it may submit and how many active KSeF certificates it may hold. Zero
	// means the documented defaults (limity/limity.md): 300 and 100 for a NIP, 12
	// and 6 for a PESEL or a certificate fingerprint.
	CertificateEnrollmentLimit int
	CertificateLimit           int
}

// Default lifetimes (research §3.8: observed JWT lifetimes on TEST).
const (
	defaultAccessTTL  = 15 * time.Minute
	defaultRefreshTTL = 7 * 24 * time.Hour
	authTokenTTL      = 45 * time.Minute
	challengeTTL      = 10 * time.Minute
	authRetention     = 7 * 24 * time.Hour
)

// ErrUnknownToken is returned by RevokeToken for a token this simulator never issued.
var ErrUnknownToken = errors.New("ksefsim: unknown KSeF token (issue one with IssueToken or POST /sim/tokens first)")

// ErrInvalidNIP is returned when a NIP is not 10 digits.
var ErrInvalidNIP = errors.New("ksefsim: NIP must be exactly 10 digits")

// Server is one simulated KSeF environment. It is safe for concurrent use.
type Server struct {
	cfg       Config
	stepPolls int            // effective InvoiceStepPolls; -1 means reads do not count
	loc       *time.Location // Polish time, for KSeF-number and invoicing dates
	log       *slog.Logger
	secret    []byte // HS256 key for all JWTs
	api       *http.ServeMux
	control   *http.ServeMux
	st        state
}

// state is everything the simulator remembers. One mutex guards it all; each area
// (keys, tokens, auth, faults, rate limits, legacy, latarnia, and later sessions and
// invoices) keeps its own sub-struct defined in the file named after the area.
type state struct {
	mu       sync.Mutex
	keys     keyState
	tokens   tokenState
	auth     authState
	faults   faultState
	limits   limitState
	legacy   legacyState
	latarnia latarniaState
	sessions sessionState
	stats    statsState
	parts    *partStore
	certs    certState
}

// New builds a simulator: it generates RSA-2048 key pairs and self-signed certificates
// for both key usages, an HS256 secret for its JWTs and an EC P-256 CA.
func New(cfg Config) (*Server, error) {
	if cfg.AccessTokenTTL <= 0 {
		cfg.AccessTokenTTL = defaultAccessTTL
	}
	if cfg.RefreshTokenTTL <= 0 {
		cfg.RefreshTokenTTL = defaultRefreshTTL
	}
	if cfg.AuthDelay == 0 {
		cfg.AuthDelay = 1
	} else if cfg.AuthDelay < 0 {
		cfg.AuthDelay = 0
	}
	if cfg.FormCodes == nil {
		cfg.FormCodes = defaultFormCodes()
	}
	if cfg.UPOPageSize <= 0 || cfg.UPOPageSize > maxUPOPageSize {
		cfg.UPOPageSize = maxUPOPageSize
	}
	s := &Server{cfg: cfg, log: cfg.Logger, secret: make([]byte, 32), loc: polishTime()}
	switch {
	case cfg.InvoiceStepPolls < 0:
		s.stepPolls = 0
	case cfg.InvoiceStepPolls > 0:
		s.stepPolls = cfg.InvoiceStepPolls
	case cfg.InvoiceStepTime > 0:
		s.stepPolls = -1
	default:
		s.stepPolls = 1
	}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if _, err := rand.Read(s.secret); err != nil {
		return nil, fmt.Errorf("ksefsim: generate JWT secret: %w", err)
	}
	s.st.tokens = newTokenState()
	s.st.auth = newAuthState()
	s.st.legacy = newLegacyState()
	s.st.sessions = newSessionState()
	s.st.limits = newLimitState(cfg.RateLimits, cfg.TimeScale)
	s.st.parts = newPartStore(cfg.StorageDir)
	s.st.latarnia = latarniaState{status: LatarniaStatus{Status: LatarniaAvailable}}
	ks, err := newKeyState(s.now())
	if err != nil {
		return nil, err
	}
	s.st.keys = ks
	cs, err := newCertState(s.now())
	if err != nil {
		return nil, err
	}
	s.st.certs = cs
	s.routes()
	return s, nil
}

func (s *Server) now() time.Time {
	if s.cfg.Clock != nil {
		return s.cfg.Clock()
	}
	return time.Now()
}

// routes registers every endpoint. New areas add their lines here.
func (s *Server) routes() {
	m := http.NewServeMux()
	m.HandleFunc("GET /v2/security/public-key-certificates", s.handlePublicKeyCertificates)
	m.HandleFunc("POST /v2/auth/challenge", s.handleChallenge)
	m.HandleFunc("POST /v2/auth/ksef-token", s.handleKsefToken)
	m.HandleFunc("POST /v2/auth/xades-signature", s.handleXadesSignature)
	m.HandleFunc("GET /v2/auth/{referenceNumber}", s.handleAuthStatus)
	m.HandleFunc("POST /v2/auth/token/redeem", s.handleRedeem)
	m.HandleFunc("POST /v2/auth/token/refresh", s.handleRefresh)
	m.HandleFunc("GET /v2/auth/sessions", s.handleAuthSessions)
	m.HandleFunc("DELETE /v2/auth/sessions/current", s.handleRevokeCurrentSession)
	m.HandleFunc("DELETE /v2/auth/sessions/{referenceNumber}", s.handleRevokeSession)
	m.HandleFunc("GET /v2/tokens", s.handleListTokens)
	m.HandleFunc("GET /v2/tokens/{referenceNumber}", s.handleGetToken)
	m.HandleFunc("DELETE /v2/tokens/{referenceNumber}", s.handleDeleteToken)
	m.HandleFunc("GET /v2/rate-limits", s.handleRateLimits)
	m.HandleFunc("GET /v2/certificates/limits", s.handleCertificateLimits)
	m.HandleFunc("GET /v2/certificates/enrollments/data", s.handleEnrollmentData)
	m.HandleFunc("POST /v2/certificates/enrollments", s.handleEnroll)
	m.HandleFunc("GET /v2/certificates/enrollments/{referenceNumber}", s.handleEnrollmentStatus)
	m.HandleFunc("POST /v2/certificates/retrieve", s.handleRetrieveCertificates)
	m.HandleFunc("POST /v2/certificates/query", s.handleQueryCertificates)
	m.HandleFunc("POST /v2/certificates/{certificateSerialNumber}/revoke", s.handleRevokeCertificate)
	m.HandleFunc("GET /latarnia/status", s.handleLatarniaStatus)
	m.HandleFunc("GET /latarnia/messages", s.handleLatarniaMessages)
	m.HandleFunc("POST /v2/sessions/online", s.handleOpenSession)
	m.HandleFunc("POST /v2/sessions/online/{referenceNumber}/invoices", s.handleSendInvoice)
	m.HandleFunc("POST /v2/sessions/online/{referenceNumber}/close", s.handleCloseSession)
	m.HandleFunc("GET /v2/sessions", s.handleListSessions)
	m.HandleFunc("GET /v2/sessions/{referenceNumber}", s.handleSessionStatus)
	m.HandleFunc("GET /v2/sessions/{referenceNumber}/invoices", s.handleListInvoices)
	m.HandleFunc("GET /v2/sessions/{referenceNumber}/invoices/failed", s.handleListFailedInvoices)
	m.HandleFunc("GET /v2/sessions/{referenceNumber}/invoices/{invoiceReferenceNumber}", s.handleInvoiceStatus)
	m.HandleFunc("GET /v2/sessions/{referenceNumber}/invoices/{invoiceReferenceNumber}/upo", s.handleInvoiceUPO)
	m.HandleFunc("GET /v2/sessions/{referenceNumber}/invoices/ksef/{ksefNumber}/upo", s.handleInvoiceUPOByKSeF)
	m.HandleFunc("GET /v2/sessions/{referenceNumber}/upo/{upoReferenceNumber}", s.handleSessionUPO)
	m.HandleFunc("GET /v2/invoices/ksef/{ksefNumber}", s.handleGetInvoice)
	m.HandleFunc("GET /storage/{sessionRef}/{kind}/{file}", s.handleStorage)
	m.HandleFunc("POST /v2/sessions/batch", s.handleOpenBatch)
	m.HandleFunc("POST /v2/sessions/batch/{referenceNumber}/close", s.handleCloseBatch)
	m.HandleFunc("PUT /storage/{shard}/{sessionRef}/batch-parts/{ordinal}", s.handlePartUpload)
	m.HandleFunc("POST /api/online/Session/AuthorisationChallenge", s.handleLegacyChallenge)
	m.HandleFunc("POST /api/online/Session/AuthorisationToken", s.handleLegacyToken)
	s.api = m

	c := http.NewServeMux()
	c.HandleFunc("GET /sim/health", s.handleSimHealth)
	c.HandleFunc("POST /sim/tokens", s.handleSimIssueToken)
	c.HandleFunc("POST /sim/tokens/revoke", s.handleSimRevokeToken)
	c.HandleFunc("GET /sim/faults", s.handleSimGetFaults)
	c.HandleFunc("PUT /sim/faults", s.handleSimPutFaults)
	c.HandleFunc("POST /sim/keys/rotate", s.handleSimRotateKeys)
	c.HandleFunc("GET /sim/rate-limits", s.handleSimGetRateLimits)
	c.HandleFunc("PUT /sim/rate-limits", s.handleSimPutRateLimits)
	c.HandleFunc("GET /sim/latarnia", s.handleSimGetLatarnia)
	c.HandleFunc("PUT /sim/latarnia", s.handleSimPutLatarnia)
	c.HandleFunc("GET /sim/invoices", s.handleSimInvoices)
	c.HandleFunc("POST /sim/sessions/{referenceNumber}/terminate", s.handleSimTerminate)
	c.HandleFunc("POST /sim/invoices/release", s.handleSimRelease)
	c.HandleFunc("GET /sim/stats", s.handleSimStats)
	c.HandleFunc("DELETE /sim/stats", s.handleSimResetStats)
	c.HandleFunc("GET /sim/ca", s.handleSimCA)
	c.HandleFunc("POST /sim/certificates", s.handleSimIssueCertificate)
	c.HandleFunc("POST /sim/certificates/revoke", s.handleSimRevokeCertificate)
	c.HandleFunc("POST /sim/certificates/expire", s.handleSimExpireCertificate)
	c.HandleFunc("POST /sim/permissions", s.handleSimGrantPermissions)
	c.HandleFunc("GET /sim/auth-requests", s.handleSimAuthRequests)
	s.control = c
}

// ServeHTTP routes a request: /sim/ control calls go straight to their handlers; every
// other call passes fault injection and (when on) rate limiting first.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	defer func() {
		s.log.Debug("ksefsim request", "method", r.Method, "path", r.URL.Path, "status", rec.status)
	}()
	if strings.HasPrefix(r.URL.Path, "/sim/") {
		s.control.ServeHTTP(rec, r)
		return
	}
	if isLatarniaHost(r.Host) && !strings.HasPrefix(r.URL.Path, "/latarnia/") {
		// Standing in for an official environment (its host names resolved to the
		// simulator, e.g. through a proxy): Latarnia answers at its own host's root.
		r = r.Clone(r.Context())
		r.URL.Path, r.URL.RawPath = "/latarnia"+r.URL.Path, ""
	}
	if warn := r.Header.Get("X-Test-System-Warning"); warn != "" {
		rec.Header().Set("X-System-Warning", warn)
	}
	_, pattern := s.api.Handler(r)
	defer func() { s.countRequest(groupOf(r.URL.Path, pattern), rec.status) }()
	if pattern == "" {
		s.api.ServeHTTP(rec, r)
		return
	}
	if s.injectFault(rec, r, pattern) {
		return
	}
	if strings.HasPrefix(r.URL.Path, "/v2/") && s.rateLimited(rec, r, pattern) {
		return
	}
	s.api.ServeHTTP(rec, r)
}

// isLatarniaHost reports whether host (host[:port]) is one of KSeF's Latarnia hosts
// (api-latarnia.ksef.mf.gov.pl, api-latarnia-test.ksef.mf.gov.pl).
func isLatarniaHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	return strings.HasPrefix(host, "api-latarnia") && strings.HasSuffix(host, ".ksef.mf.gov.pl")
}

// statusRecorder remembers the status code for the request log.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// clientIP is the caller's address without the port.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
