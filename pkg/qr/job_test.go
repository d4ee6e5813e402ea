package qr

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ksefpl/ksefpl/internal/ksefpltest"
	"github.com/ksefpl/ksefpl/pkg/config"
	"github.com/ksefpl/ksefpl/pkg/deps"
	"github.com/ksefpl/ksefpl/pkg/failure"
	"github.com/ksefpl/ksefpl/pkg/ksef"
	"github.com/ksefpl/ksefpl/pkg/store"
)

// jobFixture is the shared fixture without a simulator: a real home with the base
// website's seller set (environment: the default, test).
type jobFixture struct {
	*ksefpltest.Fixture
	t   *testing.T
	ctx context.Context
	src *deps.Deps
	xml []byte // testdata/invoices/domestic_b2b.golden.xml: seller 5261040828, P_1 2026-11-20
}

func newJobFixture(t *testing.T) *jobFixture {
	t.Helper()
	x := ksefpltest.NewFixture(t, ksefpltest.WithoutSim())
	return &jobFixture{Fixture: x, t: t, ctx: x.Ctx, src: x.Deps, xml: ksefpltest.Testdata(t, "invoices", "domestic_b2b.golden.xml")}
}

func (f *jobFixture) set(path, value string, sc config.Scope) { f.Set(path, value, sc) }

// job queues an invoice in website code and optionally freezes it and gives it a number.
func (f *jobFixture) job(code, increment string, frozen bool, ksefNumber string) *store.Job {
	f.t.Helper()
	w, err := f.src.DB.WebsiteByCode(f.ctx, code)
	if err != nil {
		f.t.Fatal(err)
	}
	j, _, err := f.src.DB.Enqueue(f.ctx, store.Job{WebsiteID: w.ID, EntityType: "invoice", IncrementID: increment,
		InputFormat: "xml", Input: string(f.xml), Status: store.JobPending}, false, store.AuditEntry{Event: store.EventTransition})
	if err != nil {
		f.t.Fatal(err)
	}
	if !frozen {
		return j
	}
	j, err = f.src.DB.UpdateJob(f.ctx, j.ID, nil, func(x *store.Job) error {
		x.XML, x.InvoiceHash, x.FrozenAt = f.xml, ksef.SHA256Base64(f.xml), time.Now()
		if ksefNumber != "" {
			x.Status, x.KSeFNumber = store.JobAccepted, ksefNumber
		}
		return nil
	}, store.AuditEntry{})
	if err != nil {
		f.t.Fatal(err)
	}
	return j
}

func (f *jobFixture) wantLink(host string) string {
	return host + "/invoice/5261040828/20-11-2026/" + strings.NewReplacer("+", "-", "/", "_", "=", "").Replace(ksef.SHA256Base64(f.xml))
}

func TestForJobFrozenWithoutNumberIsOffline(t *testing.T) {
	f := newJobFixture(t)
	j := f.job("base", "INV-1", true, "")
	got, err := ForJob(f.ctx, f.src, Selector{JobID: j.ID})
	if err != nil {
		t.Fatal(err)
	}
	// The default environment is test.
	if got.Link != f.wantLink("https://qr-test.ksef.mf.gov.pl") || got.Label != "OFFLINE" || got.KSeFNumber != "" ||
		got.Website != "base" || got.Environment != ksef.EnvTest || len(got.Warnings) != 0 {
		t.Fatalf("%+v", got)
	}
}

func TestForJobByKSeFNumberInProduction(t *testing.T) {
	f := newJobFixture(t)
	f.set(config.PathEnvironment, "production", config.Default)
	const num = "5261040828-20261120-0100001AF629-AF"
	f.job("base", "INV-0", true, "")
	j := f.job("base", "INV-1", true, num)
	got, err := ForJob(f.ctx, f.src, Selector{KSeFNumber: num})
	if err != nil {
		t.Fatal(err)
	}
	if got.JobID != j.ID || got.Label != num || got.KSeFNumber != num || got.Link != f.wantLink("https://qr.ksef.mf.gov.pl") {
		t.Fatalf("%+v", got)
	}
}

func TestForJobLocalUsesSimulatorQRPath(t *testing.T) {
	f := newJobFixture(t)
	f.set(config.PathEnvironment, "local", config.Default)
	f.set(config.PathBaseURL, "http://127.0.0.1:8089/v2", config.Default)
	j := f.job("base", "INV-1", true, "")
	got, err := ForJob(f.ctx, f.src, Selector{JobID: j.ID})
	if err != nil {
		t.Fatal(err)
	}
	if got.Link != f.wantLink("http://127.0.0.1:8089/qr") {
		t.Fatalf("%s", got.Link)
	}
}

// The website's own environment decides the host, not the default scope's.
func TestForJobUsesTheJobsWebsite(t *testing.T) {
	f := newJobFixture(t)
	if _, err := f.src.DB.CreateWebsite(f.ctx, "shop2", "Shop 2"); err != nil {
		t.Fatal(err)
	}
	sc, err := f.src.Config.WebsiteScope(f.ctx, "shop2")
	if err != nil {
		t.Fatal(err)
	}
	f.set(config.PathEnvironment, "demo", sc)
	j := f.job("shop2", "INV-9", true, "")
	got, err := ForJob(f.ctx, f.src, Selector{JobID: j.ID, Website: "shop2"})
	if err != nil {
		t.Fatal(err)
	}
	if got.Website != "shop2" || got.Link != f.wantLink("https://qr-demo.ksef.mf.gov.pl") {
		t.Fatalf("%+v", got)
	}
	_, err = ForJob(f.ctx, f.src, Selector{JobID: j.ID, Website: "base"})
	var wm *WebsiteMismatchError
	if !errors.As(err, &wm) || wm.Website != "shop2" || !failure.Is(err, failure.Invalid) {
		t.Fatalf("other website: %v", err)
	}
	_, err = ForJob(f.ctx, f.src, Selector{JobID: j.ID, Website: "nope"})
	if !failure.Is(err, failure.Invalid) || !strings.Contains(err.Error(), `no website "nope"`) {
		t.Fatalf("unknown website: %v", err)
	}
}

