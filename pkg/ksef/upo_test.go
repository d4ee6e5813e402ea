package ksef

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ksefpl/ksefpl/pkg/failure"
)

// closedSession opens a session, sends one accepted invoice, closes it and
// returns the final status.
func closedSession(t *testing.T, f *fakeSessions, c *Client) *SessionStatus {
	t.Helper()
	ctx := context.Background()
	s, err := c.OpenOnlineSession(ctx, f.access, FormCodeFA3())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.SendInvoice(ctx, f.access, s, minimalInvoice(1), SendOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := c.CloseOnlineSession(ctx, f.access, s.ReferenceNumber); err != nil {
		t.Fatal(err)
	}
	st, err := c.WaitForSession(ctx, f.access, s.ReferenceNumber)
	if err != nil || !st.Succeeded() || len(st.UPOPages()) == 0 {
		t.Fatalf("session %+v %v", st, err)
	}
	return st
}

func TestDownloadUPOHashMismatch(t *testing.T) {
	t.Parallel()
	f := newFakeSessions(t)
	c := f.client(t)
	st := closedSession(t, f, c)
	page := st.UPOPages()[0]
	f.tamperUPO = true
	_, err := c.DownloadUPO(context.Background(), page.DownloadURL)
	var he *UPOHashError
	if !errors.As(err, &he) || he.Expected == he.Got || he.Expected == "" || failure.Of(err) != failure.Unavailable {
		t.Fatalf("want UPOHashError, got %v", err)
	}
	if strings.Contains(err.Error(), "s3cr3t") {
		t.Errorf("link signature in error: %v", err)
	}
	_, err = c.SessionUPO(context.Background(), f.access, st.ReferenceNumber, page.ReferenceNumber)
	if !errors.As(err, &he) {
		t.Errorf("bearer UPO with a wrong hash: %v", err)
	}
}

func TestDownloadUPOWithoutHashIsUnverified(t *testing.T) {
	t.Parallel()
	f := newFakeSessions(t)
	c := f.client(t)
	st := closedSession(t, f, c)
	f.omitUPOHash = true
	upo, err := c.DownloadUPO(context.Background(), st.UPOPages()[0].DownloadURL)
	if err != nil {
		t.Fatal(err)
	}
	if upo.HashVerified || upo.Hash != SHA256Base64(upo.XML) || len(upo.XML) == 0 {
		t.Errorf("UPO without x-ms-meta-hash: %+v", upo)
	}
}

func TestDownloadUPOExpiredLinkFallsBackToBearer(t *testing.T) {
	t.Parallel()
	f := newFakeSessions(t)
	c := f.client(t)
	st := closedSession(t, f, c)
	page := st.UPOPages()[0]
	f.expiredLinks = true
	_, err := c.DownloadUPO(context.Background(), page.DownloadURL)
	var le *UPOLinkError
	if !errors.As(err, &le) || le.HTTPStatus != 403 || !strings.Contains(err.Error(), "AuthenticationFailed") || failure.Of(err) != failure.Rejected {
		t.Fatalf("want UPOLinkError 403, got %v", err)
	}
	if strings.Contains(err.Error(), "s3cr3t") || strings.Contains(err.Error(), "sig=") {
		t.Errorf("link signature in error: %v", err)
	}
	if n := f.count("GET /storage"); n != 1 {
		t.Errorf("a 403 link was requested %d times", n)
	}
	upo, err := c.SessionUPOPage(context.Background(), f.access, st.ReferenceNumber, page)
	if err != nil || !upo.HashVerified || !strings.Contains(string(upo.XML), "session "+st.ReferenceNumber) {
		t.Errorf("fallback to the bearer endpoint: %v %v", upo, err)
	}
}

func TestDownloadUPORefusesUnsafeLinks(t *testing.T) {
	c := newTestClient(t, "http://127.0.0.1:1/v2", nil)
	for _, link := range []string{
		"http://example.com/storage/upo.xml?sig=s3cr3t",
		"/api/v2/sessions/20250901-SB-47FA636000-5960B49115-9D/upo/20250901-EU-47FDBE3000-5961A5D232-BF",
		"ftp://127.0.0.1/upo.xml",
		"https://user:pw@example.com/upo.xml",
	} {
		_, err := c.DownloadUPO(context.Background(), link)
		var le *UPOLinkError
		if !errors.As(err, &le) || le.HTTPStatus != 0 || failure.Of(err) != failure.Invalid {
			t.Errorf("%s: want a local UPOLinkError, got %v", link, err)
			continue
		}
		if strings.Contains(err.Error(), "s3cr3t") || strings.Contains(err.Error(), "pw@") {
			t.Errorf("secret in %v", err)
		}
	}
}

func TestDownloadUPONetworkErrorHidesSignature(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	link := srv.URL + "/storage/upo.xml?sv=1&sig=s3cr3t"
	srv.Close()
	c := newTestClient(t, "http://127.0.0.1:1/v2", func(o *Options) { o.Retry.MaxAttempts = 2 })
	_, err := c.DownloadUPO(context.Background(), link)
	var ne *NetworkError
	if !errors.As(err, &ne) || ne.Attempts != 2 {
		t.Fatalf("want a NetworkError after 2 attempts, got %v", err)
	}
	if strings.Contains(err.Error(), "s3cr3t") || strings.Contains(err.Error(), "sig=") {
		t.Errorf("link signature in error: %v", err)
	}
}

func TestDownloadUPORetriesServerErrors(t *testing.T) {
	n := 0
	xml := []byte("<Potwierdzenie/>")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n++
		if n == 1 {
			w.WriteHeader(503)
			return
		}
		w.Header().Set("x-ms-meta-hash", SHA256Base64(xml))
		_, _ = w.Write(xml)
	}))
	t.Cleanup(srv.Close)
	c := newTestClient(t, srv.URL+"/v2", nil)
	upo, err := c.DownloadUPO(context.Background(), srv.URL+"/u.xml?sig=x")
	if err != nil || !upo.HashVerified || n != 2 {
		t.Errorf("after a 503: %v %v (%d requests)", upo, err, n)
	}
}

func TestUPONotFound(t *testing.T) {
	t.Parallel()
	f := newFakeSessions(t)
	c := f.client(t)
	ctx := context.Background()
	s, err := c.OpenOnlineSession(ctx, f.access, FormCodeFA3())
	if err != nil {
		t.Fatal(err)
	}
	f.invoiceResult = func([]byte) InvoiceStatus {
		return InvoiceStatus{Code: 450, Description: "Błąd weryfikacji semantyki dokumentu faktury"}
	}
	sent, err := c.SendInvoice(ctx, f.access, s, minimalInvoice(1), SendOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.InvoiceUPO(ctx, f.access, s.ReferenceNumber, sent.ReferenceNumber)
	var ae *APIError
	if !errors.As(err, &ae) || !ae.HasCode(ErrCodeUPONotFound) || !strings.Contains(err.Error(), "not there (yet)") {
		t.Errorf("UPO of a rejected invoice: %v", err)
	}
	if _, err := c.InvoiceUPOByKSeFNumber(ctx, f.access, s.ReferenceNumber, "5265877635-20250626-010080DD2B5E-27"); failure.Of(err) != failure.Invalid {
		t.Errorf("a KSeF number with a wrong checksum was sent: %v", err)
	}
}
