package ksefsim

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// KSeF 1.0 ("online") session endpoints, kept for the legacy authentication profile.
//
// POST /api/online/Session/AuthorisationChallenge mirrors the official 1.0 contract
// (KSeF-online.yaml; research §10). POST /api/online/Session/AuthorisationToken is the
// simulator's simplified stand-in for 1.0 InitToken (which took an XML document with an
// RSA-PKCS#1-encrypted token): the body is
//
//	{"challenge":"…","authorisation":"…","identifier":{"type":"onip","identifier":"NIP"}}
//
// where authorisation = HMAC-SHA256(key = the whole KSeF token string as UTF-8,
// data = challenge + timestamp, both exactly as returned by AuthorisationChallenge),
// encoded in standard Base64 (lower-case hex is accepted too).
//
// Errors use the 1.0 ExceptionResponse shape. The codes are the ones ksefpl expects
// (10000: the NIP has no KSeF token at all; 20100: the token does not authorise the
// NIP); their texts are the simulator's own.
const (
	legacyCodeUnknownSubject = 10000
	legacyCodeNoAccess       = 20100
	legacyDescUnknownSubject = "Nieznany podmiot: brak tokenów dla wskazanego identyfikatora."
	legacyDescNoAccess       = "Brak uprawnień do wskazanego kontekstu."
)

// legacyChallenge is an issued 1.0 challenge.
type legacyChallenge struct {
	nip       string
	timestamp string
	at        time.Time
	used      bool
}

// legacyState holds 1.0 challenges and sessions.
type legacyState struct {
	challenges map[string]*legacyChallenge
	sessions   map[string]string // session token -> NIP
}

func newLegacyState() legacyState {
	return legacyState{challenges: map[string]*legacyChallenge{}, sessions: map[string]string{}}
}

type (
	legacyIdentifier struct {
		Type       string `json:"type"`
		Identifier string `json:"identifier"`
	}
	legacyChallengeRequest struct {
		ContextIdentifier *legacyIdentifier `json:"contextIdentifier"`
	}
	legacyChallengeResponse struct {
		Timestamp string `json:"timestamp"`
		Challenge string `json:"challenge"`
	}
	legacyTokenRequest struct {
		Challenge     string            `json:"challenge"`
		Authorisation string            `json:"authorisation"`
		Identifier    *legacyIdentifier `json:"identifier"`
	}
	legacySessionContext struct {
		ContextIdentifier   legacyIdentifier    `json:"contextIdentifier"`
		ContextName         map[string]any      `json:"contextName"`
		CredentialsRoleList []map[string]string `json:"credentialsRoleList"`
	}
	legacySessionToken struct {
		Token   string               `json:"token"`
		Context legacySessionContext `json:"context"`
	}
	legacyTokenResponse struct {
		Timestamp       string             `json:"timestamp"`
		ReferenceNumber string             `json:"referenceNumber"`
		SessionToken    legacySessionToken `json:"sessionToken"`
	}
	legacyExceptionResponse struct {
		Exception legacyException `json:"exception"`
	}
	legacyException struct {
		ServiceCtx          string                  `json:"serviceCtx"`
		ServiceCode         string                  `json:"serviceCode"`
		ServiceName         string                  `json:"serviceName"`
		Timestamp           string                  `json:"timestamp"`
		ReferenceNumber     string                  `json:"referenceNumber"`
		ExceptionDetailList []legacyExceptionDetail `json:"exceptionDetailList"`
	}
	legacyExceptionDetail struct {
		ExceptionCode        int    `json:"exceptionCode"`
		ExceptionDescription string `json:"exceptionDescription"`
	}
)

func legacyTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func (s *Server) writeLegacyError(w http.ResponseWriter, service string, code int, desc string) {
	now := s.now()
	writeJSON(w, http.StatusBadRequest, contentTypeJSON, legacyExceptionResponse{Exception: legacyException{
		ServiceCtx: "srvKSEFSIM", ServiceCode: strings.ToUpper(randomHex(8)),
		ServiceName: service, Timestamp: legacyTime(now), ReferenceNumber: newRefNumber(now, "EX"),
		ExceptionDetailList: []legacyExceptionDetail{{ExceptionCode: code, ExceptionDescription: desc}},
	}})
}

const (
	legacyChallengeService = "online.session.authorisation.challenge"
	legacyTokenService     = "online.session.authorisation.token"
)

