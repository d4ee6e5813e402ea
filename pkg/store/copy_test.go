package store

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"
)

// A populated SQLite store copies into the target engine whole: every table, ids kept,
// row counts checked; a target that already holds jobs is refused.
func TestCopyFromSQLite(t *testing.T) {
	ctx := context.Background()
	src, err := Open(ctx, filepath.Join(t.TempDir(), "old.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	shop2, err := src.CreateWebsite(ctx, "shop2", "Shop 2")
	must(t, err)
	must(t, src.ConfigSet(ctx, ScopeWebsites, shop2.ID, "ksefpl/connection/api_token", "0:3:CIPHERTEXT"))
	j := queueJob(t, src, shop2.ID, "INV-1", JobPending)
	now := time.Now().UTC()
	must(t, src.CreateSession(ctx, Session{Reference: "S1", WebsiteID: shop2.ID, Environment: "local", APIURL: "u", FormCode: "FA (3)",
		Status: SessionActive, OpenedAt: now, ValidUntil: now.Add(time.Hour)}, AuditEntry{Event: EventSession, Actor: "t"}))
	_, err = src.UpdateJob(ctx, j.ID, nil, func(x *Job) error {
		x.Status, x.KSeFNumber, x.SessionReference, x.XML = JobAccepted, "5261040828-20261201-0100001AF629-47", "S1", []byte("<Faktura/>")
		return nil
	}, AuditEntry{Event: EventTransition, Actor: "t"})
	must(t, err)
	_, err = src.SaveUPO(ctx, UPO{Kind: UPOInvoice, SessionReference: "S1", UPOReference: "R1", JobID: j.ID, XML: []byte("<UPO/>"), SHA256: "x"},
		AuditEntry{Event: EventUPO, Actor: "t"})
	must(t, err)
	must(t, src.AcquireLease(ctx, "submit:website:2", "host|1|a", time.Minute))

	target := newLocation(t).open(t, Options{})
	must(t, target.ConfigSet(ctx, ScopeDefault, 0, "ksefpl/seller/nip", "set-before-the-copy"))
	rep, err := target.CopyFrom(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	for table, want := range map[string]int{"store_website": 2, "ksefpl_queue": 1, "ksefpl_sessions": 1, "ksefpl_upo": 1, "core_config_data": 1, "ksefpl_event": 1} {
		if rep.Rows[table] != want {
			t.Errorf("%s: %d rows copied, want %d (%v)", table, rep.Rows[table], want, rep.Rows)
		}
	}
	srcAudit, _ := src.Audit(ctx, AuditFilter{})
	if rep.Rows["ksefpl_audit_log"] != len(srcAudit) || len(srcAudit) < 4 {
		t.Errorf("audit rows %d, source %d", rep.Rows["ksefpl_audit_log"], len(srcAudit))
	}
	got, err := target.JobByID(ctx, j.ID)
	if err != nil || got.WebsiteID != shop2.ID || got.KSeFNumber != "5261040828-20261201-0100001AF629-47" || string(got.XML) != "<Faktura/>" {
		t.Fatalf("job after the copy: %+v %v", got, err)
	}
	if v, ok, _ := target.ConfigGet(ctx, ScopeWebsites, shop2.ID, "ksefpl/connection/api_token"); !ok || v != "0:3:CIPHERTEXT" {
		t.Errorf("secret after the copy: %q", v)
	}
	if _, ok, _ := target.ConfigGet(ctx, ScopeDefault, 0, "ksefpl/seller/nip"); ok {
		t.Error("the target's own configuration survived the copy")
	}
	// Leases stay behind; the copied store keeps working (ids continue).
	must(t, target.AcquireLease(ctx, "submit:website:2", "other|2|b", time.Minute))
	k := queueJob(t, target, shop2.ID, "INV-2", JobPending)
	if k.ID <= j.ID {
		t.Errorf("new job id %d after copied id %d", k.ID, j.ID)
	}
	if _, err := target.CopyFrom(ctx, src); !errors.Is(err, ErrTargetNotEmpty) {
		t.Errorf("a second copy into a store with jobs: %v", err)
	}
}
