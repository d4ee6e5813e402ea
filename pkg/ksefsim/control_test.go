package ksefsim

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestControlEndpoints(t *testing.T) {
	e := newEnv(t, Config{})
	if r := e.call("GET", "/sim/health", nil); r.status != 200 || !strings.Contains(string(r.body), `"ok"`) {
		t.Fatalf("health: %d %s", r.status, r.body)
	}

	r := e.call("POST", "/sim/tokens", map[string]string{"nip": testNIP})
	var issued struct{ Token, ReferenceNumber string }
	r.decode(t, &issued)
	if r.status != 200 || !strings.HasPrefix(issued.Token, issued.ReferenceNumber+"|nip-"+testNIP+"|") {
		t.Fatalf("issue: %d %s", r.status, r.body)
	}
	if r := e.call("POST", "/sim/tokens", map[string]string{"nip": "12"}); r.status != 400 {
		t.Errorf("bad NIP: %d %s", r.status, r.body)
	}
	_, tk := e.login(issued.Token, testNIP)

	if r := e.call("POST", "/sim/tokens/revoke", map[string]string{"token": issued.Token}); r.status != 204 {
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}
	if r := e.call("POST", "/sim/tokens/revoke", map[string]string{"token": "unknown"}); r.status != 404 {
		t.Errorf("revoke unknown: %d", r.status)
	}
	assertAuthStatus(t, e, e.startAuth(issued.Token, testNIP), 450, "Token unieważniony.")

	r = e.call("PUT", "/sim/faults", `{"perEndpoint":{"GET /latarnia/messages":{"failNext":1,"latency":"1ms"}}}`)
	if r.status != 200 || !strings.Contains(string(r.body), `"failNext":1`) {
		t.Fatalf("put faults: %d %s", r.status, r.body)
	}
	if r := e.call("GET", "/latarnia/messages", nil); r.status != 500 {
		t.Errorf("fault from PUT /sim/faults not applied: %d", r.status)
	}
	if r := e.call("GET", "/sim/faults", nil); r.status != 200 || strings.Contains(string(r.body), "failNext") {
		t.Errorf("consumed counter still reported: %s", r.body)
	}
	if r := e.call("PUT", "/sim/faults", `{"perEndpoint":{"*":{"errorRate":2}}}`); r.status != 400 {
		t.Errorf("invalid faults accepted: %d %s", r.status, r.body)
	}

	before, _ := e.cert(usageTokenEncryption)
	if r := e.call("POST", "/sim/keys/rotate", nil); r.status != 200 || strings.Contains(string(r.body), before.PublicKeyID) {
		t.Errorf("rotate: %d %s", r.status, r.body)
	}

	if r := e.call("PUT", "/sim/rate-limits", map[string]bool{"enabled": true}); r.status != 200 || !e.sim.RateLimiting() {
		t.Errorf("rate limits on: %d %s", r.status, r.body)
	}
	if r := e.call("GET", "/sim/rate-limits", nil); !strings.Contains(string(r.body), `"enabled":true`) {
		t.Errorf("rate limits state: %s", r.body)
	}

	r = e.call("PUT", "/sim/latarnia", `{"status":"MAINTENANCE","messages":[{"id":"m1","eventId":7,"category":"MAINTENANCE","type":"MAINTENANCE_ANNOUNCEMENT","title":"Prace serwisowe","text":"KSeF niedostępny","start":"2026-03-02T16:00:00Z","version":1,"published":"2026-03-01T10:00:00Z"}]}`)
	if r.status != 200 {
		t.Fatalf("put latarnia: %d %s", r.status, r.body)
	}
	var st LatarniaStatus
	e.call("GET", "/latarnia/status", nil).decode(t, &st)
	if st.Status != LatarniaMaintenance || len(st.Messages) != 1 || st.Messages[0].Type != LatarniaMsgMaintenanceAnnouncement {
		t.Errorf("latarnia status: %+v", st)
	}
	var msgs []LatarniaMessage
	e.call("GET", "/latarnia/messages", nil).decode(t, &msgs)
	if len(msgs) != 1 || msgs[0].EventID != 7 {
		t.Errorf("latarnia messages: %+v", msgs)
	}
	if r := e.call("PUT", "/sim/latarnia", `{"status":"BROKEN"}`); r.status != 400 {
		t.Errorf("bad latarnia status accepted: %d", r.status)
	}

	// Tokens listing and revocation through the API itself.
	r = e.call("GET", "/v2/tokens?pageSize=10", nil, bearer(tk.AccessToken.Token)...)
	var list struct {
		Tokens []struct{ ReferenceNumber, Status string }
	}
	r.decode(t, &list)
	if r.status != 200 || len(list.Tokens) != 1 || list.Tokens[0].ReferenceNumber != issued.ReferenceNumber || list.Tokens[0].Status != "Revoked" {
		t.Errorf("list tokens: %d %s", r.status, r.body)
	}
	if r := e.call("GET", "/v2/tokens?pageSize=5", nil, bearer(tk.AccessToken.Token)...); r.status != 400 {
		t.Errorf("pageSize 5 accepted: %d", r.status)
	}
	e.check.Reset()
	tok2 := e.issue(testNIP)
	ref2, _, _ := strings.Cut(tok2, "|")
	if r := e.call("GET", "/v2/tokens/"+ref2, nil, bearer(tk.AccessToken.Token)...); r.status != 200 || !strings.Contains(string(r.body), `"Active"`) {
		t.Errorf("get token: %d %s", r.status, r.body)
	}
	if r := e.call("DELETE", "/v2/tokens/"+ref2, nil, bearer(tk.AccessToken.Token)...); r.status != 204 {
		t.Errorf("delete token: %d %s", r.status, r.body)
	}
	assertAuthStatus(t, e, e.startAuth(tok2, testNIP), 450, "Token unieważniony.")
	e.noViolations()
}

func TestServeStopsWhenContextIsCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	urls := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, "127.0.0.1:0", Config{}, func(u string) { urls <- u }) }()
	var base string
	select {
	case base = <-urls:
	case err := <-done:
		t.Fatalf("Serve returned early: %v", err)
	}
	resp, err := http.Get(base + "/v2/security/public-key-certificates")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "KsefTokenEncryption") {
		t.Fatalf("served: %d %s", resp.StatusCode, body)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve after cancel: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not stop after cancel")
	}
}
