package ksef

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ksefpl/ksefpl/pkg/failure"
)

// Exact example bodies from open-api-2.8.1.json / research §2.3.
const (
	exceptionResponseBody = `{"exception":{"exceptionDetailList":[{"exceptionCode":21405,"exceptionDescription":"Błąd walidacji danych wejściowych.","details":["Wskazany kod formularza nie jest wspierany."]}],"referenceNumber":"a1b2c3d4-e5f6-4789-ab12-cd34ef567890","serviceCode":"00-c02cc3747020c605be02159bf3324f0e-eee7647dc67aa74a-00","serviceCtx":"srvABCDA","serviceName":"Undefined","timestamp":"2025-10-11T12:23:56.0154302"}}`
	badRequestProblemBody = `{"title":"Bad Request","status":400,"instance":"/v2/sessions/online","detail":"Żądanie jest nieprawidłowe.","errors":[{"code":21405,"description":"Błąd walidacji danych wejściowych.","details":["Wskazany kod formularza nie jest wspierany."]},{"code":21157,"description":"Nieprawidłowy rozmiar części pakietu.","details":["Rozmiar części 1 przekroczył dozwolony rozmiar 100MB."]}],"timestamp":"2025-07-11T12:23:56.0154302+00:00","traceId":"673843e023c432286660bc0501a3af44"}`
	tooManyLegacyBody     = `{"status":{"code":429,"description":"Too Many Requests","details":["Przekroczono limit 20 żądań na minutę. Spróbuj ponownie po 30 sekundach."]}}`
	tooManyProblemBody    = `{"title":"Too Many Requests","status":429,"instance":"/v2/auth/challenge","detail":"Przekroczono limit 20 żądań na minutę. Spróbuj ponownie po 30 sekundach.","timestamp":"2025-07-11T12:23:56.0154302+00:00","traceId":"673843e023c432286660bc0501a3af44"}`
	unauthorizedBody      = `{"title":"Unauthorized","status":401,"detail":"Wymagane jest uwierzytelnienie.","instance":"/v2/auth/token/refresh","traceId":"673843e023c432286660bc0501a3af44","timestamp":"2025-07-11T12:23:56.0154302+00:00"}`
	forbiddenBody         = `{"title":"Forbidden","status":403,"detail":"Brak wymaganych uprawnień.","instance":"/v2/sessions/online","reasonCode":"missing-permissions","security":{"requiredAnyOfPermissions":["InvoiceWrite"],"presentPermissions":["InvoiceRead"]},"traceId":"abc","timestamp":"2025-07-11T12:23:56.0154302+00:00"}`
	wafPage               = `<!DOCTYPE html><html><head><title>Request Rejected</title></head><body>The requested URL was rejected. Please consult with your administrator. Your support ID is: 1234</body></html>`
)

func TestParseExceptionResponse(t *testing.T) {
	e := ParseErrorBody(400, []byte(exceptionResponseBody))
	if !e.HasCode(21405) || e.HasCode(21157) {
		t.Fatalf("codes: %+v", e.Exceptions)
	}
	d := e.Exceptions[0]
	if d.Description != "Błąd walidacji danych wejściowych." || len(d.Details) != 1 || d.Details[0] != "Wskazany kod formularza nie jest wspierany." {
		t.Errorf("detail not parsed: %+v", d)
	}
	if e.ServiceCode != "00-c02cc3747020c605be02159bf3324f0e-eee7647dc67aa74a-00" || e.ServiceCtx != "srvABCDA" || e.ReferenceNumber != "a1b2c3d4-e5f6-4789-ab12-cd34ef567890" {
		t.Errorf("service fields not parsed: %+v", e)
	}
	if e.Class() != failure.Rejected {
		t.Errorf("class %v, want rejected", e.Class())
	}
	for _, s := range []string{"21405", "Wskazany kod formularza", "00-c02cc3747020c605be02159bf3324f0e"} {
		if !strings.Contains(e.Error(), s) {
			t.Errorf("message %q lacks %q", e.Error(), s)
		}
	}
}

func TestParseBadRequestProblemDetails(t *testing.T) {
	e := ParseErrorBody(400, []byte(badRequestProblemBody))
	if !e.HasCode(21405) || !e.HasCode(21157) || len(e.Exceptions) != 2 {
		t.Fatalf("codes: %+v", e.Exceptions)
	}
	if e.Title != "Bad Request" || e.Detail != "Żądanie jest nieprawidłowe." || e.TraceID != "673843e023c432286660bc0501a3af44" || e.Instance != "/v2/sessions/online" {
		t.Errorf("problem fields: %+v", e)
	}
	if !strings.Contains(e.Error(), "Rozmiar części 1") {
		t.Errorf("details missing from %q", e.Error())
	}
}

