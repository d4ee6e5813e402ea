package offline

import (
	"fmt"
	"strings"

	"github.com/ksefpl/ksefpl/pkg/failure"
)

// Mode is the offline mode an invoice was issued in. Its value is the name used by
// KSeF's documentation and stored in the queue.
type Mode string

// The offline modes.
const (
	// Offline24 is the seller's own choice (art. 106nda): send by the next business
	// day after the issue date.
	Offline24 Mode = "offline24"
	// Unavailable is issuing during an announced unavailability of KSeF, i.e. a
	// maintenance window (art. 106nh): send by the next business day after the
	// unavailability ends.
	Unavailable Mode = "offline"
	// Emergency is issuing during a KSeF failure (art. 106nf, "tryb awaryjny"):
	// send within 7 business days after the failure ends.
	Emergency Mode = "awaryjny"
)

// Modes lists the valid modes in the order of the documentation.
var Modes = []Mode{Offline24, Unavailable, Emergency}

// String returns the mode's name.
func (m Mode) String() string { return string(m) }

// Valid reports whether m is one of Modes.
func (m Mode) Valid() bool {
	for _, v := range Modes {
		if m == v {
			return true
		}
	}
	return false
}

// ParseMode returns the mode named s (case and surrounding spaces ignored), or a
// *ModeError listing the valid modes.
func ParseMode(s string) (Mode, error) {
	m := Mode(strings.ToLower(strings.TrimSpace(s)))
	if !m.Valid() {
		return "", &ModeError{Value: s}
	}
	return m, nil
}

// ModeError is an unknown offline mode name.
type ModeError struct {
	Value string
}

// Error names the bad value and the valid modes.
func (e *ModeError) Error() string {
	names := make([]string, len(Modes))
	for i, m := range Modes {
		names[i] = string(m)
	}
	return fmt.Sprintf("unknown offline mode %q: valid modes are %s", e.Value, strings.Join(names, ", "))
}

// Class reports failure.Invalid: the input is wrong.
func (e *ModeError) Class() failure.Class { return failure.Invalid }
