package store

import (
	"bytes"
	"context"
	"testing"
)

// TestJobBodyMigrationKeepsDocumentsAndMarksUPOsDue makes a store at schema 14 (the
// documents in the queue rows), with an accepted job that has its invoice UPO, one that
// has none and a pending one, and opens it with this release: the documents moved to
// ksefpl_job_body byte for byte, only the accepted job without a UPO is due, and the
// jobs are counted.
func TestJobBodyMigrationKeepsDocumentsAndMarksUPOsDue(t *testing.T) {
	ctx := context.Background()
	loc := newLocation(t)
	old, err := loc.tryOpen(Options{migrateTo: 14})
	if err != nil {
		t.Fatal(err)
	}
	if v, err := old.SchemaVersion(ctx); err != nil || v != 14 {
		t.Fatalf("the old store is at schema %d (%v), want 14", v, err)
	}
	xml1, xml2 := []byte("<Faktura>1</Faktura>"), []byte("<Faktura>2\x00binary-safe</Faktura>")
	for _, r := range []struct {
		id     int64
		status string
		input  string
		xml    []byte
	}{{1, JobAccepted, `{"increment_id":"1"}`, xml1}, {2, JobAccepted, `{"increment_id":"2"}`, xml2}, {3, JobPending, `{"increment_id":"3"}`, nil}} {
		if _, err := old.sql.ExecContext(ctx, `INSERT INTO ksefpl_queue (job_id, website_id, entity_type, increment_id, input_format,
			input, status, xml, created_at, updated_at) VALUES (?, 1, 'invoice', ?, 'json', ?, ?, ?, '2026-12-01T00:00:00Z', '2026-12-01T00:00:00Z')`,
			r.id, r.input, r.input, r.status, r.xml); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := old.sql.ExecContext(ctx, `INSERT INTO ksefpl_upo (kind, session_reference, upo_reference, job_id, ksef_number, xml, sha256,
		hash_verified, fetched_at) VALUES ('invoice', 'S', 'R1', 1, 'N1', 'u', 'h', 1, '2026-12-01T00:00:00Z')`); err != nil {
		t.Fatal(err)
	}
	old.Close()

	db := loc.open(t, Options{})
	for id, want := range map[int64]struct {
		input string
		xml   []byte
		due   bool
	}{1: {`{"increment_id":"1"}`, xml1, false}, 2: {`{"increment_id":"2"}`, xml2, true}, 3: {`{"increment_id":"3"}`, nil, false}} {
		j, err := db.JobByID(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if j.Input != want.input || !bytes.Equal(j.XML, want.xml) || j.UPODue != want.due {
			t.Errorf("job %d after the migration: input %q, xml %q, UPO due %v; want %q, %q, %v", id, j.Input, j.XML, j.UPODue, want.input, want.xml, want.due)
		}
	}
	if counts, err := db.JobCounts(ctx, 1); err != nil || counts[JobAccepted] != 2 || counts[JobPending] != 1 || len(counts) != 2 {
		t.Fatalf("the job counts the migration kept: %v (%v)", counts, err)
	}
	due, err := db.JobsWithUPODue(ctx, 1, 0)
	if err != nil || len(due) != 1 || due[0].ID != 2 {
		t.Fatalf("jobs with a UPO due: %v (%v), want job 2", due, err)
	}
	if _, err := db.SaveUPO(ctx, UPO{Kind: UPOInvoice, SessionReference: "S", UPOReference: "R2", JobID: 2, KSeFNumber: "N2", XML: []byte("u")}, AuditEntry{}); err != nil {
		t.Fatal(err)
	}
	if due, err := db.JobsWithUPODue(ctx, 1, 0); err != nil || len(due) != 0 {
		t.Fatalf("after job 2's UPO was stored, due: %v (%v)", due, err)
	}
}

// TestTransitionsWriteDocumentsOnlyWhenTheyChange checks the split of a job's row from
// its documents: a light bulk transition leaves them as they are, a freeze stores the
// bytes it sets, and UpdateJob (a full read) can replace and clear them.
func TestTransitionsWriteDocumentsOnlyWhenTheyChange(t *testing.T) {
	ctx := context.Background()
	db := newLocation(t).open(t, Options{})
	j, _, err := db.Enqueue(ctx, Job{WebsiteID: 1, EntityType: "invoice", IncrementID: "D-1", InputFormat: "json", Input: `{"a":1}`, Status: JobPending},
		false, AuditEntry{Event: EventTransition, Reason: "QUEUED"})
	if err != nil {
		t.Fatal(err)
	}
	frozen := []byte("<Faktura/>")
	out, err := db.UpdateJobsEach(ctx, []int64{j.ID}, []string{JobPending}, func(x *Job) (AuditEntry, error) {
		if x.Input != "" || x.XML != nil {
			t.Errorf("a bulk change read the documents: %q %q", x.Input, x.XML)
		}
		x.XML = frozen
		return AuditEntry{}, nil
	})
	if err != nil || len(out) != 1 || !bytes.Equal(out[0].XML, frozen) {
		t.Fatalf("freeze: %v %v", out, err)
	}
	if _, err := db.UpdateJobs(ctx, []int64{j.ID}, []string{JobPending}, func(x *Job) error {
		x.Status = JobSending
		return nil
	}, AuditEntry{}); err != nil {
		t.Fatal(err)
	}
	got, err := db.JobByID(ctx, j.ID)
	if err != nil || got.Input != `{"a":1}` || !bytes.Equal(got.XML, frozen) || got.Status != JobSending {
		t.Fatalf("after the freeze and a transition: %+v %v", got, err)
	}
	if _, err := db.UpdateJob(ctx, j.ID, nil, func(x *Job) error {
		x.XML, x.Input = nil, `{"a":2}`
		return nil
	}, AuditEntry{}); err != nil {
		t.Fatal(err)
	}
	got, err = db.JobByID(ctx, j.ID)
	if err != nil || got.Input != `{"a":2}` || got.XML != nil {
		t.Fatalf("after UpdateJob replaced the input and cleared the bytes: %q %q %v", got.Input, got.XML, err)
	}
	light, err := db.Jobs(ctx, JobFilter{IDs: []int64{j.ID}, WithoutDocuments: true})
	if err != nil || len(light) != 1 || light[0].Input != "" || light[0].XML != nil || light[0].IncrementID != "D-1" {
		t.Fatalf("WithoutDocuments: %+v %v", light, err)
	}
}
