// Package ops owns the operator workflows that change credentials and keys: rotating a
// website's KSeF token (verify first, save encrypted, drop the old token's cached tokens
// once in-flight sessions are done, optionally revoke the old token), adding an
// encryption key version and re-encrypting every stored secret with it, listing key
// versions, and cleaning ksefpl's caches. It never prints; commands render its results.
package ops