func TestParse429BothFormats(t *testing.T) {
	for _, body := range []string{tooManyLegacyBody, tooManyProblemBody} {
		e := ParseErrorBody(429, []byte(body))
		if e.Title != "Too Many Requests" || !strings.Contains(e.Detail, "Przekroczono limit 20") {
			t.Errorf("429 not parsed from %s: %+v", body, e)
		}
		if e.Class() != failure.Unavailable {
			t.Errorf("429 class %v", e.Class())
		}
	}
}

func TestParse401And403(t *testing.T) {
	e := ParseErrorBody(401, []byte(unauthorizedBody))
	if e.Detail != "Wymagane jest uwierzytelnienie." || e.Class() != failure.Auth {
		t.Errorf("401: %+v class %v", e, e.Class())
	}
	e = ParseErrorBody(403, []byte(forbiddenBody))
	if e.ReasonCode != "missing-permissions" || e.Class() != failure.Auth {
		t.Errorf("403: %+v", e)
	}
	if req, ok := e.Security["requiredAnyOfPermissions"].([]any); !ok || len(req) != 1 || req[0] != "InvoiceWrite" {
		t.Errorf("403 security not parsed: %#v", e.Security)
	}
	if !strings.Contains(e.Error(), "permission") {
		t.Errorf("403 message lacks a hint: %v", e)
	}
}

// serveSeq answers successive requests with the given handlers (the last
// repeats) and counts requests.
func serveSeq(t *testing.T, hs ...http.HandlerFunc) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := int(n.Add(1)) - 1
		hs[min(i, len(hs)-1)](w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func status(code int, body string, hdr ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(hdr); i += 2 {
			w.Header().Set(hdr[i], hdr[i+1])
		}
		if w.Header().Get("Content-Type") == "" {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(code)
		_, _ = w.Write([]byte(body))
	}
}

const keysBody = `[]`

func TestRetryGETOn5xxThenSuccess(t *testing.T) {
	srv, n := serveSeq(t, status(503, `{"exception":{"exceptionDetailList":[{"exceptionCode":500,"exceptionDescription":"Wystąpił nieoczekiwany błąd."}]}}`), status(502, "bad gateway", "Content-Type", "text/plain"), status(200, keysBody))
	c := newTestClient(t, srv.URL+"/v2", nil)
	certs, err := c.PublicKeyCertificates(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if certs == nil || len(certs) != 0 {
		t.Errorf("certs = %v", certs)
	}
	if n.Load() != 3 {
		t.Errorf("requests = %d, want 3", n.Load())
	}
}

func TestRetryGivesUpAfterMaxAttempts(t *testing.T) {
	srv, n := serveSeq(t, status(500, `{"exception":{"exceptionDetailList":[{"exceptionCode":500,"exceptionDescription":"Wystąpił nieoczekiwany błąd."}]}}`))
	c := newTestClient(t, srv.URL+"/v2", nil)
	_, err := c.PublicKeyCertificates(context.Background())
	var ae *APIError
	if !errors.As(err, &ae) || ae.HTTPStatus != 500 || failure.Of(err) != failure.Unavailable {
		t.Fatalf("want 500 APIError class unavailable, got %v", err)
	}
	if int(n.Load()) != fastRetry.MaxAttempts {
		t.Errorf("requests = %d, want %d", n.Load(), fastRetry.MaxAttempts)
	}
}

func TestRedeemNeverRetried(t *testing.T) {
	for _, h := range []http.HandlerFunc{status(500, `{}`), status(429, tooManyLegacyBody, "Retry-After", "0")} {
		srv, n := serveSeq(t, h, status(200, `{"accessToken":{"token":"a","validUntil":"2030-01-01T00:00:00Z"},"refreshToken":{"token":"r","validUntil":"2030-01-01T00:00:00Z"}}`))
		c := newTestClient(t, srv.URL+"/v2", nil)
		if _, err := c.Redeem(context.Background(), "authtoken"); err == nil {
			t.Fatal("redeem succeeded although the only answer was an error")
		}
		if n.Load() != 1 {
			t.Errorf("redeem sent %d requests, want exactly 1", n.Load())
		}
	}
}

func TestNonIdempotentPOSTNotRetriedOn5xx(t *testing.T) {
	f := newFakeKSeF(t)
	// A server that fails ksef-token with 503 but otherwise behaves like KSeF.
	var ksefTokenCalls atomic.Int32
	fail := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/auth/ksef-token") {
			ksefTokenCalls.Add(1)
			status(503, `{}`)(w, r)
			return
		}
		f.serve(w, r)
	}))
	t.Cleanup(fail.Close)
	c := newTestClient(t, fail.URL+"/v2", nil)
	_, _, err := c.AuthenticateKSeFToken(context.Background(), KSeFTokenAuth{Token: f.token, Context: ContextIdentifier{Type: "Nip", Value: f.nip}})
	if failure.Of(err) != failure.Unavailable {
		t.Fatalf("want unavailable, got %v", err)
	}
	if ksefTokenCalls.Load() != 1 {
		t.Errorf("ksef-token sent %d times, want 1 (not idempotent)", ksefTokenCalls.Load())
	}
}

