package ksefsim

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"
)

// Latarnia (KSeF status service) statuses and message types, as in the official
// clients (C# KSeF.Client.Core/Models/Lighthouse KsefStatus.cs and MessageType.cs;
// research-clients.md). The real service lives on its own host
// (https://api-latarnia[-test].ksef.mf.gov.pl/status and /messages); the simulator
// serves it under /latarnia/ (and at the root of an api-latarnia… host).
//
// The statuses double as message categories: a message's category is FAILURE,
// TOTAL_FAILURE or MAINTENANCE (CIRFMF/ksef-latarnia issue #34 shows the real
// answers: {"id":"K/2026/AWR/02","eventId":1003,"category":"TOTAL_FAILURE",
// "type":"FAILURE_START","title":…,"text":…,"start":"2026-01-31T11:27:00+00:00",
// "end":null,"version":1,"published":"2026-01-31T11:35:00+00:00"}).
const (
	LatarniaAvailable    = "AVAILABLE"
	LatarniaMaintenance  = "MAINTENANCE"
	LatarniaFailure      = "FAILURE"
	LatarniaTotalFailure = "TOTAL_FAILURE"

	LatarniaMsgFailureStart            = "FAILURE_START"
	LatarniaMsgFailureEnd              = "FAILURE_END"
	LatarniaMsgMaintenanceAnnouncement = "MAINTENANCE_ANNOUNCEMENT"
)

// latarniaTimeLayout is how the real service writes times: UTC, whole seconds,
// explicit +00:00.
const latarniaTimeLayout = "2006-01-02T15:04:05+00:00"

// firstLatarniaEventID is the eventId of the first published event (the real
// service's are four-digit numbers such as 1002, 1003).
const firstLatarniaEventID = 1001

// LatarniaStatus is the body of GET /latarnia/status: the current availability and the
// messages that explain it (none, and no "messages" field, while AVAILABLE).
type LatarniaStatus struct {
	Status   string            `json:"status"`
	Messages []LatarniaMessage `json:"messages,omitempty"`
}

// LatarniaMessage is one published communication, in the shape of the real service
// (see the constants above). It is written with times as "2006-01-02T15:04:05+00:00"
// and an explicit "end": null when there is no end.
type LatarniaMessage struct {
	ID        string     `json:"id"`
	EventID   int        `json:"eventId"`
	Category  string     `json:"category"` // FAILURE, TOTAL_FAILURE or MAINTENANCE
	Type      string     `json:"type"`     // FAILURE_START, FAILURE_END, MAINTENANCE_ANNOUNCEMENT
	Title     string     `json:"title"`
	Text      string     `json:"text"`
	Start     time.Time  `json:"start"`
	End       *time.Time `json:"end"`
	Version   int        `json:"version"`
	Published time.Time  `json:"published"`
}

// MarshalJSON writes the message as the real service does (UTC times with +00:00,
// whole seconds, "end": null).
func (m LatarniaMessage) MarshalJSON() ([]byte, error) {
	var end *string
	if m.End != nil {
		e := m.End.UTC().Format(latarniaTimeLayout)
		end = &e
	}
	return json.Marshal(struct {
		ID        string  `json:"id"`
		EventID   int     `json:"eventId"`
		Category  string  `json:"category"`
		Type      string  `json:"type"`
		Title     string  `json:"title"`
		Text      string  `json:"text"`
		Start     string  `json:"start"`
		End       *string `json:"end"`
		Version   int     `json:"version"`
		Published string  `json:"published"`
	}{m.ID, m.EventID, m.Category, m.Type, m.Title, m.Text, m.Start.UTC().Format(latarniaTimeLayout), end,
		m.Version, m.Published.UTC().Format(latarniaTimeLayout)})
}

