package ksefsim

import (
	"strings"
	"testing"

	"github.com/ksefpl/ksefpl/pkg/kcert"
)

// cTokenItem is TokenStatusResponse / QueryTokensResponseItem.
type cTokenItem struct {
	ReferenceNumber                     string
	AuthorIdentifier, ContextIdentifier struct{ Type, Value string }
	Description                         string
	RequestedPermissions                []string
	DateCreated, Status                 string
	LastUseDate                         *string
}

func (e *env) tokenStatus(access, ref string) cTokenItem {
	e.t.Helper()
	r := e.call("GET", "/v2/tokens/"+ref, nil, bearer(access)...)
	if r.status != 200 {
		e.t.Fatalf("GET /tokens/%s: %d %s", ref, r.status, r.body)
	}
	var it cTokenItem
	r.decode(e.t, &it)
	return it
}

func (e *env) listTokens(access, query string) []cTokenItem {
	e.t.Helper()
	r := e.call("GET", "/v2/tokens"+query, nil, bearer(access)...)
	if r.status != 200 {
		e.t.Fatalf("GET /tokens%s: %d %s", query, r.status, r.body)
	}
	var out struct{ Tokens []cTokenItem }
	r.decode(e.t, &out)
	return out.Tokens
}

// TestGeneratedTokenGoesPendingToActiveAndAuthenticates is the POST /tokens flow:
// generated after a XAdES login, Pending for the configured reads, then it
// authenticates like a simulator-issued token, is listed, and can be revoked.
func TestGeneratedTokenGoesPendingToActiveAndAuthenticates(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{TokenActivationPolls: 2})
	access, _ := e.xadesLogin(e.seal(testNIP, kcert.KeyEC), testNIP, "certificateSubject")
	r := e.call("POST", "/v2/tokens", map[string]any{"permissions": []string{"InvoiceRead", "InvoiceWrite"}, "description": "Sklep internetowy"}, bearer(access)...)
	var gen struct{ ReferenceNumber, Token string }
	r.decode(t, &gen)
	if r.status != 202 || !validRefNumber(gen.ReferenceNumber) || gen.ReferenceNumber[9:11] != infixToken ||
		!strings.HasPrefix(gen.Token, gen.ReferenceNumber+"|nip-"+testNIP+"|") {
		t.Fatalf("POST /tokens: %d %s", r.status, r.body)
	}
	// A Pending token cannot authenticate yet.
	assertAuthStatus(t, e, e.startAuth(gen.Token, testNIP), 450, "Token nieaktywny.")
	for i := range 2 {
		if st := e.tokenStatus(access, gen.ReferenceNumber); st.Status != "Pending" {
			t.Fatalf("read %d: %s", i+1, st.Status)
		}
	}
	st := e.tokenStatus(access, gen.ReferenceNumber)
	if st.Status != "Active" || st.Description != "Sklep internetowy" || st.AuthorIdentifier.Type != "Nip" ||
		st.AuthorIdentifier.Value != testNIP || st.ContextIdentifier.Value != testNIP || strings.Join(st.RequestedPermissions, ",") != "InvoiceRead,InvoiceWrite" {
		t.Fatalf("after activation: %+v", st)
	}
	_, tk := e.login(gen.Token, testNIP)
	// The generated token's session sees only its own token (no CredentialsRead) ...
	own := e.listTokens(tk.AccessToken.Token, "")
	if len(own) != 1 || own[0].ReferenceNumber != gen.ReferenceNumber || own[0].LastUseDate == nil {
		t.Fatalf("tokens seen with the generated token: %+v", own)
	}
	// ... and may open sessions (InvoiceWrite).
	e.openSession(tk.AccessToken.Token)
	// The owner sees it among the context's tokens, filtered by description.
	if got := e.listTokens(access, "?status=Active&description=SKLEP"); len(got) != 1 || got[0].ReferenceNumber != gen.ReferenceNumber {
		t.Fatalf("filtered listing: %+v", got)
	}
	if r := e.call("DELETE", "/v2/tokens/"+gen.ReferenceNumber, nil, bearer(access)...); r.status != 204 {
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}
	assertAuthStatus(t, e, e.startAuth(gen.Token, testNIP), 450, "Token unieważniony.")
	e.noViolations()
}

func TestGenerateTokenErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{TokenActivationPolls: -1})
	tok, err := e.sim.IssueTokenWithPermissions(testNIP, "InvoiceWrite", "CredentialsManage")
	if err != nil {
		t.Fatal(err)
	}
	_, tk := e.login(tok, testNIP)
	access := tk.AccessToken.Token
	post := func(body any) reply { return e.call("POST", "/v2/tokens", body, bearer(access)...) }

	r := post(map[string]any{"permissions": []string{"InvoiceWrite", "InvoiceRead"}, "description": "Za dużo uprawnień"})
	if code, d := exceptionCode(t, r); r.status != 400 || code != 26001 || len(d) != 1 || !strings.Contains(d[0], "InvoiceRead") {
		t.Fatalf("26001: %d %s", r.status, r.body)
	}
	r = post(map[string]any{"permissions": []string{"InvoiceWrite"}, "description": "abc"})
	if code, _ := exceptionCode(t, r); r.status != 400 || code != 21405 {
		t.Fatalf("short description: %d %s", r.status, r.body)
	}
	r = post(map[string]any{"description": "Bez uprawnień"})
	if code, _ := exceptionCode(t, r); r.status != 400 || code != 21405 {
		t.Fatalf("no permissions: %d %s", r.status, r.body)
	}
	// TokenActivationPolls < 0: active at once, usable immediately.
	r = post(map[string]any{"permissions": []string{"InvoiceWrite"}, "description": "Natychmiastowy"})
	var gen struct{ ReferenceNumber, Token string }
	r.decode(t, &gen)
	if r.status != 202 {
		t.Fatalf("generate: %d %s", r.status, r.body)
	}
	e.login(gen.Token, testNIP)
	// Without CredentialsRead/CredentialsManage a token sees only itself; the issuing
	// token has CredentialsManage and sees both; the author is the token's subject.
	if got := e.listTokens(access, "?pageSize=10"); len(got) != 2 || got[0].ReferenceNumber != gen.ReferenceNumber || got[0].AuthorIdentifier.Value != testNIP {
		t.Fatalf("listing: %+v", got)
	}
	e.noResponseViolations()
}
