package ksefsim

import (
	"fmt"
	"net/http"
	"time"
)

// rateLimit is one row of the official table: requests per second, minute and hour
// (0 = no threshold for that window).
type rateLimit struct {
	PerSecond int `json:"perSecond"`
	PerMinute int `json:"perMinute"`
	PerHour   int `json:"perHour"`
}

// Official limits: the x-rate-limits of every operation in open-api-2.8.1.json (API
// 2.8.1), which agree with limity/limity-api.md. Since API 2.8.0 closing a session has
// its own groups (onlineSessionClose 20/60/240, batchSessionClose 20/40/120; before,
// the close shared onlineSession 10/30/120 and batchSession 10/20/60 with the open).
// A zero threshold means "no limit for that window" (the contract writes -1).
var (
	limitAnonymous   = rateLimit{PerSecond: 60}
	limitGlobal      = rateLimit{} // per-IP limits of all operations: announced, not enforced yet
	limitOther       = rateLimit{10, 30, 120}
	limitOnline      = rateLimit{10, 30, 120}
	limitOnlineClose = rateLimit{20, 60, 240}
	limitBatch       = rateLimit{10, 20, 60}
	limitBatchClose  = rateLimit{20, 40, 120}
	limitInvoiceSend = rateLimit{10, 30, 180}
	limitInvStatus   = rateLimit{30, 120, 1200}
	limitSessionList = rateLimit{5, 10, 60}
	limitSessInvList = rateLimit{10, 20, 200}
	limitSessionMisc = rateLimit{10, 120, 1200}
	limitMetadata    = rateLimit{8, 16, 20}
	limitExport      = rateLimit{8, 16, 20}
	limitExportState = rateLimit{10, 60, 600}
	limitDownload    = rateLimit{8, 16, 64}
	limitCollective  = rateLimit{20, 120, 240}
)

// Endpoint groups: the names of GET /rate-limits (EffectiveApiRateLimits) and, for
// statistics only, the groups of calls that are never limited.
const (
	GroupAnonymous            = "anonymous" // the public (unauthenticated) operations: auth, public keys
	GroupOnlineSession        = "onlineSession"
	GroupOnlineSessionClose   = "onlineSessionClose"
	GroupBatchSession         = "batchSession"
	GroupBatchSessionClose    = "batchSessionClose"
	GroupInvoiceSend          = "invoiceSend"
	GroupInvoiceStatus        = "invoiceStatus"
	GroupSessionList          = "sessionList"
	GroupSessionInvoiceList   = "sessionInvoiceList"
	GroupSessionMisc          = "sessionMisc"
	GroupInvoiceMetadata      = "invoiceMetadata"
	GroupInvoiceExport        = "invoiceExport"
	GroupInvoiceExportStatus  = "invoiceExportStatus"
	GroupInvoiceDownload      = "invoiceDownload"
	GroupCollectiveIdentifier = "collectiveIdentifier"
	GroupOther                = "other"
	GroupStorage              = "storage"  // pre-signed part uploads and UPO/export downloads (not limited)
	GroupLatarnia             = "latarnia" // the Latarnia status service (not limited)
	GroupLegacy               = "legacy"   // KSeF 1.0 endpoints (not limited)
	GroupUnknown              = "unknown"  // no route matched
)

// endpointLimit is the group and the limits of one route.
type endpointLimit struct {
	group string
	limit rateLimit
}

