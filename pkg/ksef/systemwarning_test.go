package ksef

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/ksefpl/ksefpl/pkg/failure"
)

func TestParseSystemWarnings(t *testing.T) {
	got := ParseSystemWarnings("[xml-002]: Dokument zawiera niedozwolone znaki Unicode | [auth-001]: Wkrotce wymagany publicKeyId |  | bez kodu ")
	want := []SystemWarning{
		{Code: "xml-002", Message: "Dokument zawiera niedozwolone znaki Unicode"},
		{Code: "auth-001", Message: "Wkrotce wymagany publicKeyId"},
		{Message: "bez kodu"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	if ws := ParseSystemWarnings("   "); len(ws) != 0 {
		t.Errorf("blank header gave %+v", ws)
	}
	if want[0].Key() == want[1].Key() || want[0].Key() != (SystemWarning{Code: "xml-002", Message: want[0].Message, Path: "/other"}).Key() {
		t.Error("Key does not identify the warning alone")
	}
}

// warningRecorder collects the warnings handed to Options.OnSystemWarning.
type warningRecorder struct {
	mu sync.Mutex
	ws []SystemWarning
}

func (r *warningRecorder) add(w SystemWarning) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ws = append(r.ws, w)
}

func (r *warningRecorder) all() []SystemWarning {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]SystemWarning(nil), r.ws...)
}

// TestSystemWarningsReachTheCaller: every answer's X-System-Warning reaches
// OnSystemWarning — successful answers, refused ones and the 429s that were
// retried — with the call that carried it, and failed calls keep theirs in
// the APIError. The answers pass the 2.8.1 contract, which declares the header.
func TestSystemWarningsReachTheCaller(t *testing.T) {
	t.Parallel()
	f := newFakeSessions(t)
	f.warning = "[xml-002]: Dokument zawiera niezalecane znaki Unicode"
	rec := &warningRecorder{}
	c := newTestClient(t, f.srv.URL+"/v2", func(o *Options) { o.OnSystemWarning = rec.add })
	ctx := context.Background()
	s, err := c.OpenOnlineSession(ctx, f.access, FormCodeFA3())
	if err != nil {
		t.Fatal(err)
	}
	f.sendStatus = []int{429}
	if _, err := c.SendInvoice(ctx, f.access, s, minimalInvoice(1), SendOptions{}); err != nil {
		t.Fatal(err)
	}
	f.warning = "[sess-001]: Sesja zostanie wkrotce zamknieta | bez kodu"
	_, err = c.SendInvoice(ctx, f.access, &OnlineSession{ReferenceNumber: "20250625-SO-FFFFFFFFFF-B675CF5D68-07", key: s.key, iv: s.iv}, minimalInvoice(2), SendOptions{})
	var ae *APIError
	if !errors.As(err, &ae) || !ae.HasCode(ErrCodeSessionNotFound) {
		t.Fatalf("send into an unknown session: %v", err)
	}
	sendPath := "/sessions/online/" + s.ReferenceNumber + "/invoices"
	unknownPath := "/sessions/online/20250625-SO-FFFFFFFFFF-B675CF5D68-07/invoices"
	xml := "Dokument zawiera niezalecane znaki Unicode"
	want := []SystemWarning{
		{Code: "xml-002", Message: xml, Method: "GET", Path: "/security/public-key-certificates", HTTPStatus: 200},
		{Code: "xml-002", Message: xml, Method: "POST", Path: "/sessions/online", HTTPStatus: 201},
		{Code: "xml-002", Message: xml, Method: "POST", Path: sendPath, HTTPStatus: 429},
		{Code: "xml-002", Message: xml, Method: "POST", Path: sendPath, HTTPStatus: 202},
		{Code: "sess-001", Message: "Sesja zostanie wkrotce zamknieta", Method: "POST", Path: unknownPath, HTTPStatus: 400},
		{Message: "bez kodu", Method: "POST", Path: unknownPath, HTTPStatus: 400},
	}
	if got := rec.all(); !reflect.DeepEqual(got, want) {
		t.Errorf("warnings\n got %+v\nwant %+v", got, want)
	}
	if !reflect.DeepEqual(ae.Warnings, want[4:]) {
		t.Errorf("APIError.Warnings = %+v", ae.Warnings)
	}
	for _, w := range []string{"KSeF warning [sess-001] Sesja zostanie wkrotce zamknieta", "KSeF warning bez kodu"} {
		if !strings.Contains(ae.Error(), w) {
			t.Errorf("message %q lacks %q", ae.Error(), w)
		}
	}
}

func TestSystemWarningsWithoutCallbackStayInErrors(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v2/rate-limits", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add(SystemWarningHeader, "[a-1]: pierwsze")
		w.Header().Add(SystemWarningHeader, "[a-2]: drugie")
		problem401(w)
	})
	c := newTestClient(t, newLoopback(t, mux)+"/v2", nil)
	_, err := c.FetchRateLimits(context.Background(), "acc")
	var ae *APIError
	if !errors.As(err, &ae) || failure.Of(err) != failure.Auth || len(ae.Warnings) != 2 || ae.Warnings[1].Code != "a-2" || ae.Warnings[0].HTTPStatus != 401 {
		t.Fatalf("got %v with warnings %+v", err, ae)
	}
}

// TestTestSystemWarningIsSentToTheAPIOnly: Options.TestSystemWarning goes out
// as X-Test-System-Warning with API calls (KSeF TEST echoes it), never to a
// pre-signed link.
func TestTestSystemWarningIsSentToTheAPIOnly(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]string{}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen[r.URL.Path] = r.Header.Get("X-Test-System-Warning")
		mu.Unlock()
		if v := r.Header.Get("X-Test-System-Warning"); v != "" {
			w.Header().Set(SystemWarningHeader, v)
		}
		w.Header().Set("Content-Type", "application/xml")
		_, _ = w.Write([]byte("<UPO/>"))
	})
	base := newLoopback(t, mux)
	rec := &warningRecorder{}
	c := newTestClient(t, base+"/v2", func(o *Options) {
		o.TestSystemWarning = "[test-1]: proba"
		o.OnSystemWarning = rec.add
	})
	if _, err := c.SessionUPO(context.Background(), "acc", "20250625-SO-0000000001-B675CF5D68-07", "20250625-EU-0000000001-B675CF5D68-07"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DownloadUPO(context.Background(), base+"/storage/upo.xml?sig=s3cr3t"); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if seen["/v2/sessions/20250625-SO-0000000001-B675CF5D68-07/upo/20250625-EU-0000000001-B675CF5D68-07"] != "[test-1]: proba" || seen["/storage/upo.xml"] != "" {
		t.Errorf("headers sent: %v", seen)
	}
	if ws := rec.all(); len(ws) != 1 || ws[0].Code != "test-1" || ws[0].Message != "proba" {
		t.Errorf("warnings %+v", ws)
	}
}