// LatarniaEvent is what PublishLatarnia (POST /sim/latarnia/events) announces:
//
//   - Category FAILURE or TOTAL_FAILURE: a FAILURE_START message (end null). With End
//     set, the matching FAILURE_END message is scheduled: it is published at End and
//     the failure is over from then on. Without End the failure lasts until
//     EndLatarniaFailure.
//   - Category MAINTENANCE: a MAINTENANCE_ANNOUNCEMENT with start and end (End is
//     required); the status is MAINTENANCE from Start until End.
//
// Start defaults to now and Published to now (by the simulator's clock); a message is
// visible from its Published time on. Title and Text default to Polish texts like
// the real service's.
type LatarniaEvent struct {
	Category  string    `json:"category"`
	Start     time.Time `json:"start,omitzero"`
	End       time.Time `json:"end,omitzero"`
	Title     string    `json:"title,omitempty"`
	Text      string    `json:"text,omitempty"`
	Published time.Time `json:"published,omitzero"`
}

// Errors of the Latarnia control API.
var (
	ErrLatarniaEvent        = errors.New("ksefsim: invalid Latarnia event")
	ErrUnknownLatarniaEvent = errors.New("ksefsim: unknown Latarnia event (publish one with PublishLatarnia or POST /sim/latarnia/events first)")
)

// latarniaState is what Latarnia publishes: either a fixed answer (SetLatarnia) or the
// published messages, from which the status is derived at the simulator's clock.
type latarniaState struct {
	override  *LatarniaStatus
	messages  []LatarniaMessage // in publication order (as published, not as visible)
	nextEvent int
	numbers   map[string]int // "AWR/2026" -> last message number of that kind and year
}

func validLatarniaStatus(s string) bool {
	return slices.Contains([]string{LatarniaAvailable, LatarniaMaintenance, LatarniaFailure, LatarniaTotalFailure}, s)
}

// SetLatarnia publishes a fixed status (and its messages) on /latarnia/status and
// /latarnia/messages, whatever the clock says, until ResetLatarnia or the next
// PublishLatarnia / EndLatarniaFailure (which go back to the derived status).
func (s *Server) SetLatarnia(st LatarniaStatus) error {
	if !validLatarniaStatus(st.Status) {
		return fmt.Errorf("ksefsim: unknown Latarnia status %q (want AVAILABLE, MAINTENANCE, FAILURE or TOTAL_FAILURE)", st.Status)
	}
	st.Messages = slices.Clone(st.Messages)
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	s.st.latarnia.override = &st
	return nil
}

// ResetLatarnia forgets every published message and fixed status: AVAILABLE, no
// messages.
func (s *Server) ResetLatarnia() {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	s.st.latarnia = latarniaState{}
}

// Latarnia returns what GET /latarnia/status answers now: the fixed status of
// SetLatarnia, or the status derived from the published messages at the simulator's
// clock (TOTAL_FAILURE over FAILURE over MAINTENANCE over AVAILABLE) with the
// messages of the events in force, newest first.
func (s *Server) Latarnia() LatarniaStatus {
	now := s.now()
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	return s.latarniaStatusLocked(now)
}

// LatarniaMessages returns what GET /latarnia/messages answers now: every message
// published so far (failures ended, maintenance announced ahead), newest first; or
// the messages of the fixed status of SetLatarnia.
func (s *Server) LatarniaMessages() []LatarniaMessage {
	now := s.now()
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	if o := s.st.latarnia.override; o != nil {
		return slices.Clone(o.Messages)
	}
	return newestFirst(s.visibleLatarnia(now))
}

