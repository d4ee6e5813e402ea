package queue

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ksefpl/ksefpl/pkg/failure"
	"github.com/ksefpl/ksefpl/pkg/store"
)

func TestListShowAndDescribe(t *testing.T) {
	f := newFixture(t)
	shop2 := f.website("shop2", "7740001454")
	a := f.mustEnqueue(f.base, KindInvoice, invoiceJSON(t, "consumer"))                       // INV-000124
	b := f.mustEnqueue(f.base, KindInvoice, invoiceJSON(t, "domestic_b2b"))                   // INV-000123
	c := f.mustEnqueue(shop2, KindXML, buildXML(t, invoiceJSON(t, "consumer"), "7740001454")) // INV-000124 on shop2
	b = f.setStatus(b.ID, store.JobAccepted, "5261040828-20261120-0100001AF629-47")

	all, err := List(f.ctx, f.db, ListFilter{})
	if err != nil || len(all) != 3 {
		t.Fatalf("list = %v, %v", all, err)
	}
	if all[0].ID != a.ID || all[0].Website != "base" || all[2].Website != "shop2" || all[1].KSeFNumber == "" || all[1].FrozenAt == nil {
		t.Fatalf("list rows = %+v", all)
	}
	last, _ := List(f.ctx, f.db, ListFilter{Limit: 2})
	if len(last) != 2 || last[0].ID != b.ID || last[1].ID != c.ID {
		t.Fatalf("--limit 2 = %+v", last)
	}
	acc, _ := List(f.ctx, f.db, ListFilter{Statuses: []string{store.JobAccepted}})
	if len(acc) != 1 || acc[0].ID != b.ID {
		t.Fatalf("--status ACCEPTED = %+v", acc)
	}
	onShop2, _ := List(f.ctx, f.db, ListFilter{WebsiteID: shop2.WebsiteID})
	if len(onShop2) != 1 || onShop2[0].ID != c.ID {
		t.Fatalf("--website shop2 = %+v", onShop2)
	}
	raw, _ := json.Marshal(all)
	if bytes.Contains(raw, []byte("frozen</Faktura>")) {
		t.Fatal("list JSON carries the frozen XML")
	}
	for _, k := range []string{`"id"`, `"website"`, `"type"`, `"increment_id"`, `"status"`, `"reason"`, `"ksef_number"`,
		`"invoice_reference"`, `"session_reference"`, `"invoice_hash"`, `"created_at"`, `"updated_at"`} {
		if !bytes.Contains(raw, []byte(k)) {
			t.Errorf("list JSON lacks %s", k)
		}
	}

	// An increment id shared by two websites shows both.
	js, err := Show(f.ctx, f.db, "INV-000124")
	if err != nil || len(js) != 2 || js[0].ID != a.ID || js[1].ID != c.ID {
		t.Fatalf("show INV-000124 = %v, %v", js, err)
	}
	js, err = Show(f.ctx, f.db, "2")
	if err != nil || len(js) != 1 || js[0].ID != 2 {
		t.Fatalf("show 2 = %v, %v", js, err)
	}
	var nf *NotFoundError
	if _, err := Show(f.ctx, f.db, "02"); !errors.As(err, &nf) || !failure.Is(err, failure.Invalid) {
		t.Fatalf("show 02 (an increment id, not job 2) = %v", err)
	}
	if _, err := Show(f.ctx, f.db, "INV-404"); !errors.As(err, &nf) || !strings.Contains(err.Error(), "queue list") {
		t.Fatalf("show INV-404 = %v", err)
	}

	ds, err := Describe(f.ctx, f.db, []*store.Job{b})
	if err != nil {
		t.Fatal(err)
	}
	d := ds[0]
	if d.XMLSize != len("<Faktura>frozen</Faktura>") || d.InputSize != len(b.Input) || len(d.Audit) != 2 ||
		d.Audit[0].Reason != ReasonQueued || d.Audit[1].ToStatus != store.JobAccepted || d.Audit[1].Website != "base" {
		t.Fatalf("describe = %+v", d)
	}
}

