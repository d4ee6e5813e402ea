package ksef

import (
	"context"
	"errors"
	"net"
)

// Class groups errors by what the caller should do about them; cmd/ksefpl maps
// each class to an exit code (see docs/architecture.md).
type Class int

const (
	// ClassUnknown is anything not recognised (exit 1).
	ClassUnknown Class = iota
	// ClassInvalid means our own input or configuration is invalid, detected
	// locally before or without talking to KSeF (bad URL, bad NIP, malformed
	// token) (exit 3).
	ClassInvalid
	// ClassAuth means the credentials were refused: HTTP 401/403, the auth
	// statuses 415/425/450/460/470/480, the auth exception codes 21301/21304/21308
	// and the legacy 10000/20100 errors (exit 4).
	ClassAuth
	// ClassRejected means KSeF answered with a 4xx describing a problem with the
	// request (for example 21405 validation errors) (exit 5). We deliberately do
	// not try to tell "our bug" from "bad data" here: KSeF rejected it, the
	// message carries KSeF's own codes and details.
	ClassRejected
	// ClassUnavailable means KSeF or the network is unavailable: network errors,
	// timeouts, HTTP 5xx, WAF HTML pages and redirects, 429 beyond the retry
	// ceiling and auth statuses 500/550 (exit 6).
	ClassUnavailable
)

// String returns the lower-case name of the class.
func (c Class) String() string {
	switch c {
	case ClassInvalid:
		return "invalid"
	case ClassAuth:
		return "auth"
	case ClassRejected:
		return "rejected"
	case ClassUnavailable:
		return "unavailable"
	default:
		return "unknown"
	}
}

// classer is implemented by every typed error of this package.
type classer interface {
	Class() Class
}

// Classify returns the Class of err. Typed errors of this package report their
// own class; network errors and timeouts are ClassUnavailable; nil and
// unrecognised errors are ClassUnknown.
func Classify(err error) Class {
	if err == nil {
		return ClassUnknown
	}
	var c classer
	if errors.As(err, &c) {
		return c.Class()
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return ClassUnavailable
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return ClassUnavailable
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		return ClassUnavailable
	}
	return ClassUnknown
}
