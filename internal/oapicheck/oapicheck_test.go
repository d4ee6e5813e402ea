package oapicheck

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ksefpl/ksefpl/pkg/testenv"
)

// fixed answers every request with one canned response.
func fixed(status int, contentType, body string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	})
}

func load(t *testing.T) *Checker {
	t.Helper()
	c, err := Load(context.Background(), testenv.SharedPath(t, "ksef-docs", ContractFile))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func post(t *testing.T, url, path string, hdr ...string) {
	t.Helper()
	req, err := http.NewRequest("POST", url+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}

func TestConformingResponsePasses(t *testing.T) {
	c := load(t)
	srv := httptest.NewServer(c.Middleware(fixed(200, "application/json",
		`{"challenge":"20250514-CR-226FB7B000-3ACF9BE4C0-10","timestamp":"2025-07-11T12:23:56.0154302+00:00","timestampMs":1752236636015,"clientIp":"127.0.0.1"}`)))
	defer srv.Close()
	post(t, srv.URL, "/v2/auth/challenge")
	if v := c.Violations(); len(v) != 0 || c.Checked() != 1 {
		t.Fatalf("violations %q, checked %d", v, c.Checked())
	}
}

func TestMissingRequiredFieldIsReported(t *testing.T) {
	c := load(t)
	srv := httptest.NewServer(c.Middleware(fixed(200, "application/json", `{"challenge":"20250514-CR-226FB7B000-3ACF9BE4C0-10"}`)))
	defer srv.Close()
	post(t, srv.URL, "/v2/auth/challenge")
	v := c.ResponseViolations()
	if len(v) != 1 || !strings.Contains(v[0], "timestampMs") {
		t.Fatalf("violations %q", v)
	}
}

func TestUndocumentedStatusAndWrongContentTypeAreReported(t *testing.T) {
	c := load(t)
	srv := httptest.NewServer(c.Middleware(fixed(401, "application/problem+json", `{"title":"Unauthorized","status":401,"detail":"x","timestamp":"2025-07-11T12:23:56+00:00"}`)))
	defer srv.Close()
	post(t, srv.URL, "/v2/auth/challenge") // the contract documents no 401 for the public challenge
	if len(c.ResponseViolations()) != 1 {
		t.Fatalf("undocumented status not reported: %q", c.Violations())
	}
	c.Reset()
	srv2 := httptest.NewServer(c.Middleware(fixed(401, "application/json", `{"title":"Unauthorized","status":401,"detail":"x","timestamp":"2025-07-11T12:23:56+00:00"}`)))
	defer srv2.Close()
	post(t, srv2.URL, "/v2/auth/token/redeem", "Authorization", "Bearer a.b.c") // 401 must be problem+json
	if len(c.ResponseViolations()) != 1 {
		t.Fatalf("wrong 401 content type not reported: %q", c.Violations())
	}
}

func TestRequestProblemsAreReportedAndOtherPathsSkipped(t *testing.T) {
	c := load(t)
	srv := httptest.NewServer(c.Middleware(fixed(204, "text/plain", "")))
	defer srv.Close()
	post(t, srv.URL, "/v2/auth/token/redeem") // no bearer
	post(t, srv.URL, "/v2/no/such/operation")
	post(t, srv.URL, "/sim/health")
	post(t, srv.URL, "/api/online/Session/AuthorisationChallenge")
	v := c.RequestViolations()
	if len(v) != 2 || !strings.Contains(v[0], "Bearer") || !strings.Contains(v[1], "no operation") {
		t.Fatalf("request violations %q", v)
	}
}

// TestContractIsAPI281 pins the contract version: a GET /rate-limits answer shaped
// for API 2.6.0 lacks the groups 2.8.0 made required.
func TestContractIsAPI281(t *testing.T) {
	c := load(t)
	v := `{"perSecond":10,"perMinute":30,"perHour":120}`
	old := `{"onlineSession":` + v + `,"batchSession":` + v + `,"invoiceSend":` + v + `,"invoiceStatus":` + v +
		`,"sessionList":` + v + `,"sessionInvoiceList":` + v + `,"sessionMisc":` + v + `,"invoiceMetadata":` + v +
		`,"invoiceExport":` + v + `,"invoiceExportStatus":` + v + `,"invoiceDownload":` + v + `,"other":` + v + `}`
	srv := httptest.NewServer(c.Middleware(fixed(200, "application/json", old)))
	defer srv.Close()
	get(t, srv.URL+"/v2/rate-limits")
	got := strings.Join(c.ResponseViolations(), "\n")
	for _, group := range []string{"onlineSessionClose", "batchSessionClose", "anonymous", "global", "collectiveIdentifier"} {
		if !strings.Contains(got, group) {
			t.Errorf("a 2.6.0-shaped GET /rate-limits answer is not reported for the missing %q:\n%s", group, got)
		}
	}
}