func TestAuditQueryAndExport(t *testing.T) {
	f := newFixture(t)
	a := f.mustEnqueue(f.base, KindInvoice, invoiceJSON(t, "consumer"))
	f.mustEnqueue(f.base, KindInvoice, invoiceJSON(t, "domestic_b2b"))
	f.setStatus(a.ID, store.JobFailed, "")
	if err := f.db.AppendAudit(f.ctx, store.AuditEntry{WebsiteID: f.base.WebsiteID, JobID: a.ID, SessionReference: "SES-1",
		Event: store.EventWarning, Reason: "KSEF_REJECTED", KSeFCode: 450, KSeFDescription: "Błąd, \"walidacji\"",
		Actor: "submit", Message: "line one\nline two"}); err != nil {
		t.Fatal(err)
	}
	rows, err := Audit(f.ctx, f.db, AuditQuery{})
	if err != nil || len(rows) != 4 {
		t.Fatalf("audit = %v, %v", rows, err)
	}
	if got, _ := Audit(f.ctx, f.db, AuditQuery{JobID: a.ID}); len(got) != 3 {
		t.Fatalf("--job = %d rows", len(got))
	}
	if got, _ := Audit(f.ctx, f.db, AuditQuery{SessionReference: "SES-1"}); len(got) != 1 || got[0].KSeFCode != 450 {
		t.Fatalf("--session = %+v", got)
	}
	if got, _ := Audit(f.ctx, f.db, AuditQuery{Limit: 1}); len(got) != 1 || got[0].ID != rows[3].ID {
		t.Fatalf("--limit 1 = %+v", got)
	}
	if got, _ := Audit(f.ctx, f.db, AuditQuery{Since: time.Now().Add(time.Hour)}); len(got) != 0 {
		t.Fatalf("--since the future = %+v", got)
	}

	var buf bytes.Buffer
	if err := ExportAudit(&buf, FormatCSV, rows); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 5 || strings.Join(recs[0], ",") != strings.Join(auditColumns, ",") {
		t.Fatalf("csv header/rows = %v", recs)
	}
	w := recs[4]
	if w[2] != "base" || w[4] != strconv.FormatInt(a.ID, 10) || w[10] != "450" || w[11] != "Błąd, \"walidacji\"" || w[13] != "line one\nline two" {
		t.Fatalf("csv row = %q", w)
	}
	if _, err := time.Parse(time.RFC3339Nano, recs[1][1]); err != nil {
		t.Fatalf("csv time %q: %v", recs[1][1], err)
	}

	buf.Reset()
	if err := ExportAudit(&buf, FormatJSON, rows); err != nil {
		t.Fatal(err)
	}
	var back []AuditView
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil || len(back) != 4 || back[3].KSeFDescription != rows[3].KSeFDescription {
		t.Fatalf("json export = %v, %v", back, err)
	}
	buf.Reset()
	if err := ExportAudit(&buf, FormatJSON, nil); err != nil || strings.TrimSpace(buf.String()) != "[]" {
		t.Fatalf("empty json export = %q, %v", buf.String(), err)
	}
	if err := ExportAudit(&buf, "xml", rows); err == nil {
		t.Fatal("unknown format accepted")
	}
}

func TestParseSince(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"24h":                       now.Add(-24 * time.Hour),
		"90m":                       now.Add(-90 * time.Minute),
		"7d":                        now.Add(-7 * 24 * time.Hour),
		"2026-11-20T10:00:00+01:00": time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC),
		"2026-11-20":                time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC),
	} {
		got, err := ParseSince(in, now)
		if err != nil || !got.Equal(want) {
			t.Errorf("ParseSince(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"yesterday", "-5h", "", "5x"} {
		var se *SinceError
		if _, err := ParseSince(in, now); !errors.As(err, &se) {
			t.Errorf("ParseSince(%q) = %v, want a SinceError", in, err)
		}
	}
}
