package config

import (
	"fmt"
	"strings"

	"github.com/ksefpl/ksefpl/pkg/failure"
)

// UnknownPathError is returned for a path that is not in the registry.
type UnknownPathError struct {
	Path        string
	Suggestions []string
}

func (e *UnknownPathError) Error() string {
	msg := fmt.Sprintf("The %q path doesn't exist. Verify and try again.", e.Path)
	if len(e.Suggestions) > 0 {
		msg += " Did you mean: " + strings.Join(e.Suggestions, ", ") + "?"
	}
	return msg
}

// InvalidValueError is returned when a value does not fit its path's type. Its message
// never contains the value of a secret path.
type InvalidValueError struct {
	Path   string
	Reason string
	Err    error
}

func (e *InvalidValueError) Error() string {
	return fmt.Sprintf("invalid value for %s: %s", e.Path, e.Reason)
}

func (e *InvalidValueError) Unwrap() error { return e.Err }

// ScopeError is returned for a bad --scope/--scope-code combination; its message is
// Magento's wording.
type ScopeError struct{ Msg string }

func (e *ScopeError) Error() string { return e.Msg }

// NotFoundError is returned by Get and Delete for a path with no value.
type NotFoundError struct{ Path string }

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("Configuration for path: %q doesn't exist", e.Path)
}

// DecryptError is returned when a stored secret cannot be decrypted with the deployment
// keys (a wrong or missing key).
type DecryptError struct {
	Path string
	Err  error
}

// DecryptMessage is what users see for any DecryptError.
const DecryptMessage = "Unable to decrypt stored token — re-enter the API token in configuration."

func (e *DecryptError) Error() string { return DecryptMessage }

func (e *DecryptError) Unwrap() error { return e.Err }

// ErrNoKey is returned when a secret must be encrypted or decrypted but no deployment key
// is configured.
var ErrNoKey = fmt.Errorf("no encryption key configured: run 'ksefpl setup:install' or set KSEFPL_CRYPT_KEY")

// Class is failure.Invalid: the path is not a configuration path.
func (e *UnknownPathError) Class() failure.Class { return failure.Invalid }

// Class is failure.Invalid: the value breaks the path's rules.
func (e *InvalidValueError) Class() failure.Class { return failure.Invalid }

// Class is failure.Usage: a bad --scope or --scope-code.
func (e *ScopeError) Class() failure.Class { return failure.Usage }

// Class is failure.Unknown: like Magento's "Configuration for path … doesn't exist" (exit 1).
func (e *NotFoundError) Class() failure.Class { return failure.Unknown }

// Class is failure.Auth: a stored secret the deployment keys cannot decrypt.
func (e *DecryptError) Class() failure.Class { return failure.Auth }
