package ksef

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ksefpl/ksefpl/pkg/failure"
)

// legacyServer is a test-local KSeF 1.0 authorisation endpoint pair that
// checks the HMAC independently.
func legacyServer(t *testing.T, token, tokenNIP string) *httptest.Server {
	t.Helper()
	const ts, challenge = "2021-10-01T12:13:14.123Z", "20211001-CR-FFFFFFFFFF-FFFFFFFFFF-FF"
	exc := func(w http.ResponseWriter, code int, desc string) {
		status(400, `{"exception":{"serviceCtx":"srvDVAKA","serviceCode":"x","serviceName":"online.session.authorisation.challenge","timestamp":"2021-10-01T12:13:14.123Z","referenceNumber":"r","exceptionDetailList":[{"exceptionCode":`+
			strings.TrimSpace(jsonInt(code))+`,"exceptionDescription":"`+desc+`"}]}}`)(w, nil)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/online/Session/AuthorisationChallenge", func(w http.ResponseWriter, r *http.Request) {
		var req struct{ ContextIdentifier legacyIdentifier }
		_ = json.NewDecoder(r.Body).Decode(&req)
		if req.ContextIdentifier.Type != "onip" {
			exc(w, 21405, "bad type")
			return
		}
		if req.ContextIdentifier.Identifier != tokenNIP && req.ContextIdentifier.Identifier != "1111111111" {
			exc(w, 10000, "Nieznany identyfikator podmiotu.")
			return
		}
		status(201, `{"timestamp":"`+ts+`","challenge":"`+challenge+`"}`)(w, r)
	})
	mux.HandleFunc("POST /api/online/Session/AuthorisationToken", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Challenge, Authorisation string
			Identifier               legacyIdentifier
		}
		_ = json.NewDecoder(r.Body).Decode(&req)
		m := hmac.New(sha256.New, []byte(token))
		m.Write([]byte(challenge + ts))
		if req.Authorisation != base64.StdEncoding.EncodeToString(m.Sum(nil)) {
			exc(w, 21405, "bad authorisation")
			return
		}
		if req.Identifier.Identifier != tokenNIP {
			exc(w, 20100, "Identyfikator podmiotu różni się od identyfikatora w tokenie.")
			return
		}
		status(201, `{"timestamp":"`+ts+`","referenceNumber":"20211001-SE-1","sessionToken":{"token":"`+strings.Repeat("e", 64)+`"}}`)(w, r)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func jsonInt(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestLegacyAuthorise(t *testing.T) {
	srv := legacyServer(t, "legacy-secret", "5265877635")
	eps, _ := EnvLocal.Endpoints(srv.URL + "/v2")
	c := newTestClient(t, eps.API, func(o *Options) { o.LegacyURL = eps.Legacy })
	s, err := c.LegacyAuthorise(context.Background(), "legacy-secret", "5265877635")
	if err != nil {
		t.Fatal(err)
	}
	if s.SessionToken != strings.Repeat("e", 64) || strings.Contains(s.String(), s.SessionToken) {
		t.Errorf("session %v", s)
	}

	_, err = c.LegacyAuthorise(context.Background(), "legacy-secret", "9999999999")
	var le *LegacyAuthError
	if !errors.As(err, &le) || le.Code != LegacyCodeNIPNotRegistered || failure.Of(err) != failure.Auth || !strings.Contains(err.Error(), "not registered") {
		t.Errorf("10000: %v", err)
	}
	_, err = c.LegacyAuthorise(context.Background(), "legacy-secret", "1111111111")
	if !errors.As(err, &le) || le.Code != LegacyCodeNIPMismatch || !strings.Contains(err.Error(), "differs") {
		t.Errorf("20100: %v", err)
	}
	if strings.Contains(err.Error(), "legacy-secret") {
		t.Error("error leaks the token")
	}
}
