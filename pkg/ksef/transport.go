package ksef

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// maxBody caps how much of a response body is read (KSeF JSON answers are small).
const maxBody = 16 << 20

// call describes one logical KSeF request.
type call struct {
	method string
	// base overrides the API base URL (Latarnia, legacy).
	base string
	path string
	// body is marshalled as JSON when non-nil.
	body any
	// rawBody is sent as it is, with contentType, when non-nil (the signed XML of
	// /auth/xades-signature).
	rawBody     []byte
	contentType string
	// bearer is sent as Authorization: Bearer …
	bearer string
	// idempotent calls are retried on network errors and 5xx.
	idempotent bool
	// noRetry calls are never retried, not even on 429 (token redeem).
	noRetry bool
	// out receives the decoded JSON answer when non-nil.
	out any
	// noProblemDetails omits X-Error-Format (legacy 1.0 and Latarnia).
	noProblemDetails bool
	// rawURL, when set, is the absolute URL requested instead of base+path
	// (pre-signed storage links); path then only names the call in errors and
	// must not carry the URL's query (it holds the link's signature).
	rawURL string
	// header holds extra request headers (x-continuation-token).
	header map[string]string
	// accept replaces the default Accept: application/json.
	accept string
	// raw receives the undecoded 2xx body when non-nil (XML downloads).
	raw *[]byte
	// limit caps the answer size in bytes (default maxBody); a larger answer
	// is an error, never silently truncated.
	limit int64
}

// response is one raw HTTP answer.
type response struct {
	status int
	header http.Header
	body   []byte
}

// do runs the call with the retry policy and decodes the answer into c.out.
func (c *Client) do(ctx context.Context, cl call) (http.Header, error) {
	var payload []byte
	if cl.body != nil {
		b, err := json.Marshal(cl.body)
		if err != nil {
			return nil, fmt.Errorf("encoding the %s %s request: %w", cl.method, cl.path, err)
		}
		payload = b
	}
	if cl.rawBody != nil {
		payload = cl.rawBody
	}
	var waited429 time.Duration
	pace := c.paceFor(cl)
	for attempt := 1; ; attempt++ {
		if pace != nil {
			if attempt > 1 {
				pace.retried()
			}
			if err := pace.wait(ctx); err != nil {
				return nil, fmt.Errorf("%s %s: waiting for a free slot within the KSeF rate limits: %w", cl.method, cl.path, err)
			}
		}
		resp, err := c.once(ctx, cl, payload)
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("%s %s: %w", cl.method, cl.path, ctx.Err())
			}
			if cl.idempotent && !cl.noRetry && attempt < c.retry.MaxAttempts {
				if err := sleep(ctx, c.backoff(attempt)); err != nil {
					return nil, fmt.Errorf("%s %s: %w", cl.method, cl.path, err)
				}
				continue
			}
			return nil, &NetworkError{Method: cl.method, Path: cl.path, Attempts: attempt, Err: err}
		}
		warnings := c.reportWarnings(cl.method, cl.path, resp.status, resp.header)
		switch {
		case resp.status >= 200 && resp.status < 300:
			if cl.raw != nil {
				return resp.header, c.decodeRaw(cl, resp)
			}
			return resp.header, c.decode(cl, resp)
		case resp.status >= 300 && resp.status < 400:
			return resp.header, &RedirectError{Method: cl.method, Path: cl.path, HTTPStatus: resp.status, Location: resp.header.Get("Location")}
		}
		failure := c.failure(cl, resp)
		if ae, ok := failure.(*APIError); ok {
			ae.Warnings = warnings
		}
		// A 429 was rejected before processing, so honouring Retry-After is
		// safe for every call except those marked noRetry (redeem).
		if resp.status == http.StatusTooManyRequests {
			if cl.noRetry {
				return resp.header, failure
			}
			ae, _ := failure.(*APIError)
			wait := time.Duration(0)
			if ae != nil {
				wait = ae.RetryAfter
			}
			if pace != nil {
				pace.tooMany(wait)
			}
			if wait <= 0 {
				wait = c.backoff(attempt)
			}
			if waited429+wait > c.retry.RateLimitCeiling {
				return resp.header, &RateLimitError{Waited: waited429, RetryAfter: wait, Last: ae}
			}
			if err := sleep(ctx, wait); err != nil {
				return nil, fmt.Errorf("%s %s: %w", cl.method, cl.path, err)
			}
			waited429 += wait
			continue
		}
		if resp.status >= 500 && cl.idempotent && !cl.noRetry && attempt < c.retry.MaxAttempts {
			if err := sleep(ctx, c.backoff(attempt)); err != nil {
				return nil, fmt.Errorf("%s %s: %w", cl.method, cl.path, err)
			}
			continue
		}
		return resp.header, failure
	}
}

