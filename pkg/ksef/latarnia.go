package ksef

import (
	"bytes"
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// Latarnia availability statuses (GET {latarnia}/status).
const (
	LatarniaAvailable    = "AVAILABLE"
	LatarniaMaintenance  = "MAINTENANCE"
	LatarniaFailure      = "FAILURE"
	LatarniaTotalFailure = "TOTAL_FAILURE"
)

// Latarnia message types.
const (
	LatarniaFailureStart            = "FAILURE_START"
	LatarniaFailureEnd              = "FAILURE_END"
	LatarniaMaintenanceAnnouncement = "MAINTENANCE_ANNOUNCEMENT"
)

// LatarniaStatus is the answer of GET {latarnia}/status. Decoding is tolerant:
// unknown fields are ignored and missing ones stay empty.
type LatarniaStatus struct {
	// Status is AVAILABLE, MAINTENANCE, FAILURE or TOTAL_FAILURE.
	Status string
	// Messages are the announcements behind the current status.
	Messages []LatarniaMessage
}

// Available reports whether the status is AVAILABLE.
func (s *LatarniaStatus) Available() bool { return strings.EqualFold(s.Status, LatarniaAvailable) }

// LatarniaMessage is one Latarnia announcement. Decoding is tolerant: ids may
// be strings or numbers, times are parsed when they look like RFC 3339.
type LatarniaMessage struct {
	ID        string
	EventID   string
	Category  string
	Type      string
	Title     string
	Text      string
	Start     time.Time
	End       time.Time
	Published time.Time
	Version   int
}

// Latarnia is the client of the KSeF status service.
type Latarnia struct {
	c *Client
}

// Latarnia returns the status-service client sharing this client's transport.
func (c *Client) Latarnia() *Latarnia { return &Latarnia{c: c} }

// Status calls GET {latarnia}/status.
func (l *Latarnia) Status(ctx context.Context) (*LatarniaStatus, error) {
	var raw map[string]json.RawMessage
	if err := l.get(ctx, "/status", &raw); err != nil {
		return nil, err
	}
	st := &LatarniaStatus{Status: rawString(raw["status"])}
	st.Messages = decodeMessages(raw["messages"])
	return st, nil
}

// Messages calls GET {latarnia}/messages. It accepts a bare array or an object
// with a messages array.
func (l *Latarnia) Messages(ctx context.Context) ([]LatarniaMessage, error) {
	var raw json.RawMessage
	if err := l.get(ctx, "/messages", &raw); err != nil {
		return nil, err
	}
	if t := bytes.TrimSpace(raw); len(t) > 0 && t[0] == '{' {
		var obj map[string]json.RawMessage
		if json.Unmarshal(t, &obj) == nil {
			return decodeMessages(obj["messages"]), nil
		}
	}
	return decodeMessages(raw), nil
}

func (l *Latarnia) get(ctx context.Context, path string, out any) error {
	if l.c.latarnia == "" {
		return &ConfigError{Field: "Latarnia URL", Msg: "not configured for this environment"}
	}
	_, err := l.c.do(ctx, call{method: "GET", base: l.c.latarnia, path: path, idempotent: true, noProblemDetails: true, out: out})
	return err
}

func decodeMessages(raw json.RawMessage) []LatarniaMessage {
	var items []map[string]json.RawMessage
	if len(raw) == 0 || json.Unmarshal(raw, &items) != nil {
		return nil
	}
	out := make([]LatarniaMessage, 0, len(items))
	for _, m := range items {
		v, _ := strconv.Atoi(rawString(m["version"]))
		out = append(out, LatarniaMessage{
			ID: rawString(m["id"]), EventID: rawString(m["eventId"]), Category: rawString(m["category"]),
			Type: rawString(m["type"]), Title: rawString(m["title"]), Text: rawString(m["text"]),
			Start: rawTime(m["start"]), End: rawTime(m["end"]), Published: rawTime(m["published"]), Version: v,
		})
	}
	return out
}

// rawString renders a JSON string or number as a string ("" otherwise).
func rawString(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	return ""
}

// rawTime parses RFC 3339 times, with or without a zone (UTC assumed).
func rawTime(raw json.RawMessage) time.Time {
	s := rawString(raw)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t
		}
	}
	return time.Time{}
}
