package offline_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/ksefpl/ksefpl/pkg/failure"
	"github.com/ksefpl/ksefpl/pkg/offline"
)

func TestParseMode(t *testing.T) {
	for in, want := range map[string]offline.Mode{
		"offline24": offline.Offline24, "offline": offline.Unavailable, "awaryjny": offline.Emergency,
		" OFFLINE24 ": offline.Offline24, "Awaryjny": offline.Emergency,
	} {
		if got, err := offline.ParseMode(in); err != nil || got != want {
			t.Errorf("ParseMode(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "online", "offline-24", "emergency"} {
		_, err := offline.ParseMode(bad)
		var me *offline.ModeError
		if !errors.As(err, &me) || failure.Of(err) != failure.Invalid {
			t.Fatalf("ParseMode(%q) = %v, want *ModeError of class invalid", bad, err)
		}
		if msg := err.Error(); !strings.Contains(msg, "offline24, offline, awaryjny") {
			t.Errorf("error %q does not list the valid modes", msg)
		}
	}
}
