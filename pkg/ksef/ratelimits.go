package ksef

import (
	"context"
	"fmt"
	"strings"
)

// RateGroup names a group of KSeF endpoints sharing one row of the rate-limit
// table: the field names of GET /rate-limits (EffectiveApiRateLimits), except
// RateGroupPublic, which the endpoint reports as "anonymous".
type RateGroup string

// The rate-limit groups of KSeF 2.0 (API 2.8.1).
const (
	RateGroupOnlineSession        RateGroup = "onlineSession"        // open an online session
	RateGroupOnlineSessionClose   RateGroup = "onlineSessionClose"   // close an online session (API 2.8.0+)
	RateGroupBatchSession         RateGroup = "batchSession"         // open a batch session
	RateGroupBatchSessionClose    RateGroup = "batchSessionClose"    // close a batch session (API 2.8.0+)
	RateGroupInvoiceSend          RateGroup = "invoiceSend"          // send an invoice in an online session
	RateGroupInvoiceStatus        RateGroup = "invoiceStatus"        // status of one invoice of a session
	RateGroupSessionList          RateGroup = "sessionList"          // GET /sessions
	RateGroupSessionInvoiceList   RateGroup = "sessionInvoiceList"   // invoices (and failed invoices) of a session
	RateGroupSessionMisc          RateGroup = "sessionMisc"          // session status, UPOs
	RateGroupInvoiceMetadata      RateGroup = "invoiceMetadata"      // POST /invoices/query/metadata
	RateGroupInvoiceExport        RateGroup = "invoiceExport"        // POST /invoices/exports
	RateGroupInvoiceExportStatus  RateGroup = "invoiceExportStatus"  // GET /invoices/exports/{ref}
	RateGroupInvoiceDownload      RateGroup = "invoiceDownload"      // GET /invoices/ksef/{ksefNumber}
	RateGroupCollectiveIdentifier RateGroup = "collectiveIdentifier" // /collective-identifiers (API 2.7.0+)
	RateGroupOther                RateGroup = "other"                // every other protected endpoint (each its own counter)
	RateGroupPublic               RateGroup = "public"               // /auth/challenge and other public calls: per IP only ("anonymous" in GET /rate-limits)
	RateGroupGlobal               RateGroup = "global"               // every call of the IP address, on top of its own group (off today: −1)
)

// RateGroups lists every group, in the order of the official table.
func RateGroups() []RateGroup {
	return []RateGroup{RateGroupOnlineSession, RateGroupOnlineSessionClose, RateGroupBatchSession, RateGroupBatchSessionClose,
		RateGroupInvoiceSend, RateGroupInvoiceStatus, RateGroupSessionList, RateGroupSessionInvoiceList, RateGroupSessionMisc,
		RateGroupInvoiceMetadata, RateGroupInvoiceExport, RateGroupInvoiceExportStatus, RateGroupInvoiceDownload,
		RateGroupCollectiveIdentifier, RateGroupOther, RateGroupPublic, RateGroupGlobal}
}

// WireName is the group's field name in GET /rate-limits: its own name, or
// "anonymous" for RateGroupPublic.
func (g RateGroup) WireName() string {
	if g == RateGroupPublic {
		return "anonymous"
	}
	return string(g)
}

// NoRateLimit is what GET /rate-limits reports for a window without a limit
// (API 2.8.0+; every window of the global group today, the minute and hour of
// the anonymous group).
const NoRateLimit = -1

// RateLimit is one row of the table: the most requests allowed in any sliding
// second, minute and hour (EffectiveApiRateLimitValues). A window whose value
// is zero or negative (NoRateLimit) has no threshold: nothing is paced by it —
// it never means "no request allowed".
type RateLimit struct {
	PerSecond int `json:"perSecond"`
	PerMinute int `json:"perMinute"`
	PerHour   int `json:"perHour"`
}

