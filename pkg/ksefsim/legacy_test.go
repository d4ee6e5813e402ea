package ksefsim

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"testing"
)

type legacyExc struct {
	Exception struct {
		ExceptionDetailList []struct {
			ExceptionCode int
		}
	}
}

func legacyCode(t *testing.T, r reply) int {
	t.Helper()
	var x legacyExc
	r.decode(t, &x)
	if r.status != 400 || len(x.Exception.ExceptionDetailList) != 1 {
		t.Fatalf("legacy error: %d %s", r.status, r.body)
	}
	return x.Exception.ExceptionDetailList[0].ExceptionCode
}

func legacyAuth(token, challenge, timestamp string) []byte {
	m := hmac.New(sha256.New, []byte(token))
	m.Write([]byte(challenge + timestamp))
	return m.Sum(nil)
}

func TestLegacySessionAuthorisation(t *testing.T) {
	e := newEnv(t, Config{})
	other := "1111111111"
	tok := e.issue(testNIP)
	e.issue(other)

	chal := func(nip string) (string, string) {
		r := e.call("POST", "/api/online/Session/AuthorisationChallenge", map[string]any{"contextIdentifier": map[string]string{"type": "onip", "identifier": nip}})
		var c struct{ Timestamp, Challenge string }
		r.decode(t, &c)
		if r.status != 201 || !validRefNumber(c.Challenge) {
			t.Fatalf("legacy challenge: %d %s", r.status, r.body)
		}
		return c.Challenge, c.Timestamp
	}
	token := func(ch, nip, auth string) reply {
		return e.call("POST", "/api/online/Session/AuthorisationToken", map[string]any{
			"challenge": ch, "authorisation": auth, "identifier": map[string]string{"type": "onip", "identifier": nip},
		})
	}

	ch, ts := chal(testNIP)
	r := token(ch, testNIP, base64.StdEncoding.EncodeToString(legacyAuth(tok, ch, ts)))
	var ok struct {
		ReferenceNumber string
		SessionToken    struct{ Token string }
	}
	r.decode(t, &ok)
	if r.status != 201 || len(ok.SessionToken.Token) != 64 || ok.ReferenceNumber[9:11] != "SE" {
		t.Fatalf("legacy token: %d %s", r.status, r.body)
	}

	// Hex is accepted too; the same token presented for another NIP is 20100.
	ch, ts = chal(other)
	if c := legacyCode(t, token(ch, other, hex.EncodeToString(legacyAuth(tok, ch, ts)))); c != 20100 {
		t.Errorf("token of another NIP: %d", c)
	}
	// A NIP that never had a token is 10000, at either step.
	r = e.call("POST", "/api/online/Session/AuthorisationChallenge", map[string]any{"contextIdentifier": map[string]string{"type": "onip", "identifier": "9999999999"}})
	if c := legacyCode(t, r); c != 10000 {
		t.Errorf("unregistered NIP at challenge: %d", c)
	}
	ch, ts = chal(testNIP)
	if c := legacyCode(t, token(ch, "9999999999", base64.StdEncoding.EncodeToString(legacyAuth(tok, ch, ts)))); c != 10000 {
		t.Errorf("unregistered NIP at token: %d", c)
	}
	// A revoked token no longer authorises.
	if err := e.sim.RevokeToken(tok); err != nil {
		t.Fatal(err)
	}
	ch, ts = chal(testNIP)
	if c := legacyCode(t, token(ch, testNIP, base64.StdEncoding.EncodeToString(legacyAuth(tok, ch, ts)))); c != 20100 {
		t.Errorf("revoked token: %d", c)
	}
}
