package ksef

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/ksefpl/ksefpl/pkg/failure"
)

// TokenInfo is the public part of a KSeF 2.0 token
// "<referenceNumber>|<contextType>-<contextValue>|<64 hex secret>".
type TokenInfo struct {
	// Reference is the token's reference number (36 chars, EC infix).
	Reference string
	// ContextType is the API context identifier type: Nip, InternalId,
	// NipVatUe or PeppolId.
	ContextType string
	// ContextValue is the identifier, e.g. the NIP.
	ContextValue string
}

// TokenFormatError reports a KSeF token that does not have the 2.0 form. It
// never contains the token itself.
type TokenFormatError struct {
	Reason string
}

// Class is failure.Invalid.
func (e *TokenFormatError) Class() failure.Class { return failure.Invalid }

// Error describes the failure and what to do about it.
func (e *TokenFormatError) Error() string {
	return "the KSeF token is not a KSeF 2.0 token (<reference>|nip-<NIP>|<secret>): " + e.Reason +
		"; copy the whole token shown when it was generated (KSeF 1.0 tokens no longer work)"
}

// contextPrefixes maps the token's lower-camel context prefix to the API enum.
var contextPrefixes = map[string]string{
	"nip":        "Nip",
	"internalid": "InternalId",
	"nipvatue":   "NipVatUe",
	"peppolid":   "PeppolId",
}

// ParseToken splits a KSeF 2.0 token into its public parts without any
// network call (test-connection compares ContextValue with the configured
// NIP). The secret part is checked for shape but never returned.
func ParseToken(tok string) (TokenInfo, error) {
	parts := strings.Split(strings.TrimSpace(tok), "|")
	if len(parts) != 3 {
		return TokenInfo{}, &TokenFormatError{Reason: fmt.Sprintf("expected 3 parts separated by '|', found %d", len(parts))}
	}
	ref, ctx, secret := parts[0], parts[1], parts[2]
	if len(ref) != 36 {
		return TokenInfo{}, &TokenFormatError{Reason: fmt.Sprintf("the reference number must have 36 characters, found %d", len(ref))}
	}
	typ, val, ok := strings.Cut(ctx, "-")
	if !ok || val == "" {
		return TokenInfo{}, &TokenFormatError{Reason: "the context part must look like nip-1234567890"}
	}
	apiType, ok := contextPrefixes[strings.ToLower(typ)]
	if !ok {
		return TokenInfo{}, &TokenFormatError{Reason: fmt.Sprintf("unknown context type %q", typ)}
	}
	if len(secret) != 64 {
		return TokenInfo{}, &TokenFormatError{Reason: fmt.Sprintf("the secret part must have 64 hex characters, found %d characters", len(secret))}
	}
	if _, err := hex.DecodeString(secret); err != nil {
		return TokenInfo{}, &TokenFormatError{Reason: "the secret part must be hexadecimal"}
	}
	return TokenInfo{Reference: ref, ContextType: apiType, ContextValue: val}, nil
}

// TokenFingerprint returns the hex SHA-256 of a secret, the only form in which
// ksefpl shows tokens.
func TokenFingerprint(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}
