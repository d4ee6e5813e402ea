package ksef

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/ksefpl/ksefpl/pkg/failure"
)

// TestSendInto21184SessionMovesToANewSession: KSeF answers 21184 "Sesja
// tymczasowo niedostępna" (API 2.8.0); the send is a *SessionUnavailableError
// of class unavailable, not retried, and the invoice goes through in a new
// session.
func TestSendInto21184SessionMovesToANewSession(t *testing.T) {
	t.Parallel()
	f := newFakeSessions(t)
	c := f.client(t)
	ctx := context.Background()
	s, err := c.OpenOnlineSession(ctx, f.access, FormCodeFA3())
	if err != nil {
		t.Fatal(err)
	}
	f.unavailable = 1
	_, err = c.SendInvoice(ctx, f.access, s, minimalInvoice(1), SendOptions{})
	var se *SessionUnavailableError
	if !errors.As(err, &se) || se.SessionRef != s.ReferenceNumber || !IsSessionUnavailable(err) {
		t.Fatalf("want a SessionUnavailableError for %s, got %v", s.ReferenceNumber, err)
	}
	if failure.Of(err) != failure.Unavailable {
		t.Errorf("class %v, want unavailable (the job has not failed)", failure.Of(err))
	}
	var ae *APIError
	if !errors.As(err, &ae) || !ae.HasCode(ErrCodeSessionUnavailable) || ae.Class() != failure.Unavailable {
		t.Errorf("KSeF's answer is not reachable as an APIError 21184 of class unavailable: %v", err)
	}
	for _, want := range []string{s.ReferenceNumber, "21184", "Trwają prace serwisowe", "open a new session", "not received"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q lacks %q", err, want)
		}
	}
	if IsSessionGone(err) {
		t.Error("21184 reported as a session KSeF no longer knows")
	}
	if n := f.count("POST /sessions/online/{ref}/invoices"); n != 1 {
		t.Errorf("send attempted %d times, want 1 (never retried into the unavailable session)", n)
	}
	s2, err := c.OpenOnlineSession(ctx, f.access, FormCodeFA3())
	if err != nil {
		t.Fatal(err)
	}
	sent, err := c.SendInvoice(ctx, f.access, s2, minimalInvoice(1), SendOptions{})
	if err != nil || sent.ReferenceNumber == "" {
		t.Fatalf("send in the new session: %v", err)
	}
	f.mu.Lock()
	n1, n2 := len(f.sessions[s.ReferenceNumber].invoices), len(f.sessions[s2.ReferenceNumber].invoices)
	f.mu.Unlock()
	if n1 != 0 || n2 != 1 {
		t.Errorf("invoices received: %d in the unavailable session, %d in the new one", n1, n2)
	}
}

func TestIsSessionUnavailable(t *testing.T) {
	bare := ParseErrorBody(400, []byte(`{"exception":{"exceptionDetailList":[{"exceptionCode":21184,"exceptionDescription":"Sesja tymczasowo niedostępna.","details":["Trwają prace serwisowe i sesja 20250625-SO-0000000001-B675CF5D68-07 jest tymczasowo niedostępna."]}]}}`))
	if !IsSessionUnavailable(bare) || bare.Class() != failure.Unavailable || !strings.Contains(bare.Error(), "open a new session") {
		t.Errorf("a bare 21184 APIError: %v (class %v)", bare, bare.Class())
	}
	other := ParseErrorBody(400, []byte(`{"exception":{"exceptionDetailList":[{"exceptionCode":21180,"exceptionDescription":"Status sesji nie pozwala na wykonanie operacji."}]}}`))
	if IsSessionUnavailable(other) || IsSessionUnavailable(nil) || IsSessionUnavailable(errors.New("x")) {
		t.Error("IsSessionUnavailable true for another error")
	}
	if err := sessionUnavailable("ref", other); err != error(other) {
		t.Errorf("another APIError was wrapped: %v", err)
	}
}
