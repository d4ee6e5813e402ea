// Package failure owns ksefpl's one vocabulary for failure classes: what kind of failure
// an error is, from the caller's point of view (bad usage, invalid input, refused
// credentials, rejected by KSeF, KSeF unavailable, partial success, unknown). Every
// package's typed errors report their Class; reports carry it; cmd/ksefpl maps each class
// to its exit code in one table. It is a leaf: it imports only the standard library.
package failure

import (
	"context"
	"errors"
	"net"
)

// Class says what the caller should do about a failure. Its value is the lower-case name
// used in JSON output ("invalid", "auth", …); the zero value means no failure.
type Class string

// The classes, in the order of the exit-code table (README.md).
const (
	// None is the zero value: no failure.
	None Class = ""
	// Unknown is anything not recognised: a bug, a storage failure, an answer that does
	// not follow the contract.
	Unknown Class = "unknown"
	// Usage is a bad flag, argument or scope.
	Usage Class = "usage"
	// Invalid is invalid input or configuration, detected locally (a NIP, a config value,
	// invoice data, a job in a state that refuses the operation).
	Invalid Class = "invalid"
	// Auth means credentials were refused or cannot be used (a token KSeF refused, a
	// secret that cannot be decrypted).
	Auth Class = "auth"
	// Rejected means KSeF answered that the request or document is wrong.
	Rejected Class = "rejected"
	// Unavailable means KSeF, NBP or the network could not be reached or is down
	// (timeouts, 5xx, DNS/TLS, rate limits beyond the retry ceiling).
	Unavailable Class = "unavailable"
	// Partial means some items succeeded and some failed.
	Partial Class = "partial"
)

// Classes lists every failure class (None excluded).
var Classes = []Class{Unknown, Usage, Invalid, Auth, Rejected, Unavailable, Partial}

// String returns the class name ("" for None).
func (c Class) String() string { return string(c) }

// Classer is implemented by errors that know their class.
type Classer interface {
	Class() Class
}

// Of returns the class of err: the class of the first error in its chain that reports
// one (errors.As), Unavailable for network errors and timeouts, None for nil and Unknown
// for anything else.
func Of(err error) Class {
	if err == nil {
		return None
	}
	var c Classer
	if errors.As(err, &c) {
		if cl := c.Class(); cl != None {
			return cl
		}
		return Unknown
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return Unavailable
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return Unavailable
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		return Unavailable
	}
	return Unknown
}

// Is reports whether err is of class c.
func Is(err error, c Class) bool { return Of(err) == c }

// Error is an error with an explicit class. A nil Err is a failure whose message has
// already been shown: Error returns "".
type Error struct {
	C   Class
	Err error
}

// New returns err with class c (nil Err: a failure already reported).
func New(c Class, err error) error { return &Error{C: c, Err: err} }

// Error returns the wrapped error's message, or "" when there is none.
func (e *Error) Error() string {
	if e.Err == nil {
		return ""
	}
	return e.Err.Error()
}

// Unwrap returns the wrapped error.
func (e *Error) Unwrap() error { return e.Err }

// Class returns the explicit class.
func (e *Error) Class() Class { return e.C }
