package queue

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ksefpl/ksefpl/pkg/config"
	"github.com/ksefpl/ksefpl/pkg/fa"
	"github.com/ksefpl/ksefpl/pkg/failure"
	"github.com/ksefpl/ksefpl/pkg/store"
	"github.com/ksefpl/ksefpl/pkg/testenv"
)

// TestQueueOfficialExamplesAsXML queues every official FA(3)/FA(2) example for a website
// whose seller is the example's: clean examples are stored byte for byte with the type
// their RodzajFaktury implies, and the check's warnings (rules KSeF does not enforce)
// are returned, not a refusal; examples with genuine defects are refused, storing nothing.
func TestQueueOfficialExamplesAsXML(t *testing.T) {
	var files []string
	for _, dir := range []string{"fa3", "fa2"} {
		fs, err := filepath.Glob(filepath.Join(testenv.SharedPath(t, "examples", dir), "*.xml"))
		if err != nil || len(fs) == 0 {
			t.Fatalf("no examples in %s: %v", dir, err)
		}
		files = append(files, fs...)
	}
	accepted := 0
	for _, file := range files {
		t.Run(filepath.Base(filepath.Dir(file))+"/"+filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			f := newFixture(t)
			all := fa.Check(data)
			problems := fa.Errors(all)
			if len(problems) > 0 {
				_, err := f.enqueue(f.base, KindXML, data, false)
				if !failure.Is(err, failure.Invalid) || !strings.Contains(err.Error(), problems[0].String()) {
					t.Fatalf("defective example: %v (want %s)", err, problems[0])
				}
				if len(f.jobs()) != 0 {
					t.Fatal("a defective example was stored")
				}
				return
			}
			d, err := fa.ParseXML(data)
			if err != nil {
				t.Fatal(err)
			}
			f.set(config.PathSellerNIP, d.Podmiot1.DaneIdentyfikacyjne.NIP, config.Default)
			res, err := f.enqueue(f.base, KindXML, data, false)
			if err != nil {
				t.Fatal(err)
			}
			j := res.Job
			warnings := fa.Warnings(all)
			if len(res.Warnings) != len(warnings) {
				t.Fatalf("warnings %q, want the check's %v", res.Warnings, warnings)
			}
			for i, w := range warnings {
				if res.Warnings[i] != w.String() {
					t.Errorf("warning %d = %q, want %q", i, res.Warnings[i], w)
				}
			}
			want := KindInvoice
			if strings.HasPrefix(d.Fa.RodzajFaktury, "KOR") {
				want = KindCreditMemo
			}
			if j.EntityType != want || j.Input != string(data) || j.InputFormat != "xml" || j.IncrementID != d.Fa.P2 ||
				j.IssueDate != d.Fa.P1 || j.Status != store.JobPending {
				t.Fatalf("job = %+v (RodzajFaktury %s)", j, d.Fa.RodzajFaktury)
			}
			accepted++
		})
	}
	if accepted == 0 {
		t.Fatal("no official example was accepted")
	}
}
