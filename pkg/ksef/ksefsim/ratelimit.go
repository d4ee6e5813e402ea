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

// Official limits (limity/limity-api.md 22.11.2025 and the x-rate-limits of
// open-api.json 2.6.0). Each endpoint has its own counter; groups only name the values
// that GET /rate-limits reports.
var (
	limitPublic      = rateLimit{PerSecond: 60}
	limitOther       = rateLimit{10, 30, 120}
	limitOnline      = rateLimit{10, 30, 120}
	limitBatch       = rateLimit{10, 20, 60}
	limitInvoiceSend = rateLimit{10, 30, 180}
	limitInvStatus   = rateLimit{30, 120, 1200}
	limitSessionList = rateLimit{5, 10, 60}
	limitSessInvList = rateLimit{10, 20, 200}
	limitSessionMisc = rateLimit{10, 120, 1200}
	limitMetadata    = rateLimit{8, 16, 20}
	limitExport      = rateLimit{8, 16, 20}
	limitExportState = rateLimit{10, 60, 600}
	limitDownload    = rateLimit{8, 16, 64}
)

// endpointLimits maps route patterns to their limits; /v2 patterns not listed use limitOther.
var endpointLimits = map[string]rateLimit{
	"POST /v2/auth/challenge":                                              limitPublic,
	"GET /v2/security/public-key-certificates":                             limitPublic,
	"POST /v2/auth/ksef-token":                                             limitPublic,
	"POST /v2/auth/xades-signature":                                        limitPublic,
	"GET /v2/auth/{referenceNumber}":                                       limitPublic,
	"POST /v2/auth/token/redeem":                                           limitPublic,
	"POST /v2/auth/token/refresh":                                          limitPublic,
	"POST /v2/sessions/online":                                             limitOnline,
	"POST /v2/sessions/online/{referenceNumber}/close":                     limitOnline,
	"POST /v2/sessions/online/{referenceNumber}/invoices":                  limitInvoiceSend,
	"POST /v2/sessions/batch":                                              limitBatch,
	"POST /v2/sessions/batch/{referenceNumber}/close":                      limitBatch,
	"GET /v2/sessions":                                                     limitSessionList,
	"GET /v2/sessions/{referenceNumber}/invoices":                          limitSessInvList,
	"GET /v2/sessions/{referenceNumber}/invoices/failed":                   limitSessInvList,
	"GET /v2/sessions/{referenceNumber}/invoices/{invoiceReferenceNumber}": limitInvStatus,
	"GET /v2/sessions/{referenceNumber}":                                   limitSessionMisc,
	"GET /v2/sessions/{referenceNumber}/upo/{upoReferenceNumber}":          limitSessionMisc,
	"POST /v2/invoices/query/metadata":                                     limitMetadata,
	"POST /v2/invoices/exports":                                            limitExport,
	"GET /v2/invoices/exports/{referenceNumber}":                           limitExportState,
	"GET /v2/invoices/ksef/{ksefNumber}":                                   limitDownload,
}

// effectiveRateLimits is the body of GET /rate-limits (EffectiveApiRateLimits).
type effectiveRateLimits struct {
	OnlineSession       rateLimit `json:"onlineSession"`
	BatchSession        rateLimit `json:"batchSession"`
	InvoiceSend         rateLimit `json:"invoiceSend"`
	InvoiceStatus       rateLimit `json:"invoiceStatus"`
	SessionList         rateLimit `json:"sessionList"`
	SessionInvoiceList  rateLimit `json:"sessionInvoiceList"`
	SessionMisc         rateLimit `json:"sessionMisc"`
	InvoiceMetadata     rateLimit `json:"invoiceMetadata"`
	InvoiceExport       rateLimit `json:"invoiceExport"`
	InvoiceExportStatus rateLimit `json:"invoiceExportStatus"`
	InvoiceDownload     rateLimit `json:"invoiceDownload"`
	Other               rateLimit `json:"other"`
}

// limitState keeps the switch and, per (caller, endpoint), the times of accepted calls
// within the last hour (sliding windows, limity-api.md §1).
type limitState struct {
	enabled bool
	hits    map[string][]time.Time
}

func newLimitState(enabled bool) limitState {
	return limitState{enabled: enabled, hits: map[string][]time.Time{}}
}

// SetRateLimiting switches enforcement of the official rate limits on or off.
// Switching clears the counters.
func (s *Server) SetRateLimiting(on bool) {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	s.st.limits = newLimitState(on)
}

// RateLimiting reports whether rate limits are enforced.
func (s *Server) RateLimiting() bool {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	return s.st.limits.enabled
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

// rateLimited counts the call and answers 429 when a window is full.
func (s *Server) rateLimited(w http.ResponseWriter, r *http.Request, pattern string) bool {
	lim, ok := endpointLimits[pattern]
	if !ok {
		lim = limitOther
	}
	now := s.now()
	key := s.rateSubject(r) + " " + pattern
	s.st.mu.Lock()
	if !s.st.limits.enabled {
		s.st.mu.Unlock()
		return false
	}
	hits := s.st.limits.hits[key]
	for len(hits) > 0 && now.Sub(hits[0]) >= time.Hour {
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
		inWindow := 0
		oldest := now
		for i := len(hits) - 1; i >= 0 && now.Sub(hits[i]) < win.span; i-- {
			inWindow++
			oldest = hits[i]
		}
		if inWindow >= win.limit {
			s.st.limits.hits[key] = hits
			s.st.mu.Unlock()
			// The window frees a slot when the oldest counted call leaves it.
			wait := oldest.Add(win.span).Sub(now)
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

// handleRateLimits serves GET /rate-limits: the effective (official) values.
func (s *Server) handleRateLimits(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.requireBearer(w, r, tokenTypeContext); !ok {
		return
	}
	writeOK(w, http.StatusOK, effectiveRateLimits{
		OnlineSession: limitOnline, BatchSession: limitBatch, InvoiceSend: limitInvoiceSend,
		InvoiceStatus: limitInvStatus, SessionList: limitSessionList, SessionInvoiceList: limitSessInvList,
		SessionMisc: limitSessionMisc, InvoiceMetadata: limitMetadata, InvoiceExport: limitExport,
		InvoiceExportStatus: limitExportState, InvoiceDownload: limitDownload, Other: limitOther,
	})
}
