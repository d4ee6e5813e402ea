package main

import (
	"errors"
	"strings"

	"github.com/ksefpl/ksefpl/pkg/config"
	"github.com/ksefpl/ksefpl/pkg/nip"
	"github.com/ksefpl/ksefpl/pkg/secret"
)

// Exit codes, one table for every command (README.md documents it).
const (
	exitOK          = 0
	exitError       = 1
	exitUsage       = 2
	exitInvalid     = 3
	exitAuth        = 4
	exitRejected    = 5
	exitUnavailable = 6
	exitPartial     = 7
)

// exitErr carries an explicit exit code. A nil err means the message was already shown.
type exitErr struct {
	code int
	err  error
}

func (e *exitErr) Error() string {
	if e.err == nil {
		return ""
	}
	return e.err.Error()
}

func (e *exitErr) Unwrap() error { return e.err }

// withCode attaches an exit code to err.
func withCode(code int, err error) error { return &exitErr{code: code, err: err} }

// silentExit ends the command with code, the output having said everything already.
func silentExit(code int) error { return &exitErr{code: code} }

// usageErr marks bad flags and arguments.
type usageErr struct{ err error }

func (e *usageErr) Error() string { return e.err.Error() }
func (e *usageErr) Unwrap() error { return e.err }

// exitCode maps an error to the exit-code table.
func exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	var ee *exitErr
	if errors.As(err, &ee) {
		return ee.code
	}
	var ue *usageErr
	var se *config.ScopeError
	if errors.As(err, &ue) || errors.As(err, &se) || strings.HasPrefix(err.Error(), "unknown command") {
		return exitUsage
	}
	var de *config.DecryptError
	var sd *secret.DecryptError
	if errors.As(err, &de) || errors.As(err, &sd) {
		return exitAuth
	}
	var up *config.UnknownPathError
	var iv *config.InvalidValueError
	var ne *nip.Error
	if errors.As(err, &up) || errors.As(err, &iv) || errors.As(err, &ne) {
		return exitInvalid
	}
	if c, ok := classCode(err); ok {
		return c
	}
	return exitError
}
