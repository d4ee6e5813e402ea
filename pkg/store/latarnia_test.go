package store

import (
	"context"
	"testing"
	"time"
)

func TestLatarniaMessagesAreKeptOncePerVersion(t *testing.T) {
	db := openTemp(t)
	ctx := context.Background()
	start := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	m := LatarniaMessage{Environment: "test", ID: "M-1", EventID: "E-1", Category: "FAILURE", Type: "FAILURE_START",
		Title: "Awaria", Start: start, Published: start}
	if n, err := db.RecordLatarniaMessages(ctx, []LatarniaMessage{m, m}); err != nil || n != 1 {
		t.Fatalf("first record: %d new, %v", n, err)
	}
	end := m
	end.Version, end.Type, end.End = 2, "FAILURE_END", start.Add(3*time.Hour)
	if n, err := db.RecordLatarniaMessages(ctx, []LatarniaMessage{m, end}); err != nil || n != 1 {
		t.Fatalf("second record: %d new, %v", n, err)
	}
	got, err := db.LatarniaMessages(ctx, "test")
	if err != nil || len(got) != 2 {
		t.Fatalf("messages %+v, %v", got, err)
	}
	if !got[1].End.Equal(end.End) || !got[0].End.IsZero() || got[0].Type != "FAILURE_START" || got[0].SeenAt.IsZero() {
		t.Errorf("messages %+v", got)
	}
	if other, _ := db.LatarniaMessages(ctx, "production"); len(other) != 0 {
		t.Errorf("production has %d messages", len(other))
	}
}
