package offline

import (
	"cmp"
	"slices"
	"strings"
	"time"
)

// EventKind is what happened to KSeF.
type EventKind string

// The kinds of events that set or move deadlines.
const (
	// Failure is a KSeF failure ("awaria"): it is what awaryjny mode is issued in, and
	// when announced during a sending period it moves the deadline.
	Failure EventKind = "failure"
	// Maintenance is an announced unavailability of KSeF ("niedostępność"): what
	// offline mode is issued in. It never moves a deadline.
	Maintenance EventKind = "maintenance"
	// TotalFailure is a total failure ("awaria całkowita"): announced during a sending
	// period, it lifts the duty to send the invoice to KSeF.
	TotalFailure EventKind = "total-failure"
)

// noun returns how Basis names an event of kind k.
func (k EventKind) noun() string {
	switch k {
	case Maintenance:
		return "announced unavailability"
	case TotalFailure:
		return "total failure"
	default:
		return "failure"
	}
}

// Event is one KSeF failure, unavailability or total failure, as announced.
type Event struct {
	Kind EventKind
	// ID identifies the event in Basis (Latarnia's eventId).
	ID string
	// Start is when the event began (or, for maintenance, is planned to begin).
	Start time.Time
	// End is when it ended (maintenance: is planned to end); zero: not ended, or not
	// known yet.
	End time.Time
	// Announced is when the event was published; zero: unknown, and Compute uses
	// Start instead. An event with neither is ignored.
	Announced time.Time
}

// announced returns when the event counts as announced: Announced, else Start.
func (e Event) announced() time.Time {
	if !e.Announced.IsZero() {
		return e.Announced
	}
	return e.Start
}

// name returns how Basis names the event, e.g. "failure FAIL-12".
func (e Event) name() string {
	if e.ID == "" {
		return e.Kind.noun()
	}
	return e.Kind.noun() + " " + e.ID
}

// Message is one raw Latarnia message, as the caller stored it (field names follow
// GET {latarnia}/messages).
type Message struct {
	// ID identifies the message; EventID the event it belongs to (a FAILURE_START and
	// its FAILURE_END share it).
	ID      string
	EventID string
	// Category is FAILURE, TOTAL_FAILURE or MAINTENANCE.
	Category string
	// Type is FAILURE_START, FAILURE_END or MAINTENANCE_ANNOUNCEMENT.
	Type      string
	Start     time.Time
	End       time.Time
	Published time.Time
	// Version orders the versions of one message; the highest wins.
	Version int
}

// Latarnia message categories and types (compared case-insensitively).
const (
	categoryFailure      = "FAILURE"
	categoryTotalFailure = "TOTAL_FAILURE"
	categoryMaintenance  = "MAINTENANCE"
	typeFailureStart     = "FAILURE_START"
	typeFailureEnd       = "FAILURE_END"
	typeMaintenance      = "MAINTENANCE_ANNOUNCEMENT"
)

// kindOf returns the kind a message names: by its category, else by its type; ""
// when it names none.
func kindOf(m Message) EventKind {
	switch strings.ToUpper(strings.TrimSpace(m.Category)) {
	case categoryFailure:
		return Failure
	case categoryTotalFailure:
		return TotalFailure
	case categoryMaintenance:
		return Maintenance
	}
	switch typeOf(m) {
	case typeFailureStart, typeFailureEnd:
		return Failure
	case typeMaintenance:
		return Maintenance
	}
	return ""
}

func typeOf(m Message) string { return strings.ToUpper(strings.TrimSpace(m.Type)) }

