package ksefsim

import (
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ksefpl/ksefpl/internal/lazyre"
)

// Authentication operation statuses and their texts (open-api.json
// AuthenticationOperationStatusResponse.status; 450 details as in API 2.6.1+, with the
// trailing full stop seen in real answers). The XAdES 460 texts are in xadesauth.go.
const (
	authInProgress   = 100
	authSucceeded    = 200
	authNoPerms      = 415
	authRevoked      = 425
	authBadToken     = 450
	descInProgress   = "Uwierzytelnianie w toku"
	descSucceeded    = "Uwierzytelnianie zakończone sukcesem"
	descFailed       = "Uwierzytelnianie zakończone niepowodzeniem"
	descRevoked      = "Uwierzytelnienie unieważnione"
	descBadToken     = "Uwierzytelnianie zakończone niepowodzeniem z powodu błędnego tokenu"
	detNoPerms       = "Brak przypisanych uprawnień."
	detRevokedByUser = "Uwierzytelnienie i powiązane refresh tokeny zostały unieważnione przez użytkownika."
	detBadChallenge  = "Nieprawidłowe wyzwanie autoryzacyjne."
	detBadToken      = "Nieprawidłowy token."
	detBadTime       = "Nieprawidłowy czas tokena."
	detTokenRevoked  = "Token unieważniony."
	detTokenInactive = "Token nieaktywny."
	detBadEncryption = "Nieprawidłowe szyfrowanie tokena."
	detBadEncoding   = "Nieprawidłowe kodowanie tokena."
)

// statusInfo is the {code, description, details} object of async statuses.
type statusInfo struct {
	Code        int      `json:"code"`
	Description string   `json:"description"`
	Details     []string `json:"details,omitempty"`
}

// challenge is an issued POST /auth/challenge answer.
type challenge struct {
	ref    string
	at     time.Time
	tsMs   int64
	used   bool
	client string
}

// authOp is one authentication operation (AU reference number).
type authOp struct {
	ref          string
	started      time.Time
	ctxType      string
	ctxValue     string
	tokenValue   string         // the KSeF token used, when it was recognised
	method       string         // AuthenticationMethod: Token, QualifiedSeal, QualifiedSignature, InternalCertificate
	methodInfo   authMethodInfo // AuthenticationMethodInfo
	subject      subjectID      // who authenticated (the token's NIP, or the certificate's identity)
	cert         *x509.Certificate
	permissions  []string // granted at a XAdES authentication (token authentications read the token's)
	docHash      string   // base64 SHA-256 of the signed AuthTokenRequest as received (XAdES)
	polls        int
	final        statusInfo
	redeemed     bool
	refreshJTI   string
	refreshUntil time.Time
	lastRefresh  time.Time
	revoked      bool
}

// authState holds challenges and authentication operations.
type authState struct {
	challenges map[string]*challenge
	ops        map[string]*authOp
}

func newAuthState() authState {
	return authState{challenges: map[string]*challenge{}, ops: map[string]*authOp{}}
}