// endpointLimits maps route patterns to their group and limits; /v2 patterns not
// listed are "other" (each endpoint still has its own counter, limity-api.md
// "Pozostałe").
var endpointLimits = map[string]endpointLimit{
	"POST /v2/auth/challenge":                                                  {GroupAnonymous, limitAnonymous},
	"GET /v2/security/public-key-certificates":                                 {GroupAnonymous, limitAnonymous},
	"POST /v2/auth/ksef-token":                                                 {GroupAnonymous, limitAnonymous},
	"POST /v2/auth/xades-signature":                                            {GroupAnonymous, limitAnonymous},
	"GET /v2/auth/{referenceNumber}":                                           {GroupAnonymous, limitAnonymous},
	"POST /v2/auth/token/redeem":                                               {GroupAnonymous, limitAnonymous},
	"POST /v2/auth/token/refresh":                                              {GroupAnonymous, limitAnonymous},
	"POST /v2/sessions/online":                                                 {GroupOnlineSession, limitOnline},
	"POST /v2/sessions/online/{referenceNumber}/close":                         {GroupOnlineSessionClose, limitOnlineClose},
	"POST /v2/sessions/online/{referenceNumber}/invoices":                      {GroupInvoiceSend, limitInvoiceSend},
	"POST /v2/sessions/batch":                                                  {GroupBatchSession, limitBatch},
	"POST /v2/sessions/batch/{referenceNumber}/close":                          {GroupBatchSessionClose, limitBatchClose},
	"GET /v2/sessions":                                                         {GroupSessionList, limitSessionList},
	"GET /v2/sessions/{referenceNumber}/invoices":                              {GroupSessionInvoiceList, limitSessInvList},
	"GET /v2/sessions/{referenceNumber}/invoices/failed":                       {GroupSessionInvoiceList, limitSessInvList},
	"GET /v2/sessions/{referenceNumber}/invoices/{invoiceReferenceNumber}":     {GroupInvoiceStatus, limitInvStatus},
	"GET /v2/sessions/{referenceNumber}":                                       {GroupSessionMisc, limitSessionMisc},
	"GET /v2/sessions/{referenceNumber}/upo/{upoReferenceNumber}":              {GroupSessionMisc, limitSessionMisc},
	"GET /v2/sessions/{referenceNumber}/invoices/{invoiceReferenceNumber}/upo": {GroupSessionMisc, limitSessionMisc},
	"GET /v2/sessions/{referenceNumber}/invoices/ksef/{ksefNumber}/upo":        {GroupSessionMisc, limitSessionMisc},
	"POST /v2/invoices/query/metadata":                                         {GroupInvoiceMetadata, limitMetadata},
	"POST /v2/invoices/exports":                                                {GroupInvoiceExport, limitExport},
	"GET /v2/invoices/exports/{referenceNumber}":                               {GroupInvoiceExportStatus, limitExportState},
	"GET /v2/invoices/ksef/{ksefNumber}":                                       {GroupInvoiceDownload, limitDownload},
	// Not served by the simulator; listed so that the table is the contract's.
	"POST /v2/collective-identifiers":                  {GroupCollectiveIdentifier, limitCollective},
	"POST /v2/collective-identifiers/query":            {GroupCollectiveIdentifier, limitCollective},
	"POST /v2/collective-identifiers/invoices":         {GroupCollectiveIdentifier, limitCollective},
	"GET /v2/collective-identifiers/ksef/{ksefNumber}": {GroupCollectiveIdentifier, limitCollective},
	"GET /v2/peppol/query":                             {GroupAnonymous, limitAnonymous},
	"POST /v2/testdata/subject":                        {GroupAnonymous, limitAnonymous},
	"POST /v2/testdata/subject/remove":                 {GroupAnonymous, limitAnonymous},
	"POST /v2/testdata/person":                         {GroupAnonymous, limitAnonymous},
	"POST /v2/testdata/person/remove":                  {GroupAnonymous, limitAnonymous},
	"POST /v2/testdata/permissions":                    {GroupAnonymous, limitAnonymous},
	"POST /v2/testdata/permissions/revoke":             {GroupAnonymous, limitAnonymous},
	"POST /v2/testdata/attachment":                     {GroupAnonymous, limitAnonymous},
	"POST /v2/testdata/attachment/revoke":              {GroupAnonymous, limitAnonymous},
}

// limitFor returns the group and limits of a /v2 route pattern.
func limitFor(pattern string) endpointLimit {
	if l, ok := endpointLimits[pattern]; ok {
		return l
	}
	return endpointLimit{GroupOther, limitOther}
}

// effectiveLimitValues is EffectiveApiRateLimitValues: -1 means "no limit".
type effectiveLimitValues struct {
	PerSecond int `json:"perSecond"`
	PerMinute int `json:"perMinute"`
	PerHour   int `json:"perHour"`
}

// effective renders a row of the table for GET /rate-limits (0 becomes -1).
func (l rateLimit) effective() effectiveLimitValues {
	v := func(n int) int {
		if n <= 0 {
			return -1
		}
		return n
	}
	return effectiveLimitValues{PerSecond: v(l.PerSecond), PerMinute: v(l.PerMinute), PerHour: v(l.PerHour)}
}

// effectiveRateLimits is the body of GET /rate-limits (EffectiveApiRateLimits, API 2.8.1).
type effectiveRateLimits struct {
	OnlineSession        effectiveLimitValues `json:"onlineSession"`
	OnlineSessionClose   effectiveLimitValues `json:"onlineSessionClose"`
	BatchSession         effectiveLimitValues `json:"batchSession"`
	BatchSessionClose    effectiveLimitValues `json:"batchSessionClose"`
	InvoiceSend          effectiveLimitValues `json:"invoiceSend"`
	InvoiceStatus        effectiveLimitValues `json:"invoiceStatus"`
	SessionList          effectiveLimitValues `json:"sessionList"`
	SessionInvoiceList   effectiveLimitValues `json:"sessionInvoiceList"`
	SessionMisc          effectiveLimitValues `json:"sessionMisc"`
	InvoiceMetadata      effectiveLimitValues `json:"invoiceMetadata"`
	InvoiceExport        effectiveLimitValues `json:"invoiceExport"`
	InvoiceExportStatus  effectiveLimitValues `json:"invoiceExportStatus"`
	InvoiceDownload      effectiveLimitValues `json:"invoiceDownload"`
	CollectiveIdentifier effectiveLimitValues `json:"collectiveIdentifier"`
	Other                effectiveLimitValues `json:"other"`
	Anonymous            effectiveLimitValues `json:"anonymous"`
	Global               effectiveLimitValues `json:"global"`
}

