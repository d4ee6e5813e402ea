package deps_test

import (
	"testing"
	"time"

	"github.com/ksefpl/ksefpl/internal/ksefpltest"
	"github.com/ksefpl/ksefpl/pkg/deps"
)

func TestDefaultsAndWebsite(t *testing.T) {
	var d deps.Deps
	if d.Env("X") != "" || time.Since(d.Clock()) > time.Minute {
		t.Fatal("zero Deps: no environment, the real clock")
	}
	w := d.WithDefaults()
	if w.Now == nil || w.Getenv == nil || d.Now != nil {
		t.Fatal("WithDefaults fills a copy")
	}

	f := ksefpltest.NewFixture(t, ksefpltest.WithoutSim())
	f.Setenv("KSEFPL_X", "1")
	if f.Deps.Env("KSEFPL_X") != "1" || f.Deps.Version != ksefpltest.Version {
		t.Fatal("FromHome keeps the process's environment and version")
	}
	s, err := f.Deps.Website(f.Ctx, f.Scope("base"))
	if err != nil || s.Seller.NIP != ksefpltest.NIP {
		t.Fatalf("Website: %v %+v", err, s)
	}
	o := f.Deps.ClientOptions()
	if o.DB != f.DB() || o.Keys != f.Deps.Keys || o.Version != ksefpltest.Version || o.Retry != ksefpltest.FastRetry {
		t.Fatalf("ClientOptions %+v", o)
	}
}