// Wire shapes (open-api.json components.schemas).
type (
	challengeResponse struct {
		Challenge   string `json:"challenge"`
		Timestamp   string `json:"timestamp"`
		TimestampMs int64  `json:"timestampMs"`
		ClientIP    string `json:"clientIp"`
	}
	tokenInfo struct {
		Token      string `json:"token"`
		ValidUntil string `json:"validUntil"`
	}
	authInitResponse struct {
		ReferenceNumber     string    `json:"referenceNumber"`
		AuthenticationToken tokenInfo `json:"authenticationToken"`
	}
	authMethodInfo struct {
		Category    string `json:"category"`
		Code        string `json:"code"`
		DisplayName string `json:"displayName"`
	}
	authStatusResponse struct {
		ReferenceNumber          string         `json:"referenceNumber,omitempty"`
		IsCurrent                *bool          `json:"isCurrent,omitempty"`
		StartDate                string         `json:"startDate"`
		AuthenticationMethod     string         `json:"authenticationMethod"`
		AuthenticationMethodInfo authMethodInfo `json:"authenticationMethodInfo"`
		Status                   statusInfo     `json:"status"`
		IsTokenRedeemed          *bool          `json:"isTokenRedeemed,omitempty"`
		LastTokenRefreshDate     *string        `json:"lastTokenRefreshDate,omitempty"`
		RefreshTokenValidUntil   *string        `json:"refreshTokenValidUntil,omitempty"`
	}
	authTokensResponse struct {
		AccessToken  tokenInfo `json:"accessToken"`
		RefreshToken tokenInfo `json:"refreshToken"`
	}
	authRefreshResponse struct {
		AccessToken tokenInfo `json:"accessToken"`
	}
	authListResponse struct {
		ContinuationToken *string              `json:"continuationToken,omitempty"`
		Items             []authStatusResponse `json:"items"`
	}
	// ksefTokenRequest is InitTokenAuthenticationRequest; pointers tell "missing" from "empty".
	ksefTokenRequest struct {
		Challenge           *string          `json:"challenge"`
		ContextIdentifier   *contextIdent    `json:"contextIdentifier"`
		EncryptedToken      *string          `json:"encryptedToken"`
		PublicKeyID         *string          `json:"publicKeyId"`
		AuthorizationPolicy *json.RawMessage `json:"authorizationPolicy"`
	}
	contextIdent struct {
		Type  *string `json:"type"`
		Value *string `json:"value"`
	}
)

// Context identifier value formats (auth/schemy/schemat_auth_v2-1.xsd; research §3.4).
var contextPatterns = map[string]*lazyre.Regexp{
	"Nip":        lazyre.New(`^[1-9]((\d[1-9])|([1-9]\d))\d{7}$`),
	"InternalId": lazyre.New(`^[1-9]((\d[1-9])|([1-9]\d))\d{7}-\d{5}$`),
	"NipVatUe":   lazyre.New(`^[1-9]((\d[1-9])|([1-9]\d))\d{7}-[A-Z]{2}[0-9A-Z+*]{2,12}$`),
	"PeppolId":   lazyre.New(`^P[A-Z]{2}[0-9]{6}$`),
}

// contextTokenPrefix renders a context the way the token format and the 450 detail do
// ("nip-1234567890").
func contextTokenPrefix(typ, value string) string {
	if typ == "" {
		return value
	}
	return strings.ToLower(typ[:1]) + typ[1:] + "-" + value
}

func authMethod() authMethodInfo {
	return authMethodInfo{Category: "Token", Code: "Token", DisplayName: "Token KSeF"}
}

// handleChallenge serves POST /auth/challenge.
func (s *Server) handleChallenge(w http.ResponseWriter, r *http.Request) {
	now := s.now()
	c := &challenge{ref: newRefNumber(now, infixChallenge), at: now, tsMs: now.UnixMilli(), client: clientIP(r)}
	s.st.mu.Lock()
	for ref, old := range s.st.auth.challenges {
		if now.Sub(old.at) > challengeTTL {
			delete(s.st.auth.challenges, ref)
		}
	}
	s.st.auth.challenges[c.ref] = c
	s.st.mu.Unlock()
	writeOK(w, http.StatusOK, challengeResponse{
		Challenge: c.ref, Timestamp: formatTime(now), TimestampMs: c.tsMs, ClientIP: c.client,
	})
}

