package queue_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ksefpl/ksefpl/internal/ksefpltest"
	"github.com/ksefpl/ksefpl/pkg/config"
	"github.com/ksefpl/ksefpl/pkg/failure"
	"github.com/ksefpl/ksefpl/pkg/ksef"
	"github.com/ksefpl/ksefpl/pkg/queue"
	"github.com/ksefpl/ksefpl/pkg/store"
	"github.com/ksefpl/ksefpl/pkg/submit"
)

// duplicateJob makes KSeF hold INV-000123 (sent by "another system") and then queues
// and submits the shop's own INV-000123, which KSeF refuses as a duplicate. It returns
// the FAILED job and the original's KSeF number.
func duplicateJob(t *testing.T, f *ksefpltest.Fixture) (*store.Job, string) {
	t.Helper()
	orig := f.SendElsewhere(ksefpltest.Testdata(t, "invoices", "domestic_b2b.golden.xml"))
	j := f.EnqueueRaw(store.Job{WebsiteID: 1, EntityType: "invoice", IncrementID: "INV-000123",
		Input: ksefpltest.InvoiceJSONAt("INV-000123", time.Now().Add(-time.Hour))})
	if _, err := submit.Run(f.Ctx, f.Deps, submit.Options{Wait: 20 * time.Second, PollInterval: 10 * time.Millisecond,
		RunSettings: submit.RunSettings{NoPace: true}}); err != nil {
		t.Fatal(err)
	}
	j, err := f.DB().JobByID(f.Ctx, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if j.Status != store.JobFailed || j.Reason != queue.ReasonDuplicate || !strings.Contains(j.ReasonDetail, "queue resolve 1 --ksef-number "+orig) {
		t.Fatalf("job %s %s %q, want FAILED DUPLICATE naming queue resolve", j.Status, j.Reason, j.ReasonDetail)
	}
	return j, orig
}

func TestDuplicateIsNotRetriedButResolvedWithTheNumberKSeFHolds(t *testing.T) {
	f := ksefpltest.NewFixture(t)
	j, orig := duplicateJob(t, f)

	// A resend would be refused again: retry refuses it, --failed leaves it alone.
	var se *queue.StateError
	if _, err := queue.Retry(f.Ctx, f.DB(), queue.RetrySelection{IDs: []int64{j.ID}}, "ops"); !errors.As(err, &se) ||
		!strings.Contains(err.Error(), "queue resolve 1 --ksef-number") {
		t.Fatalf("retry of a DUPLICATE: %v", err)
	}
	if got, err := queue.Retry(f.Ctx, f.DB(), queue.RetrySelection{Failed: true}, "ops"); err != nil || len(got) != 0 {
		t.Fatalf("retry --failed took %d jobs, %v", len(got), err)
	}
	if dups, err := queue.UnresolvedDuplicates(f.Ctx, f.DB(), 0); err != nil || len(dups) != 1 || dups[0].ID != j.ID {
		t.Fatalf("unresolved duplicates %v, %v", dups, err)
	}

	// Wrong numbers are refused and change nothing.
	other := ksef.NewKSeFNumber(ksefpltest.NIPShop2, time.Now(), "0123456789AB")
	unknown := ksef.NewKSeFNumber(ksefpltest.NIP, time.Now(), "0123456789AB")
	for _, c := range []struct {
		number, want string
	}{
		{orig[:len(orig)-2] + "00", "checksum"},
		{other, "belongs to seller NIP " + ksefpltest.NIPShop2},
		{unknown, "KSeF has no invoice " + unknown},
	} {
		_, err := queue.Resolve(f.Ctx, f.Deps, queue.ResolveRequest{JobID: j.ID, KSeFNumber: c.number, Actor: "ops"})
		if failure.Of(err) != failure.Invalid || !strings.Contains(err.Error(), c.want) {
			t.Errorf("resolve with %s: %v (class %s), want %q", c.number, err, failure.Of(err), c.want)
		}
	}
	if j2, _ := f.DB().JobByID(f.Ctx, j.ID); j2.Status != store.JobFailed || j2.KSeFNumber != "" {
		t.Fatalf("a refused resolve changed the job: %s %q", j2.Status, j2.KSeFNumber)
	}

	res, err := queue.Resolve(f.Ctx, f.Deps, queue.ResolveRequest{JobID: j.ID, KSeFNumber: orig, Actor: "ops"})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Verified || res.SameDocument || len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "different content") {
		t.Errorf("result: verified %v, same %v, warnings %q", res.Verified, res.SameDocument, res.Warnings)
	}
	if res.Job.Status != store.JobAccepted || res.Job.KSeFNumber != orig || res.Job.Reason != queue.ReasonResolved {
		t.Errorf("job %s %q %s", res.Job.Status, res.Job.KSeFNumber, res.Job.Reason)
	}
	trail := f.Trail(j.ID)
	last := trail[len(trail)-1]
	if last.Reason != queue.ReasonResolved || last.Actor != "ops" || last.ToStatus != store.JobAccepted {
		t.Errorf("audit row %+v", last)
	}
	// Once resolved it is not a DUPLICATE any more.
	if _, err := queue.Resolve(f.Ctx, f.Deps, queue.ResolveRequest{JobID: j.ID, KSeFNumber: orig, Actor: "ops"}); !errors.As(err, &se) {
		t.Errorf("second resolve: %v", err)
	}
}

func TestResolveRecordsUnverifiedWhenKSeFIsUnreachable(t *testing.T) {
	f := ksefpltest.NewFixture(t)
	j, orig := duplicateJob(t, f)
	f.Set(config.PathBaseURL, "http://127.0.0.1:1/v2", config.Default)
	res, err := queue.Resolve(f.Ctx, f.Deps, queue.ResolveRequest{JobID: j.ID, KSeFNumber: orig, Actor: "ops"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Verified || res.Unverified == "" || len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "without checking it against KSeF") {
		t.Errorf("result %+v", res)
	}
	if res.Job.Status != store.JobAccepted || !strings.Contains(res.Job.ReasonDetail, "not verified") {
		t.Errorf("job %s %q", res.Job.Status, res.Job.ReasonDetail)
	}
}
