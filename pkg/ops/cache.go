package ops

import (
	"context"
	"fmt"

	"github.com/ksefpl/ksefpl/pkg/authcache"
	"github.com/ksefpl/ksefpl/pkg/ksef"
	"github.com/ksefpl/ksefpl/pkg/store"
)

// Cache types that cache:clean knows, in the order cache:flush cleans them.
const (
	CacheConfig       = "config"
	CacheSessionToken = ksef.TagSessionToken // cached access and refresh tokens
	CacheAuthPending  = ksef.TagAuthPending  // authentications in progress
	CacheNBPRates     = "nbp_rates"
)

// cacheTypes is the immutable list of types, in flush order.
var cacheTypes = []string{CacheConfig, CacheSessionToken, CacheAuthPending, CacheNBPRates}

// CacheTypes returns every cache type, in the order cache:flush cleans them.
func CacheTypes() []string { return append([]string(nil), cacheTypes...) }

// Cleaned is what cleaning one cache type removed.
type Cleaned struct {
	Type  string `json:"type"`
	Count int64  `json:"count"`
	// Note explains the count where it needs explaining.
	Note string `json:"note,omitempty"`
}

// CleanCache empties the given cache types (all of them when types is empty: the
// flush). websiteID limits the token types to one website (0: every website); the NBP
// rates are shared by every website and always cleaned whole. Unknown types give an
// *UnknownCacheTypeError before anything is cleaned.
func CleanCache(ctx context.Context, db *store.DB, types []string, websiteID int64) ([]Cleaned, error) {
	if len(types) == 0 {
		types = CacheTypes()
	}
	seen := map[string]bool{}
	var todo []string
	for _, t := range types {
		if !isCacheType(t) {
			return nil, &UnknownCacheTypeError{Type: t, Valid: CacheTypes()}
		}
		if !seen[t] {
			seen[t] = true
			todo = append(todo, t)
		}
	}
	prefix := ""
	if websiteID != 0 {
		prefix = authcache.WebsitePrefix(websiteID)
	}
	out := make([]Cleaned, 0, len(todo))
	for _, t := range todo {
		c := Cleaned{Type: t}
		var err error
		switch t {
		case CacheConfig:
			c.Note = "nothing is cached for configuration: every command reads it from the database"
		case CacheSessionToken, CacheAuthPending:
			c.Count, err = db.CacheDeleteWhere(ctx, prefix, t)
		case CacheNBPRates:
			c.Count, err = db.NBPRatesDelete(ctx)
			if websiteID != 0 {
				c.Note = "NBP rates are shared by every website"
			}
		}
		if err != nil {
			return out, fmt.Errorf("clean the %s cache: %w", t, err)
		}
		out = append(out, c)
	}
	return out, nil
}

func isCacheType(t string) bool {
	for _, c := range cacheTypes {
		if c == t {
			return true
		}
	}
	return false
}