func Test429RetryAfterThenSuccess(t *testing.T) {
	srv, n := serveSeq(t, status(429, tooManyLegacyBody, "Retry-After", "1"), status(200, keysBody))
	c := newTestClient(t, srv.URL+"/v2", nil)
	if _, err := c.PublicKeyCertificates(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n.Load() != 2 {
		t.Errorf("requests = %d, want 2", n.Load())
	}
}

func Test429RetryAfterHTTPDate(t *testing.T) {
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	if d := parseRetryAfter(now.Add(30*time.Second).Format(http.TimeFormat), now); d != 30*time.Second {
		t.Errorf("HTTP-date Retry-After = %v, want 30s", d)
	}
	if d := parseRetryAfter("7", now); d != 7*time.Second {
		t.Errorf("seconds Retry-After = %v", d)
	}
	if d := parseRetryAfter("soon", now); d != 0 {
		t.Errorf("garbage Retry-After = %v", d)
	}
}

func Test429BeyondCeilingIsUnavailable(t *testing.T) {
	srv, n := serveSeq(t, status(429, tooManyProblemBody, "Retry-After", "30", "Content-Type", "application/problem+json"))
	c := newTestClient(t, srv.URL+"/v2", nil) // ceiling 3 s < 30 s
	_, err := c.Challenge(context.Background())
	var rl *RateLimitError
	if !errors.As(err, &rl) || failure.Of(err) != failure.Unavailable {
		t.Fatalf("want RateLimitError class unavailable, got %v", err)
	}
	if rl.RetryAfter != 30*time.Second {
		t.Errorf("RetryAfter = %v", rl.RetryAfter)
	}
	var ae *APIError
	if !errors.As(err, &ae) || ae.HTTPStatus != 429 {
		t.Errorf("the 429 APIError is not wrapped: %v", err)
	}
	if n.Load() != 1 {
		t.Errorf("requests = %d, want 1 (no waiting beyond the ceiling)", n.Load())
	}
}

func Test429RepeatedUntilCeiling(t *testing.T) {
	srv, n := serveSeq(t, status(429, tooManyLegacyBody, "Retry-After", "1"))
	c := newTestClient(t, srv.URL+"/v2", func(o *Options) { o.Retry.RateLimitCeiling = 2 * time.Second })
	_, err := c.PublicKeyCertificates(context.Background())
	if failure.Of(err) != failure.Unavailable {
		t.Fatalf("want unavailable, got %v", err)
	}
	if n.Load() != 3 {
		t.Errorf("requests = %d, want 3 (two 1-second waits fit a 2-second ceiling)", n.Load())
	}
}

func TestHTMLPageIsHTMLResponseError(t *testing.T) {
	srv, _ := serveSeq(t, status(403, wafPage, "Content-Type", "text/html; charset=utf-8"))
	c := newTestClient(t, srv.URL+"/v2", nil)
	_, err := c.Challenge(context.Background())
	var he *HTMLResponseError
	if !errors.As(err, &he) || he.HTTPStatus != 403 || he.Title != "Request Rejected" {
		t.Fatalf("want HTMLResponseError 403, got %v", err)
	}
	if failure.Of(err) != failure.Unavailable || !strings.Contains(err.Error(), "firewall/WAF") || !strings.Contains(err.Error(), "instead of JSON") {
		t.Errorf("class %v, message %q", failure.Of(err), err)
	}
}

func TestHTMLWith200IsError(t *testing.T) {
	// The WAF may serve a JavaScript challenge page with status 200.
	srv, _ := serveSeq(t, status(200, "<html><head><title>Just a moment</title></head><body><script>x()</script></body></html>", "Content-Type", "text/plain"))
	c := newTestClient(t, srv.URL+"/v2", nil)
	_, err := c.PublicKeyCertificates(context.Background())
	var he *HTMLResponseError
	if !errors.As(err, &he) || he.HTTPStatus != 200 {
		t.Fatalf("want HTMLResponseError, got %v", err)
	}
}

func TestRedirectIsNotFollowed(t *testing.T) {
	var target atomic.Int32
	dst := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { target.Add(1) }))
	t.Cleanup(dst.Close)
	srv, n := serveSeq(t, status(307, "", "Location", dst.URL+"/v2/auth/challenge"))
	c := newTestClient(t, srv.URL+"/v2", nil)
	_, err := c.Challenge(context.Background())
	var re *RedirectError
	if !errors.As(err, &re) || re.HTTPStatus != 307 || re.Location == "" {
		t.Fatalf("want RedirectError 307, got %v", err)
	}
	if failure.Of(err) != failure.Unavailable || !strings.Contains(err.Error(), "redirect") {
		t.Errorf("class %v message %q", failure.Of(err), err)
	}
	if target.Load() != 0 || n.Load() != 1 {
		t.Errorf("redirect followed (target hits %d, source hits %d)", target.Load(), n.Load())
	}
}