// handleLegacyChallenge serves POST /api/online/Session/AuthorisationChallenge.
func (s *Server) handleLegacyChallenge(w http.ResponseWriter, r *http.Request) {
	var req legacyChallengeRequest
	body, err := readBody(r)
	if err == nil {
		err = json.Unmarshal(body, &req)
	}
	if err != nil || req.ContextIdentifier == nil || req.ContextIdentifier.Type != "onip" || !validNIPShape(req.ContextIdentifier.Identifier) {
		s.writeLegacyError(w, legacyChallengeService, codeValidation, "Nieprawidłowe dane wejściowe: oczekiwano contextIdentifier {type: onip, identifier: NIP}.")
		return
	}
	nip := req.ContextIdentifier.Identifier
	now := s.now()
	s.st.mu.Lock()
	if !s.st.tokens.registered[nip] {
		s.st.mu.Unlock()
		s.writeLegacyError(w, legacyChallengeService, legacyCodeUnknownSubject, legacyDescUnknownSubject)
		return
	}
	c := &legacyChallenge{nip: nip, timestamp: legacyTime(now), at: now}
	ref := newRefNumber(now, infixChallenge)
	s.st.legacy.challenges[ref] = c
	s.st.mu.Unlock()
	writeOK(w, http.StatusCreated, legacyChallengeResponse{Timestamp: c.timestamp, Challenge: ref})
}

// legacyMAC computes the authorisation value for token over challenge+timestamp.
func legacyMAC(token, challenge, timestamp string) []byte {
	m := hmac.New(sha256.New, []byte(token))
	m.Write([]byte(challenge + timestamp))
	return m.Sum(nil)
}

// decodeLegacyAuthorisation accepts Base64 (standard) or hex.
func decodeLegacyAuthorisation(v string) []byte {
	if b, err := base64.StdEncoding.DecodeString(v); err == nil && len(b) == sha256.Size {
		return b
	}
	if b, err := hex.DecodeString(v); err == nil && len(b) == sha256.Size {
		return b
	}
	return nil
}

// handleLegacyToken serves POST /api/online/Session/AuthorisationToken.
func (s *Server) handleLegacyToken(w http.ResponseWriter, r *http.Request) {
	var req legacyTokenRequest
	body, err := readBody(r)
	if err == nil {
		err = json.Unmarshal(body, &req)
	}
	mac := decodeLegacyAuthorisation(req.Authorisation)
	if err != nil || req.Identifier == nil || req.Identifier.Type != "onip" || !validNIPShape(req.Identifier.Identifier) || req.Challenge == "" || mac == nil {
		s.writeLegacyError(w, legacyTokenService, codeValidation, "Nieprawidłowe dane wejściowe: wymagane challenge, authorisation (HMAC-SHA256, Base64) i identifier {type: onip, identifier: NIP}.")
		return
	}
	nip := req.Identifier.Identifier
	now := s.now()
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	if !s.st.tokens.registered[nip] {
		s.writeLegacyError(w, legacyTokenService, legacyCodeUnknownSubject, legacyDescUnknownSubject)
		return
	}
	ch := s.st.legacy.challenges[req.Challenge]
	if ch == nil || ch.used || now.Sub(ch.at) > challengeTTL {
		s.writeLegacyError(w, legacyTokenService, codeInvalidChallenge, descInvalidChallenge)
		return
	}
	ch.used = true
	var match *ksefToken
	for _, t := range s.st.tokens.byValue {
		if t.status == tokenActive && hmac.Equal(mac, legacyMAC(t.value, req.Challenge, ch.timestamp)) {
			match = t
			break
		}
	}
	if match == nil || match.nip() != nip || ch.nip != nip {
		s.writeLegacyError(w, legacyTokenService, legacyCodeNoAccess, legacyDescNoAccess)
		return
	}
	match.lastUse = now
	sess := randomHex(32)
	s.st.legacy.sessions[sess] = nip
	writeOK(w, http.StatusCreated, legacyTokenResponse{
		Timestamp: legacyTime(now), ReferenceNumber: newRefNumber(now, infixLegacy),
		SessionToken: legacySessionToken{Token: sess, Context: legacySessionContext{
			ContextIdentifier:   legacyIdentifier{Type: "onip", Identifier: nip},
			ContextName:         map[string]any{"type": "plain", "tradeName": nil, "fullName": "Podmiot " + nip},
			CredentialsRoleList: []map[string]string{{"type": "token", "roleType": "credentials_manage", "roleDescription": "Zarządzanie uprawnieniami"}},
		}},
	})
}
