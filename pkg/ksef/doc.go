// Package ksef owns the KSeF 2.0 HTTP client used by ksefpl, following API
// 2.8.1 (open-api-2.8.1.json): environments and their endpoints (API, QR,
// Latarnia, legacy 1.0), the transport (timeouts, retries with backoff,
// Retry-After handling, refusal of redirects, every X-System-Warning handed to
// Options.OnSystemWarning), typed errors for both KSeF error formats and
// their Class, the public-key cache, the KSeF token authentication flow with a
// pluggable TokenCache (each documented 450 detail mapped to what to do), KSeF
// token parsing and revocation, the online (interactive) session calls —
// open (optionally with subject-identifier validation), send (21184 "session
// temporarily unavailable" typed), close, session and invoice status with
// paging, UPO downloads (authenticated and pre-signed, hash-verified) with
// typed status codes — batch sessions (streamed ZIP packages split into
// AES-encrypted parts, open, parallel part uploads, close, PlanBatchSessions
// for backlogs over one session), the invoice metadata query with an
// iterator over every page (truncation continued as documented), the context
// limits, the rate-limit table with GET /rate-limits and the Pacer that keeps
// calls within it per context, the Latarnia status client, the legacy KSeF
// 1.0 authorisation profile used by connection tests, and the crypto and
// KSeF-number helpers shared with the simulator (RSA-OAEP SHA-256,
// AES-256-CBC/PKCS#7, SHA-256, CRC-8).
//
// The package never prints and never exits; every call that does I/O takes a
// context.Context first. Secrets (KSeF tokens, access, refresh and
// authentication tokens) never appear in errors or String() output.
package ksef