func TestNetworkErrorRetriedThenUnavailable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var accepted atomic.Int32
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			conn.Close() // drop the connection without an answer
		}
	}()
	t.Cleanup(func() { ln.Close() })
	c := newTestClient(t, "http://"+ln.Addr().String()+"/v2", nil)
	_, err = c.PublicKeyCertificates(context.Background())
	var ne *NetworkError
	if !errors.As(err, &ne) || ne.Attempts != fastRetry.MaxAttempts {
		t.Fatalf("want NetworkError after %d attempts, got %v", fastRetry.MaxAttempts, err)
	}
	if failure.Of(err) != failure.Unavailable {
		t.Errorf("class %v", failure.Of(err))
	}
	if int(accepted.Load()) < fastRetry.MaxAttempts {
		t.Errorf("only %d connections for %d attempts", accepted.Load(), fastRetry.MaxAttempts)
	}
}

func TestTimeoutIsUnavailable(t *testing.T) {
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(block); srv.Close() })
	c := newTestClient(t, srv.URL+"/v2", func(o *Options) { o.Timeout = 50 * time.Millisecond; o.Retry.MaxAttempts = 1 })
	_, err := c.PublicKeyCertificates(context.Background())
	if failure.Of(err) != failure.Unavailable {
		t.Fatalf("want unavailable, got %v", err)
	}
}

func TestContextCancelStopsRetries(t *testing.T) {
	srv, _ := serveSeq(t, status(429, tooManyLegacyBody, "Retry-After", "2"))
	c := newTestClient(t, srv.URL+"/v2", func(o *Options) { o.Retry.RateLimitCeiling = time.Minute })
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := c.PublicKeyCertificates(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want deadline exceeded, got %v", err)
	}
}

func TestHeadersSent(t *testing.T) {
	var got http.Header
	srv, _ := serveSeq(t, func(w http.ResponseWriter, r *http.Request) { got = r.Header.Clone(); status(200, keysBody)(w, r) })
	c := newTestClient(t, srv.URL+"/v2", func(o *Options) { o.Version = "1.2.3" })
	if _, err := c.PublicKeyCertificates(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got.Get("User-Agent") != "ksefpl/1.2.3" || got.Get("X-Error-Format") != "problem-details" || got.Get("Accept") != "application/json" {
		t.Errorf("headers: %v", got)
	}
}

func TestErrorClasses(t *testing.T) {
	if failure.Of(&ConfigError{Field: "x", Msg: "y"}) != failure.Invalid {
		t.Error("ConfigError must be invalid")
	}
	ae := &APIError{HTTPStatus: 400, Exceptions: []ExceptionDetail{{Code: 21304}}}
	if failure.Of(ae) != failure.Auth {
		t.Error("21304 must be auth")
	}
}
