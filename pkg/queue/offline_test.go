package queue_test

import (
	"strings"
	"testing"
	"time"

	"github.com/ksefpl/ksefpl/internal/ksefpltest"
	"github.com/ksefpl/ksefpl/pkg/config"
	"github.com/ksefpl/ksefpl/pkg/failure"
	"github.com/ksefpl/ksefpl/pkg/ksef"
	"github.com/ksefpl/ksefpl/pkg/ksefsim"
	"github.com/ksefpl/ksefpl/pkg/offline"
	"github.com/ksefpl/ksefpl/pkg/qr"
	"github.com/ksefpl/ksefpl/pkg/queue"
	"github.com/ksefpl/ksefpl/pkg/store"
)

func enqueue(t *testing.T, f *ksefpltest.Fixture, kind, data, mode string) (*queue.Result, error) {
	t.Helper()
	return queue.Enqueue(f.Ctx, f.Deps, queue.Request{Scope: f.Scope("base"), Kind: kind, Data: []byte(data), Offline: mode, Actor: "shop"})
}

// --offline freezes the document at once, with its deadline and both codes; without an
// Offline certificate nothing is queued.
func TestOfflineIssueFreezesAtOnce(t *testing.T) {
	f := ksefpltest.NewFixture(t)
	if _, err := enqueue(t, f, queue.KindInvoice, ksefpltest.InvoiceJSON("OFF-1"), "offline24"); failure.Of(err) != failure.Invalid ||
		!strings.Contains(err.Error(), "certificate:enroll --type offline") {
		t.Fatalf("without an Offline certificate: %v", err)
	}
	if len(f.Jobs()) != 0 {
		t.Fatal("a job was stored")
	}
	m := f.ImportOfflineCertificate("base", ksefpltest.NIP, "ec")
	res, err := enqueue(t, f, queue.KindInvoice, ksefpltest.InvoiceJSON("OFF-1"), "offline24")
	if err != nil {
		t.Fatal(err)
	}
	j := res.Job
	today := offline.Day(time.Now())
	want := offline.NextBusinessDay(today).Format(time.DateOnly)
	if !j.Frozen() || j.InvoiceHash != ksef.SHA256Base64(j.XML) || j.OfflineMode != "offline24" || j.Deadline != want || j.Status != store.JobPending {
		t.Fatalf("job: frozen %v, mode %q, deadline %q (want %s), status %s", j.Frozen(), j.OfflineMode, j.Deadline, want, j.Status)
	}
	if res.Offline == nil || res.Offline.Mode != offline.Offline24 || res.Offline.Deadline.Date() != want {
		t.Errorf("result %+v", res.Offline)
	}
	trail := f.Trail(j.ID)
	if trail[0].Reason != queue.ReasonOfflineIssued || !strings.Contains(trail[0].Message, j.InvoiceHash) {
		t.Errorf("audit row %+v", trail[0])
	}
	// The printed codes are those of the frozen bytes, KOD II signed by the certificate.
	code, err := qr.ForJob(f.Ctx, f.Deps, qr.Selector{JobID: j.ID})
	if err != nil || code.Certificate == nil || code.Label != qr.LabelOffline || code.Certificate.Label != qr.LabelCertificate {
		t.Fatalf("codes %+v, %v", code, err)
	}
	if err := qr.VerifyCertificateLink(code.Certificate.Link, m.Cert); err != nil {
		t.Errorf("KOD II does not verify: %v", err)
	}
	if !strings.Contains(code.Certificate.Link, qr.HashBase64URL(j.XML)) {
		t.Errorf("KOD II %s does not carry the frozen bytes' hash", code.Certificate.Link)
	}
	// A mode that does not exist is refused.
	if _, err := enqueue(t, f, queue.KindInvoice, ksefpltest.InvoiceJSON("OFF-2"), "offline48"); failure.Of(err) != failure.Invalid {
		t.Errorf("unknown mode: %v", err)
	}
}

// A credit memo is final once issued offline, so its queued original must be numbered.
func TestOfflineCreditMemoNeedsANumberedOriginal(t *testing.T) {
	f := ksefpltest.NewFixture(t)
	f.ImportOfflineCertificate("base", ksefpltest.NIP, "rsa")
	if _, err := enqueue(t, f, queue.KindInvoice, ksefpltest.InvoiceJSON("ORIG-1"), ""); err != nil {
		t.Fatal(err)
	}
	_, err := enqueue(t, f, queue.KindCreditMemo, ksefpltest.CreditMemoJSON("CM-1", "ORIG-1"), "offline24")
	var oe *queue.OriginalNotNumberedError
	if err == nil || failure.Of(err) != failure.Invalid || !strings.Contains(err.Error(), "ORIG-1") {
		t.Fatalf("memo of an unnumbered original: %v (%T, %v)", err, err, oe)
	}
}

// offline_when_unavailable: while Latarnia announces a failure, queue issues documents
// in awaryjny mode (deadline open until the failure ends); without an Offline
// certificate they are queued online, with a warning; when KSeF is available, online.
func TestOfflineWhenUnavailable(t *testing.T) {
	f := ksefpltest.NewFixture(t)
	f.Set(config.PathOfflineWhenUnavailable, "1", config.Default)
	res, err := enqueue(t, f, queue.KindInvoice, ksefpltest.InvoiceJSON("A-1"), "")
	if err != nil || res.Offline != nil || res.Job.OfflineMode != "" {
		t.Fatalf("KSeF available: %+v, %v", res, err)
	}
	if _, err := f.Sim.PublishLatarnia(ksefsim.LatarniaEvent{Category: "FAILURE", Start: time.Now().Add(-time.Minute)}); err != nil {
		t.Fatal(err)
	}
	res, err = enqueue(t, f, queue.KindInvoice, ksefpltest.InvoiceJSON("A-2"), "")
	if err != nil || res.Offline != nil || res.Job.OfflineMode != "" || len(res.Warnings) == 0 ||
		!strings.Contains(res.Warnings[0], "queued online, not offline") {
		t.Fatalf("failure without an Offline certificate: %+v, %v", res, err)
	}
	f.ImportOfflineCertificate("base", ksefpltest.NIP, "ec")
	res, err = enqueue(t, f, queue.KindInvoice, ksefpltest.InvoiceJSON("A-3"), "")
	if err != nil || res.Offline == nil || res.Job.OfflineMode != "awaryjny" || res.Job.Deadline != "" || !res.Offline.Deadline.Open {
		t.Fatalf("failure: %+v (%+v), %v", res.Job, res.Offline, err)
	}
	if !strings.Contains(res.Offline.Why, "failure") {
		t.Errorf("why: %q", res.Offline.Why)
	}
	msgs, err := f.DB().LatarniaMessages(f.Ctx, "local")
	if err != nil || len(msgs) == 0 {
		t.Errorf("Latarnia's announcements were not kept: %v, %v", msgs, err)
	}
}
