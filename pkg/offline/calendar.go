package offline

import (
	"fmt"
	"time"

	"github.com/ksefpl/ksefpl/pkg/failure"
)

// warsaw is Poland's time zone; the embedded tzdata (tzdata.go) guarantees it loads.
var warsaw = mustLoad("Europe/Warsaw")

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic("offline: " + err.Error())
	}
	return loc
}

// Warsaw returns the Europe/Warsaw location all days are counted in.
func Warsaw() *time.Location { return warsaw }

// Day returns midnight, Europe/Warsaw, of the Warsaw calendar day that contains the
// instant t. Midnight UTC of a date is the same date in Warsaw (Warsaw is ahead of
// UTC), so dates parsed with time.Parse(time.DateOnly, …) keep their day.
func Day(t time.Time) time.Time {
	y, m, d := t.In(warsaw).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, warsaw)
}

// ParseDay parses a YYYY-MM-DD date as midnight, Europe/Warsaw; a bad date is a
// *DayError.
func ParseDay(s string) (time.Time, error) {
	t, err := time.ParseInLocation(time.DateOnly, s, warsaw)
	if err != nil {
		return time.Time{}, &DayError{Value: s}
	}
	return t, nil
}

// DayError is a date that is not YYYY-MM-DD.
type DayError struct {
	Value string
}

// Error names the bad value and the expected form.
func (e *DayError) Error() string {
	return fmt.Sprintf("invalid date %q: want YYYY-MM-DD", e.Value)
}

// Class reports failure.Invalid: the input is wrong.
func (e *DayError) Class() failure.Class { return failure.Invalid }

// Easter returns Easter Sunday (Gregorian calendar) of year, at midnight in Warsaw,
// by the Meeus/Jones/Butcher algorithm, exact for every Gregorian year.
func Easter(year int) time.Time {
	a := year % 19
	b, c := year/100, year%100
	d, e := b/4, b%4
	f := (b + 8) / 25
	g := (b - f + 1) / 3
	h := (19*a + b - d - g + 15) % 30
	i, k := c/4, c%4
	l := (32 + 2*e + 2*i - h - k) % 7
	m := (a + 11*h + 22*l) / 451
	month := (h + l - 7*m + 114) / 31
	day := (h+l-7*m+114)%31 + 1
	return time.Date(year, time.Month(month), day, 0, 0, 0, 0, warsaw)
}

// Holidays returns Poland's public holidays (days free from work) of year, in date
// order, at midnight in Warsaw: 1 and 6 January, Easter Sunday and Monday, 1 and 3
// May, Pentecost Sunday (Easter+49), Corpus Christi (Easter+60), 15 August, 1 and 11
// November, 24 (from 2025), 25 and 26 December. 6 January counts from 2011, when it
// became a holiday; older changes to the calendar (before 1990) are not modelled.
func Holidays(year int) []time.Time {
	date := func(m time.Month, d int) time.Time { return time.Date(year, m, d, 0, 0, 0, 0, warsaw) }
	easter := Easter(year)
	out := []time.Time{date(time.January, 1)}
	if year >= 2011 {
		out = append(out, date(time.January, 6))
	}
	out = append(out,
		easter, easter.AddDate(0, 0, 1),
		date(time.May, 1), date(time.May, 3),
		easter.AddDate(0, 0, 49), easter.AddDate(0, 0, 60),
		date(time.August, 15), date(time.November, 1), date(time.November, 11))
	if year >= 2025 {
		out = append(out, date(time.December, 24))
	}
	out = append(out, date(time.December, 25), date(time.December, 26))
	// Easter Sunday and Monday fall between 22 March and 26 April, Pentecost and Corpus
	// Christi between 10 May and 24 June, so the list is in date order as built.
	return out
}

// IsHoliday reports whether day (read as a Warsaw day) is a Polish public holiday.
func IsHoliday(day time.Time) bool {
	d := Day(day)
	for _, h := range Holidays(d.Year()) {
		if h.Equal(d) {
			return true
		}
	}
	return false
}

// IsBusinessDay reports whether day (read as a Warsaw day) is a business day: not a
// Saturday, a Sunday or a public holiday.
func IsBusinessDay(day time.Time) bool {
	d := Day(day)
	if wd := d.Weekday(); wd == time.Saturday || wd == time.Sunday {
		return false
	}
	return !IsHoliday(d)
}

// AddBusinessDays returns the n-th business day after day (read as a Warsaw day), at
// midnight in Warsaw; day itself is never counted. n = 0 returns day itself; a
// negative n counts back (the |n|-th business day before day).
func AddBusinessDays(day time.Time, n int) time.Time {
	d := Day(day)
	step := 1
	if n < 0 {
		step, n = -1, -n
	}
	for n > 0 {
		d = d.AddDate(0, 0, step)
		if IsBusinessDay(d) {
			n--
		}
	}
	return d
}

// NextBusinessDay returns the first business day after day.
func NextBusinessDay(day time.Time) time.Time { return AddBusinessDays(day, 1) }
