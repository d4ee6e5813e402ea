package conncheck_test

import (
	"strings"
	"testing"
	"time"

	"github.com/ksefpl/ksefpl/internal/ksefpltest"
	"github.com/ksefpl/ksefpl/pkg/certificate"
	"github.com/ksefpl/ksefpl/pkg/config"
	"github.com/ksefpl/ksefpl/pkg/conncheck"
	"github.com/ksefpl/ksefpl/pkg/failure"
	"github.com/ksefpl/ksefpl/pkg/kcert"
	"github.com/ksefpl/ksefpl/pkg/secret"
)

// withCertificate imports a test seal for nip valid until notAfter and switches the base
// website to certificate authentication.
func withCertificate(t *testing.T, f *ksefpltest.Fixture, nip string, notAfter time.Time) *kcert.Material {
	t.Helper()
	m, err := kcert.NewTestCertificate(kcert.TestCertOptions{Kind: "seal", NIP: nip, KeyType: "ec", NotBefore: time.Now().Add(-time.Hour), NotAfter: notAfter})
	if err != nil {
		t.Fatal(err)
	}
	p12, _ := kcert.EncodePKCS12(m, "")
	if _, err := certificate.Import(f.Ctx, f.Deps, certificate.ImportRequest{Scope: f.Scope("base"), Usage: certificate.Authentication, PKCS12: p12}); err != nil {
		t.Fatal(err)
	}
	f.Set(config.PathAuthMethod, config.AuthCertificate, config.Default)
	return m
}

func run(t *testing.T, f *ksefpltest.Fixture) *conncheck.Report {
	t.Helper()
	r, err := conncheck.Run(f.Ctx, f.Deps, f.Scope("base"), conncheck.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func check(t *testing.T, r *conncheck.Report, name string) conncheck.Check {
	t.Helper()
	for _, c := range r.Checks {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no check %q", name)
	return conncheck.Check{}
}

func TestCertificateChecksInOrderThenAFullXAdESLogin(t *testing.T) {
	f := ksefpltest.NewFixture(t)
	m := withCertificate(t, f, ksefpltest.NIP, time.Now().AddDate(1, 0, 0))
	r := run(t, f)
	var names []string
	for _, c := range r.Checks {
		names = append(names, c.Name+"="+string(c.Status))
	}
	want := "configuration=pass certificate present=pass key decryptable=pass key matches the certificate=pass certificate validity=pass " +
		"NIP checksum=pass certificate identity=pass network reach=pass Latarnia status=pass public keys=pass authentication=pass clock skew=pass"
	if strings.Join(names, " ") != want {
		t.Fatalf("checks\n got %s\nwant %s", strings.Join(names, " "), want)
	}
	if !r.Success || r.AuthMethod != config.AuthCertificate || r.Certificate == nil || r.Certificate.Fingerprint != kcert.Fingerprint(m.Cert) ||
		r.TokenFingerprint != "" || !strings.Contains(check(t, r, "authentication").Detail, "challenge → xades → redeem") {
		t.Fatalf("report %+v", r)
	}
	// The outcome is recorded for the certificate, which the production guard compares.
	o, err := f.DB().LastAuthOutcome(f.Ctx, 1, "test-connection")
	if err != nil || !o.Success || o.TokenFingerprint != kcert.Fingerprint(m.Cert) {
		t.Fatalf("outcome %+v %v", o, err)
	}
}

func TestCertificateNearExpiryWarnsButPasses(t *testing.T) {
	f := ksefpltest.NewFixture(t)
	withCertificate(t, f, ksefpltest.NIP, time.Now().AddDate(0, 0, 10))
	r := run(t, f)
	v := check(t, r, "certificate validity")
	if v.Status != conncheck.Warn || !strings.Contains(v.Hint, "certificate:enroll") || !r.Success {
		t.Fatalf("validity %+v, success %v", v, r.Success)
	}
}

func TestExpiredCertificateFailsAsCredentials(t *testing.T) {
	f := ksefpltest.NewFixture(t)
	withCertificate(t, f, ksefpltest.NIP, time.Now().Add(time.Hour))
	d := *f.Deps
	d.Now = func() time.Time { return time.Now().Add(2 * time.Hour) }
	r, err := conncheck.Run(f.Ctx, &d, f.Scope("base"), conncheck.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c, failed := r.FirstFailure()
	if !failed || c.Name != "certificate validity" || c.Class != failure.Auth || check(t, r, "authentication").Status != conncheck.Skip {
		t.Fatalf("first failure %+v", c)
	}
	// A credential failure holds new jobs as AUTH_ERROR, as a refused token does.
	o, _ := f.DB().LastAuthOutcome(f.Ctx, 1, "test-connection")
	if o.Success || o.Reason != conncheck.ReasonTokenRejected {
		t.Fatalf("outcome %+v", o)
	}
}

func TestAnotherSubjectWarnsThenKSeFDecides(t *testing.T) {
	f := ksefpltest.NewFixture(t)
	withCertificate(t, f, ksefpltest.NIPShop2, time.Now().AddDate(1, 0, 0))
	r := run(t, f)
	if id := check(t, r, "certificate identity"); id.Status != conncheck.Warn || !strings.Contains(id.Detail, ksefpltest.NIPShop2) {
		t.Fatalf("identity %+v", id)
	}
	c, failed := r.FirstFailure()
	if !failed || c.Name != "authentication" || c.Class != failure.Auth || c.Code != "415" {
		t.Fatalf("first failure %+v", c)
	}
}

func TestCertificateMissingOrUndecryptable(t *testing.T) {
	f := ksefpltest.NewFixture(t)
	f.Set(config.PathAuthMethod, config.AuthCertificate, config.Default)
	r := run(t, f)
	if c, _ := r.FirstFailure(); c.Name != "configuration" || c.Class != failure.Invalid || !strings.Contains(c.Hint, "certificate:import") {
		t.Fatalf("no certificate: %+v", c)
	}
	if check(t, r, "certificate present").Status != conncheck.Fail {
		t.Fatal("certificate present should fail")
	}

	withCertificate(t, f, ksefpltest.NIP, time.Now().AddDate(1, 0, 0))
	other, _ := secret.GenerateKey()
	keys, _ := secret.ParseKeys(other)
	d := *f.Deps
	d.Keys = keys
	d.Config = config.New(f.DB(), keys, f.Getenv)
	r, err := conncheck.Run(f.Ctx, &d, f.Scope("base"), conncheck.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := r.FirstFailure()
	if c.Name != "key decryptable" || c.Class != failure.Auth || strings.Contains(c.Detail, "PRIVATE KEY") {
		t.Fatalf("undecryptable key: %+v", c)
	}
}
