// Package authcache owns the persistent, encrypted KSeF token cache: an implementation
// of ksef.TokenCache over the store's ksefpl_cache table whose values are encrypted with
// the deployment keys, and the per-website cache keys that let operators drop one
// website's tokens (after a token or environment change) without touching the others.
package authcache

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/ksefpl/ksefpl/pkg/ksef"
	"github.com/ksefpl/ksefpl/pkg/secret"
	"github.com/ksefpl/ksefpl/pkg/store"
)

// Store is the part of the store the cache needs.
type Store interface {
	CachePut(ctx context.Context, e store.CacheEntry) error
	CacheGet(ctx context.Context, key string) (store.CacheEntry, bool, error)
	CacheDelete(ctx context.Context, key string) error
}

// Cache implements ksef.TokenCache with encrypted rows in the store.
type Cache struct {
	db   Store
	keys *secret.Keyring
}

var _ ksef.TokenCache = (*Cache)(nil)

// New returns a cache over db that encrypts with keys.
func New(db Store, keys *secret.Keyring) *Cache { return &Cache{db: db, keys: keys} }

// Key is the cache key of one website's tokens for one API and one token: the website
// prefix comes first so that WebsitePrefix can select all of a website's rows.
func Key(websiteID int64, apiBaseURL, tokenFingerprint string) string {
	return fmt.Sprintf("%s%s|%s", WebsitePrefix(websiteID), apiBaseURL, tokenFingerprint)
}

// WebsitePrefix is the key prefix shared by every cache row of a website.
func WebsitePrefix(websiteID int64) string { return fmt.Sprintf("website:%d|", websiteID) }

// wireTokens is the JSON form of ksef.CachedTokens inside the ciphertext.
type wireTokens struct {
	AccessToken         string    `json:"a,omitempty"`
	AccessValidUntil    time.Time `json:"au"`
	RefreshToken        string    `json:"r,omitempty"`
	RefreshValidUntil   time.Time `json:"ru"`
	AuthReference       string    `json:"ref,omitempty"`
	AuthenticationToken string    `json:"at,omitempty"`
	AuthValidUntil      time.Time `json:"atu"`
}

// Load returns the live row for key, or nil. A row that cannot be decrypted (the keys
// changed) is treated as absent and removed, so authentication starts afresh.
func (c *Cache) Load(ctx context.Context, key string) (*ksef.CachedTokens, error) {
	e, ok, err := c.db.CacheGet(ctx, key)
	if err != nil || !ok {
		return nil, err
	}
	if c.keys == nil {
		return nil, nil
	}
	plain, err := c.keys.Decrypt(e.Value)
	if err != nil {
		var de *secret.DecryptError
		if errors.As(err, &de) {
			return nil, c.db.CacheDelete(ctx, key)
		}
		return nil, err
	}
	var w wireTokens
	if err := json.Unmarshal([]byte(plain), &w); err != nil {
		return nil, c.db.CacheDelete(ctx, key)
	}
	t := ksef.CachedTokens(w)
	return &t, nil
}

// Save encrypts t and stores it under key with tag until expiresAt.
func (c *Cache) Save(ctx context.Context, key, tag string, t ksef.CachedTokens, expiresAt time.Time) error {
	if c.keys == nil {
		return errors.New("cannot cache KSeF tokens: no encryption key configured (run ksefpl setup:install)")
	}
	b, err := json.Marshal(wireTokens(t))
	if err != nil {
		return err
	}
	ct, err := c.keys.Encrypt(string(b))
	if err != nil {
		return fmt.Errorf("encrypt cached tokens: %w", err)
	}
	return c.db.CachePut(ctx, store.CacheEntry{Key: key, Tag: tag, Value: ct, ExpiresAt: expiresAt})
}

// Delete removes the row for key.
func (c *Cache) Delete(ctx context.Context, key string) error { return c.db.CacheDelete(ctx, key) }