// limitState keeps the switch, the time scale and, per (caller, endpoint), the times of
// accepted calls within the last (scaled) hour (sliding windows, limity-api.md §1).
type limitState struct {
	enabled bool
	scale   float64 // windows last span/scale; always > 0
	hits    map[string][]time.Time
}

func newLimitState(enabled bool, scale float64) limitState {
	if scale <= 0 {
		scale = 1
	}
	return limitState{enabled: enabled, scale: scale, hits: map[string][]time.Time{}}
}

// SetRateLimiting switches enforcement of the official rate limits on or off.
// Switching clears the counters; the time scale is kept.
func (s *Server) SetRateLimiting(on bool) {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	s.st.limits = newLimitState(on, s.st.limits.scale)
}

// RateLimiting reports whether rate limits are enforced.
func (s *Server) RateLimiting() bool {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	return s.st.limits.enabled
}

// SetTimeScale makes the rate-limit windows run scale times faster than the clock (an
// hour of limits passes in 3600/scale seconds); scale <= 0 means 1. It clears the
// counters.
func (s *Server) SetTimeScale(scale float64) {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	s.st.limits = newLimitState(s.st.limits.enabled, scale)
}

// TimeScale reports the rate limiter's time scale (1 = real time).
func (s *Server) TimeScale() float64 {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	return s.st.limits.scale
}

// rateSubject is who a call is counted against: the (context, IP) pair for calls with a
// valid simulator JWT, the IP alone for public calls.
func (s *Server) rateSubject(r *http.Request) string {
	ip := clientIP(r)
	if raw := bearerToken(r); raw != "" {
		if c, err := parseJWT(s.secret, raw); err == nil && c.ContextValue != "" {
			return c.ContextType + ":" + c.ContextValue + "@" + ip
		}
	}
	return "ip@" + ip
}

// scaled shortens a window by the time scale.
func scaled(d time.Duration, scale float64) time.Duration {
	if scale == 1 {
		return d
	}
	return time.Duration(float64(d) / scale)
}

// rateLimited counts the call and answers 429 when a window is full.
func (s *Server) rateLimited(w http.ResponseWriter, r *http.Request, pattern string) bool {
	lim := limitFor(pattern).limit
	now := s.now()
	key := s.rateSubject(r) + " " + pattern
	s.st.mu.Lock()
	if !s.st.limits.enabled {
		s.st.mu.Unlock()
		return false
	}
	scale := s.st.limits.scale
	hits := s.st.limits.hits[key]
	for len(hits) > 0 && now.Sub(hits[0]) >= scaled(time.Hour, scale) {
		hits = hits[1:]
	}
	windows := []struct {
		limit int
		span  time.Duration
		unit  string
	}{{lim.PerSecond, time.Second, "sekundę"}, {lim.PerMinute, time.Minute, "minutę"}, {lim.PerHour, time.Hour, "godzinę"}}
	for _, win := range windows {
		if win.limit <= 0 {
			continue
		}
		span := scaled(win.span, scale)
		inWindow := 0
		oldest := now
		for i := len(hits) - 1; i >= 0 && now.Sub(hits[i]) < span; i-- {
			inWindow++
			oldest = hits[i]
		}
		if inWindow >= win.limit {
			s.st.limits.hits[key] = hits
			s.st.mu.Unlock()
			// The window frees a slot when the oldest counted call leaves it.
			wait := oldest.Add(span).Sub(now)
			secs := int((wait + time.Second - 1) / time.Second)
			if secs < 1 {
				secs = 1
			}
			s.writeTooManyRequests(w, r, time.Duration(secs)*time.Second,
				fmt.Sprintf("Przekroczono limit %d żądań na %s. Spróbuj ponownie po %d sekundach.", win.limit, win.unit, secs))
			return true
		}
	}
	s.st.limits.hits[key] = append(hits, now)
	s.st.mu.Unlock()
	return false
}

// officialRateLimits is the GET /rate-limits body: the official value of every group.
func officialRateLimits() effectiveRateLimits {
	return effectiveRateLimits{
		OnlineSession: limitOnline.effective(), OnlineSessionClose: limitOnlineClose.effective(),
		BatchSession: limitBatch.effective(), BatchSessionClose: limitBatchClose.effective(),
		InvoiceSend: limitInvoiceSend.effective(), InvoiceStatus: limitInvStatus.effective(),
		SessionList: limitSessionList.effective(), SessionInvoiceList: limitSessInvList.effective(),
		SessionMisc: limitSessionMisc.effective(), InvoiceMetadata: limitMetadata.effective(),
		InvoiceExport: limitExport.effective(), InvoiceExportStatus: limitExportState.effective(),
		InvoiceDownload: limitDownload.effective(), CollectiveIdentifier: limitCollective.effective(),
		Other: limitOther.effective(), Anonymous: limitAnonymous.effective(), Global: limitGlobal.effective(),
	}
}

// handleRateLimits serves GET /rate-limits: the effective (official) values. They are
// the same whatever the time scale: the scale only speeds up the simulator's clock.
func (s *Server) handleRateLimits(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.requireBearer(w, r, tokenTypeContext); !ok {
		return
	}
	writeOK(w, http.StatusOK, officialRateLimits())
}
