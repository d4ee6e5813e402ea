package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"modernc.org/sqlite"
)

// recordingDriver is the SQLite driver, recording every statement prepared or run.
type recordingDriver struct {
	mu      sync.Mutex
	queries []string
}

func (d *recordingDriver) record(q string) {
	d.mu.Lock()
	d.queries = append(d.queries, q)
	d.mu.Unlock()
}

func (d *recordingDriver) take() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	q := d.queries
	d.queries = nil
	return q
}

func (d *recordingDriver) Open(name string) (driver.Conn, error) {
	c, err := (&sqlite.Driver{}).Open(name)
	if err != nil {
		return nil, err
	}
	return &recordingConn{Conn: c, d: d}, nil
}

// recordingConn passes everything to the SQLite connection; without ExecerContext and
// QueryerContext of its own, database/sql prepares every statement, which records it.
type recordingConn struct {
	driver.Conn
	d *recordingDriver
}

func (c *recordingConn) Prepare(q string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), q)
}

func (c *recordingConn) PrepareContext(ctx context.Context, q string) (driver.Stmt, error) {
	c.d.record(q)
	return c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, q)
}

func (c *recordingConn) BeginTx(ctx context.Context, o driver.TxOptions) (driver.Tx, error) {
	return c.Conn.(driver.ConnBeginTx).BeginTx(ctx, o)
}

var registerRecording = sync.OnceValue(func() *recordingDriver {
	d := &recordingDriver{}
	sql.Register("sqlite-recording", d)
	return d
})

// growingTables are the tables that grow with the queue: a statement of the send and
// settle paths may only SEARCH them (an index lookup or range), never SCAN them.
var growingTables = []string{"ksefpl_queue", "ksefpl_job_body", "ksefpl_audit_log", "ksefpl_event", "ksefpl_upo"}

// scanOf matches a plan step that scans a table, and the index it scans, if any.
var scanOf = regexp.MustCompile(`\bSCAN (\w+)(?: USING (?:COVERING )?INDEX (\w+))?`)