// validateKsefTokenRequest returns the 21405 details for a malformed body.
func validateKsefTokenRequest(req *ksefTokenRequest) []string {
	var d []string
	switch {
	case req.Challenge == nil || *req.Challenge == "":
		d = append(d, "Pole 'challenge' jest wymagane.")
	case len(*req.Challenge) != 36:
		d = append(d, "Pole 'challenge' musi mieć długość 36 znaków.")
	}
	if req.ContextIdentifier == nil {
		d = append(d, "Pole 'contextIdentifier' jest wymagane.")
	} else {
		ci := req.ContextIdentifier
		pat, known := (*lazyre.Regexp)(nil), false
		switch {
		case ci.Type == nil || *ci.Type == "":
			d = append(d, "Pole 'contextIdentifier.type' jest wymagane.")
		default:
			pat, known = contextPatterns[*ci.Type]
			if !known {
				d = append(d, fmt.Sprintf("Wartość '%s' pola 'contextIdentifier.type' jest niedozwolona (dozwolone: Nip, InternalId, NipVatUe, PeppolId).", *ci.Type))
			}
		}
		switch {
		case ci.Value == nil || *ci.Value == "":
			d = append(d, "Pole 'contextIdentifier.value' jest wymagane.")
		case known && !pat.MatchString(*ci.Value):
			d = append(d, fmt.Sprintf("Wartość '%s' pola 'contextIdentifier.value' nie jest poprawnym identyfikatorem typu %s.", *ci.Value, *ci.Type))
		}
	}
	switch {
	case req.EncryptedToken == nil || *req.EncryptedToken == "":
		d = append(d, "Pole 'encryptedToken' jest wymagane.")
	default:
		if _, err := base64.StdEncoding.DecodeString(*req.EncryptedToken); err != nil {
			d = append(d, "Pole 'encryptedToken' nie jest poprawnym ciągiem Base64.")
		}
	}
	if req.PublicKeyID != nil && len(*req.PublicKeyID) != 44 {
		d = append(d, "Pole 'publicKeyId' musi mieć długość 44 znaków.")
	}
	return d
}

// handleKsefToken serves POST /auth/ksef-token. Body and challenge problems are
// answered synchronously (400); token problems surface later as the operation status,
// as on the real service.
func (s *Server) handleKsefToken(w http.ResponseWriter, r *http.Request) {
	var req ksefTokenRequest
	if !s.decodeRequest(w, r, &req, "InitTokenAuthenticationRequest") {
		return
	}
	if d := validateKsefTokenRequest(&req); len(d) > 0 {
		s.writeBadRequest(w, r, validationError(d...))
		return
	}
	now := s.now()
	ctxType, ctxValue := *req.ContextIdentifier.Type, *req.ContextIdentifier.Value

	s.st.mu.Lock()
	ch := s.st.auth.challenges[*req.Challenge]
	if ch == nil || ch.used || now.Sub(ch.at) > challengeTTL {
		s.unlockBadRequest(w, r, apiError{Code: codeInvalidChallenge, Description: descInvalidChallenge})
		return
	}
	key := s.st.keys.current[usageTokenEncryption]
	if req.PublicKeyID != nil && *req.PublicKeyID != key.keyID {
		s.unlockBadRequest(w, r, unknownPublicKey(*req.PublicKeyID))
		return
	}
	ch.used = true
	op := &authOp{ref: newRefNumber(now, infixAuth), started: now, ctxType: ctxType, ctxValue: ctxValue,
		method: "Token", methodInfo: authMethod()}
	s.st.auth.ops[op.ref] = op
	s.st.mu.Unlock()

	// Decrypting outside the lock keeps RSA work off the critical section.
	cipher, _ := base64.StdEncoding.DecodeString(*req.EncryptedToken)
	plain, decErr := rsa.DecryptOAEP(sha256.New(), nil, key.priv, cipher, nil)

	s.st.mu.Lock()
	op.final, op.tokenValue = s.judgeToken(plain, decErr, ch, ctxType, ctxValue, now)
	if t := s.st.tokens.byValue[op.tokenValue]; t != nil {
		op.subject = t.author
	}
	s.st.mu.Unlock()

	validUntil := now.Add(authTokenTTL).Truncate(time.Second)
	tok := signJWT(s.secret, claims{
		TokenType: tokenTypeOperation, OperationRef: op.ref, ContextType: ctxType, ContextValue: ctxValue,
		Expires: validUntil.Unix(), IssuedAt: now.Unix(),
	})
	writeOK(w, http.StatusAccepted, authInitResponse{
		ReferenceNumber: op.ref, AuthenticationToken: tokenInfo{Token: tok, ValidUntil: formatTime(validUntil)},
	})
}