func TestForJobRefusesUnfrozenJob(t *testing.T) {
	f := newJobFixture(t)
	j := f.job("base", "INV-1", false, "")
	_, err := ForJob(f.ctx, f.src, Selector{JobID: j.ID})
	var nf *NotFrozenError
	if !errors.As(err, &nf) || nf.JobID != j.ID || nf.Status != store.JobPending || !failure.Is(err, failure.Invalid) {
		t.Fatalf("got %v", err)
	}
	if !strings.Contains(err.Error(), "run ksefpl submit first") {
		t.Fatalf("message does not say what to do: %v", err)
	}
}

func TestForJobNotFoundAndAmbiguous(t *testing.T) {
	f := newJobFixture(t)
	for _, sel := range []Selector{{JobID: 42}, {KSeFNumber: "5261040828-20261120-0100001AF629-AF"}} {
		_, err := ForJob(f.ctx, f.src, sel)
		var nf *NotFoundError
		if !errors.As(err, &nf) || !failure.Is(err, failure.Invalid) {
			t.Errorf("%+v: got %v", sel, err)
		}
	}
	for _, sel := range []Selector{{}, {JobID: 1, KSeFNumber: "x"}} {
		if _, err := ForJob(f.ctx, f.src, sel); !failure.Is(err, failure.Invalid) {
			t.Errorf("%+v: got %v", sel, err)
		}
	}
	if _, err := f.src.DB.CreateWebsite(f.ctx, "shop2", "Shop 2"); err != nil {
		t.Fatal(err)
	}
	const num = "5261040828-20261120-0100001AF629-AF"
	a, b := f.job("base", "INV-1", true, num), f.job("shop2", "INV-1", true, num)
	_, err := ForJob(f.ctx, f.src, Selector{KSeFNumber: num})
	var am *AmbiguousError
	if !errors.As(err, &am) || len(am.JobIDs) != 2 {
		t.Fatalf("got %v", err)
	}
	got, err := ForJob(f.ctx, f.src, Selector{KSeFNumber: num, Website: "shop2"})
	if err != nil || got.JobID != b.ID || got.JobID == a.ID {
		t.Fatalf("with --website: %+v, %v", got, err)
	}
}

// Bytes changed after freezing no longer match the recorded hash: no link.
func TestForJobRefusesTamperedBytes(t *testing.T) {
	f := newJobFixture(t)
	j := f.job("base", "INV-1", true, "")
	if _, err := f.src.DB.UpdateJob(f.ctx, j.ID, nil, func(x *store.Job) error {
		x.XML = append(append([]byte{}, x.XML...), ' ')
		return nil
	}, store.AuditEntry{}); err != nil {
		t.Fatal(err)
	}
	_, err := ForJob(f.ctx, f.src, Selector{JobID: j.ID})
	var hm *HashMismatchError
	if !errors.As(err, &hm) || hm.Recorded != ksef.SHA256Base64(f.xml) || !failure.Is(err, failure.Invalid) {
		t.Fatalf("got %v", err)
	}
}

// base_url on a real environment only moves the API calls (a proxy): the printed code
// still points at that environment's QR service, and the user is told.
func TestForJobBaseURLOverrideKeepsEnvironmentsQRHost(t *testing.T) {
	f := newJobFixture(t)
	// environment stays test, through a proxy
	f.set(config.PathAllowCustomHost, "1", config.Default)
	f.set(config.PathBaseURL, "https://ksef-proxy.example.com/v2", config.Default)
	j := f.job("base", "INV-1", true, "")
	got, err := ForJob(f.ctx, f.src, Selector{JobID: j.ID})
	if err != nil {
		t.Fatal(err)
	}
	if got.Link != f.wantLink("https://qr-test.ksef.mf.gov.pl") {
		t.Fatalf("%s", got.Link)
	}
	if len(got.Warnings) != 1 || !strings.Contains(got.Warnings[0], "ksefpl/connection/base_url overrides") {
		t.Fatalf("warnings %q", got.Warnings)
	}
}

// The link is the invoice's (its Podmiot1 NIP), even when the website's configured NIP
// changed since; the difference is reported.
func TestForJobWarnsWhenSellerNIPChanged(t *testing.T) {
	f := newJobFixture(t)
	j := f.job("base", "INV-1", true, "")
	f.set(config.PathSellerNIP, "7740001454", config.Default)
	got, err := ForJob(f.ctx, f.src, Selector{JobID: j.ID})
	if err != nil {
		t.Fatal(err)
	}
	if got.Link != f.wantLink("https://qr-test.ksef.mf.gov.pl") || len(got.Warnings) != 1 ||
		!strings.Contains(got.Warnings[0], "seller NIP 5261040828 differs from website \"base\"'s configured NIP 7740001454") {
		t.Fatalf("%s %q", got.Link, got.Warnings)
	}
}
