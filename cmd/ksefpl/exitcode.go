package main

import (
	"errors"
	"strings"

	"github.com/ksefpl/ksefpl/pkg/failure"
	"github.com/ksefpl/ksefpl/pkg/monitor"
)

// exitCodes is the exit-code table of every command (README.md documents it): the one
// place where a failure class becomes a process exit code.
var exitCodes = map[failure.Class]int{
	failure.None:        0,
	failure.Unknown:     1,
	failure.Usage:       2,
	failure.Invalid:     3,
	failure.Auth:        4,
	failure.Rejected:    5,
	failure.Unavailable: 6,
	failure.Partial:     7,
}

// exitCode maps an error to the exit-code table through its failure class, or to the
// monitoring-plugins code status --check ends with (pluginExit).
func exitCode(err error) int {
	if err == nil {
		return exitCodes[failure.None]
	}
	var pe *pluginExit
	if errors.As(err, &pe) {
		return int(pe.state)
	}
	if code, ok := exitCodes[classOf(err)]; ok {
		return code
	}
	return exitCodes[failure.Unknown]
}

// classOf is failure.Of, plus cobra's own unknown-command error, which carries no class.
func classOf(err error) failure.Class {
	if c := failure.Of(err); c != failure.Unknown {
		return c
	}
	if strings.HasPrefix(err.Error(), "unknown command") {
		return failure.Usage
	}
	return failure.Unknown
}

// withClass gives err the failure class c.
func withClass(c failure.Class, err error) error { return failure.New(c, err) }

// silentExit ends the command with class c, the output having said everything already.
func silentExit(c failure.Class) error { return failure.New(c, nil) }

// usageErr marks bad flags and arguments (class usage).
type usageErr struct{ err error }

func (e *usageErr) Error() string { return e.err.Error() }
func (e *usageErr) Unwrap() error { return e.err }

// Class is failure.Usage.
func (e *usageErr) Class() failure.Class { return failure.Usage }

// errSilent reports whether err has nothing left to say.
func errSilent(err error) bool {
	var fe *failure.Error
	var pe *pluginExit
	return errors.As(err, &fe) && fe.Err == nil || errors.As(err, &pe)
}

// pluginExit ends status --check with its verdict's exit code in the monitoring-plugins
// convention (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN; README.md documents it beside the
// main table), the output having said everything.
type pluginExit struct{ state monitor.State }

func (e *pluginExit) Error() string { return "ksefpl status --check: " + e.state.String() }
