package ksef

import (
	"context"
	"fmt"
	"strings"
)

// RateGroup names a group of KSeF endpoints sharing one row of the rate-limit
// table: the field names of GET /rate-limits (EffectiveApiRateLimits) plus
// RateGroupPublic for the public endpoints limited per IP address.
type RateGroup string

// The rate-limit groups of KSeF 2.0.
const (
	RateGroupOnlineSession       RateGroup = "onlineSession"       // open/close an online session
	RateGroupBatchSession        RateGroup = "batchSession"        // open/close a batch session
	RateGroupInvoiceSend         RateGroup = "invoiceSend"         // send an invoice in an online session
	RateGroupInvoiceStatus       RateGroup = "invoiceStatus"       // status of one invoice of a session
	RateGroupSessionList         RateGroup = "sessionList"         // GET /sessions
	RateGroupSessionInvoiceList  RateGroup = "sessionInvoiceList"  // invoices (and failed invoices) of a session
	RateGroupSessionMisc         RateGroup = "sessionMisc"         // session status, UPOs
	RateGroupInvoiceMetadata     RateGroup = "invoiceMetadata"     // POST /invoices/query/metadata
	RateGroupInvoiceExport       RateGroup = "invoiceExport"       // POST /invoices/exports
	RateGroupInvoiceExportStatus RateGroup = "invoiceExportStatus" // GET /invoices/exports/{ref}
	RateGroupInvoiceDownload     RateGroup = "invoiceDownload"     // GET /invoices/ksef/{ksefNumber}
	RateGroupOther               RateGroup = "other"               // every other protected endpoint (each its own counter)
	RateGroupPublic              RateGroup = "public"              // /auth/challenge and other public calls: per IP only
)

// RateGroups lists every group, in the order of the official table.
func RateGroups() []RateGroup {
	return []RateGroup{RateGroupOnlineSession, RateGroupBatchSession, RateGroupInvoiceSend, RateGroupInvoiceStatus,
		RateGroupSessionList, RateGroupSessionInvoiceList, RateGroupSessionMisc, RateGroupInvoiceMetadata,
		RateGroupInvoiceExport, RateGroupInvoiceExportStatus, RateGroupInvoiceDownload, RateGroupOther, RateGroupPublic}
}

// RateLimit is one row of the table: the most requests allowed in any sliding
// second, minute and hour (EffectiveApiRateLimitValues). Zero means no
// threshold for that window.
type RateLimit struct {
	PerSecond int `json:"perSecond"`
	PerMinute int `json:"perMinute"`
	PerHour   int `json:"perHour"`
}

// RateLimits maps each group to its limits.
type RateLimits map[RateGroup]RateLimit

// DefaultRateLimits returns the official production table compiled into the
// package, used until (or instead of) GET /rate-limits. Source:
// ksef-docs limity/limity-api.md of 22.11.2025 ("Szczegółowe limity" tables)
// and the x-rate-limits of every operation in open-api.json 2.6.0, which agree.
// Public endpoints (/auth/challenge, the rest of the token flow, the public
// key list) have "60 żądań na sekundę dla jednego adresu IP".
func DefaultRateLimits() RateLimits {
	return RateLimits{
		RateGroupOnlineSession:       {10, 30, 120},
		RateGroupBatchSession:        {10, 20, 60},
		RateGroupInvoiceSend:         {10, 30, 180},
		RateGroupInvoiceStatus:       {30, 120, 1200},
		RateGroupSessionList:         {5, 10, 60},
		RateGroupSessionInvoiceList:  {10, 20, 200},
		RateGroupSessionMisc:         {10, 120, 1200},
		RateGroupInvoiceMetadata:     {8, 16, 20},
		RateGroupInvoiceExport:       {8, 16, 20},
		RateGroupInvoiceExportStatus: {10, 60, 600},
		RateGroupInvoiceDownload:     {8, 16, 64},
		RateGroupOther:               {10, 30, 120},
		RateGroupPublic:              {PerSecond: 60},
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
// groups that open-api.json names in each operation's 429 description.
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
		group := RateGroupOnlineSession
		if seg[1] == "batch" {
			group = RateGroupBatchSession
		}
		switch {
		case n == 2, n == 4 && seg[3] == "close":
			return group
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
// the authenticated context. Groups missing from the answer (or all zero)
// keep the official values of DefaultRateLimits, as does the public group,
// which the endpoint does not report.
func (c *Client) FetchRateLimits(ctx context.Context, accessToken string) (RateLimits, error) {
	var out map[string]*RateLimit
	if _, err := c.do(ctx, call{method: "GET", path: "/rate-limits", bearer: accessToken, idempotent: true, out: &out}); err != nil {
		return nil, err
	}
	lim := DefaultRateLimits()
	for _, g := range RateGroups() {
		if v := out[string(g)]; v != nil && (v.PerSecond > 0 || v.PerMinute > 0 || v.PerHour > 0) {
			if v.PerSecond < 0 || v.PerMinute < 0 || v.PerHour < 0 {
				return nil, &ResponseError{Method: "GET", Path: "/rate-limits", Err: fmt.Errorf("negative limit for %s", g)}
			}
			lim[g] = *v
		}
	}
	return lim, nil
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
