package config

import (
	"fmt"
	"strings"

	"github.com/ksefpl/ksefpl/pkg/failure"
)

// UnknownPathError is returned for a path that is not in the registry.
type UnknownPathError struct {
	Path string
	// Suggestions are the closest known paths; when nil (an error built outside this
	// package, e.g. &UnknownPathError{Path: p}) Error computes them.
	Suggestions []string
}

// Error is Magento's message followed by the closest known paths ("Did you mean: …?")
// or, when none is close, the groups of known paths.
func (e *UnknownPathError) Error() string {
	s := e.Suggestions
	if s == nil {
		s = suggest(e.Path)
	}
	return fmt.Sprintf("The %q path doesn't exist. Verify and try again.", e.Path) + didYouMean(s)
}

// didYouMean is the hint appended to messages about an unknown path.
func didYouMean(suggestions []string) string {
	if len(suggestions) > 0 {
		return " Did you mean: " + strings.Join(suggestions, ", ") + "?"
	}
	return " Known paths are under " + strings.Join(groups(), ", ") + " (ksefpl config:show lists them)."
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

// Error is Magento's message. For a path that is neither a registered path nor a group
// of them (config:show of a typo) it adds the closest known paths, as UnknownPathError
// does; a registered path that merely has no value gets Magento's message alone.
func (e *NotFoundError) Error() string {
	msg := fmt.Sprintf("Configuration for path: %q doesn't exist", e.Path)
	if e.Path != "" && !IsKnownPrefix(e.Path) {
		msg += "." + didYouMean(suggest(e.Path))
	}
	return msg
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
