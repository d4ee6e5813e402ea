package ksef

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Cache tags: what a TokenCache row holds.
const (
	// TagAuthPending marks a row saved while an authentication operation is
	// running (AuthReference, AuthenticationToken, AuthValidUntil set).
	TagAuthPending = "ksefpl_auth_pending"
	// TagSessionToken marks a row with redeemed access and refresh tokens.
	TagSessionToken = "ksefpl_session_token"
)

// TokenCache persists authentication results between runs. Implementations
// must encrypt at rest.
type TokenCache interface {
	// Load returns the row for key, or (nil, nil) when absent or expired.
	Load(ctx context.Context, key string) (*CachedTokens, error)
	// Save stores the row for key under tag until expiresAt.
	Save(ctx context.Context, key string, tag string, t CachedTokens, expiresAt time.Time) error
	// Delete removes the row for key (no error when absent).
	Delete(ctx context.Context, key string) error
}

// TokenCacheLocker is implemented by a TokenCache that several processes share (a
// database): the client authenticates for a key only under the key's lock, so that two
// processes never redeem one pending operation, nor start two authentications at once,
// and a process that waited uses the tokens the other one saved.
type TokenCacheLocker interface {
	// LockKey waits for the key's lock (bounded by ctx) and returns its release.
	LockKey(ctx context.Context, key string) (unlock func(), err error)
}

// CachedTokens is what a TokenCache stores. String hides every token.
type CachedTokens struct {
	AccessToken       string
	AccessValidUntil  time.Time
	RefreshToken      string
	RefreshValidUntil time.Time
	// While authorising: the pending operation.
	AuthReference       string
	AuthenticationToken string
	AuthValidUntil      time.Time
}

// String shows only references and expiries.
func (t CachedTokens) String() string {
	return fmt.Sprintf("CachedTokens{access until %s, refresh until %s, auth %q until %s}",
		t.AccessValidUntil.Format(time.RFC3339), t.RefreshValidUntil.Format(time.RFC3339),
		t.AuthReference, t.AuthValidUntil.Format(time.RFC3339))
}

// GoString hides the tokens in %#v output too.
func (t CachedTokens) GoString() string { return t.String() }

// MemoryTokenCache is an in-process TokenCache (nothing is written anywhere),
// for tests and for callers without a store.
type MemoryTokenCache struct {
	mu   sync.Mutex
	now  func() time.Time
	rows map[string]memRow
}

type memRow struct {
	tag     string
	tokens  CachedTokens
	expires time.Time
}

// NewMemoryTokenCache returns an empty in-memory cache using time.Now.
func NewMemoryTokenCache() *MemoryTokenCache {
	return NewMemoryTokenCacheClock(time.Now)
}

// NewMemoryTokenCacheClock returns an empty in-memory cache whose expiry
// decisions use now (for tests that move time forward).
func NewMemoryTokenCacheClock(now func() time.Time) *MemoryTokenCache {
	return &MemoryTokenCache{now: now, rows: map[string]memRow{}}
}

// Load implements TokenCache.
func (m *MemoryTokenCache) Load(_ context.Context, key string) (*CachedTokens, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.rows[key]
	if !ok {
		return nil, nil
	}
	if !m.now().Before(r.expires) {
		delete(m.rows, key)
		return nil, nil
	}
	t := r.tokens
	return &t, nil
}

// Save implements TokenCache.
func (m *MemoryTokenCache) Save(_ context.Context, key, tag string, t CachedTokens, expiresAt time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.rows[key] = memRow{tag: tag, tokens: t, expires: expiresAt}
	return nil
}

// Delete implements TokenCache.
func (m *MemoryTokenCache) Delete(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.rows, key)
	return nil
}

// Tag returns the tag of the row for key ("" when absent); for tests and
// diagnostics.
func (m *MemoryTokenCache) Tag(key string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.rows[key].tag
}
