package offline

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Compute returns the deadline of an invoice issued on the day issued (its P_1, read
// as a Warsaw day) in mode, given the KSeF events known so far. It is pure: call it
// again when new events arrive.
//
// The initial deadline, by mode:
//
//   - Offline24: the next business day after the issue date.
//   - Unavailable (offline): the next business day after the day the announced
//     unavailability covering the issue date ends. "Covering" means a Maintenance
//     event that started on or before the issue date and had not ended before it
//     (its end, or no known end, on or after the issue date). If several cover it,
//     the one ending first is used, extended by every maintenance window that
//     overlaps or continues it (starts no later than it ends): the unavailability is
//     the whole uninterrupted stretch. The issue date has no time of day, so when two
//     separate windows touch the issue date the earlier-ending one is taken: it can
//     only give an earlier deadline, never one later than the law allows, and Basis
//     names the ones not used. With no known end the deadline is Open. With no
//     covering maintenance at all, the offline24 rule applies and Basis says so.
//   - Emergency (awaryjny): 7 business days after the day the failure covering the
//     issue date ends, "covering" and the choice among several as for Unavailable
//     but with Failure events. With no known end the deadline is Open. With no
//     covering failure, awaryjny mode does not apply: the offline24 rule is used
//     (the earliest deadline any mode allows) and Basis says so.
//   - Any other mode: the offline24 rule, and Basis names the unknown mode.
//
// Then the events are taken in announcement order (Announced, else Start; an event
// with neither is ignored), each possibly moving the deadline in force. An event
// counts when it was announced during the invoice's sending period: on a day after
// the issue date and on or before the deadline day in force when it is reached (or
// at any time after the issue date while the deadline is Open). The issue date itself
// is excluded because it has no time of day: an event announced that day may predate
// the invoice, and counting it could give a later deadline than the law allows (or
// lift a duty that stands). Basis lists as not counted the failures and total
// failures announced on or before the issue date that had not ended before it. An
// event announced after the deadline day passed moves nothing (nor does any later
// one). A counted event:
//
//   - TotalFailure: lifts the duty to send the invoice (Lifted), whatever came before.
//   - Failure that has ended: the deadline becomes 7 business days after the day it
//     ended, for every mode. For offline24 and offline this is the rule that a
//     failure announced during the sending period moves the deadline to at most 7
//     business days after the end of the last announced failure; for awaryjny it is
//     the restart of the count at the end of the next failure. An announcement never
//     brings a deadline forward: if that day is earlier than the deadline in force,
//     the deadline stays.
//   - Failure still going on: the deadline is Open until it ends.
//   - Maintenance: moves nothing (the rules move deadlines only for failures).
//
// Day arithmetic is in Warsaw days: an event ending at 23:30 UTC in winter ends on
// the next day in Warsaw (00:30 CET).
func Compute(mode Mode, issued time.Time, events []Event) Deadline {
	issue := Day(issued)
	evs := usable(events)
	used := make([]bool, len(evs))
	var d Deadline
	switch mode {
	case Offline24:
		d = offline24(issue, "")
	case Unavailable:
		d = fromCovering(issue, evs, used, Maintenance, 1,
			fmt.Sprintf("no announced unavailability covers the issue date %s, so the offline24 rule applies: ", ymd(issue)))
	case Emergency:
		d = fromCovering(issue, evs, used, Failure, 7,
			fmt.Sprintf("no KSeF failure covers the issue date %s, so awaryjny mode does not apply and the offline24 rule is used: ", ymd(issue)))
	default:
		d = offline24(issue, fmt.Sprintf("unknown offline mode %q, so the offline24 rule applies: ", string(mode)))
	}
	d = moveByEvents(issue, evs, used, d)
	if !d.Lifted {
		d.Basis += notCounted(issue, evs, used)
	}
	return d
}

// usable returns the events that can be placed in time, in announcement order.
func usable(events []Event) []Event {
	out := make([]Event, 0, len(events))
	for _, e := range events {
		if !e.announced().IsZero() {
			out = append(out, e)
		}
	}
	sortEvents(out)
	return out
}

// offline24 is the offline24 rule, its Basis prefixed with why it applies.
func offline24(issue time.Time, why string) Deadline {
	return Deadline{Day: NextBusinessDay(issue),
		Basis: why + fmt.Sprintf("the next business day after the issue date %s", ymd(issue))}
}

// fromCovering counts n business days from the end of the kind of event covering
// the issue date; without one it falls back to offline24 with Basis prefixed by
// fallback.
func fromCovering(issue time.Time, evs []Event, used []bool, kind EventKind, n int, fallback string) Deadline {
	first, last, ok := covering(issue, evs, used, kind)
	if !ok {
		return offline24(issue, fallback)
	}
	// Other events touching the issue date but not part of the stretch are named here;
	// those announced by the issue date are marked used so that notCounted does not
	// name them again (the later ones may still move the deadline).
	var others []string
	for i, e := range evs {
		if !used[i] && touches(e, kind, issue) {
			others = append(others, "the "+e.name())
			used[i] = !Day(e.announced()).After(issue)
		}
	}
	note := ""
	if len(others) > 0 {
		note = fmt.Sprintf("; %s, also touching the issue date, ended later and is not used, as the issue date has no time of day",
			strings.Join(others, ", "))
	}
	what := fmt.Sprintf("the %s, covering the issue date %s,", evs[first].name(), ymd(issue))
	if last != first {
		what = fmt.Sprintf("the %s, which continues the %s covering the issue date %s,",
			evs[last].name(), evs[first].name(), ymd(issue))
	}
	if evs[last].End.IsZero() {
		return Deadline{Open: true,
			Basis: fmt.Sprintf("%s has not ended yet; the deadline will be %s after it ends", what, countPhrase(n))}
	}
	end := Day(evs[last].End)
	return Deadline{Day: AddBusinessDays(end, n),
		Basis: fmt.Sprintf("%s after %s ended on %s%s", countPhrase(n), what, ymd(end), note)}
}

// touches reports whether e is of kind and covers the issue date: it started on or
// before it and had not ended before it.
func touches(e Event, kind EventKind, issue time.Time) bool {
	return e.Kind == kind && !e.Start.IsZero() && !Day(e.Start).After(issue) &&
		(e.End.IsZero() || !Day(e.End).Before(issue))
}

// covering finds the event of kind covering the issue date (see Compute) and the
// last event of the uninterrupted stretch it starts; it marks them, and the events
// of kind lying inside the stretch, as used.
func covering(issue time.Time, evs []Event, used []bool, kind EventKind) (first, last int, ok bool) {
	first = -1
	for i, e := range evs {
		if !touches(e, kind, issue) {
			continue
		}
		if first < 0 || endsBefore(e, evs[first]) {
			first = i
		}
	}
	if first < 0 {
		return -1, -1, false
	}
	used[first], last = true, first
	start := evs[first].Start
	for !evs[last].End.IsZero() {
		end, next := evs[last].End, -1
		for j, e := range evs {
			if used[j] || e.Kind != kind || e.Start.IsZero() || e.Start.After(end) ||
				(!e.End.IsZero() && !e.End.After(end)) {
				continue
			}
			if next < 0 || endsBefore(evs[next], e) {
				next = j
			}
		}
		if next < 0 {
			break
		}
		used[next], last = true, next
		if evs[next].Start.Before(start) {
			start = evs[next].Start
		}
	}
	// Events of kind inside the stretch are part of it, not separate announcements.
	for j, e := range evs {
		if e.Kind == kind && !e.Start.IsZero() && !e.Start.Before(start) &&
			(evs[last].End.IsZero() || (!e.End.IsZero() && !e.End.After(evs[last].End))) {
			used[j] = true
		}
	}
	return first, last, true
}

// endsBefore reports whether a ends before b; an unknown end is last.
func endsBefore(a, b Event) bool {
	switch {
	case a.End.IsZero():
		return false
	case b.End.IsZero():
		return true
	}
	return a.End.Before(b.End)
}

// moveByEvents applies the failures and total failures announced during the sending
// period, in announcement order (see Compute).
func moveByEvents(issue time.Time, evs []Event, used []bool, d Deadline) Deadline {
	for i, e := range evs {
		if used[i] || e.Kind == Maintenance {
			continue
		}
		announced := Day(e.announced())
		if !announced.After(issue) {
			continue
		}
		if !d.Open && announced.After(d.Day) {
			break // announced after the deadline passed; so is every later event
		}
		when := fmt.Sprintf("announced on %s, during the sending period", ymd(announced))
		switch {
		case e.Kind == TotalFailure:
			return Deadline{Lifted: true,
				Basis: fmt.Sprintf("the %s, %s, lifts the duty to send the invoice to KSeF", e.name(), when)}
		case d.Open:
			// Still waiting for an end; a later failure cannot make that known.
		case e.End.IsZero():
			d = Deadline{Open: true,
				Basis: fmt.Sprintf("the %s, %s, has not ended yet; the deadline will be 7 business days after it ends", e.name(), when)}
		default:
			end := Day(e.End)
			if day := AddBusinessDays(end, 7); day.After(d.Day) {
				d = Deadline{Day: day,
					Basis: fmt.Sprintf("7 business days after the %s ended on %s (it was %s)", e.name(), ymd(end), when)}
			}
		}
	}
	return d
}

// notCounted explains the failures that were going on during the sending period but
// did not count, because they were announced on or before the issue date; "" when
// there are none.
func notCounted(issue time.Time, evs []Event, used []bool) string {
	var names []string
	for i, e := range evs {
		if used[i] || e.Kind == Maintenance || Day(e.announced()).After(issue) ||
			(!e.End.IsZero() && Day(e.End).Before(issue)) {
			continue
		}
		names = append(names, fmt.Sprintf("the %s (announced on %s)", e.name(), ymd(Day(e.announced()))))
	}
	if len(names) == 0 {
		return ""
	}
	slices.Sort(names)
	return "; not counted: " + strings.Join(names, ", ") + ", as only failures announced after the issue date move a deadline"
}

// countPhrase names a count of business days.
func countPhrase(n int) string {
	if n == 1 {
		return "the next business day"
	}
	return fmt.Sprintf("%d business days", n)
}

// ymd formats a Warsaw day as YYYY-MM-DD.
func ymd(t time.Time) string { return t.In(warsaw).Format(time.DateOnly) }
