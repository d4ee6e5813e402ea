package offline_test

import (
	"testing"
	"time"

	"github.com/ksefpl/ksefpl/pkg/offline"
)

func TestDeadlineClock(t *testing.T) {
	d := offline.Deadline{Day: day(t, "2025-07-22"), Basis: "b"}
	end, ok := d.End()
	if !ok || !end.Equal(at(t, "2025-07-23 00:00")) {
		t.Fatalf("End = %v, %v", end, ok)
	}
	for _, c := range []struct {
		now    time.Time
		left   time.Duration
		missed bool
	}{
		{at(t, "2025-07-21 12:00"), 36 * time.Hour, false},
		{at(t, "2025-07-22 20:00"), 4 * time.Hour, false},
		{at(t, "2025-07-22 23:59"), time.Minute, false},
		{end.Add(-time.Nanosecond), time.Nanosecond, false},
		{end, 0, true},
		{at(t, "2025-07-23 01:00"), -time.Hour, true},
		// 22:30 UTC on the day is 00:30 CEST the next day: missed.
		{time.Date(2025, 7, 22, 22, 30, 0, 0, time.UTC), -30 * time.Minute, true},
	} {
		left, ok := d.Remaining(c.now)
		if !ok || left != c.left || d.Missed(c.now) != c.missed {
			t.Errorf("at %v: Remaining = %v, %v; Missed = %v; want %v, %v", c.now, left, ok, d.Missed(c.now), c.left, c.missed)
		}
	}
}

func TestDeadlineOverDSTChange(t *testing.T) {
	// 2026-03-29 has 23 hours in Warsaw (CET to CEST); 2026-10-25 has 25.
	for s, hours := range map[string]time.Duration{"2026-03-29": 23, "2026-10-25": 25} {
		d := offline.Deadline{Day: day(t, s)}
		left, ok := d.Remaining(day(t, s))
		if !ok || left != hours*time.Hour {
			t.Errorf("%s: Remaining from midnight = %v, want %dh", s, left, hours)
		}
	}
}

func TestDeadlineWithoutDay(t *testing.T) {
	now := at(t, "2030-01-01 00:00")
	for _, d := range []offline.Deadline{{Open: true, Basis: "x"}, {Lifted: true, Basis: "x"}, {}} {
		if _, ok := d.End(); ok {
			t.Errorf("%+v: End ok", d)
		}
		if left, ok := d.Remaining(now); ok || left != 0 {
			t.Errorf("%+v: Remaining = %v, %v", d, left, ok)
		}
		if d.Missed(now) {
			t.Errorf("%+v: Missed", d)
		}
		if d.Date() != "" {
			t.Errorf("%+v: Date = %q", d, d.Date())
		}
	}
}

func TestDeadlineString(t *testing.T) {
	for _, c := range []struct {
		d    offline.Deadline
		want string
	}{
		{offline.Deadline{Day: day(t, "2025-07-22"), Basis: "7 business days after …"}, "2025-07-22: 7 business days after …"},
		{offline.Deadline{Open: true, Basis: "the failure F has not ended yet"}, "open: the failure F has not ended yet"},
		{offline.Deadline{Lifted: true, Basis: "the total failure T lifts"}, "lifted: the total failure T lifts"},
		{offline.Deadline{}, "none"},
	} {
		if got := c.d.String(); got != c.want {
			t.Errorf("String = %q, want %q", got, c.want)
		}
	}
	// Date is the Warsaw day even when Day was built in another zone.
	if got := (offline.Deadline{Day: time.Date(2025, 7, 22, 0, 0, 0, 0, time.UTC)}).Date(); got != "2025-07-22" {
		t.Errorf("Date = %q", got)
	}
}
