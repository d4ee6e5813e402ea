package ksefsim

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"
)

// Token generation errors (POST /tokens 400 table).
const (
	codeTokenPerms   = 26001
	descTokenPerms   = "Nie można nadać tokenowi uprawnień których nie posiadasz."
	codeTokenContext = 26002
	descTokenContext = "Nie można wygenerować tokena dla obecnego typu kontekstu."
)

// tokenPermissionTypes is the TokenPermissionType enum of API 2.8.1.
var tokenPermissionTypes = []string{"InvoiceRead", "InvoiceWrite", "CredentialsRead", "CredentialsManage",
	"SubunitManage", "EnforcementOperations", "Introspection", "CollectiveIdentifierManage"}

// Wire shapes of POST /tokens (GenerateTokenRequest, GenerateTokenResponse).
type (
	generateTokenRequest struct {
		Permissions *[]string `json:"permissions"`
		Description *string   `json:"description"`
	}
	generateTokenResponse struct {
		ReferenceNumber string `json:"referenceNumber"`
		Token           string `json:"token"`
	}
)

// validateGenerateToken returns the 21405 details of a malformed request.
func validateGenerateToken(req *generateTokenRequest) []string {
	var d []string
	if req.Permissions == nil {
		d = append(d, "Pole 'permissions' jest wymagane.")
	} else {
		for _, p := range *req.Permissions {
			d = oneOf(d, "permissions", &p, tokenPermissionTypes)
		}
	}
	switch {
	case req.Description == nil:
		d = append(d, "Pole 'description' jest wymagane.")
	case utf8.RuneCountInString(*req.Description) < 5 || utf8.RuneCountInString(*req.Description) > 256:
		d = append(d, "Pole 'description' musi mieć od 5 do 256 znaków.")
	}
	return d
}

// tokenActivationPolls is how many reads of a generated token see Pending.
func (s *Server) tokenActivationPolls() int {
	switch {
	case s.cfg.TokenActivationPolls < 0:
		return 0
	case s.cfg.TokenActivationPolls == 0:
		return 1
	default:
		return s.cfg.TokenActivationPolls
	}
}

// handleGenerateToken serves POST /tokens: a new KSeF token for the caller's context
// (Nip or InternalId only, 26002) with permissions the caller holds itself (26001).
// The token is returned once (202) and starts Pending: it becomes Active after
// Config.TokenActivationPolls reads of GET /tokens/{ref} (or listings) and only then
// authenticates (POST /auth/ksef-token), like the tokens of IssueToken. Its author is
// the authenticated subject (the certificate's identity after XAdES, the author of
// the token used after a token authentication).
func (s *Server) handleGenerateToken(w http.ResponseWriter, r *http.Request) {
	c, ok := s.requireBearer(w, r, tokenTypeContext)
	if !ok {
		return
	}
	var req generateTokenRequest
	if !s.decodeRequest(w, r, &req, "GenerateTokenRequest") {
		return
	}
	if d := validateGenerateToken(&req); len(d) > 0 {
		s.writeBadRequest(w, r, validationError(d...))
		return
	}
	if c.ContextType != "Nip" && c.ContextType != "InternalId" {
		s.writeBadRequest(w, r, apiError{Code: codeTokenContext, Description: descTokenContext, Details: []string{
			"Bieżący typ kontekstu: " + c.ContextType + ". Dozwolone typy kontekstu: Nip, InternalId."}})
		return
	}
	now := s.now()
	s.st.mu.Lock()
	present := s.callerPermissionsLocked(c)
	var missing []string
	for _, p := range *req.Permissions {
		if !slices.Contains(present, p) && !slices.Contains(missing, p) {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		s.unlockBadRequest(w, r, apiError{Code: codeTokenPerms, Description: descTokenPerms, Details: []string{
			fmt.Sprintf("Brakujące uprawnienia: %s.", strings.Join(missing, ", "))}})
		return
	}
	author := subjectID{Type: subjectNip, Value: c.ContextValue}
	if op := s.st.auth.ops[c.OperationRef]; op != nil && op.subject.Value != "" {
		author = op.subject
	}
	ref := newRefNumber(now, infixToken)
	t := &ksefToken{
		ref: ref, value: newTokenValue(ref, c.ContextType, c.ContextValue), ctxType: c.ContextType, ctxValue: c.ContextValue,
		author: author, permissions: slices.Clone(*req.Permissions), description: *req.Description,
		created: now, status: tokenPending, pendingLeft: s.tokenActivationPolls(),
	}
	if t.pendingLeft == 0 {
		t.status = tokenActive
	}
	s.addTokenLocked(t)
	s.st.mu.Unlock()
	writeOK(w, http.StatusAccepted, generateTokenResponse{ReferenceNumber: t.ref, Token: t.value})
}