// PublishLatarnia publishes an event (see LatarniaEvent) and returns its first
// message (FAILURE_START or MAINTENANCE_ANNOUNCEMENT), whose EventID names the event
// for EndLatarniaFailure.
func (s *Server) PublishLatarnia(ev LatarniaEvent) (LatarniaMessage, error) {
	now := s.now().Truncate(time.Second) // the service writes whole seconds
	if ev.Start.IsZero() {
		ev.Start = now
	}
	if ev.Published.IsZero() {
		ev.Published = now
	}
	ev.Start, ev.End, ev.Published = ev.Start.Truncate(time.Second), ev.End.Truncate(time.Second), ev.Published.Truncate(time.Second)
	switch ev.Category {
	case LatarniaFailure, LatarniaTotalFailure:
		if !ev.End.IsZero() && !ev.End.After(ev.Start) {
			return LatarniaMessage{}, fmt.Errorf("%w: end %s is not after start %s", ErrLatarniaEvent, ev.End.Format(time.RFC3339), ev.Start.Format(time.RFC3339))
		}
	case LatarniaMaintenance:
		if ev.End.IsZero() || !ev.End.After(ev.Start) {
			return LatarniaMessage{}, fmt.Errorf("%w: a maintenance announcement needs an end after its start", ErrLatarniaEvent)
		}
	default:
		return LatarniaMessage{}, fmt.Errorf("%w: category %q (want FAILURE, TOTAL_FAILURE or MAINTENANCE)", ErrLatarniaEvent, ev.Category)
	}
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	st := &s.st.latarnia
	st.override = nil
	if st.nextEvent == 0 {
		st.nextEvent = firstLatarniaEventID
	}
	id := st.nextEvent
	st.nextEvent++
	m := LatarniaMessage{
		ID: s.latarniaMessageID(ev.Category, ev.Start), EventID: id, Category: ev.Category,
		Title: ev.Title, Text: ev.Text, Start: ev.Start.UTC(), Version: 1, Published: ev.Published.UTC(),
	}
	switch ev.Category {
	case LatarniaMaintenance:
		m.Type = LatarniaMsgMaintenanceAnnouncement
		end := ev.End.UTC()
		m.End = &end
		if m.Title == "" {
			m.Title = "Planowana niedostępność systemu KSeF"
		}
		if m.Text == "" {
			m.Text = fmt.Sprintf("Od %s do %s trwają prace serwisowe: system KSeF jest niedostępny.", s.latarniaTime(ev.Start), s.latarniaTime(ev.End))
		}
	default:
		m.Type = LatarniaMsgFailureStart
		if m.Title == "" {
			m.Title = map[string]string{LatarniaFailure: "Wystąpiła awaria", LatarniaTotalFailure: "Wystąpiła całkowita awaria"}[ev.Category]
		}
		if m.Text == "" {
			kind := map[string]string{LatarniaFailure: "awaria", LatarniaTotalFailure: "całkowita awaria"}[ev.Category]
			m.Text = fmt.Sprintf("Od %s trwa %s systemu KSeF.", s.latarniaTime(ev.Start), kind)
		}
	}
	st.messages = append(st.messages, m)
	if m.Type == LatarniaMsgFailureStart && !ev.End.IsZero() {
		st.messages = append(st.messages, s.failureEnd(m, ev.End, ev.End))
	}
	return m, nil
}

// EndLatarniaFailure ends a failure (or total failure) event: it publishes its
// FAILURE_END message with end = at (zero: now), visible from at when at is in the
// future, else at once. It fails for an unknown event, a maintenance event and a
// failure that already has its end.
func (s *Server) EndLatarniaFailure(eventID int, at time.Time) (LatarniaMessage, error) {
	now := s.now().Truncate(time.Second)
	if at.IsZero() {
		at = now
	}
	at = at.Truncate(time.Second)
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	st := &s.st.latarnia
	var start *LatarniaMessage
	for i := range st.messages {
		m := &st.messages[i]
		if m.EventID != eventID {
			continue
		}
		switch m.Type {
		case LatarniaMsgFailureEnd:
			return LatarniaMessage{}, fmt.Errorf("%w: event %d already ends at %s", ErrLatarniaEvent, eventID, m.End.Format(time.RFC3339))
		case LatarniaMsgMaintenanceAnnouncement:
			return LatarniaMessage{}, fmt.Errorf("%w: event %d is a maintenance announcement; it ends at its announced end", ErrLatarniaEvent, eventID)
		case LatarniaMsgFailureStart:
			start = m
		}
	}
	if start == nil {
		return LatarniaMessage{}, fmt.Errorf("%w: %d", ErrUnknownLatarniaEvent, eventID)
	}
	if at.Before(start.Start) {
		return LatarniaMessage{}, fmt.Errorf("%w: end %s is before the failure's start %s", ErrLatarniaEvent, at.Format(time.RFC3339), start.Start.Format(time.RFC3339))
	}
	st.override = nil
	published := now
	if at.After(now) {
		published = at
	}
	m := s.failureEnd(*start, at, published)
	st.messages = append(st.messages, m)
	return m, nil
}