// Limited reports whether at least one window has a threshold.
func (l RateLimit) Limited() bool { return l.PerSecond > 0 || l.PerMinute > 0 || l.PerHour > 0 }

// RateLimits maps each group to its limits.
type RateLimits map[RateGroup]RateLimit

// DefaultRateLimits returns the official production table compiled into the
// package, used until (or instead of) GET /rate-limits. Source: the
// x-rate-limits of every operation and the GET /rate-limits example of
// open-api-2.8.1.json, which agree with ksef-docs limity/limity-api.md
// (22.11.2025) except for the groups added since: collectiveIdentifier (API
// 2.7.0) and the close groups, split from the open groups in API 2.8.0. Public
// endpoints (/auth/challenge, the rest of the token flow, the public key list)
// have "60 żądań na sekundę dla jednego adresu IP"; the global per-IP group
// is off (−1 in every window).
func DefaultRateLimits() RateLimits {
	return RateLimits{
		RateGroupOnlineSession:        {10, 30, 120},
		RateGroupOnlineSessionClose:   {20, 60, 240},
		RateGroupBatchSession:         {10, 20, 60},
		RateGroupBatchSessionClose:    {20, 40, 120},
		RateGroupInvoiceSend:          {10, 30, 180},
		RateGroupInvoiceStatus:        {30, 120, 1200},
		RateGroupSessionList:          {5, 10, 60},
		RateGroupSessionInvoiceList:   {10, 20, 200},
		RateGroupSessionMisc:          {10, 120, 1200},
		RateGroupInvoiceMetadata:      {8, 16, 20},
		RateGroupInvoiceExport:        {8, 16, 20},
		RateGroupInvoiceExportStatus:  {10, 60, 600},
		RateGroupInvoiceDownload:      {8, 16, 64},
		RateGroupCollectiveIdentifier: {20, 120, 240},
		RateGroupOther:                {10, 30, 120},
		RateGroupPublic:               {60, NoRateLimit, NoRateLimit},
		RateGroupGlobal:               {NoRateLimit, NoRateLimit, NoRateLimit},
	}
}

// clone returns an independent copy.
func (l RateLimits) clone() RateLimits {
	out := make(RateLimits, len(l))
	for k, v := range l {
		out[k] = v
	}
	return out
}

// RateGroupFor classifies a KSeF 2.0 call by its HTTP method and API path
// (relative to the /v2 base, with or without the query), following the
// groups that open-api-2.8.1.json names in each operation's 429 description.
// It never returns RateGroupGlobal: that group counts every call on top of
// the call's own group.
func RateGroupFor(method, path string) RateGroup {
	if i := strings.IndexAny(path, "?#"); i >= 0 {
		path = path[:i]
	}
	seg := strings.Split(strings.Trim(path, "/"), "/")
	method = strings.ToUpper(method)
	n := len(seg)
	switch seg[0] {
	case "auth":
		if n >= 2 && seg[1] == "sessions" {
			return RateGroupOther
		}
		return RateGroupPublic
	case "security", "peppol":
		return RateGroupPublic
	case "testdata":
		if n >= 2 {
			switch seg[1] {
			case "subject", "person", "permissions", "attachment":
				return RateGroupPublic
			}
		}
		return RateGroupOther
	case "sessions":
		return sessionsGroup(method, seg)
	case "collective-identifiers":
		return RateGroupCollectiveIdentifier
	case "invoices":
		switch {
		case n == 3 && seg[1] == "ksef" && method == "GET":
			return RateGroupInvoiceDownload
		case n == 3 && seg[1] == "query" && seg[2] == "metadata":
			return RateGroupInvoiceMetadata
		case n == 2 && seg[1] == "exports" && method == "POST":
			return RateGroupInvoiceExport
		case n == 3 && seg[1] == "exports" && method == "GET":
			return RateGroupInvoiceExportStatus
		}
	}
	return RateGroupOther
}

