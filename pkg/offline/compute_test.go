package offline_test

import (
	"strings"
	"testing"
	"time"

	"github.com/ksefpl/ksefpl/pkg/offline"
)

// at returns a Warsaw wall-clock instant, "YYYY-MM-DD HH:MM".
func at(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.ParseInLocation("2006-01-02 15:04", s, warsaw)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

type ev struct {
	kind                   offline.EventKind
	id                     string
	start, end, announced  string // Warsaw "YYYY-MM-DD HH:MM"; "" zero
	startUTC, endUTC, annU time.Time
}

func (e ev) event(t *testing.T) offline.Event {
	t.Helper()
	pick := func(s string, utc time.Time) time.Time {
		if s != "" {
			return at(t, s)
		}
		return utc
	}
	return offline.Event{Kind: e.kind, ID: e.id, Start: pick(e.start, e.startUTC), End: pick(e.end, e.endUTC),
		Announced: pick(e.announced, e.annU)}
}

func TestCompute(t *testing.T) {
	for _, c := range []struct {
		name   string
		mode   offline.Mode
		issued string
		events []ev
		// want is the deadline day, "open" or "lifted".
		want string
		// basis holds fragments Basis must contain, notBasis fragments it must not.
		basis, notBasis []string
	}{
		// offline24
		{name: "worked example without the failure", mode: offline.Offline24, issued: "2025-07-08",
			want: "2025-07-09", basis: []string{"the next business day after the issue date 2025-07-08"}},
		{name: "worked example: failure announced 07-09, ended Saturday 07-12", mode: offline.Offline24, issued: "2025-07-08",
			events: []ev{{kind: offline.Failure, id: "FAIL-12", start: "2025-07-09 09:00", end: "2025-07-12 14:00", announced: "2025-07-09 09:30"}},
			want:   "2025-07-22", basis: []string{"7 business days after the failure FAIL-12 ended on 2025-07-12", "announced on 2025-07-09"}},
		{name: "issued on a Saturday", mode: offline.Offline24, issued: "2026-03-14", want: "2026-03-16"},
		{name: "issued on Good Friday before Easter", mode: offline.Offline24, issued: "2026-04-03", want: "2026-04-07"},
		{name: "issued on the Thursday before 1 May", mode: offline.Offline24, issued: "2026-04-30", want: "2026-05-04"},
		{name: "issued on the Friday before a Monday 3 May", mode: offline.Offline24, issued: "2027-04-30", want: "2027-05-04"},
		{name: "issued before Christmas 2025", mode: offline.Offline24, issued: "2025-12-23", want: "2025-12-29"},
		{name: "issued before Christmas Eve 2024, still a business day", mode: offline.Offline24, issued: "2024-12-23", want: "2024-12-24"},
		{name: "failure announced on the deadline day, late evening, counts", mode: offline.Offline24, issued: "2025-07-08",
			events: []ev{{kind: offline.Failure, id: "F", start: "2025-07-09 23:00", end: "2025-07-10 02:00", announced: "2025-07-09 23:10"}},
			want:   "2025-07-21"},
		{name: "failure announced after the deadline passed moves nothing", mode: offline.Offline24, issued: "2025-07-08",
			events: []ev{{kind: offline.Failure, id: "F", start: "2025-07-10 08:00", end: "2025-07-12 14:00", announced: "2025-07-10 08:00"}},
			want:   "2025-07-09", basis: []string{"the next business day after the issue date"}},
		{name: "a second failure inside the moved period moves it again", mode: offline.Offline24, issued: "2025-07-08",
			events: []ev{
				{kind: offline.Failure, id: "F1", start: "2025-07-09 08:00", end: "2025-07-12 14:00", announced: "2025-07-09 08:00"},
				{kind: offline.Failure, id: "F2", start: "2025-07-21 08:00", end: "2025-07-23 10:00", announced: "2025-07-21 08:00"},
			},
			want: "2025-08-01", basis: []string{"failure F2 ended on 2025-07-23"}},
		{name: "failure without Announced counts from its Start", mode: offline.Offline24, issued: "2025-07-08",
			events: []ev{{kind: offline.Failure, id: "F", start: "2025-07-09 08:00", end: "2025-07-12 14:00"}},
			want:   "2025-07-22"},
		{name: "event with no time at all is ignored", mode: offline.Offline24, issued: "2025-07-08",
			events: []ev{{kind: offline.TotalFailure, id: "T"}}, want: "2025-07-09"},
		{name: "failure still going on makes it open", mode: offline.Offline24, issued: "2025-07-08",
			events: []ev{{kind: offline.Failure, id: "F", start: "2025-07-09 08:00", announced: "2025-07-09 08:00"}},
			want:   "open", basis: []string{"failure F, announced on 2025-07-09", "has not ended yet", "7 business days after it ends"}},
		{name: "failure announced on the issue date itself is not counted, and said so", mode: offline.Offline24, issued: "2025-07-08",
			events: []ev{{kind: offline.Failure, id: "F0", start: "2025-07-08 12:00", end: "2025-07-12 14:00", announced: "2025-07-08 12:00"}},
			want:   "2025-07-09", basis: []string{"not counted", "failure F0 (announced on 2025-07-08)"}},
		{name: "failure over before the issue date is not mentioned", mode: offline.Offline24, issued: "2025-07-08",
			events: []ev{{kind: offline.Failure, id: "OLD", start: "2025-07-01 12:00", end: "2025-07-02 14:00", announced: "2025-07-01 12:00"}},
			want:   "2025-07-09"},
		{name: "maintenance never moves an offline24 deadline", mode: offline.Offline24, issued: "2025-07-08",
			events: []ev{{kind: offline.Maintenance, id: "M", start: "2025-07-09 16:00", end: "2025-07-11 18:00", announced: "2025-07-09 08:00"}},
			want:   "2025-07-09"},
		{name: "total failure announced during the period lifts", mode: offline.Offline24, issued: "2025-07-08",
			events: []ev{{kind: offline.TotalFailure, id: "T", start: "2025-07-09 08:00", announced: "2025-07-09 08:00"}},
			want:   "lifted", basis: []string{"total failure T", "lifts the duty"}},
		{name: "total failure after a moving failure still lifts", mode: offline.Offline24, issued: "2025-07-08",
			events: []ev{
				{kind: offline.Failure, id: "F", start: "2025-07-09 08:00", end: "2025-07-12 14:00", announced: "2025-07-09 08:00"},
				{kind: offline.TotalFailure, id: "T", start: "2025-07-18 08:00", end: "2025-07-19 08:00", announced: "2025-07-18 08:00"},
			},
			want: "lifted"},
		{name: "total failure announced after the deadline passed does not lift", mode: offline.Offline24, issued: "2025-07-08",
			events: []ev{{kind: offline.TotalFailure, id: "T", start: "2025-07-10 08:00", announced: "2025-07-10 08:00"}},
			want:   "2025-07-09"},

		// offline (announced unavailability)
		{name: "maintenance ending on a Friday evening", mode: offline.Unavailable, issued: "2026-03-13",
			events: []ev{{kind: offline.Maintenance, id: "M1", start: "2026-03-13 16:00", end: "2026-03-13 21:00", announced: "2026-03-10 10:00"}},
			want:   "2026-03-16", basis: []string{"the next business day after the announced unavailability M1, covering the issue date 2026-03-13, ended on 2026-03-13"}},
		{name: "maintenance over several days", mode: offline.Unavailable, issued: "2026-03-10",
			events: []ev{{kind: offline.Maintenance, id: "M1", start: "2026-03-09 08:00", end: "2026-03-12 08:00", announced: "2026-03-01 10:00"}},
			want:   "2026-03-13"},
		{name: "overlapping maintenance windows are one unavailability", mode: offline.Unavailable, issued: "2026-03-02",
			events: []ev{
				{kind: offline.Maintenance, id: "M1", start: "2026-03-02 10:00", end: "2026-03-04 10:00", announced: "2026-02-20 10:00"},
				{kind: offline.Maintenance, id: "M2", start: "2026-03-03 20:00", end: "2026-03-06 10:00", announced: "2026-02-21 10:00"},
			},
			want: "2026-03-09", basis: []string{"M2, which continues the announced unavailability M1 covering the issue date"}},
		{name: "of two separate windows touching the issue date, the earlier-ending", mode: offline.Unavailable, issued: "2026-03-03",
			events: []ev{
				{kind: offline.Maintenance, id: "M2", start: "2026-03-03 20:00", end: "2026-03-06 10:00", announced: "2026-02-21 10:00"},
				{kind: offline.Maintenance, id: "M1", start: "2026-03-02 10:00", end: "2026-03-03 10:00", announced: "2026-02-20 10:00"},
			},
			want: "2026-03-04", basis: []string{"announced unavailability M1, covering", "the announced unavailability M2, also touching the issue date, ended later and is not used"}},
		{name: "of two separate failures touching the issue date, the earlier-ending, named once", mode: offline.Emergency, issued: "2026-03-03",
			events: []ev{
				{kind: offline.Failure, id: "B", start: "2026-03-03 20:00", end: "2026-03-06 10:00", announced: "2026-03-03 20:05"},
				{kind: offline.Failure, id: "A", start: "2026-03-02 10:00", end: "2026-03-03 10:00", announced: "2026-03-02 10:05"},
			},
			want: "2026-03-12", basis: []string{"failure A, covering", "; the failure B, also touching the issue date, ended later and is not used"},
			notBasis: []string{"not counted"}},
		{name: "a separate failure announced after the issue date still moves the deadline", mode: offline.Emergency, issued: "2026-03-03",
			events: []ev{
				{kind: offline.Failure, id: "B", start: "2026-03-03 20:00", end: "2026-03-06 10:00", announced: "2026-03-04 08:00"},
				{kind: offline.Failure, id: "A", start: "2026-03-02 10:00", end: "2026-03-03 10:00", announced: "2026-03-02 10:05"},
			},
			want: "2026-03-17", basis: []string{"failure B ended on 2026-03-06"}},
		{name: "maintenance with no known end is open", mode: offline.Unavailable, issued: "2026-03-13",
			events: []ev{{kind: offline.Maintenance, id: "M1", start: "2026-03-13 16:00", announced: "2026-03-10 10:00"}},
			want:   "open", basis: []string{"M1, covering the issue date 2026-03-13, has not ended yet", "the next business day after it ends"}},
		{name: "no maintenance covers the issue date: offline24 rule, explained", mode: offline.Unavailable, issued: "2026-03-13",
			events: []ev{{kind: offline.Maintenance, id: "M1", start: "2026-03-16 16:00", end: "2026-03-16 18:00", announced: "2026-03-10 10:00"}},
			want:   "2026-03-16", basis: []string{"no announced unavailability covers the issue date 2026-03-13, so the offline24 rule applies"}},
		{name: "a failure during the offline sending period moves the deadline", mode: offline.Unavailable, issued: "2026-03-13",
			events: []ev{
				{kind: offline.Maintenance, id: "M1", start: "2026-03-13 16:00", end: "2026-03-13 21:00", announced: "2026-03-10 10:00"},
				{kind: offline.Failure, id: "F1", start: "2026-03-16 07:00", end: "2026-03-17 12:00", announced: "2026-03-16 07:30"},
			},
			want: "2026-03-26", basis: []string{"failure F1 ended on 2026-03-17"}},

		// awaryjny
		{name: "failure still going on", mode: offline.Emergency, issued: "2026-03-02",
			events: []ev{{kind: offline.Failure, id: "A", start: "2026-03-02 08:00", announced: "2026-03-02 08:15"}},
			want:   "open", basis: []string{"failure A, covering the issue date 2026-03-02, has not ended yet", "7 business days after it ends"}},
		{name: "failure ended", mode: offline.Emergency, issued: "2026-03-02",
			events: []ev{{kind: offline.Failure, id: "A", start: "2026-03-02 08:00", end: "2026-03-03 12:00", announced: "2026-03-02 08:15"}},
			want:   "2026-03-12", basis: []string{"7 business days after the failure A, covering the issue date 2026-03-02, ended on 2026-03-03"}},
		{name: "a second failure inside the 7-day period restarts the count", mode: offline.Emergency, issued: "2026-03-02",
			events: []ev{
				{kind: offline.Failure, id: "A", start: "2026-03-02 08:00", end: "2026-03-03 12:00", announced: "2026-03-02 08:15"},
				{kind: offline.Failure, id: "B", start: "2026-03-09 08:00", end: "2026-03-11 12:00", announced: "2026-03-09 08:15"},
			},
			want: "2026-03-20", basis: []string{"failure B ended on 2026-03-11", "announced on 2026-03-09, during the sending period"}},
		{name: "a second failure still going on makes it open", mode: offline.Emergency, issued: "2026-03-02",
			events: []ev{
				{kind: offline.Failure, id: "A", start: "2026-03-02 08:00", end: "2026-03-03 12:00", announced: "2026-03-02 08:15"},
				{kind: offline.Failure, id: "B", start: "2026-03-09 08:00", announced: "2026-03-09 08:15"},
			},
			want: "open", basis: []string{"failure B"}},
		{name: "a failure announced after the 7-day period does not restart it", mode: offline.Emergency, issued: "2026-03-02",
			events: []ev{
				{kind: offline.Failure, id: "A", start: "2026-03-02 08:00", end: "2026-03-03 12:00", announced: "2026-03-02 08:15"},
				{kind: offline.Failure, id: "B", start: "2026-03-13 08:00", end: "2026-03-16 12:00", announced: "2026-03-13 08:15"},
			},
			want: "2026-03-12"},
		{name: "overlapping failures are one failure", mode: offline.Emergency, issued: "2026-03-02",
			events: []ev{
				{kind: offline.Failure, id: "A", start: "2026-03-02 08:00", end: "2026-03-03 12:00", announced: "2026-03-02 08:15"},
				{kind: offline.Failure, id: "B", start: "2026-03-02 20:00", end: "2026-03-05 12:00", announced: "2026-03-02 20:15"},
			},
			want: "2026-03-16", basis: []string{"failure B, which continues the failure A"}},
		{name: "a late announcement of an old failure never brings the deadline forward", mode: offline.Emergency, issued: "2026-03-02",
			events: []ev{
				{kind: offline.Failure, id: "A", start: "2026-03-02 08:00", end: "2026-03-03 12:00", announced: "2026-03-02 08:15"},
				{kind: offline.Failure, id: "OLD", start: "2026-02-20 08:00", end: "2026-02-20 12:00", announced: "2026-03-04 08:15"},
			},
			want: "2026-03-12", basis: []string{"failure A"}},
		{name: "total failure while the failure goes on lifts", mode: offline.Emergency, issued: "2026-03-02",
			events: []ev{
				{kind: offline.Failure, id: "A", start: "2026-03-02 08:00", announced: "2026-03-02 08:15"},
				{kind: offline.TotalFailure, id: "T", start: "2026-03-03 08:00", announced: "2026-03-03 08:15"},
			},
			want: "lifted"},
		{name: "total failure inside the 7-day period lifts", mode: offline.Emergency, issued: "2026-03-02",
			events: []ev{
				{kind: offline.Failure, id: "A", start: "2026-03-02 08:00", end: "2026-03-03 12:00", announced: "2026-03-02 08:15"},
				{kind: offline.TotalFailure, id: "T", start: "2026-03-12 08:00", announced: "2026-03-12 08:15"},
			},
			want: "lifted", basis: []string{"total failure T, announced on 2026-03-12"}},
		{name: "no failure covers the issue date: offline24 rule, explained", mode: offline.Emergency, issued: "2026-03-02",
			events: []ev{{kind: offline.Failure, id: "A", start: "2026-02-26 08:00", end: "2026-02-27 12:00", announced: "2026-02-26 08:15"}},
			want:   "2026-03-03", basis: []string{"no KSeF failure covers the issue date 2026-03-02, so awaryjny mode does not apply"}},
		{name: "maintenance is not a failure for awaryjny", mode: offline.Emergency, issued: "2026-03-13",
			events: []ev{{kind: offline.Maintenance, id: "M1", start: "2026-03-13 16:00", end: "2026-03-13 21:00", announced: "2026-03-10 10:00"}},
			want:   "2026-03-16", basis: []string{"no KSeF failure covers"}},

		// time-zone edges
		{name: "failure ending Thursday 23:30 UTC in winter ends Friday in Warsaw", mode: offline.Offline24, issued: "2026-01-13",
			events: []ev{{kind: offline.Failure, id: "F", startUTC: time.Date(2026, 1, 14, 9, 0, 0, 0, time.UTC),
				endUTC: time.Date(2026, 1, 15, 23, 30, 0, 0, time.UTC), annU: time.Date(2026, 1, 14, 9, 0, 0, 0, time.UTC)}},
			want: "2026-01-27", basis: []string{"ended on 2026-01-16"}},
		{name: "failure announced 23:30 UTC on the deadline day is the next day in Warsaw: too late", mode: offline.Offline24, issued: "2026-01-13",
			events: []ev{{kind: offline.Failure, id: "F", startUTC: time.Date(2026, 1, 14, 23, 30, 0, 0, time.UTC),
				endUTC: time.Date(2026, 1, 16, 10, 0, 0, 0, time.UTC), annU: time.Date(2026, 1, 14, 23, 30, 0, 0, time.UTC)}},
			want: "2026-01-14"},
		{name: "maintenance ending 22:30 UTC in summer ends the next day in Warsaw", mode: offline.Unavailable, issued: "2026-07-15",
			events: []ev{{kind: offline.Maintenance, id: "M", startUTC: time.Date(2026, 7, 15, 14, 0, 0, 0, time.UTC),
				endUTC: time.Date(2026, 7, 15, 22, 30, 0, 0, time.UTC), annU: time.Date(2026, 7, 10, 9, 0, 0, 0, time.UTC)}},
			want: "2026-07-17", basis: []string{"ended on 2026-07-16"}},

		// unknown mode
		{name: "unknown mode falls back to offline24, explained", mode: offline.Mode("online"), issued: "2025-07-08",
			want: "2025-07-09", basis: []string{`unknown offline mode "online"`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var events []offline.Event
			for _, e := range c.events {
				events = append(events, e.event(t))
			}
			d := offline.Compute(c.mode, day(t, c.issued), events)
			switch c.want {
			case "open":
				if !d.Open || d.Lifted || !d.Day.IsZero() {
					t.Errorf("got %+v, want open", d)
				}
			case "lifted":
				if !d.Lifted || d.Open || !d.Day.IsZero() {
					t.Errorf("got %+v, want lifted", d)
				}
			default:
				if d.Open || d.Lifted || ymd(d.Day) != c.want || d.Day.Location() != warsaw || d.Day.Hour() != 0 {
					t.Errorf("got %s (%v), want %s", d, d.Day, c.want)
				}
			}
			for _, b := range c.basis {
				if !strings.Contains(d.Basis, b) {
					t.Errorf("Basis %q lacks %q", d.Basis, b)
				}
			}
			for _, b := range c.notBasis {
				if strings.Contains(d.Basis, b) {
					t.Errorf("Basis %q has %q", d.Basis, b)
				}
			}
			if d.Basis == "" {
				t.Error("empty Basis")
			}
		})
	}
}

// TestWorkedExampleFromTheGuide is the example of tryby-offline.md, step by step, with
// the issue date as time.Parse gives it (midnight UTC).
func TestWorkedExampleFromTheGuide(t *testing.T) {
	issued, _ := time.Parse(time.DateOnly, "2025-07-08")
	d := offline.Compute(offline.Offline24, issued, nil)
	if d.Date() != "2025-07-09" {
		t.Fatalf("step 1: %s, want 2025-07-09", d)
	}
	failure := offline.Event{Kind: offline.Failure, ID: "FAIL-12",
		Start: at(t, "2025-07-09 10:00"), Announced: at(t, "2025-07-09 10:05")}
	if d = offline.Compute(offline.Offline24, issued, []offline.Event{failure}); !d.Open {
		t.Fatalf("step 2: %s, want open while the failure lasts", d)
	}
	failure.End = at(t, "2025-07-12 11:00")
	d = offline.Compute(offline.Offline24, issued, []offline.Event{failure})
	if d.Date() != "2025-07-22" || d.Day.Weekday() != time.Tuesday {
		t.Fatalf("step 4: %s, want Tuesday 2025-07-22", d)
	}
	// The 7 business days are 14–18 and 21–22 July.
	for _, s := range []string{"2025-07-14", "2025-07-15", "2025-07-16", "2025-07-17", "2025-07-18", "2025-07-21", "2025-07-22"} {
		if !offline.IsBusinessDay(day(t, s)) {
			t.Errorf("%s should be a business day", s)
		}
	}
	for _, s := range []string{"2025-07-12", "2025-07-13", "2025-07-19", "2025-07-20"} {
		if offline.IsBusinessDay(day(t, s)) {
			t.Errorf("%s should not be a business day", s)
		}
	}
}

// TestComputeOrderIndependent: the order of the events passed in does not matter.
func TestComputeOrderIndependent(t *testing.T) {
	a := offline.Event{Kind: offline.Failure, ID: "A", Start: at(t, "2026-03-02 08:00"), End: at(t, "2026-03-03 12:00"), Announced: at(t, "2026-03-02 08:15")}
	b := offline.Event{Kind: offline.Failure, ID: "B", Start: at(t, "2026-03-09 08:00"), End: at(t, "2026-03-11 12:00"), Announced: at(t, "2026-03-09 08:15")}
	x := offline.Compute(offline.Emergency, day(t, "2026-03-02"), []offline.Event{a, b})
	y := offline.Compute(offline.Emergency, day(t, "2026-03-02"), []offline.Event{b, a})
	if x != y || x.Date() != "2026-03-20" {
		t.Errorf("%s vs %s", x, y)
	}
}
