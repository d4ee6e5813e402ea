package status

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ksefpl/ksefpl/internal/ksefpltest"
	"github.com/ksefpl/ksefpl/pkg/certificate"
	"github.com/ksefpl/ksefpl/pkg/config"
	"github.com/ksefpl/ksefpl/pkg/conncheck"
	"github.com/ksefpl/ksefpl/pkg/deps"
	"github.com/ksefpl/ksefpl/pkg/kcert"
	"github.com/ksefpl/ksefpl/pkg/ksefsim"
	"github.com/ksefpl/ksefpl/pkg/secret"
	"github.com/ksefpl/ksefpl/pkg/store"
)

// fixture is the shared fixture with nothing configured yet.
type fixture struct {
	*ksefpltest.Fixture
	t      *testing.T
	db     *store.DB
	cfg    *config.Service
	simURL string
	sim    *ksefsim.Server
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	x := ksefpltest.NewFixture(t, ksefpltest.Unconfigured())
	return &fixture{Fixture: x, t: t, db: x.DB(), cfg: x.Config(), simURL: x.URL, sim: x.Sim}
}

func (f *fixture) set(sc config.Scope, path, value string) {
	f.t.Helper()
	if _, err := f.cfg.Set(context.Background(), path, value, sc); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) scope(code string) config.Scope {
	f.t.Helper()
	sc, err := f.cfg.WebsiteScope(context.Background(), code)
	if err != nil {
		f.t.Fatal(err)
	}
	return sc
}

func (f *fixture) enqueue(websiteID int64, inc, status string) *store.Job {
	f.t.Helper()
	j, _, err := f.db.Enqueue(context.Background(), store.Job{WebsiteID: websiteID, EntityType: "invoice", IncrementID: inc,
		InputFormat: "json", Input: "{}", Status: status}, false, store.AuditEntry{Event: store.EventTransition, Actor: "test", Reason: "QUEUED"})
	if err != nil {
		f.t.Fatal(err)
	}
	return j
}

