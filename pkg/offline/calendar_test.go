package offline_test

import (
	"slices"
	"testing"
	"time"

	"github.com/ksefpl/ksefpl/pkg/failure"
	"github.com/ksefpl/ksefpl/pkg/offline"
)

var warsaw = offline.Warsaw()

// day returns midnight in Warsaw of a YYYY-MM-DD literal.
func day(t *testing.T, s string) time.Time {
	t.Helper()
	d, err := time.ParseInLocation(time.DateOnly, s, warsaw)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func ymd(d time.Time) string { return d.In(warsaw).Format(time.DateOnly) }

// holidays lists every public holiday of 2025–2027, written out by hand from the
// Easter dates 2025-04-20, 2026-04-05 and 2027-03-28.
var holidays = map[int][]string{
	2025: {"2025-01-01", "2025-01-06", "2025-04-20", "2025-04-21", "2025-05-01", "2025-05-03", "2025-06-08",
		"2025-06-19", "2025-08-15", "2025-11-01", "2025-11-11", "2025-12-24", "2025-12-25", "2025-12-26"},
	2026: {"2026-01-01", "2026-01-06", "2026-04-05", "2026-04-06", "2026-05-01", "2026-05-03", "2026-05-24",
		"2026-06-04", "2026-08-15", "2026-11-01", "2026-11-11", "2026-12-24", "2026-12-25", "2026-12-26"},
	2027: {"2027-01-01", "2027-01-06", "2027-03-28", "2027-03-29", "2027-05-01", "2027-05-03", "2027-05-16",
		"2027-05-27", "2027-08-15", "2027-11-01", "2027-11-11", "2027-12-24", "2027-12-25", "2027-12-26"},
}

func TestHolidaysListed(t *testing.T) {
	for year, want := range holidays {
		var got []string
		for _, h := range offline.Holidays(year) {
			got = append(got, ymd(h))
		}
		if !slices.Equal(got, want) {
			t.Errorf("Holidays(%d) =\n %v\nwant\n %v", year, got, want)
		}
	}
}

// TestEveryDayOf2025To2027 checks each day of the three years against the hand list
// and the weekday.
func TestEveryDayOf2025To2027(t *testing.T) {
	set := map[string]bool{}
	for _, days := range holidays {
		for _, d := range days {
			set[d] = true
		}
	}
	for d := day(t, "2025-01-01"); d.Year() <= 2027; d = d.AddDate(0, 0, 1) {
		s := ymd(d)
		weekend := d.Weekday() == time.Saturday || d.Weekday() == time.Sunday
		if got := offline.IsHoliday(d); got != set[s] {
			t.Errorf("IsHoliday(%s) = %v, want %v", s, got, set[s])
		}
		if got, want := offline.IsBusinessDay(d), !weekend && !set[s]; got != want {
			t.Errorf("IsBusinessDay(%s %s) = %v, want %v", s, d.Weekday(), got, want)
		}
	}
}

func TestEaster(t *testing.T) {
	for year, want := range map[int]string{
		1943: "1943-04-25", 2000: "2000-04-23", 2008: "2008-03-23", 2011: "2011-04-24", 2019: "2019-04-21",
		2024: "2024-03-31", 2025: "2025-04-20", 2026: "2026-04-05", 2027: "2027-03-28", 2038: "2038-04-25",
		2285: "2285-03-22",
	} {
		if got := ymd(offline.Easter(year)); got != want {
			t.Errorf("Easter(%d) = %s, want %s", year, got, want)
		}
	}
}

func TestChristmasEve(t *testing.T) {
	for _, c := range []struct {
		day      string
		business bool
	}{
		{"2024-12-24", true}, // a Tuesday, before the 2025 law
		{"2023-12-24", false},
		{"2025-12-24", false}, // a Wednesday, a holiday since 2025
		{"2026-12-24", false}, // a Thursday
	} {
		if got := offline.IsBusinessDay(day(t, c.day)); got != c.business {
			t.Errorf("IsBusinessDay(%s) = %v, want %v", c.day, got, c.business)
		}
	}
	if offline.IsHoliday(day(t, "2024-12-24")) || !offline.IsHoliday(day(t, "2025-12-24")) {
		t.Error("24 December is a holiday from 2025 only")
	}
	if offline.IsHoliday(day(t, "2010-01-06")) || !offline.IsHoliday(day(t, "2011-01-06")) {
		t.Error("6 January is a holiday from 2011 only")
	}
}

func TestBusinessDayArithmetic(t *testing.T) {
	for _, c := range []struct {
		name string
		from string
		n    int
		want string
	}{
		{"Friday to Monday", "2026-03-13", 1, "2026-03-16"},
		{"Saturday to Monday", "2026-03-14", 1, "2026-03-16"},
		{"Sunday to Monday", "2026-03-15", 1, "2026-03-16"},
		{"midweek", "2026-03-10", 1, "2026-03-11"},
		{"Good Friday is a business day", "2026-04-02", 1, "2026-04-03"},
		{"Good Friday over Easter", "2026-04-03", 1, "2026-04-07"},
		{"into 1 May and a Sunday 3 May", "2026-04-30", 1, "2026-05-04"},
		{"Friday before a Monday 3 May", "2027-04-30", 1, "2027-05-04"},
		{"Christmas 2025", "2025-12-23", 1, "2025-12-29"},
		{"Christmas Eve 2024 is a business day", "2024-12-23", 1, "2024-12-24"},
		{"New Year and Epiphany 2026", "2025-12-31", 2, "2026-01-05"},
		{"7 days from a Saturday", "2025-07-12", 7, "2025-07-22"},
		{"7 days over Corpus Christi 2026", "2026-06-01", 7, "2026-06-11"},
		{"zero is the day itself", "2026-03-14", 0, "2026-03-14"},
		{"back one from Monday", "2026-03-16", -1, "2026-03-13"},
		{"back over Easter", "2026-04-07", -1, "2026-04-03"},
	} {
		if got := ymd(offline.AddBusinessDays(day(t, c.from), c.n)); got != c.want {
			t.Errorf("%s: AddBusinessDays(%s, %d) = %s, want %s", c.name, c.from, c.n, got, c.want)
		}
	}
	if got := ymd(offline.NextBusinessDay(day(t, "2026-04-03"))); got != "2026-04-07" {
		t.Errorf("NextBusinessDay = %s", got)
	}
}

func TestDayIsTheWarsawDay(t *testing.T) {
	for _, c := range []struct {
		name string
		in   time.Time
		want string
	}{
		{"winter 23:30 UTC is 00:30 CET next day", time.Date(2026, 1, 15, 23, 30, 0, 0, time.UTC), "2026-01-16"},
		{"winter 22:59 UTC is 23:59 CET same day", time.Date(2026, 1, 15, 22, 59, 0, 0, time.UTC), "2026-01-15"},
		{"summer 22:30 UTC is 00:30 CEST next day", time.Date(2026, 7, 15, 22, 30, 0, 0, time.UTC), "2026-07-16"},
		{"summer 21:59 UTC is 23:59 CEST same day", time.Date(2026, 7, 15, 21, 59, 0, 0, time.UTC), "2026-07-15"},
		{"midnight UTC date keeps its day", time.Date(2026, 3, 29, 0, 0, 0, 0, time.UTC), "2026-03-29"},
	} {
		got := offline.Day(c.in)
		if ymd(got) != c.want || got.Hour() != 0 || got.Location() != warsaw {
			t.Errorf("%s: Day = %v, want %s midnight Warsaw", c.name, got, c.want)
		}
	}
	// A UTC date parsed the usual way is the same business day.
	d, _ := time.Parse(time.DateOnly, "2025-12-24")
	if offline.IsBusinessDay(d) {
		t.Error("2025-12-24 as midnight UTC should still be the holiday")
	}
}

func TestParseDay(t *testing.T) {
	d, err := offline.ParseDay("2026-02-01")
	if err != nil || !d.Equal(time.Date(2026, 2, 1, 0, 0, 0, 0, warsaw)) {
		t.Fatalf("ParseDay = %v, %v", d, err)
	}
	for _, bad := range []string{"", "2026-2-1", "01.02.2026", "2026-02-30"} {
		_, err := offline.ParseDay(bad)
		if err == nil || failure.Of(err) != failure.Invalid {
			t.Errorf("ParseDay(%q) = %v, want an invalid-input error", bad, err)
		}
	}
}
