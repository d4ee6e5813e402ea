package ksefsim

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ksefpl/ksefpl/pkg/ksef"
)

// latarniaClient is the ksef client's view of the simulator's Latarnia.
func (e *env) latarniaClient() *ksef.Latarnia {
	e.t.Helper()
	eps, err := ksef.EnvLocal.Endpoints(e.url + "/v2")
	if err != nil {
		e.t.Fatal(err)
	}
	c, err := ksef.NewClient(ksef.Options{BaseURL: eps.API, LatarniaURL: eps.Latarnia})
	if err != nil {
		e.t.Fatal(err)
	}
	return c.Latarnia()
}

func (e *env) latarniaStatus() (ksef.LatarniaStatus, string) {
	e.t.Helper()
	st, err := e.latarniaClient().Status(context.Background())
	if err != nil {
		e.t.Fatalf("Latarnia status: %v", err)
	}
	raw := e.call("GET", "/latarnia/status", nil)
	return *st, string(raw.body)
}

func (e *env) latarniaMessages() []ksef.LatarniaMessage {
	e.t.Helper()
	msgs, err := e.latarniaClient().Messages(context.Background())
	if err != nil {
		e.t.Fatalf("Latarnia messages: %v", err)
	}
	return msgs
}

// TestLatarniaPublishedEvents drives Latarnia through /sim/ and the ControlClient and
// reads it with the ksef client: maintenance announced ahead, a failure, a total
// failure on top, their ends, and the status derived at the simulator's clock.
func TestLatarniaPublishedEvents(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{})
	ctl := &ControlClient{URL: e.url}
	ctx := context.Background()
	t0 := e.clock.Now().Truncate(time.Second)

	st, raw := e.latarniaStatus()
	if st.Status != LatarniaAvailable || strings.Contains(raw, "messages") {
		t.Fatalf("fresh Latarnia: %s", raw)
	}
	if msgs := e.latarniaMessages(); len(msgs) != 0 {
		t.Fatalf("fresh messages: %+v", msgs)
	}

	// Maintenance announced ahead: from 5 h to 7 h from now.
	mStart, mEnd := t0.Add(5*time.Hour), t0.Add(7*time.Hour)
	maint, err := ctl.PublishLatarnia(ctx, LatarniaEvent{Category: LatarniaMaintenance, Start: mStart, End: mEnd})
	if err != nil {
		t.Fatal(err)
	}
	if maint.Type != LatarniaMsgMaintenanceAnnouncement || maint.EventID != firstLatarniaEventID || maint.ID != "K/2026/NIED/01" ||
		maint.End == nil || !maint.End.Equal(mEnd) || maint.Version != 1 || maint.Title == "" {
		t.Fatalf("announcement %+v", maint)
	}
	if st, _ := e.latarniaStatus(); st.Status != LatarniaAvailable {
		t.Fatalf("status before the maintenance: %+v", st)
	}
	if msgs := e.latarniaMessages(); len(msgs) != 1 || msgs[0].Type != LatarniaMsgMaintenanceAnnouncement ||
		!msgs[0].Start.Equal(mStart) || !msgs[0].End.Equal(mEnd) || msgs[0].EventID != "1001" || !msgs[0].Published.Equal(t0) {
		t.Fatalf("announcement in /messages: %+v", msgs)
	}
	e.clock.Advance(5 * time.Hour)
	if st, _ := e.latarniaStatus(); st.Status != LatarniaMaintenance || len(st.Messages) != 1 || st.Messages[0].ID != maint.ID {
		t.Fatalf("status during the maintenance: %+v", st)
	}
	e.clock.Advance(2 * time.Hour)
	if st, _ := e.latarniaStatus(); st.Status != LatarniaAvailable || len(st.Messages) != 0 {
		t.Fatalf("status after the maintenance: %+v", st)
	}

	// A failure from now on, open-ended.
	fail, err := ctl.PublishLatarnia(ctx, LatarniaEvent{Category: LatarniaFailure})
	if err != nil {
		t.Fatal(err)
	}
	st, raw = e.latarniaStatus()
	if st.Status != LatarniaFailure || len(st.Messages) != 1 || st.Messages[0].Type != LatarniaMsgFailureStart || !st.Messages[0].End.IsZero() {
		t.Fatalf("status during the failure: %s", raw)
	}
	// The real service's shape: explicit end null, times with +00:00.
	var wire struct{ Messages []map[string]any }
	if err := json.Unmarshal([]byte(raw), &wire); err != nil {
		t.Fatal(err)
	}
	if m := wire.Messages[0]; m["end"] != nil || !strings.HasSuffix(m["start"].(string), "+00:00") || m["id"] != "K/2026/AWR/01" ||
		m["eventId"] != float64(fail.EventID) || m["category"] != "FAILURE" || m["version"] != float64(1) {
		t.Fatalf("failure message on the wire: %v", m)
	}

	// A total failure on top: TOTAL_FAILURE, both messages, newest first.
	e.clock.Advance(time.Minute)
	total, err := ctl.PublishLatarnia(ctx, LatarniaEvent{Category: LatarniaTotalFailure, Title: "Całkowita awaria KSeF"})
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := e.latarniaStatus(); st.Status != LatarniaTotalFailure || len(st.Messages) != 2 ||
		st.Messages[0].ID != total.ID || st.Messages[0].Title != "Całkowita awaria KSeF" || st.Messages[1].ID != fail.ID {
		t.Fatalf("status during the total failure: %+v", st)
	}

	// The total failure ends now: FAILURE again; the failure's end is scheduled in an
	// hour: FAILURE until then, AVAILABLE after, with the FAILURE_END published then.
	end1, err := ctl.EndLatarniaFailure(ctx, total.EventID, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if end1.Type != LatarniaMsgFailureEnd || end1.EventID != total.EventID || end1.Category != LatarniaTotalFailure || end1.End == nil {
		t.Fatalf("end of the total failure: %+v", end1)
	}
	if st, _ := e.latarniaStatus(); st.Status != LatarniaFailure {
		t.Fatalf("status after the total failure: %+v", st)
	}
	if _, err := ctl.EndLatarniaFailure(ctx, fail.EventID, e.clock.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if st, _ := e.latarniaStatus(); st.Status != LatarniaFailure {
		t.Fatalf("status before the scheduled end: %+v", st)
	}
	if msgs := e.latarniaMessages(); len(msgs) != 4 || msgs[0].Type != LatarniaMsgFailureEnd || msgs[0].EventID != strconv.Itoa(total.EventID) {
		t.Fatalf("messages before the scheduled end: %+v", msgs)
	}
	e.clock.Advance(time.Hour)
	if st, _ := e.latarniaStatus(); st.Status != LatarniaAvailable {
		t.Fatalf("status after the scheduled end: %+v", st)
	}
	msgs := e.latarniaMessages()
	if len(msgs) != 5 || msgs[0].Type != LatarniaMsgFailureEnd || msgs[0].EventID != strconv.Itoa(fail.EventID) || !msgs[0].Start.Equal(fail.Start) {
		t.Fatalf("messages after the scheduled end: %+v", msgs)
	}

	// A failure published with start and end at once.
	now := e.clock.Now()
	windowed, err := ctl.PublishLatarnia(ctx, LatarniaEvent{Category: LatarniaFailure, Start: now.Add(-10 * time.Minute), End: now.Add(20 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := e.latarniaStatus(); st.Status != LatarniaFailure || len(st.Messages) != 1 || st.Messages[0].ID != windowed.ID {
		t.Fatalf("status in a published window: %+v", st)
	}
	e.clock.Advance(20 * time.Minute)
	if st, _ := e.latarniaStatus(); st.Status != LatarniaAvailable {
		t.Fatalf("status after a published window: %+v", st)
	}

	// Refusals.
	var ce *ControlError
	if _, err := ctl.PublishLatarnia(ctx, LatarniaEvent{Category: LatarniaMaintenance}); !errors.As(err, &ce) || ce.Status != 400 {
		t.Fatalf("maintenance without an end: %v", err)
	}
	if _, err := ctl.PublishLatarnia(ctx, LatarniaEvent{Category: "BROKEN"}); !errors.As(err, &ce) || ce.Status != 400 {
		t.Fatalf("unknown category: %v", err)
	}
	if _, err := ctl.EndLatarniaFailure(ctx, 99, time.Time{}); !errors.As(err, &ce) || ce.Status != 404 {
		t.Fatalf("end of an unknown event: %v", err)
	}
	if _, err := ctl.EndLatarniaFailure(ctx, fail.EventID, time.Time{}); !errors.As(err, &ce) || ce.Status != 400 {
		t.Fatalf("second end: %v", err)
	}
	if _, err := ctl.EndLatarniaFailure(ctx, maint.EventID, time.Time{}); !errors.As(err, &ce) || ce.Status != 400 {
		t.Fatalf("end of a maintenance: %v", err)
	}

	// PUT /sim/latarnia still fixes the answer; a publish goes back to the derived
	// status; DELETE forgets everything.
	if err := ctl.SetLatarnia(ctx, LatarniaStatus{Status: LatarniaMaintenance}); err != nil {
		t.Fatal(err)
	}
	if st, err := ctl.Latarnia(ctx); err != nil || st.Status != LatarniaMaintenance {
		t.Fatalf("fixed status: %+v %v", st, err)
	}
	if _, err := ctl.PublishLatarnia(ctx, LatarniaEvent{Category: LatarniaTotalFailure}); err != nil {
		t.Fatal(err)
	}
	if st, _ := e.latarniaStatus(); st.Status != LatarniaTotalFailure {
		t.Fatalf("status after a publish over a fixed status: %+v", st)
	}
	if err := ctl.ResetLatarnia(ctx); err != nil {
		t.Fatal(err)
	}
	if st, raw := e.latarniaStatus(); st.Status != LatarniaAvailable || len(e.latarniaMessages()) != 0 {
		t.Fatalf("after reset: %s", raw)
	}
	// The raw control endpoints.
	if r := e.call("POST", "/sim/latarnia/events", `{"category":"FAILURE","start":"2026-03-02T08:00:00Z"}`); r.status != 201 || !strings.Contains(string(r.body), `"eventId":1001`) {
		t.Fatalf("POST /sim/latarnia/events: %d %s", r.status, r.body)
	}
	if r := e.call("POST", "/sim/latarnia/events/1001/end", nil); r.status != 200 || !strings.Contains(string(r.body), `"FAILURE_END"`) {
		t.Fatalf("POST /sim/latarnia/events/1001/end: %d %s", r.status, r.body)
	}
	if r := e.call("DELETE", "/sim/latarnia", nil); r.status != 204 {
		t.Fatalf("DELETE /sim/latarnia: %d", r.status)
	}
}
