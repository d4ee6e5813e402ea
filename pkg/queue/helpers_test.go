package queue

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/ksefpl/ksefpl/internal/ksefpltest"
	"github.com/ksefpl/ksefpl/pkg/config"
	"github.com/ksefpl/ksefpl/pkg/deps"
	"github.com/ksefpl/ksefpl/pkg/fa"
	"github.com/ksefpl/ksefpl/pkg/store"
)

// fixture is the shared fixture without a simulator: a real home with the base
// website's seller set and a fixed clock.
type fixture struct {
	*ksefpltest.Fixture
	t    *testing.T
	ctx  context.Context
	db   *store.DB
	svc  *config.Service
	env  *deps.Deps
	base config.Scope
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	x := ksefpltest.NewFixture(t, ksefpltest.WithoutSim(),
		ksefpltest.WithNow(func() time.Time { return time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC) }))
	f := &fixture{Fixture: x, t: t, ctx: x.Ctx, db: x.DB(), svc: x.Config(), env: x.Deps}
	f.base = f.Scope("base")
	return f
}

func (f *fixture) set(path, value string, sc config.Scope) { f.Set(path, value, sc) }

// website creates a website with its own seller.
func (f *fixture) website(code, sellerNIP string) config.Scope { return f.AddWebsite(code, sellerNIP) }

// invoiceJSON reads testdata/invoices/NAME.json.
func invoiceJSON(t *testing.T, name string) []byte {
	t.Helper()
	return ksefpltest.Testdata(t, "invoices", name+".json")
}

// buildXML builds the XML of a shop JSON with the given seller NIP.
func buildXML(t *testing.T, data []byte, sellerNIP string) []byte {
	t.Helper()
	in, err := fa.ParseInput(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	d, err := fa.Build(context.Background(), in, fa.BuildOptions{
		Seller: fa.Seller{NIP: sellerNIP, Name: "Sklep", AddressLine1: "ul. Prosta 1"}})
	if err != nil {
		t.Fatal(err)
	}
	x, err := fa.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func (f *fixture) enqueue(sc config.Scope, kind string, data []byte, replace bool) (*Result, error) {
	return Enqueue(f.ctx, f.env, Request{Scope: sc, Kind: kind, Data: data, Replace: replace, Actor: "test"})
}

func (f *fixture) mustEnqueue(sc config.Scope, kind string, data []byte) *store.Job {
	f.t.Helper()
	r, err := f.enqueue(sc, kind, data, false)
	if err != nil {
		f.t.Fatalf("enqueue: %v", err)
	}
	return r.Job
}

func (f *fixture) jobs() []*store.Job { return f.Jobs() }

func (f *fixture) trail(jobID int64) []store.AuditEntry { return f.Trail(jobID) }

// setStatus moves a job as the submit engine would (frozen bytes, an attempt).
func (f *fixture) setStatus(id int64, status, ksefNumber string) *store.Job {
	f.t.Helper()
	j, err := f.db.UpdateJob(f.ctx, id, nil, func(j *store.Job) error {
		j.Status, j.KSeFNumber, j.Attempts = status, ksefNumber, j.Attempts+1
		j.XML, j.InvoiceHash, j.FrozenAt = []byte("<Faktura>frozen</Faktura>"), "hash-"+status, time.Now()
		return nil
	}, store.AuditEntry{Event: store.EventTransition, Actor: "submit", Reason: "TEST"})
	if err != nil {
		f.t.Fatal(err)
	}
	return j
}