func TestCollectReportsEveryWebsite(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	tok, err := f.sim.IssueToken("5261040828")
	if err != nil {
		t.Fatal(err)
	}
	f.set(config.Default, config.PathEnvironment, "local")
	f.set(config.Default, config.PathBaseURL, f.simURL+"/v2")
	f.set(config.Default, config.PathSellerNIP, "5261040828")
	f.set(config.Default, config.PathAPIToken, tok)
	if _, err := f.db.CreateWebsite(ctx, "shop2", "Shop Two"); err != nil {
		t.Fatal(err)
	}
	shop2 := f.scope("shop2")
	f.set(shop2, config.PathSellerNIP, "7740001454")
	f.Setenv("KSEFPL_API_TOKEN_SHOP2", "not-a-real-token-but-a-secret")

	base := f.scope("base")
	// A real test-connection records the outcome status shows.
	rep, err := conncheck.Run(ctx, f.Deps, base, conncheck.Options{})
	if err != nil || !rep.Success {
		t.Fatalf("test-connection: %+v %v", rep, err)
	}
	first := f.enqueue(base.WebsiteID, "INV-1", store.JobPending)
	f.enqueue(base.WebsiteID, "INV-2", store.JobPending)
	f.enqueue(base.WebsiteID, "INV-3", store.JobFailed)
	f.enqueue(shop2.WebsiteID, "INV-9", store.JobAuthError)
	if err := f.db.CreateSession(ctx, store.Session{Reference: "20261120-SO-0000000001-AAAAAAAAAA-01", WebsiteID: base.WebsiteID,
		Status: store.SessionActive, OpenedAt: time.Now(), ValidUntil: time.Now().Add(time.Hour)}, store.AuditEntry{}); err != nil {
		t.Fatal(err)
	}
	if err := f.db.CreateSession(ctx, store.Session{Reference: "20261120-SO-0000000002-BBBBBBBBBB-02", WebsiteID: base.WebsiteID,
		Status: store.SessionClosed, OpenedAt: time.Now(), ValidUntil: time.Now().Add(time.Hour)}, store.AuditEntry{}); err != nil {
		t.Fatal(err)
	}

	now := first.CreatedAt.Add(90 * time.Minute)
	d := *f.Deps
	d.Now = func() time.Time { return now }
	got, err := Collect(ctx, &d, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Code != "base" || got[1].Code != "shop2" {
		t.Fatalf("websites %+v", got)
	}
	b, s2 := got[0], got[1]
	if b.Environment != "local" || b.APIURL != f.simURL+"/v2" || b.SellerNIP != "5261040828" {
		t.Errorf("base settings %+v", b)
	}
	if !b.Token.Configured || b.Token.FromEnv || b.Token.Source != "default" || len(b.Token.Fingerprint) != 12 || b.Token.Fingerprint != rep.TokenFingerprint[:12] {
		t.Errorf("base token %+v (fingerprint of the tested token %s)", b.Token, rep.TokenFingerprint)
	}
	if b.LastConnection == nil || !b.LastConnection.Success || !b.LastConnection.At.Equal(rep.TestedAt) || b.LastConnection.Fingerprint != b.Token.Fingerprint {
		t.Errorf("base last connection %+v, want success at %s", b.LastConnection, rep.TestedAt)
	}
	if b.Queue[store.JobPending] != 2 || b.Queue[store.JobFailed] != 1 || b.Queue[store.JobAccepted] != 0 || len(b.Queue) != len(JobStatuses) {
		t.Errorf("base queue %v", b.Queue)
	}
	if len(b.SessionsInFlight) != 1 || b.SessionsInFlight[0] != "20261120-SO-0000000001-AAAAAAAAAA-01" {
		t.Errorf("base sessions in flight %v", b.SessionsInFlight)
	}
	if b.OldestPendingAt == nil || !b.OldestPendingAt.Equal(first.CreatedAt) || b.OldestPendingAgeSeconds != 90*60 {
		t.Errorf("oldest pending %v, %d s; want %s, 5400 s", b.OldestPendingAt, b.OldestPendingAgeSeconds, first.CreatedAt)
	}

	// shop2: its own NIP, the token from its environment variable, no test yet, nothing pending.
	if s2.SellerNIP != "7740001454" || !s2.Token.FromEnv || s2.Token.Source != "KSEFPL_API_TOKEN_SHOP2" || s2.Token.Fingerprint == b.Token.Fingerprint {
		t.Errorf("shop2 %+v", s2)
	}
	if s2.LastConnection != nil || s2.OldestPendingAt != nil || s2.Queue[store.JobAuthError] != 1 || len(s2.SessionsInFlight) != 0 {
		t.Errorf("shop2 %+v", s2)
	}

	// --website limits the report; an unknown code is the typed scope error.
	one, err := Collect(ctx, f.Deps, Options{Website: "shop2"})
	if err != nil || len(one) != 1 || one[0].Code != "shop2" {
		t.Errorf("one website: %+v %v", one, err)
	}
	var se *config.ScopeError
	if _, err := Collect(ctx, f.Deps, Options{Website: "nope"}); !errors.As(err, &se) {
		t.Errorf("unknown website: %v, want *config.ScopeError", err)
	}
}

func TestCollectNamesAnUndecryptableToken(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.set(config.Default, config.PathAPIToken, "20251010-EC-1A2B3C4D5E-6F7A8B9C0D-1E|nip-5261040828|"+strings.Repeat("5ec7", 16))
	other, err := secret.ParseKeys("0123456789abcdef0123456789abcdef")
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.New(f.db, other, func(string) string { return "" })
	got, err := Collect(ctx, &deps.Deps{Config: cfg, DB: f.db}, Options{})
	if err != nil || len(got) != 1 {
		t.Fatalf("%+v %v", got, err)
	}
	tk := got[0].Token
	if !tk.Configured || tk.Problem != config.DecryptMessage || tk.Fingerprint != "" {
		t.Errorf("token %+v", tk)
	}
}

// status shows the authentication method and the certificate's days left, never its key.
func TestCollectShowsCertificates(t *testing.T) {
	f := ksefpltest.NewFixture(t)
	m, err := kcert.NewTestCertificate(kcert.TestCertOptions{Kind: "seal", NIP: ksefpltest.NIP, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(10*24*time.Hour + time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	p12, _ := kcert.EncodePKCS12(m, "")
	if _, err := certificate.Import(f.Ctx, f.Deps, certificate.ImportRequest{Scope: f.Scope("base"), Usage: certificate.Authentication, PKCS12: p12}); err != nil {
		t.Fatal(err)
	}
	f.Set(config.PathAuthMethod, config.AuthCertificate, config.Default)
	got, err := Collect(f.Ctx, f.Deps, Options{})
	if err != nil || len(got) != 1 {
		t.Fatal(err)
	}
	c := got[0].Certificate
	if got[0].AuthMethod != config.AuthCertificate || c == nil || c.Serial != kcert.SerialHex(m.Cert) || c.DaysLeft != 10 || c.Source != "stored" ||
		got[0].OfflineCertificate != nil {
		t.Fatalf("%+v %+v", got[0], c)
	}
}