// judgeToken decides the final status of a token authentication. Caller holds the lock.
func (s *Server) judgeToken(plain []byte, decErr error, ch *challenge, ctxType, ctxValue string, now time.Time) (statusInfo, string) {
	bad := func(detail string) statusInfo {
		return statusInfo{Code: authBadToken, Description: descBadToken, Details: []string{detail}}
	}
	if decErr != nil {
		return bad(detBadEncryption), ""
	}
	text := string(plain)
	i := strings.LastIndexByte(text, '|')
	if !utf8.Valid(plain) || i <= 0 {
		return bad(detBadEncoding), ""
	}
	ms, err := strconv.ParseInt(text[i+1:], 10, 64)
	if err != nil {
		return bad(detBadEncoding), ""
	}
	if ms != ch.tsMs {
		return bad(detBadTime), ""
	}
	t := s.st.tokens.byValue[text[:i]]
	if t == nil {
		return bad(detBadToken), ""
	}
	switch t.status {
	case tokenActive:
	case tokenPending:
		return bad(detTokenInactive), t.value
	default:
		return bad(detTokenRevoked), t.value
	}
	if ctxType != t.ctxType || ctxValue != t.ctxValue {
		return bad("Token nie może być użyty w kontekście " + contextTokenPrefix(ctxType, ctxValue) + "."), t.value
	}
	t.lastUse = now
	if len(t.permissions) == 0 {
		return statusInfo{Code: authNoPerms, Description: descFailed, Details: []string{detNoPerms}}, t.value
	}
	return statusInfo{Code: authSucceeded, Description: descSucceeded}, t.value
}

// currentStatus is the status GET /auth/{ref} reports now. Caller holds the lock.
func (s *Server) currentStatus(op *authOp) statusInfo {
	if op.revoked {
		return statusInfo{Code: authRevoked, Description: descRevoked, Details: []string{detRevokedByUser}}
	}
	if op.polls < s.cfg.AuthDelay {
		return statusInfo{Code: authInProgress, Description: descInProgress}
	}
	return op.final
}

// view renders an operation for GET /auth/{ref} and GET /auth/sessions. Caller holds the lock.
func (s *Server) view(op *authOp, st statusInfo) authStatusResponse {
	v := authStatusResponse{
		StartDate: formatTime(op.started), AuthenticationMethod: op.method,
		AuthenticationMethodInfo: op.methodInfo, Status: st,
	}
	redeemed := op.redeemed
	v.IsTokenRedeemed = &redeemed
	if !op.lastRefresh.IsZero() {
		lr := formatTime(op.lastRefresh)
		v.LastTokenRefreshDate = &lr
	}
	if !op.refreshUntil.IsZero() {
		ru := formatTime(op.refreshUntil)
		v.RefreshTokenValidUntil = &ru
	}
	return v
}

func authNotFound(ref string) apiError {
	return apiError{Code: codeAuthNotFound, Description: descAuthNotFound,
		Details: []string{"Operacja uwierzytelniania o numerze referencyjnym " + ref + " nie została znaleziona."}}
}