// sessionsGroup classifies the /sessions paths.
func sessionsGroup(method string, seg []string) RateGroup {
	n := len(seg)
	if n >= 2 && (seg[1] == "online" || seg[1] == "batch") {
		open, closing := RateGroupOnlineSession, RateGroupOnlineSessionClose
		if seg[1] == "batch" {
			open, closing = RateGroupBatchSession, RateGroupBatchSessionClose
		}
		switch {
		case n == 2:
			return open
		case n == 4 && seg[3] == "close":
			return closing
		case n == 4 && seg[1] == "online" && seg[3] == "invoices":
			return RateGroupInvoiceSend
		}
		return RateGroupOther
	}
	if method != "GET" {
		return RateGroupOther
	}
	switch {
	case n == 1:
		return RateGroupSessionList
	case n == 2:
		return RateGroupSessionMisc
	case n == 3 && seg[2] == "invoices":
		return RateGroupSessionInvoiceList
	case n == 4 && seg[2] == "invoices" && seg[3] == "failed":
		return RateGroupSessionInvoiceList
	case n == 4 && seg[2] == "invoices":
		return RateGroupInvoiceStatus
	}
	// UPOs: /upo/{ref}, /invoices/{ref}/upo, /invoices/ksef/{n}/upo.
	return RateGroupSessionMisc
}

// endpointKey names the endpoint of a path for the groups where every
// endpoint has its own counter ("other"): the method and the path with its
// variable segments (those with digits, or long ones) replaced by {}.
func endpointKey(method, path string) string {
	if i := strings.IndexAny(path, "?#"); i >= 0 {
		path = path[:i]
	}
	seg := strings.Split(strings.Trim(path, "/"), "/")
	for i, s := range seg {
		if len(s) > 30 || strings.ContainsAny(s, "0123456789") {
			seg[i] = "{}"
		}
	}
	return strings.ToUpper(method) + " /" + strings.Join(seg, "/")
}

// FetchRateLimits calls GET /rate-limits and returns the limits in force for
// the authenticated context. A window reported as −1 (NoRateLimit) has no
// limit and is not paced. Groups missing from the answer, or reported with
// every window zero, keep the official values of DefaultRateLimits; the public
// group is read from the "anonymous" row.
func (c *Client) FetchRateLimits(ctx context.Context, accessToken string) (RateLimits, error) {
	var out map[string]*RateLimit
	if _, err := c.do(ctx, call{method: "GET", path: "/rate-limits", bearer: accessToken, idempotent: true, out: &out}); err != nil {
		return nil, err
	}
	lim := DefaultRateLimits()
	for _, g := range RateGroups() {
		v := out[g.WireName()]
		if v == nil || *v == (RateLimit{}) {
			continue
		}
		lim[g] = RateLimit{PerSecond: normLimit(v.PerSecond), PerMinute: normLimit(v.PerMinute), PerHour: normLimit(v.PerHour)}
	}
	return lim, nil
}

// normLimit maps every negative window value to NoRateLimit.
func normLimit(n int) int {
	if n < 0 {
		return NoRateLimit
	}
	return n
}

// SyncRateLimits reads GET /rate-limits (FetchRateLimits) and gives the
// values to the client's Pacer. When the call fails, the pacer keeps the
// limits it had (the official table by default) and the error is returned
// for the caller to report; pacing goes on either way. Without a Pacer it
// only fetches.
func (c *Client) SyncRateLimits(ctx context.Context, accessToken string) (RateLimits, error) {
	lim, err := c.FetchRateLimits(ctx, accessToken)
	if err != nil {
		if c.pacer != nil {
			return c.pacer.Limits(), fmt.Errorf("reading the KSeF rate limits (pacing with the official table instead): %w", err)
		}
		return DefaultRateLimits(), fmt.Errorf("reading the KSeF rate limits (the official table applies): %w", err)
	}
	if c.pacer != nil {
		c.pacer.SetLimits(lim)
	}
	return lim, nil
}
