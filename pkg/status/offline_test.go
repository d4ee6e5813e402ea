package status

import (
	"strings"
	"testing"
	"time"

	"github.com/ksefpl/ksefpl/internal/ksefpltest"
	"github.com/ksefpl/ksefpl/pkg/offline"
	"github.com/ksefpl/ksefpl/pkg/store"
)

// Offline documents are listed with their deadlines, the nearest first: one due within
// four hours is flagged and warned about, a missed one too; an accepted one is gone.
func TestOfflineDeadlinesAreReported(t *testing.T) {
	// 21:00 in Warsaw on a Wednesday: a deadline of today has three hours left.
	now := time.Date(2026, 12, 2, 21, 0, 0, 0, offline.Warsaw())
	f := ksefpltest.NewFixture(t, ksefpltest.WithNow(func() time.Time { return now }))
	for _, j := range []store.Job{
		{IncrementID: "DUE-TODAY", OfflineMode: "offline24", IssueDate: "2026-12-01", Deadline: "2026-12-02"},
		{IncrementID: "MISSED", OfflineMode: "offline24", IssueDate: "2026-11-27", Deadline: "2026-11-30"},
		{IncrementID: "LATER", OfflineMode: "awaryjny", IssueDate: "2026-12-02", Deadline: "2026-12-11"},
		{IncrementID: "DONE", OfflineMode: "offline24", IssueDate: "2026-11-27", Deadline: "2026-11-30", Status: store.JobAccepted},
	} {
		j.WebsiteID, j.EntityType, j.Input = 1, "invoice", "{}"
		if j.Status == "" {
			j.Status = store.JobPending
		}
		f.EnqueueRaw(j)
	}
	sites, err := Collect(f.Ctx, f.Deps, Options{Website: "base"})
	if err != nil {
		t.Fatal(err)
	}
	w := sites[0]
	var got []string
	for _, j := range w.Offline {
		got = append(got, j.IncrementID)
	}
	if strings.Join(got, ",") != "MISSED,DUE-TODAY,LATER" {
		t.Fatalf("offline jobs %v, want the open ones, nearest deadline first", got)
	}
	if !w.Offline[0].Missed || w.Offline[0].DueSoon || !w.Offline[1].DueSoon || w.Offline[1].SecondsLeft != 3*3600 || w.Offline[2].DueSoon {
		t.Errorf("flags %+v", w.Offline)
	}
	all := strings.Join(w.Warnings, "\n")
	if !strings.Contains(all, "MISSED") || !strings.Contains(all, "missed its deadline 2026-11-30") || !strings.Contains(all, "DUE-TODAY") {
		t.Errorf("warnings %q", w.Warnings)
	}
}
