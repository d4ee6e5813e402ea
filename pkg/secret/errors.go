package secret

import (
	"errors"
	"fmt"

	"github.com/ksefpl/ksefpl/pkg/failure"
)

// ErrCannotDecrypt matches (via errors.Is) every *DecryptError. Commands turn
// it into "Unable to decrypt stored token — re-enter the API token in
// configuration."
var ErrCannotDecrypt = errors.New("cannot decrypt stored value")

// ErrInvalidKey matches (via errors.Is) every *KeyError.
var ErrInvalidKey = errors.New("invalid encryption key")

// DecryptReason says why a stored value could not be decrypted.
type DecryptReason int

// The reasons Decrypt and KeyVersion fail.
const (
	// ReasonMalformed: the value is not "<version>:<cipher>:<base64>" or its
	// payload is not valid base64 of at least nonce plus tag.
	ReasonMalformed DecryptReason = iota + 1
	// ReasonUnsupportedCipher: the cipher version is not 3 (ChaCha20-Poly1305);
	// Magento's legacy Blowfish and Rijndael values are not supported.
	ReasonUnsupportedCipher
	// ReasonUnknownKeyVersion: the value names a key version the keyring does
	// not have (a key was removed from env.json, or the value comes from
	// another installation).
	ReasonUnknownKeyVersion
	// ReasonAuthFailed: authentication failed — the key for that version is
	// not the one the value was encrypted with, or the value was altered.
	ReasonAuthFailed
)

// String returns a short name for the reason, e.g. "auth-failed".
func (r DecryptReason) String() string {
	switch r {
	case ReasonMalformed:
		return "malformed"
	case ReasonUnsupportedCipher:
		return "unsupported-cipher"
	case ReasonUnknownKeyVersion:
		return "unknown-key-version"
	case ReasonAuthFailed:
		return "auth-failed"
	default:
		return fmt.Sprintf("DecryptReason(%d)", int(r))
	}
}

// DecryptError is returned when a stored value cannot be decrypted. Its message
// describes the problem and never contains the plaintext, the ciphertext or
// key material.
type DecryptError struct {
	// Reason says what went wrong.
	Reason DecryptReason
	// KeyVersion is the key version the value names, or -1 when it could not
	// be read.
	KeyVersion int
	// Versions is the number of keys the keyring holds (0 when the error came
	// from parsing alone).
	Versions int

	detail string
}

// Error returns "cannot decrypt stored value: <what is wrong and what to do>".
func (e *DecryptError) Error() string {
	return ErrCannotDecrypt.Error() + ": " + e.detail
}

// Is reports whether target is ErrCannotDecrypt.
func (e *DecryptError) Is(target error) bool {
	return target == ErrCannotDecrypt
}

// KeyError reports an encryption key that cannot be used. Its message says
// which key (by version) and why, never the key itself.
type KeyError struct {
	// Version is the index of the offending key in the key list (the version
	// it would have), or -1 when the list as a whole is wrong (e.g. empty).
	Version int

	detail string
}

// Error returns "invalid encryption key …: <why and what to do>".
func (e *KeyError) Error() string {
	if e.Version < 0 {
		return ErrInvalidKey.Error() + ": " + e.detail
	}
	return fmt.Sprintf("%s (version %d): %s", ErrInvalidKey.Error(), e.Version, e.detail)
}

// Is reports whether target is ErrInvalidKey.
func (e *KeyError) Is(target error) bool {
	return target == ErrInvalidKey
}

// Class is failure.Auth: the keys cannot decrypt the value.
func (e *DecryptError) Class() failure.Class { return failure.Auth }

// Class is failure.Invalid: a key that cannot be used is a configuration problem.
func (e *KeyError) Class() failure.Class { return failure.Invalid }