// TestSendAndSettlePathsUseIndexes runs the store calls of submit's send and settle
// paths (claim, freeze, open a session, SENDING, read the frozen bytes, SUBMITTED, list
// the in-flight jobs, settle, accept, UPOs, release) and of queue admission on a store holding 3,000 accepted
// jobs of an earlier backlog, records every statement, and asks SQLite for each one's
// plan (EXPLAIN QUERY PLAN): none may scan a table that grows with the queue, except
// through a partial index (which holds only the rows in flight, such as claimed jobs).
func TestSendAndSettlePathsUseIndexes(t *testing.T) {
	sqliteOnly(t, "EXPLAIN QUERY PLAN is SQLite's")
	rec := registerRecording()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ksefpl.db")
	db, err := Open(ctx, path, Options{driverName: "sqlite-recording"})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	enqueue := func(prefix string, n int) {
		var items []EnqueueItem
		for i := range n {
			items = append(items, EnqueueItem{Job: Job{WebsiteID: 1, EntityType: "invoice", IncrementID: fmt.Sprintf("%s-%05d", prefix, i),
				InputFormat: "json", Input: `{}`, Status: JobPending}, Audit: AuditEntry{Event: EventTransition, Reason: "QUEUED"}})
		}
		if _, err := db.EnqueueMany(ctx, items, false); err != nil {
			t.Fatal(err)
		}
	}
	holder := "node|1|n"
	// One backlog through every step; the second, measured, finds the first's rows.
	backlog := func(prefix string, n int) {
		enqueue(prefix, n)
		ids, err := db.ClaimJobs(ctx, JobFilter{WebsiteID: 1, Limit: n}, holder, time.Minute)
		if err != nil || len(ids) != n {
			t.Fatalf("claim: %d %v", len(ids), err)
		}
		if _, err := db.Jobs(ctx, JobFilter{IDs: ids}); err != nil {
			t.Fatal(err)
		}
		if _, err := db.UpdateJobsEach(ctx, ids, []string{JobPending}, func(x *Job) (AuditEntry, error) {
			x.XML, x.InvoiceHash, x.FrozenAt = []byte("<Faktura/>"), "h", time.Now()
			return AuditEntry{Event: EventTransition, Reason: "FROZEN"}, nil
		}); err != nil {
			t.Fatal(err)
		}
		ref := "S-" + prefix
		if err := db.CreateSession(ctx, Session{Reference: ref, WebsiteID: 1, Kind: SessionBatch, Status: SessionSending, OpenedAt: time.Now(),
			ValidUntil: time.Now().Add(time.Hour), Owner: holder, OwnerTTL: time.Minute}, AuditEntry{Event: EventSession, Reason: "OPENED"}); err != nil {
			t.Fatal(err)
		}
		to := func(from, status string) {
			if _, err := db.UpdateJobs(ctx, ids, []string{from}, func(x *Job) error {
				x.Status, x.SessionReference = status, ref
				return nil
			}, AuditEntry{Event: EventTransition, Reason: status}); err != nil {
				t.Fatal(err)
			}
		}
		to(JobPending, JobSending)
		if err := db.FrozenXML(ctx, ids, func(int64, []byte) error { return nil }); err != nil {
			t.Fatal(err)
		}
		to(JobSending, JobSubmitted)
		if _, err := db.UpdateSession(ctx, ref, nil, func(s *Session) error { s.Status = SessionClosing; return nil }, AuditEntry{Event: EventSession}); err != nil {
			t.Fatal(err)
		}
		if refs, err := db.SessionsOfJobs(ctx, 1, JobSubmitted); err != nil || len(refs) != 1 {
			t.Fatalf("sessions of the submitted jobs: %v %v", refs, err)
		}
		keys, err := db.JobKeys(ctx, JobFilter{SessionReference: ref, Statuses: []string{JobSubmitted}})
		if err != nil || len(keys) != n {
			t.Fatalf("keys: %d %v", len(keys), err)
		}
		if _, err := db.ClaimSession(ctx, ref, holder, time.Minute); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Jobs(ctx, JobFilter{IDs: ids, Statuses: []string{JobSubmitted}, WithoutDocuments: true}); err != nil {
			t.Fatal(err)
		}
		done, err := db.UpdateJobsEach(ctx, ids, []string{JobSubmitted}, func(x *Job) (AuditEntry, error) {
			x.Status, x.KSeFNumber, x.UPODue = JobAccepted, "N-"+x.IncrementID, x.ID%2 == 0
			return AuditEntry{Event: EventTransition, Reason: "ACCEPTED"}, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		var upos []UPO
		for _, j := range done {
			if j.UPODue {
				upos = append(upos, UPO{Kind: UPOInvoice, SessionReference: ref, UPOReference: j.KSeFNumber, JobID: j.ID, KSeFNumber: j.KSeFNumber, XML: []byte("u")})
			}
		}
		if _, err := db.SaveUPOs(ctx, upos, nil); err != nil {
			t.Fatal(err)
		}
		for _, f := range []func() error{
			func() error { _, err := db.JobsWithUPODue(ctx, 1, 200); return err },
			func() error {
				_, err := db.Jobs(ctx, JobFilter{SessionReference: ref, Statuses: []string{JobSubmitted}, Limit: 1})
				return err
			},
			func() error {
				_, err := db.Jobs(ctx, JobFilter{WebsiteID: 1, Statuses: []string{JobSubmitted, JobSending}, Limit: 1, WithoutDocuments: true})
				return err
			},
			func() error { _, err := db.Sessions(ctx, 1, InFlightSessionStatuses...); return err },
			// queue invoice's admission: is the document queued already?
			func() error {
				_, err := db.Jobs(ctx, JobFilter{WebsiteID: 1, EntityType: "invoice", IncrementID: prefix + "-00001"})
				return err
			},
			func() error { _, err := db.JobByID(ctx, ids[0]); return err },
			func() error { return db.RenewClaims(ctx, holder, time.Minute) },
			func() error { return db.ReleaseClaims(ctx, holder) },
			func() error { _, err := db.ExpireDeadClaims(ctx); return err },
		} {
			if err := f(); err != nil {
				t.Fatal(err)
			}
		}
	}
	backlog("A", 3000)
	rec.take()
	backlog("B", 50)
	queries := slices.Compact(slices.Sorted(slices.Values(rec.take())))
	partial := map[string]bool{}
	rows, err := db.sql.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'index' AND sql LIKE '% WHERE %'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		partial[name] = true
	}
	rows.Close()
	if !partial["ksefpl_queue_claimed_by"] || !partial["ksefpl_queue_upo_due"] {
		t.Fatalf("partial indexes: %v", partial)
	}
	checked := 0
	for _, q := range queries {
		verb := strings.ToUpper(strings.Fields(q)[0])
		if verb != "SELECT" && verb != "UPDATE" && verb != "DELETE" && verb != "INSERT" {
			continue
		}
		rows, err := db.sql.QueryContext(ctx, "EXPLAIN QUERY PLAN "+q, make([]any, strings.Count(q, "?"))...)
		if err != nil {
			t.Fatalf("explain %s: %v", q, err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		checked++
		for _, step := range plan {
			if m := scanOf.FindStringSubmatch(step); m != nil && slices.Contains(growingTables, m[1]) && !partial[m[2]] {
				t.Errorf("%s scans %s:\n  %s\nplan: %s", verb, m[1], strings.Join(strings.Fields(q), " "), strings.Join(plan, "; "))
			}
		}
	}
	if checked < 15 {
		t.Fatalf("only %d statements checked: the recording missed the paths", checked)
	}
	t.Logf("%d distinct statements of the send and settle paths checked", checked)
}