// handleAuthStatus serves GET /auth/{referenceNumber} (Bearer authenticationToken).
func (s *Server) handleAuthStatus(w http.ResponseWriter, r *http.Request) {
	c, ok := s.requireBearer(w, r, tokenTypeOperation)
	if !ok {
		return
	}
	ref := r.PathValue("referenceNumber")
	now := s.now()
	s.st.mu.Lock()
	op := s.st.auth.ops[ref]
	if op == nil || c.OperationRef != ref {
		s.unlockBadRequest(w, r, authNotFound(ref))
		return
	}
	if now.Sub(op.started) > authRetention {
		s.st.mu.Unlock()
		writeJSON(w, http.StatusGone, contentTypeProblem, simpleProblem{
			Title: "Gone", Status: http.StatusGone, Instance: r.URL.Path,
			Detail: "Operacja wygasła i nie jest już dostępna.", Timestamp: formatTime(now), TraceID: randomHex(16),
		})
		return
	}
	st := s.currentStatus(op)
	if st.Code == authInProgress {
		op.polls++
	}
	v := s.view(op, st)
	s.st.mu.Unlock()
	writeOK(w, http.StatusOK, v)
}

// issueAccess signs an access token for op. Caller holds the lock.
func (s *Server) issueAccess(op *authOp, now time.Time) tokenInfo {
	until := now.Add(s.cfg.AccessTokenTTL).Truncate(time.Second)
	tok := signJWT(s.secret, claims{
		TokenType: tokenTypeContext, OperationRef: op.ref, ContextType: op.ctxType, ContextValue: op.ctxValue,
		AuthMethod: op.method, Subject: op.subjectClaim(),
		Expires: until.Unix(), IssuedAt: now.Unix(),
	})
	return tokenInfo{Token: tok, ValidUntil: formatTime(until)}
}

// subjectClaim is the "sub" claim of access tokens: the context for a token
// authentication (as before), the subject identity for XAdES ("pesel-…").
func (op *authOp) subjectClaim() string {
	if op.cert == nil {
		return contextTokenPrefix(op.ctxType, op.ctxValue)
	}
	return contextTokenPrefix(op.subject.Type, op.subject.Value)
}

// credentialRevokedLocked returns, when the KSeF token or the certificate behind op
// was revoked since, the 21301 detail that says so; "" otherwise. Caller holds the lock.
func (s *Server) credentialRevokedLocked(op *authOp) string {
	if t := s.st.tokens.byValue[op.tokenValue]; t != nil && t.status != tokenActive {
		return "Token KSeF został unieważniony."
	}
	if op.cert != nil && s.certRevoked(op.cert) {
		return "Certyfikat użyty do uwierzytelnienia został unieważniony."
	}
	return ""
}

// handleRedeem serves POST /auth/token/redeem: once per successful operation.
func (s *Server) handleRedeem(w http.ResponseWriter, r *http.Request) {
	c, ok := s.requireBearer(w, r, tokenTypeOperation)
	if !ok {
		return
	}
	now := s.now()
	s.st.mu.Lock()
	op := s.st.auth.ops[c.OperationRef]
	var fail *apiError
	switch {
	case op == nil:
		e := authNotFound(c.OperationRef)
		fail = &e
	case op.redeemed:
		fail = &apiError{Code: codeNotAuthorized, Description: descNotAuthorized,
			Details: []string{"Tokeny dla operacji uwierzytelniania " + op.ref + " zostały już pobrane."}}
	case s.currentStatus(op).Code != authSucceeded:
		fail = &apiError{Code: codeNotAuthorized, Description: descNotAuthorized,
			Details: []string{fmt.Sprintf("Status uwierzytelniania (%d) nie pozwala na pobranie tokenów.", s.currentStatus(op).Code)}}
	case s.credentialRevokedLocked(op) != "":
		fail = &apiError{Code: codeNotAuthorized, Description: descNotAuthorized, Details: []string{s.credentialRevokedLocked(op)}}
	}
	if fail != nil {
		s.unlockBadRequest(w, r, *fail)
		return
	}
	access := s.issueAccess(op, now)
	until := now.Add(s.cfg.RefreshTokenTTL).Truncate(time.Second)
	op.refreshJTI = randomHex(16)
	refresh := signJWT(s.secret, claims{
		TokenType: tokenTypeRefresh, OperationRef: op.ref, ContextType: op.ctxType, ContextValue: op.ctxValue,
		ID: op.refreshJTI, Expires: until.Unix(), IssuedAt: now.Unix(),
	})
	op.redeemed, op.refreshUntil = true, until
	s.st.mu.Unlock()
	writeOK(w, http.StatusOK, authTokensResponse{AccessToken: access, RefreshToken: tokenInfo{Token: refresh, ValidUntil: formatTime(until)}})
}

