package queue

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ksefpl/ksefpl/pkg/config"
	"github.com/ksefpl/ksefpl/pkg/fa"
	"github.com/ksefpl/ksefpl/pkg/secret"
	"github.com/ksefpl/ksefpl/pkg/store"
	"github.com/ksefpl/ksefpl/pkg/testenv"
)

const testKey = "6wRADHwwCBGgdxbcHhovGB0upmg0mbsN"

// fixture is a real store in a temporary directory with the base website's seller set.
type fixture struct {
	t    *testing.T
	ctx  context.Context
	db   *store.DB
	svc  *config.Service
	env  Env
	base config.Scope
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "ksefpl.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	keys, err := secret.ParseKeys(testKey)
	if err != nil {
		t.Fatal(err)
	}
	svc := config.New(db, keys, func(string) string { return "" })
	f := &fixture{t: t, ctx: ctx, db: db, svc: svc,
		env: Env{Config: svc, DB: db, Now: func() time.Time { return time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC) }}}
	for path, v := range map[string]string{
		config.PathSellerNIP: "5261040828", config.PathSellerName: "Sklep sp. z o.o.",
		config.PathSellerAddress1: "ul. Prosta 1", config.PathSellerAddress2: "00-001 Warszawa",
	} {
		f.set(path, v, config.Default)
	}
	if f.base, err = svc.WebsiteScope(ctx, "base"); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) set(path, value string, sc config.Scope) {
	f.t.Helper()
	if _, err := f.svc.Set(f.ctx, path, value, sc); err != nil {
		f.t.Fatalf("config:set %s: %v", path, err)
	}
}

// website creates a website with its own seller NIP.
func (f *fixture) website(code, sellerNIP string) config.Scope {
	f.t.Helper()
	if _, err := f.db.CreateWebsite(f.ctx, code, code); err != nil {
		f.t.Fatal(err)
	}
	sc, err := f.svc.WebsiteScope(f.ctx, code)
	if err != nil {
		f.t.Fatal(err)
	}
	f.set(config.PathSellerNIP, sellerNIP, sc)
	return sc
}

// invoiceJSON reads testdata/invoices/NAME.json.
func invoiceJSON(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testenv.ModuleRoot(t), "testdata", "invoices", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
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

func (f *fixture) jobs() []*store.Job {
	f.t.Helper()
	js, err := f.db.Jobs(f.ctx, store.JobFilter{})
	if err != nil {
		f.t.Fatal(err)
	}
	return js
}

func (f *fixture) trail(jobID int64) []store.AuditEntry {
	f.t.Helper()
	es, err := f.db.Audit(f.ctx, store.AuditFilter{JobID: jobID})
	if err != nil {
		f.t.Fatal(err)
	}
	return es
}

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
