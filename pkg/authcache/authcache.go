// Package authcache owns the persistent, encrypted KSeF token cache: an implementation
// of ksef.TokenCache over the store's ksefpl_cache table whose values are encrypted with
// the deployment keys, and the per-website cache keys that let operators drop one
// website's tokens (after a token or environment change) without touching the others.
package authcache

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/ksefpl/ksefpl/pkg/ksef"
	"github.com/ksefpl/ksefpl/pkg/secret"
	"github.com/ksefpl/ksefpl/pkg/store"
)

// Store is the part of the store the cache needs: its rows, and leases for the lock that
// serialises authentication between processes sharing the store.
type Store interface {
	CachePut(ctx context.Context, e store.CacheEntry) error
	CacheGet(ctx context.Context, key string) (store.CacheEntry, bool, error)
	CacheDelete(ctx context.Context, key string) error
	AcquireOrTakeOver(ctx context.Context, name, holder string, ttl time.Duration) (string, error)
	ReleaseLease(ctx context.Context, name, holder string) error
}

// Cache implements ksef.TokenCache with encrypted rows in the store.
type Cache struct {
	db   Store
	keys *secret.Keyring
}

var (
	_ ksef.TokenCache       = (*Cache)(nil)
	_ ksef.TokenCacheLocker = (*Cache)(nil)
)

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

// lockTTL bounds how long an authentication holds its lock when its process dies without
// releasing it (a dead process of this node is taken over at once).
const lockTTL = 2 * time.Minute

// lockPoll is how often a waiting process tries the lock again.
const lockPoll = 50 * time.Millisecond

// LockKey takes the lease "auth:<hash of key>" in the store, waiting while another
// process holds it (bounded by ctx and by lockTTL).
func (c *Cache) LockKey(ctx context.Context, key string) (func(), error) {
	sum := sha256.Sum256([]byte(key))
	name := "auth:" + hex.EncodeToString(sum[:16])
	holder := store.NewLeaseHolder()
	deadline := time.Now().Add(lockTTL)
	for {
		_, err := c.db.AcquireOrTakeOver(ctx, name, holder, lockTTL)
		var held *store.LeaseHeldError
		switch {
		case err == nil:
			return func() { _ = c.db.ReleaseLease(context.WithoutCancel(ctx), name, holder) }, nil
		case !errors.As(err, &held):
			return nil, fmt.Errorf("lock the KSeF authentication: %w", err)
		case time.Now().After(deadline):
			return nil, fmt.Errorf("another process has been authenticating with KSeF for over %s (%s): try again later", lockTTL, held.Holder)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(lockPoll):
		}
	}
}
