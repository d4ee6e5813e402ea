package ksef

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"time"
)

// maxRememberedContexts bounds the token-to-context map of a Client (access
// tokens are refreshed every few minutes; old ones are dropped wholesale).
const maxRememberedContexts = 1024

// rememberContext records the context (NIP) an access token was issued for,
// so that its calls are paced in that context's buckets.
func (c *Client) rememberContext(accessToken, nip string) {
	if accessToken == "" || nip == "" {
		return
	}
	fp := TokenFingerprint(accessToken)
	c.ctxMu.Lock()
	defer c.ctxMu.Unlock()
	if len(c.contexts) >= maxRememberedContexts {
		c.contexts = map[string]string{}
	}
	c.contexts[fp] = nip
}

// contextOf names the KSeF context of a bearer token for pacing: the NIP
// AccessToken returned it for; else the context claim of the JWT (KSeF's
// "civ", the simulator's "context-identifier-value"; read, not verified —
// it only chooses a counter); else the token's fingerprint. Empty without a
// token. The result never contains the token.
func (c *Client) contextOf(bearer string) string {
	if bearer == "" {
		return ""
	}
	fp := TokenFingerprint(bearer)
	c.ctxMu.Lock()
	nip := c.contexts[fp]
	c.ctxMu.Unlock()
	if nip != "" {
		return nip
	}
	if v := jwtContext(bearer); v != "" {
		return v
	}
	return "token:" + fp[:16]
}

// jwtContext reads the context identifier value from a JWT's payload without
// verifying it; "" when the token is not a JWT or has no such claim.
func jwtContext(tok string) string {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return ""
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return ""
	}
	var claims map[string]any
	if json.Unmarshal(raw, &claims) != nil {
		return ""
	}
	for _, k := range []string{"civ", "context-identifier-value"} {
		if v, ok := claims[k].(string); ok && v != "" {
			return v
		}
	}
	return ""
}

// callPace is the pacing of one logical call: its bucket in the Pacer.
type callPace struct {
	p     *Pacer
	key   string
	group RateGroup
}

// paceFor returns the pacing of a call, or nil when the client does not pace
// or the call is not a KSeF API call (pre-signed storage links, Latarnia,
// the legacy 1.0 API).
func (c *Client) paceFor(cl call) *callPace {
	if c.pacer == nil || cl.rawURL != "" || cl.base != "" {
		return nil
	}
	group := RateGroupFor(cl.method, cl.path)
	ctxID := ""
	if group != RateGroupPublic {
		ctxID = c.contextOf(cl.bearer)
	}
	return &callPace{p: c.pacer, key: paceKey(ctxID, group, cl.method, cl.path), group: group}
}

func (cp *callPace) wait(ctx context.Context) error { return cp.p.wait(ctx, cp.key, cp.group) }

func (cp *callPace) tooMany(retryAfter time.Duration) { cp.p.tooMany(cp.key, cp.group, retryAfter) }

func (cp *callPace) retried() { cp.p.retried(cp.group) }