// once performs a single HTTP attempt and reads the whole body.
func (c *Client) once(ctx context.Context, cl call, payload []byte) (*response, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	base := cl.base
	if base == "" {
		base = c.base
	}
	var body io.Reader
	if payload != nil {
		body = bytes.NewReader(payload)
	}
	target := base + cl.path
	if cl.rawURL != "" {
		target = cl.rawURL
	}
	req, err := http.NewRequestWithContext(ctx, cl.method, target, body)
	if err != nil {
		return nil, redactURLError(err)
	}
	accept := cl.accept
	if accept == "" {
		accept = "application/json"
	}
	req.Header.Set("Accept", accept)
	req.Header.Set("User-Agent", c.userAgent)
	if !cl.noProblemDetails {
		req.Header.Set("X-Error-Format", "problem-details")
	}
	if c.testWarning != "" && cl.rawURL == "" && cl.base == "" {
		req.Header.Set(testSystemWarningHeader, c.testWarning)
	}
	if payload != nil {
		ct := cl.contentType
		if ct == "" {
			ct = "application/json"
		}
		req.Header.Set("Content-Type", ct)
	}
	for k, v := range cl.header {
		req.Header.Set(k, v)
	}
	if cl.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+cl.bearer)
	}
	res, err := c.http.Do(req)
	if err != nil {
		return nil, redactURLError(err)
	}
	defer res.Body.Close()
	limit := cl.limit
	if limit <= 0 {
		limit = maxBody
	}
	b, err := io.ReadAll(io.LimitReader(res.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("reading the answer: %w", redactURLError(err))
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("the answer is larger than %d bytes", limit)
	}
	return &response{status: res.StatusCode, header: res.Header, body: b}, nil
}

// redactURLError drops the query from the URL inside a *url.Error: the query
// of a pre-signed link is its signature and must not reach error messages.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		cp := *ue
		cp.URL = redactURL(ue.URL)
		return &cp
	}
	return err
}

// redactURL returns raw without its query, fragment and user info.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	u.RawQuery, u.Fragment, u.User = "", "", nil
	return u.String()
}

// decodeRaw hands a 2xx body over undecoded, refusing WAF HTML pages.
func (c *Client) decodeRaw(cl call, resp *response) error {
	ct := strings.ToLower(resp.header.Get("Content-Type"))
	t := bytes.ToLower(bytes.TrimSpace(resp.body[:min(len(resp.body), 512)]))
	if strings.Contains(ct, "html") || bytes.HasPrefix(t, []byte("<!doctype html")) || bytes.HasPrefix(t, []byte("<html")) {
		return &HTMLResponseError{Method: cl.method, Path: cl.path, HTTPStatus: resp.status, Title: htmlTitle(resp.body)}
	}
	*cl.raw = resp.body
	return nil
}

// backoff returns the exponential backoff with full jitter for an attempt
// (1-based), between BaseBackoff/2 and the capped exponential value.
func (c *Client) backoff(attempt int) time.Duration {
	d := c.retry.BaseBackoff
	for i := 1; i < attempt && d < c.retry.MaxBackoff; i++ {
		d *= 2
	}
	if d > c.retry.MaxBackoff {
		d = c.retry.MaxBackoff
	}
	half := d / 2
	return half + rand.N(half+1)
}

// sleep waits for d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (c *Client) decode(cl call, resp *response) error {
	if isHTML(resp) {
		return &HTMLResponseError{Method: cl.method, Path: cl.path, HTTPStatus: resp.status, Title: htmlTitle(resp.body)}
	}
	if cl.out == nil {
		return nil
	}
	if len(bytes.TrimSpace(resp.body)) == 0 {
		return &ResponseError{Method: cl.method, Path: cl.path, Err: fmt.Errorf("empty body (HTTP %d)", resp.status)}
	}
	if err := json.Unmarshal(resp.body, cl.out); err != nil {
		return &ResponseError{Method: cl.method, Path: cl.path, Err: fmt.Errorf("invalid JSON: %w", err)}
	}
	return nil
}

func isHTML(resp *response) bool {
	ct := strings.ToLower(resp.header.Get("Content-Type"))
	if strings.Contains(ct, "html") {
		return true
	}
	t := bytes.TrimSpace(resp.body)
	return len(t) > 0 && t[0] == '<' && bytes.Contains(bytes.ToLower(t[:min(len(t), 512)]), []byte("html"))
}

func htmlTitle(b []byte) string {
	low := bytes.ToLower(b)
	i := bytes.Index(low, []byte("<title"))
	if i < 0 {
		return ""
	}
	j := bytes.IndexByte(low[i:], '>')
	if j < 0 {
		return ""
	}
	start := i + j + 1
	end := bytes.Index(low[start:], []byte("</title"))
	if end < 0 {
		return ""
	}
	t := strings.Join(strings.Fields(string(b[start:start+end])), " ")
	if len(t) > 120 {
		t = t[:120]
	}
	return t
}

// failure turns a non-2xx, non-3xx answer into the matching typed error.
func (c *Client) failure(cl call, resp *response) error {
	if isHTML(resp) {
		return &HTMLResponseError{Method: cl.method, Path: cl.path, HTTPStatus: resp.status, Title: htmlTitle(resp.body)}
	}
	e := ParseErrorBody(resp.status, resp.body)
	e.Method, e.Path = cl.method, cl.path
	e.RetryAfter = parseRetryAfter(resp.header.Get("Retry-After"), c.now())
	return e
}

// parseRetryAfter reads Retry-After as delay-seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0
		}
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}
