package config

import (
	"context"
	"fmt"

	"github.com/ksefpl/ksefpl/pkg/store"
)

// connectionPaths are the paths whose change makes a website's cached KSeF tokens and
// its last connection-test outcome stale: they were obtained from another environment,
// endpoint or token. Immutable.
// allow_custom_host belongs here too: a connection test passed through a proxy must not
// outlive the permission to use one.
var connectionPaths = []string{PathEnvironment, PathBaseURL, PathAPIToken, PathAuthMethod, PathAllowCustomHost}

// ConnectionPaths returns the paths whose change clears cached KSeF tokens and
// connection-test outcomes.
func ConnectionPaths() []string { return append([]string(nil), connectionPaths...) }

// ConnectionStateBackend is implemented by a Backend (the store) that keeps state
// derived from the connection settings. Set and Delete use it, when the Backend has it,
// to forget that state after a connection path changed — the "flush config cache" of
// the manual procedure, done on every path that changes configuration.
type ConnectionStateBackend interface {
	Websites(ctx context.Context) ([]store.Website, error)
	ForgetConnectionState(ctx context.Context, cacheKeyPrefixes []string, outcomeWebsiteIDs []int64) (store.ConnectionForgotten, error)
}

// websiteCachePrefix is authcache.WebsitePrefix (the key prefix of a website's cached
// KSeF tokens), repeated here so that configuration does not depend on the KSeF client;
// a test checks that the two agree.
func websiteCachePrefix(websiteID int64) string { return fmt.Sprintf("website:%d|", websiteID) }

// forgetMode says what a connection change forgets.
type forgetMode int

const (
	// forgetTokensAndOutcomes drops cached KSeF tokens and connection-test outcomes.
	forgetTokensAndOutcomes forgetMode = iota
	// forgetOutcomesOnly keeps cached tokens (rotate-token drops the old token's rows
	// itself once in-flight sessions are done).
	forgetOutcomesOnly
)

// IsConnectionPath reports whether changing path invalidates cached tokens and outcomes.
func IsConnectionPath(path string) bool {
	for _, p := range connectionPaths {
		if p == path {
			return true
		}
	}
	return false
}

// SetKeepingTokenCache is Set for token rotation: it validates, encrypts and saves like
// Set and forgets the affected websites' connection-test outcomes, but leaves their
// cached KSeF tokens alone, so that sessions still in flight keep working; the caller
// drops the old token's rows when they are done.
func (s *Service) SetKeepingTokenCache(ctx context.Context, path, value string, sc Scope) (SetResult, error) {
	return s.set(ctx, path, value, sc, forgetOutcomesOnly)
}

// AffectedWebsites returns the ids of the websites whose effective settings a change at
// sc may alter: every website for the default scope, else the scope's website.
func (s *Service) AffectedWebsites(ctx context.Context, sc Scope) ([]int64, error) {
	if sc.Type != "" && sc.Type != store.ScopeDefault {
		return []int64{sc.WebsiteID}, nil
	}
	b, ok := s.db.(ConnectionStateBackend)
	if !ok {
		return nil, nil
	}
	ws, err := b.Websites(ctx)
	if err != nil {
		return nil, err
	}
	ids := make([]int64, len(ws))
	for i, w := range ws {
		ids[i] = w.ID
	}
	return ids, nil
}

// connectionChanged forgets what a change of path at sc made stale, when path is a
// connection path and the backend keeps such state.
func (s *Service) connectionChanged(ctx context.Context, path string, sc Scope, mode forgetMode) error {
	if !IsConnectionPath(path) {
		return nil
	}
	b, ok := s.db.(ConnectionStateBackend)
	if !ok {
		return nil
	}
	ids, err := s.AffectedWebsites(ctx, sc)
	if err == nil {
		var prefixes []string
		if mode == forgetTokensAndOutcomes {
			for _, id := range ids {
				prefixes = append(prefixes, websiteCachePrefix(id))
			}
		}
		_, err = b.ForgetConnectionState(ctx, prefixes, ids)
	}
	if err != nil {
		return fmt.Errorf("%s was saved, but its cached KSeF tokens and connection-test outcome could not be cleared "+
			"(run ksefpl cache:clean ksefpl_session_token ksefpl_auth_pending): %w", path, err)
	}
	return nil
}
