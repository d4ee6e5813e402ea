package ksef

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ksefpl/ksefpl/pkg/failure"
)

func TestLatarniaStatusAndMessages(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /latarnia/status", func(w http.ResponseWriter, r *http.Request) {
		status(200, `{"status":"MAINTENANCE","messages":[{"id":17,"eventId":"ev-1","category":"MAINTENANCE","type":"MAINTENANCE_ANNOUNCEMENT","title":"Prace serwisowe","text":"Planowane prace.","start":"2026-03-01T16:00:00+01:00","end":"2026-03-01T18:00:00+01:00","version":2,"published":"2026-02-27T10:00:00Z","extra":true}]}`)(w, r)
	})
	mux.HandleFunc("GET /latarnia/messages", func(w http.ResponseWriter, r *http.Request) {
		status(200, `[{"id":"a","type":"FAILURE_START","title":"Awaria","start":"2026-03-02T08:00:00"},{"id":"b","type":"FAILURE_END"}]`)(w, r)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	eps, err := EnvLocal.Endpoints(srv.URL + "/v2")
	if err != nil {
		t.Fatal(err)
	}
	c := newTestClient(t, eps.API, func(o *Options) { o.LatarniaURL = eps.Latarnia })
	st, err := c.Latarnia().Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.Status != LatarniaMaintenance || st.Available() || len(st.Messages) != 1 {
		t.Fatalf("status %+v", st)
	}
	m := st.Messages[0]
	if m.ID != "17" || m.Type != LatarniaMaintenanceAnnouncement || m.Title != "Prace serwisowe" || m.Version != 2 {
		t.Errorf("message %+v", m)
	}
	if !m.Start.Equal(time.Date(2026, 3, 1, 15, 0, 0, 0, time.UTC)) || m.End.Sub(m.Start) != 2*time.Hour {
		t.Errorf("times %v %v", m.Start, m.End)
	}
	msgs, err := c.Latarnia().Messages(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 || msgs[0].Type != LatarniaFailureStart || msgs[1].ID != "b" || msgs[0].Start.IsZero() {
		t.Errorf("messages %+v", msgs)
	}
}

func TestLatarniaNotConfigured(t *testing.T) {
	c := newTestClient(t, "http://127.0.0.1:1/v2", nil)
	if _, err := c.Latarnia().Status(context.Background()); failure.Of(err) != failure.Invalid {
		t.Errorf("got %v", err)
	}
}