// failureEnd builds the FAILURE_END message of a failure. Caller holds the lock.
func (s *Server) failureEnd(start LatarniaMessage, end, published time.Time) LatarniaMessage {
	e := end.UTC()
	kind := map[string]string{LatarniaFailure: "Awaria", LatarniaTotalFailure: "Całkowita awaria"}[start.Category]
	return LatarniaMessage{
		ID: s.latarniaMessageID(start.Category, end), EventID: start.EventID, Category: start.Category,
		Type: LatarniaMsgFailureEnd, Title: "Zakończenie awarii",
		Text:  fmt.Sprintf("%s systemu KSeF trwająca od %s zakończyła się %s.", kind, s.latarniaTime(start.Start), s.latarniaTime(end)),
		Start: start.Start, End: &e, Version: 1, Published: published.UTC(),
	}
}

// latarniaMessageID numbers messages per kind and year as the real service does
// ("K/2026/AWR/02" for failures; the simulator uses NIED for maintenance). Caller
// holds the lock.
func (s *Server) latarniaMessageID(category string, at time.Time) string {
	kind := "AWR"
	if category == LatarniaMaintenance {
		kind = "NIED"
	}
	year := strconv.Itoa(at.In(s.loc).Year())
	st := &s.st.latarnia
	if st.numbers == nil {
		st.numbers = map[string]int{}
	}
	st.numbers[kind+"/"+year]++
	return fmt.Sprintf("K/%s/%s/%02d", year, kind, st.numbers[kind+"/"+year])
}

// latarniaTime renders a time for a message text, in Polish time.
func (s *Server) latarniaTime(t time.Time) string {
	return t.In(s.loc).Format("15:04 02.01.2006")
}

// visibleLatarnia is the messages published by now. Caller holds the lock.
func (s *Server) visibleLatarnia(now time.Time) []LatarniaMessage {
	var out []LatarniaMessage
	for _, m := range s.st.latarnia.messages {
		if !m.Published.After(now) {
			out = append(out, m)
		}
	}
	return out
}

// newestFirst orders messages (given in publication order) newest first: by
// published time, and among messages published at the same time the later one
// first; never nil.
func newestFirst(msgs []LatarniaMessage) []LatarniaMessage {
	out := slices.Clone(msgs)
	if out == nil {
		out = []LatarniaMessage{}
	}
	slices.Reverse(out)
	slices.SortStableFunc(out, func(a, b LatarniaMessage) int { return b.Published.Compare(a.Published) })
	return out
}

// latarniaStatusLocked derives the status at now. Caller holds the lock.
func (s *Server) latarniaStatusLocked(now time.Time) LatarniaStatus {
	if o := s.st.latarnia.override; o != nil {
		st := *o
		st.Messages = slices.Clone(o.Messages)
		return st
	}
	visible := s.visibleLatarnia(now)
	ended := map[int]bool{}
	for _, m := range visible {
		if m.Type == LatarniaMsgFailureEnd && m.End != nil && !m.End.After(now) {
			ended[m.EventID] = true
		}
	}
	rank := map[string]int{LatarniaAvailable: 0, LatarniaMaintenance: 1, LatarniaFailure: 2, LatarniaTotalFailure: 3}
	out := LatarniaStatus{Status: LatarniaAvailable}
	var active []LatarniaMessage
	for _, m := range visible {
		inForce := false
		switch m.Type {
		case LatarniaMsgFailureStart:
			inForce = !m.Start.After(now) && !ended[m.EventID]
		case LatarniaMsgMaintenanceAnnouncement:
			inForce = !m.Start.After(now) && (m.End == nil || now.Before(*m.End))
		}
		if !inForce {
			continue
		}
		active = append(active, m)
		if rank[m.Category] > rank[out.Status] {
			out.Status = m.Category
		}
	}
	if len(active) > 0 {
		out.Messages = newestFirst(active)
	}
	return out
}

func (s *Server) handleLatarniaStatus(w http.ResponseWriter, _ *http.Request) {
	writeOK(w, http.StatusOK, s.Latarnia())
}

func (s *Server) handleLatarniaMessages(w http.ResponseWriter, _ *http.Request) {
	msgs := s.LatarniaMessages()
	if msgs == nil {
		msgs = []LatarniaMessage{}
	}
	writeOK(w, http.StatusOK, msgs)
}
