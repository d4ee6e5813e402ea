package offline_test

import (
	"testing"
	"time"

	"github.com/ksefpl/ksefpl/pkg/offline"
)

func TestEventsFromMessages(t *testing.T) {
	u := func(s string) time.Time { return at(t, s) }
	for _, c := range []struct {
		name string
		msgs []offline.Message
		want []offline.Event
	}{
		{name: "a failure start and end paired by event id",
			msgs: []offline.Message{
				{ID: "2", EventID: "E1", Category: "FAILURE", Type: "FAILURE_END", Start: u("2025-07-09 09:00"), End: u("2025-07-12 11:00"), Published: u("2025-07-12 11:05"), Version: 1},
				{ID: "1", EventID: "E1", Category: "FAILURE", Type: "FAILURE_START", Start: u("2025-07-09 09:00"), Published: u("2025-07-09 09:10"), Version: 1},
			},
			want: []offline.Event{{Kind: offline.Failure, ID: "E1", Start: u("2025-07-09 09:00"), End: u("2025-07-12 11:00"), Announced: u("2025-07-09 09:10")}}},
		{name: "a failure without FAILURE_END has not ended, whatever end it forecasts",
			msgs: []offline.Message{
				{ID: "1", EventID: "E1", Category: "FAILURE", Type: "FAILURE_START", Start: u("2025-07-09 09:00"), End: u("2025-07-09 12:00"), Published: u("2025-07-09 09:10")},
			},
			want: []offline.Event{{Kind: offline.Failure, ID: "E1", Start: u("2025-07-09 09:00"), Announced: u("2025-07-09 09:10")}}},
		{name: "a FAILURE_END without an end ends when published",
			msgs: []offline.Message{
				{ID: "1", EventID: "E1", Category: "FAILURE", Type: "FAILURE_START", Start: u("2025-07-09 09:00"), Published: u("2025-07-09 09:10")},
				{ID: "2", EventID: "E1", Category: "FAILURE", Type: "FAILURE_END", Published: u("2025-07-10 15:00")},
			},
			want: []offline.Event{{Kind: offline.Failure, ID: "E1", Start: u("2025-07-09 09:00"), End: u("2025-07-10 15:00"), Announced: u("2025-07-09 09:10")}}},
		{name: "the latest version of a message wins, the first publication announces",
			msgs: []offline.Message{
				{ID: "7", EventID: "M", Category: "MAINTENANCE", Type: "MAINTENANCE_ANNOUNCEMENT", Start: u("2026-03-13 16:00"), End: u("2026-03-13 18:00"), Published: u("2026-03-10 10:00"), Version: 1},
				{ID: "7", EventID: "M", Category: "MAINTENANCE", Type: "MAINTENANCE_ANNOUNCEMENT", Start: u("2026-03-13 17:00"), End: u("2026-03-13 21:00"), Published: u("2026-03-12 10:00"), Version: 3},
				{ID: "7", EventID: "M", Category: "MAINTENANCE", Type: "MAINTENANCE_ANNOUNCEMENT", Start: u("2026-03-13 16:30"), End: u("2026-03-13 20:00"), Published: u("2026-03-11 10:00"), Version: 2},
			},
			want: []offline.Event{{Kind: offline.Maintenance, ID: "M", Start: u("2026-03-13 17:00"), End: u("2026-03-13 21:00"), Announced: u("2026-03-10 10:00")}}},
		{name: "a failure re-announced as total is a total failure from that announcement",
			msgs: []offline.Message{
				{ID: "1", EventID: "E1", Category: "FAILURE", Type: "FAILURE_START", Start: u("2025-07-09 09:00"), Published: u("2025-07-09 09:10"), Version: 1},
				{ID: "1", EventID: "E1", Category: "TOTAL_FAILURE", Type: "FAILURE_START", Start: u("2025-07-09 09:00"), Published: u("2025-07-10 08:00"), Version: 2},
				{ID: "2", EventID: "E1", Category: "FAILURE", Type: "FAILURE_END", End: u("2025-07-11 08:00"), Published: u("2025-07-11 08:05")},
			},
			want: []offline.Event{{Kind: offline.TotalFailure, ID: "E1", Start: u("2025-07-09 09:00"), End: u("2025-07-11 08:00"), Announced: u("2025-07-10 08:00")}}},
		{name: "kind from the type when the category is missing; lower case accepted",
			msgs: []offline.Message{
				{ID: "9", Type: "maintenance_announcement", Start: u("2026-03-13 16:00"), End: u("2026-03-13 18:00"), Published: u("2026-03-10 10:00")},
			},
			want: []offline.Event{{Kind: offline.Maintenance, ID: "9", Start: u("2026-03-13 16:00"), End: u("2026-03-13 18:00"), Announced: u("2026-03-10 10:00")}}},
		{name: "unknown category and type are dropped",
			msgs: []offline.Message{{ID: "1", EventID: "X", Category: "INFO", Type: "NEWS", Published: u("2026-03-10 10:00")}}},
		{name: "messages without ids stay separate events, in announcement order",
			msgs: []offline.Message{
				{Category: "FAILURE", Type: "FAILURE_START", Start: u("2026-03-12 10:00"), Published: u("2026-03-12 10:00")},
				{Category: "TOTAL_FAILURE", Type: "FAILURE_START", Start: u("2026-03-11 10:00"), Published: u("2026-03-11 10:00")},
			},
			want: []offline.Event{
				{Kind: offline.TotalFailure, Start: u("2026-03-11 10:00"), Announced: u("2026-03-11 10:00")},
				{Kind: offline.Failure, Start: u("2026-03-12 10:00"), Announced: u("2026-03-12 10:00")},
			}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := offline.EventsFromMessages(c.msgs)
			if len(got) != len(c.want) {
				t.Fatalf("got %d events %+v, want %d", len(got), got, len(c.want))
			}
			for i := range got {
				g, w := got[i], c.want[i]
				if g.Kind != w.Kind || g.ID != w.ID || !g.Start.Equal(w.Start) || !g.End.Equal(w.End) || !g.Announced.Equal(w.Announced) {
					t.Errorf("event %d = %+v\nwant %+v", i, g, w)
				}
			}
		})
	}
}

// TestMessagesToDeadline runs the worked example from Latarnia messages.
func TestMessagesToDeadline(t *testing.T) {
	msgs := []offline.Message{
		{ID: "101", EventID: "FAIL-12", Category: "FAILURE", Type: "FAILURE_START", Start: at(t, "2025-07-09 09:00"), Published: at(t, "2025-07-09 09:10"), Version: 1},
		{ID: "102", EventID: "FAIL-12", Category: "FAILURE", Type: "FAILURE_END", Start: at(t, "2025-07-09 09:00"), End: at(t, "2025-07-12 11:00"), Published: at(t, "2025-07-12 11:05"), Version: 1},
		{ID: "90", EventID: "M-1", Category: "MAINTENANCE", Type: "MAINTENANCE_ANNOUNCEMENT", Start: at(t, "2025-07-15 16:00"), End: at(t, "2025-07-15 18:00"), Published: at(t, "2025-07-01 10:00"), Version: 1},
	}
	d := offline.Compute(offline.Offline24, day(t, "2025-07-08"), offline.EventsFromMessages(msgs))
	if d.Date() != "2025-07-22" {
		t.Errorf("got %s, want 2025-07-22", d)
	}
	// Before the FAILURE_END arrives, the deadline is open.
	d = offline.Compute(offline.Offline24, day(t, "2025-07-08"), offline.EventsFromMessages(msgs[:1]))
	if !d.Open {
		t.Errorf("got %s, want open", d)
	}
}