// handleRefresh serves POST /auth/token/refresh (Bearer refreshToken).
func (s *Server) handleRefresh(w http.ResponseWriter, r *http.Request) {
	c, ok := s.requireBearer(w, r, tokenTypeRefresh)
	if !ok {
		return
	}
	now := s.now()
	s.st.mu.Lock()
	op := s.st.auth.ops[c.OperationRef]
	switch {
	case op == nil:
		s.unlockBadRequest(w, r, authNotFound(c.OperationRef))
		return
	case op.revoked || op.refreshJTI != c.ID:
		s.st.mu.Unlock()
		s.writeUnauthorized(w, r, detailTokenRevoked)
		return
	case s.credentialRevokedLocked(op) != "":
		s.unlockBadRequest(w, r, apiError{Code: codeNotAuthorized, Description: descNotAuthorized, Details: []string{s.credentialRevokedLocked(op)}})
		return
	}
	access := s.issueAccess(op, now)
	op.lastRefresh = now
	s.st.mu.Unlock()
	writeOK(w, http.StatusOK, authRefreshResponse{AccessToken: access})
}

// handleAuthSessions serves GET /auth/sessions: the active (redeemed, not revoked,
// refresh token still valid) authentications of the caller's context.
func (s *Server) handleAuthSessions(w http.ResponseWriter, r *http.Request) {
	c, ok := s.requireBearer(w, r, tokenTypeContext)
	if !ok {
		return
	}
	if !s.checkPageSize(w, r, 10, 100) {
		return
	}
	now := s.now()
	s.st.mu.Lock()
	out := authListResponse{Items: []authStatusResponse{}}
	for _, op := range s.st.auth.ops {
		if op.ctxType != c.ContextType || op.ctxValue != c.ContextValue || !op.redeemed || op.revoked || !now.Before(op.refreshUntil) {
			continue
		}
		v := s.view(op, s.currentStatus(op))
		v.ReferenceNumber = op.ref
		cur := op.ref == c.OperationRef
		v.IsCurrent = &cur
		out.Items = append(out.Items, v)
	}
	s.st.mu.Unlock()
	sort.Slice(out.Items, func(i, j int) bool { return out.Items[i].StartDate > out.Items[j].StartDate })
	writeOK(w, http.StatusOK, out)
}

// handleRevokeCurrentSession serves DELETE /auth/sessions/current (access or refresh token).
func (s *Server) handleRevokeCurrentSession(w http.ResponseWriter, r *http.Request) {
	c, ok := s.requireBearer(w, r, tokenTypeContext, tokenTypeRefresh)
	if !ok {
		return
	}
	s.st.mu.Lock()
	op := s.st.auth.ops[c.OperationRef]
	if op != nil {
		op.revoked = true
	}
	s.st.mu.Unlock()
	if op == nil {
		s.writeBadRequest(w, r, authNotFound(c.OperationRef))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// handleRevokeSession serves DELETE /auth/sessions/{referenceNumber} within the caller's context.
func (s *Server) handleRevokeSession(w http.ResponseWriter, r *http.Request) {
	c, ok := s.requireBearer(w, r, tokenTypeContext)
	if !ok {
		return
	}
	ref := r.PathValue("referenceNumber")
	s.st.mu.Lock()
	op := s.st.auth.ops[ref]
	found := op != nil && op.ctxType == c.ContextType && op.ctxValue == c.ContextValue
	if found {
		op.revoked = true
	}
	s.st.mu.Unlock()
	if !found {
		s.writeBadRequest(w, r, authNotFound(ref))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
