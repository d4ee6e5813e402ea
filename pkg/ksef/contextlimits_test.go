package ksef

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestContextLimitsDecodesCollectiveIdentifier reads the documented example
// of GET /limits/context (open-api-2.8.1.json), collectiveIdentifier included.
func TestContextLimitsDecodesCollectiveIdentifier(t *testing.T) {
	chk := ContractChecker(t)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v2/limits/context", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer acc" {
			problem401(w)
			return
		}
		writeJSON(w, 200, map[string]any{
			"onlineSession":        map[string]int{"maxInvoiceSizeInMB": 1, "maxInvoiceWithAttachmentSizeInMB": 3, "maxInvoices": 10000},
			"batchSession":         map[string]int{"maxInvoiceSizeInMB": 1, "maxInvoiceWithAttachmentSizeInMB": 3, "maxInvoices": 10000},
			"collectiveIdentifier": map[string]int{"maxInvoices": 500},
		})
	})
	srv := httptest.NewServer(chk.Middleware(mux))
	t.Cleanup(srv.Close)
	p := NewPacer(PacerOptions{})
	c := newTestClient(t, srv.URL+"/v2", func(o *Options) { o.Pacer = p })
	lim, err := c.ContextLimits(context.Background(), "acc")
	if err != nil {
		t.Fatal(err)
	}
	want := SessionLimits{MaxInvoiceSizeInMB: 1, MaxInvoiceWithAttachmentSizeInMB: 3, MaxInvoices: 10000}
	if lim.OnlineSession != want || lim.BatchSession != want || lim.CollectiveIdentifier == nil || lim.CollectiveIdentifier.MaxInvoices != 500 {
		t.Errorf("limits %+v (collective %+v)", lim, lim.CollectiveIdentifier)
	}
	if v := chk.Violations(); len(v) != 0 || chk.Checked() != 1 {
		t.Errorf("contract: %d checked, violations %v", chk.Checked(), v)
	}
	if st := p.Stats()[RateGroupOther]; st.Calls != 1 {
		t.Errorf("GET /limits/context paced as %+v, want the other group", p.Stats())
	}
}