// EventsFromMessages turns stored Latarnia messages into Events:
//
//   - versions of one message (same ID) collapse to the highest Version (a tie: the
//     latest Published);
//   - messages are grouped into events by EventID (a message without one is its own
//     event, with its ID as the event's); within an event, later messages (by
//     Published, then Version) win;
//   - Kind is the category (else the type: FAILURE_* is a failure,
//     MAINTENANCE_ANNOUNCEMENT maintenance) of the latest FAILURE_START or
//     MAINTENANCE_ANNOUNCEMENT message, else of the latest message naming one; an
//     event naming none is dropped. A failure re-announced as TOTAL_FAILURE becomes a
//     total failure, and a FAILURE_END does not undo that;
//   - Start is the latest non-zero Start, preferring FAILURE_START and
//     MAINTENANCE_ANNOUNCEMENT messages;
//   - End: for maintenance, the latest non-zero End (the announced end of the
//     window); for failures, the End of the latest FAILURE_END message (its Published
//     when it carries no End). Without a FAILURE_END the failure has not ended (End
//     zero), whatever end a FAILURE_START forecasts: a forecast end that came early
//     would make the deadline later than the law allows;
//   - Announced is the earliest Published of the event's messages, over every
//     version (an update does not re-announce an event); for a total failure, the
//     earliest Published of its TOTAL_FAILURE messages, because that is when the
//     total failure was announced.
//
// The events are returned in announcement order (then by ID).
func EventsFromMessages(msgs []Message) []Event {
	var out []Event
	var named []Message
	for _, m := range msgs {
		if m.ID != "" || m.EventID != "" {
			named = append(named, m)
		} else if e, ok := eventOf([]Message{m}); ok { // nothing to pair it with
			e.Announced = announcedAt(e.Kind, []Message{m})
			out = append(out, e)
		}
	}
	groups := map[string][]Message{}   // latest versions, by event
	versions := map[string][]Message{} // every version, by event
	var keys []string
	for _, m := range latestVersions(named) {
		key := groupKey(m)
		if _, ok := groups[key]; !ok {
			keys = append(keys, key)
		}
		groups[key] = append(groups[key], m)
	}
	for _, m := range named {
		versions[groupKey(m)] = append(versions[groupKey(m)], m)
	}
	for _, key := range keys {
		if e, ok := eventOf(groups[key]); ok {
			e.Announced = announcedAt(e.Kind, versions[key])
			out = append(out, e)
		}
	}
	sortEvents(out)
	return out
}

// groupKey is the event a message belongs to: its EventID, else the message itself.
func groupKey(m Message) string {
	if m.EventID == "" {
		return "message:" + m.ID
	}
	return "event:" + m.EventID
}

// announcedAt returns when an event of kind was first published, over every version
// of its messages: for a total failure, the first TOTAL_FAILURE message; zero when
// none has a Published time.
func announcedAt(kind EventKind, versions []Message) time.Time {
	var first time.Time
	for _, m := range versions {
		if m.Published.IsZero() || (!first.IsZero() && !m.Published.Before(first)) {
			continue
		}
		if kind == TotalFailure && !strings.EqualFold(strings.TrimSpace(m.Category), categoryTotalFailure) {
			continue
		}
		first = m.Published
	}
	return first
}

// latestVersions keeps the highest version of each message ID (messages without an
// ID are all kept), in input order of first appearance.
func latestVersions(msgs []Message) []Message {
	idx := map[string]int{}
	var out []Message
	for _, m := range msgs {
		if m.ID == "" {
			out = append(out, m)
			continue
		}
		i, ok := idx[m.ID]
		if !ok {
			idx[m.ID] = len(out)
			out = append(out, m)
			continue
		}
		o := out[i]
		if m.Version > o.Version || (m.Version == o.Version && m.Published.After(o.Published)) {
			out[i] = m
		}
	}
	return out
}

// eventOf builds the event of one group of messages.
func eventOf(group []Message) (Event, bool) {
	ms := slices.Clone(group)
	slices.SortStableFunc(ms, func(a, b Message) int {
		if c := a.Published.Compare(b.Published); c != 0 {
			return c
		}
		return cmp.Compare(a.Version, b.Version)
	})
	var e Event
	var startKind EventKind
	for _, m := range ms {
		if k := kindOf(m); k != "" {
			e.Kind = k
			if t := typeOf(m); t == typeFailureStart || t == typeMaintenance {
				startKind = k
			}
		}
	}
	if startKind != "" {
		e.Kind = startKind
	}
	if e.Kind == "" {
		return Event{}, false
	}
	e.ID = ms[0].EventID
	if e.ID == "" {
		e.ID = ms[0].ID
	}
	var anyStart time.Time
	var failureEnd *Message
	for i, m := range ms {
		t := typeOf(m)
		if !m.Start.IsZero() {
			anyStart = m.Start
			if t == typeFailureStart || t == typeMaintenance {
				e.Start = m.Start
			}
		}
		if e.Kind == Maintenance && !m.End.IsZero() {
			e.End = m.End
		}
		if t == typeFailureEnd {
			failureEnd = &ms[i]
		}
	}
	if e.Start.IsZero() {
		e.Start = anyStart
	}
	if e.Kind != Maintenance && failureEnd != nil {
		e.End = failureEnd.End
		if e.End.IsZero() {
			e.End = failureEnd.Published
		}
	}
	return e, true
}

// sortEvents orders events by announcement (Announced, else Start), then ID.
func sortEvents(es []Event) {
	slices.SortStableFunc(es, func(a, b Event) int {
		if c := a.announced().Compare(b.announced()); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
}
