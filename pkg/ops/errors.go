package ops

import (
	"fmt"
	"strings"

	"github.com/ksefpl/ksefpl/pkg/failure"
)

// TokenRejectedError means the new token failed verification (malformed, for another
// NIP, or refused by KSeF); nothing was saved. Its Class is failure.Auth.
type TokenRejectedError struct {
	// Website is the code of the website the token was verified for.
	Website string
	// Reason says why, without the token.
	Reason string
	// Err is the underlying error, if any.
	Err error
}

// Class is failure.Auth: the credentials were refused.
func (e *TokenRejectedError) Class() failure.Class { return failure.Auth }

// Error says why the new token was refused and that nothing changed.
func (e *TokenRejectedError) Error() string {
	return fmt.Sprintf("the new token was not saved (nothing changed): it does not work for website %s: %s", e.Website, e.Reason)
}

// Unwrap returns the underlying error.
func (e *TokenRejectedError) Unwrap() error { return e.Err }

// SameTokenError means the new token is the one already stored.
type SameTokenError struct{}

// Class is failure.Invalid.
func (e *SameTokenError) Class() failure.Class { return failure.Invalid }

// Error says what to do.
func (e *SameTokenError) Error() string {
	return "the new token is the token already stored; nothing changed (generate a new token in the KSeF portal first)"
}

// KeysFromEnvError means the encryption keys come from an environment variable, which
// ksefpl cannot update.
type KeysFromEnvError struct{ Variable string }

// Class is failure.Invalid (a configuration problem, exit 3).
func (e *KeysFromEnvError) Class() failure.Class { return failure.Invalid }

// Error says what to do instead.
func (e *KeysFromEnvError) Error() string {
	return fmt.Sprintf("the encryption keys come from %s, which ksefpl cannot update; nothing changed. "+
		"Append a new key to %s after the existing ones, separated by a newline (e.g. \"base64$(openssl rand -base64 32)\"): "+
		"the last key encrypts new values and the earlier ones still decrypt the stored ones; "+
		"or unset it and keep the keys in env.json to let encryption:key:change manage them", e.Variable, e.Variable)
}

// UndecryptableError lists stored secrets the current keys cannot decrypt, so they
// cannot be re-encrypted; nothing changed.
type UndecryptableError struct {
	// Values are "path at scope" descriptions, never the values.
	Values []string
	Err    error
}

// Error says which values and what to do.
func (e *UndecryptableError) Error() string {
	return "nothing changed: the current encryption keys cannot decrypt " + strings.Join(e.Values, ", ") +
		"; restore the missing key in env.json, or re-enter those values with ksefpl config:set, then run encryption:key:change again"
}

// Unwrap returns the first decryption error.
func (e *UndecryptableError) Unwrap() error { return e.Err }

// UnknownCacheTypeError names a cache type that does not exist.
type UnknownCacheTypeError struct {
	Type  string
	Valid []string
}

// Class is failure.Usage: a bad argument.
func (e *UnknownCacheTypeError) Class() failure.Class { return failure.Usage }

// Error lists the valid types.
func (e *UnknownCacheTypeError) Error() string {
	return fmt.Sprintf("unknown cache type %q: valid types are %s", e.Type, strings.Join(e.Valid, ", "))
}

// KeyInUseError means the key given to encryption:key:change is already configured.
type KeyInUseError struct{}

// Class is failure.Invalid.
func (e *KeyInUseError) Class() failure.Class { return failure.Invalid }

// Error says what to do.
func (e *KeyInUseError) Error() string {
	return "the new key is already one of the configured keys; nothing changed: give another key, or none to generate one"
}
