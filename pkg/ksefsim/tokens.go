package ksefsim

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"
)

// Token statuses (open-api.json AuthenticationTokenStatus).
const (
	tokenActive  = "Active"
	tokenRevoked = "Revoked"
)

// defaultPermissions are granted to tokens issued without an explicit list.
var defaultPermissions = []string{"InvoiceRead", "InvoiceWrite", "CredentialsRead", "CredentialsManage"}

// ksefToken is one KSeF token the simulator knows.
type ksefToken struct {
	ref         string
	value       string
	nip         string
	permissions []string
	description string
	created     time.Time
	lastUse     time.Time
	status      string
}

// tokenState indexes the issued KSeF tokens.
type tokenState struct {
	byValue    map[string]*ksefToken
	byRef      map[string]*ksefToken
	registered map[string]bool // NIPs that ever had a token
}

func newTokenState() tokenState {
	return tokenState{byValue: map[string]*ksefToken{}, byRef: map[string]*ksefToken{}, registered: map[string]bool{}}
}

func validNIPShape(nip string) bool {
	if len(nip) != 10 {
		return false
	}
	for _, c := range nip {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// IssueToken creates an active KSeF token for the Nip context nip with the default
// permissions (InvoiceRead, InvoiceWrite, CredentialsRead, CredentialsManage). The
// token has the 2.0 format `<referenceNumber>|nip-<NIP>|<64 hex>` (OpenAPI example
// GenerateTokenResponse; research §3.3).
func (s *Server) IssueToken(nip string) (string, error) {
	return s.IssueTokenWithPermissions(nip, defaultPermissions...)
}

// IssueTokenWithPermissions is IssueToken with an explicit permission list. A token
// with no permissions authenticates to status 415 ("Brak przypisanych uprawnień").
func (s *Server) IssueTokenWithPermissions(nip string, permissions ...string) (string, error) {
	if !validNIPShape(nip) {
		return "", fmt.Errorf("%w: got %q", ErrInvalidNIP, nip)
	}
	now := s.now()
	ref := newRefNumber(now, infixToken)
	t := &ksefToken{
		ref: ref, value: ref + "|nip-" + nip + "|" + randomHex(32), nip: nip,
		permissions: slices.Clone(permissions), description: "Token wydany przez symulator ksefsim",
		created: now, status: tokenActive,
	}
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	s.st.tokens.byValue[t.value] = t
	s.st.tokens.byRef[t.ref] = t
	s.st.tokens.registered[nip] = true
	return t.value, nil
}

// RevokeToken revokes a KSeF token: new authentications with it fail with 450
// "Token unieważniony", and redeem/refresh of its authentications fail with 21301.
func (s *Server) RevokeToken(token string) error {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	t, ok := s.st.tokens.byValue[token]
	if !ok {
		return ErrUnknownToken
	}
	t.status = tokenRevoked
	return nil
}

// Wire shapes for /tokens (open-api.json QueryTokensResponse, TokenStatusResponse).
type (
	typedIdentifier struct {
		Type  string `json:"type"`
		Value string `json:"value"`
	}
	tokenItem struct {
		ReferenceNumber      string          `json:"referenceNumber"`
		AuthorIdentifier     typedIdentifier `json:"authorIdentifier"`
		ContextIdentifier    typedIdentifier `json:"contextIdentifier"`
		Description          string          `json:"description"`
		RequestedPermissions []string        `json:"requestedPermissions"`
		DateCreated          string          `json:"dateCreated"`
		LastUseDate          *string         `json:"lastUseDate"`
		Status               string          `json:"status"`
		StatusDetails        []string        `json:"statusDetails,omitempty"`
	}
	queryTokensResponse struct {
		ContinuationToken *string     `json:"continuationToken,omitempty"`
		Tokens            []tokenItem `json:"tokens"`
	}
)

func (t *ksefToken) item() tokenItem {
	it := tokenItem{
		ReferenceNumber:      t.ref,
		AuthorIdentifier:     typedIdentifier{Type: "Nip", Value: t.nip},
		ContextIdentifier:    typedIdentifier{Type: "Nip", Value: t.nip},
		Description:          t.description,
		RequestedPermissions: slices.Clone(t.permissions),
		DateCreated:          formatTime(t.created),
		Status:               t.status,
	}
	if it.RequestedPermissions == nil {
		it.RequestedPermissions = []string{}
	}
	if !t.lastUse.IsZero() {
		lu := formatTime(t.lastUse)
		it.LastUseDate = &lu
	}
	return it
}

// handleListTokens serves GET /tokens: the tokens of the caller's context.
func (s *Server) handleListTokens(w http.ResponseWriter, r *http.Request) {
	c, ok := s.requireBearer(w, r, tokenTypeContext)
	if !ok {
		return
	}
	if !s.checkPageSize(w, r, 10, 100) {
		return
	}
	statuses := r.URL.Query()["status"]
	s.st.mu.Lock()
	out := queryTokensResponse{Tokens: []tokenItem{}}
	for _, t := range s.st.tokens.byRef {
		if c.ContextType == "Nip" && t.nip == c.ContextValue && (len(statuses) == 0 || slices.Contains(statuses, t.status)) {
			out.Tokens = append(out.Tokens, t.item())
		}
	}
	s.st.mu.Unlock()
	slices.SortFunc(out.Tokens, func(a, b tokenItem) int {
		if a.DateCreated != b.DateCreated {
			if a.DateCreated < b.DateCreated {
				return 1
			}
			return -1
		}
		if a.ReferenceNumber < b.ReferenceNumber {
			return -1
		}
		return 1
	})
	writeOK(w, http.StatusOK, out)
}

// tokenInContext finds a token by reference number within the caller's context.
func (s *Server) tokenInContext(c claims, ref string) *ksefToken {
	t := s.st.tokens.byRef[ref]
	if t == nil || c.ContextType != "Nip" || t.nip != c.ContextValue {
		return nil
	}
	return t
}

// withContextToken checks the access token and runs do, under the lock, on the token
// {referenceNumber} of the caller's context. When there is no such token it answers
// 400 (21405) and reports false.
func (s *Server) withContextToken(w http.ResponseWriter, r *http.Request, do func(t *ksefToken)) bool {
	c, ok := s.requireBearer(w, r, tokenTypeContext)
	if !ok {
		return false
	}
	ref := r.PathValue("referenceNumber")
	s.st.mu.Lock()
	t := s.tokenInContext(c, ref)
	if t != nil {
		do(t)
	}
	s.st.mu.Unlock()
	if t == nil {
		s.writeBadRequest(w, r, validationError("Token o numerze referencyjnym "+ref+" nie istnieje."))
		return false
	}
	return true
}

// handleGetToken serves GET /tokens/{ref}: a token of the caller's context.
func (s *Server) handleGetToken(w http.ResponseWriter, r *http.Request) {
	var it tokenItem
	if s.withContextToken(w, r, func(t *ksefToken) { it = t.item() }) {
		writeOK(w, http.StatusOK, it)
	}
}

// handleDeleteToken serves DELETE /tokens/{ref}: revokes a token of the caller's context.
func (s *Server) handleDeleteToken(w http.ResponseWriter, r *http.Request) {
	if s.withContextToken(w, r, func(t *ksefToken) { t.status = tokenRevoked }) {
		w.WriteHeader(http.StatusNoContent)
	}
}

// checkPageSize validates the optional pageSize query parameter against [lo, hi].
func (s *Server) checkPageSize(w http.ResponseWriter, r *http.Request, lo, hi int) bool {
	v := r.URL.Query().Get("pageSize")
	if v == "" {
		return true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		s.writeBadRequest(w, r, validationError(fmt.Sprintf("Parametr 'pageSize' musi być liczbą z zakresu %d-%d.", lo, hi)))
		return false
	}
	return true
}
