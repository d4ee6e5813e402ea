package certificate_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ksefpl/ksefpl/internal/ksefpltest"
	"github.com/ksefpl/ksefpl/pkg/certificate"
	"github.com/ksefpl/ksefpl/pkg/config"
	"github.com/ksefpl/ksefpl/pkg/failure"
	"github.com/ksefpl/ksefpl/pkg/kcert"
	"github.com/ksefpl/ksefpl/pkg/ksefsim"
	"github.com/ksefpl/ksefpl/pkg/store"
	"github.com/ksefpl/ksefpl/pkg/testenv"
)

// testCert is a test seal or personal certificate valid from notBefore to notAfter.
func testCert(t *testing.T, kind, nip, keyType string, notBefore, notAfter time.Time) *kcert.Material {
	t.Helper()
	m, err := kcert.NewTestCertificate(kcert.TestCertOptions{Kind: kind, NIP: nip, KeyType: keyType, NotBefore: notBefore, NotAfter: notAfter})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func seal(t *testing.T, nip, keyType string) *kcert.Material {
	now := time.Now()
	return testCert(t, "seal", nip, keyType, now.Add(-time.Hour), now.AddDate(1, 0, 0))
}

func p12(t *testing.T, m *kcert.Material, password string) []byte {
	t.Helper()
	b, err := kcert.EncodePKCS12(m, password)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// importSeal imports m as the base website's authentication certificate.
func importSeal(t *testing.T, f *ksefpltest.Fixture, m *kcert.Material) *certificate.ImportResult {
	t.Helper()
	res, err := certificate.Import(f.Ctx, f.Deps, certificate.ImportRequest{Scope: f.Scope("base"), Usage: certificate.Authentication,
		PKCS12: p12(t, m, "pw"), Password: "pw", Actor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// assertNoPlainKey fails when the key's PKCS#8 DER, its base64 or its secret scalar is in
// a file of the home.
func assertNoPlainKey(t *testing.T, f *ksefpltest.Fixture, m *kcert.Material) {
	t.Helper()
	der, err := kcert.MarshalPKCS8(m.Key)
	if err != nil {
		t.Fatal(err)
	}
	needles := [][]byte{der, []byte(base64.StdEncoding.EncodeToString(der))}
	switch k := m.Key.(type) {
	case *ecdsa.PrivateKey:
		b, _ := k.Bytes()
		needles = append(needles, b, []byte(base64.StdEncoding.EncodeToString(b)))
	case *rsa.PrivateKey:
		needles = append(needles, k.D.Bytes())
	}
	entries, _ := os.ReadDir(f.Home.Dir)
	for _, e := range entries {
		b, _ := os.ReadFile(filepath.Join(f.Home.Dir, e.Name()))
		for _, n := range needles {
			if bytes.Contains(b, n) {
				t.Fatalf("the private key is in %s in plaintext", e.Name())
			}
		}
	}
}

func TestImportStoresTheKeyEncryptedAndAudits(t *testing.T) {
	for _, keyType := range []string{"ec", "rsa"} {
		t.Run(keyType, func(t *testing.T) {
			f := ksefpltest.NewFixture(t, ksefpltest.WithoutSim())
			m := seal(t, ksefpltest.NIP, keyType)
			res := importSeal(t, f, m)
			if !res.Certificate.InUse || res.Certificate.Serial != kcert.SerialHex(m.Cert) || res.Certificate.Identity != "Nip "+ksefpltest.NIP+" (organizationIdentifier)" {
				t.Fatalf("result %+v", res.Certificate)
			}
			if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "still authenticates with its token") {
				t.Errorf("warnings %v: want only the auth_method reminder", res.Warnings)
			}
			s, err := f.Deps.Website(f.Ctx, f.Scope("base"))
			if err != nil || s.AuthCert == nil || s.AuthCert.Material == nil || s.AuthCert.Fingerprint != kcert.Fingerprint(m.Cert) {
				t.Fatalf("website certificate %+v %v", s.AuthCert, err)
			}
			if err := s.AuthCert.Material.KeyMatches(); err != nil {
				t.Fatal("the stored key does not decrypt to the certificate's key:", err)
			}
			assertNoPlainKey(t, f, m)
			trail := f.Trail(0)
			if last := trail[len(trail)-1]; last.Reason != certificate.ReasonImported || last.Event != store.EventCertificate ||
				strings.Contains(last.Message, "PRIVATE") {
				t.Errorf("audit %+v", last)
			}
		})
	}
}

func TestImportRefusesWhatKSeFWouldNot(t *testing.T) {
	f := ksefpltest.NewFixture(t, ksefpltest.WithoutSim())
	now := time.Now()
	good := seal(t, ksefpltest.NIP, "ec")
	other := seal(t, ksefpltest.NIP, "ec")
	certPEM, _, _ := kcert.EncodePEM(good)
	_, otherKey, _ := kcert.EncodePEM(other)
	small := smallRSA(t)
	smallCert, smallKey, _ := kcert.EncodePEM(small)
	for _, c := range []struct {
		name string
		req  certificate.ImportRequest
		want string
	}{
		{"wrong password", certificate.ImportRequest{PKCS12: p12(t, good, "right"), Password: "not-the-password"}, "password"},
		{"key of another certificate", certificate.ImportRequest{CertPEM: certPEM, KeyPEM: otherKey}, "key"},
		{"expired", certificate.ImportRequest{PKCS12: p12(t, testCert(t, "seal", ksefpltest.NIP, "ec", now.AddDate(-2, 0, 0), now.AddDate(0, 0, -1)), "")}, "expired"},
		{"not yet valid", certificate.ImportRequest{PKCS12: p12(t, testCert(t, "seal", ksefpltest.NIP, "ec", now.AddDate(0, 0, 2), now.AddDate(1, 0, 0)), "")}, "not valid until"},
		{"RSA below 2048 bits", certificate.ImportRequest{CertPEM: smallCert, KeyPEM: smallKey}, "2048"},
		{"offline without the Offline key usage", certificate.ImportRequest{PKCS12: p12(t, good, ""), Usage: certificate.Offline}, "Offline"},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.req.Scope = f.Scope("base")
			if c.req.Usage == "" {
				c.req.Usage = certificate.Authentication
			}
			_, err := certificate.Import(f.Ctx, f.Deps, c.req)
			var ie *certificate.InvalidError
			if !errors.As(err, &ie) || !failure.Is(err, failure.Invalid) || !strings.Contains(strings.ToLower(err.Error()), strings.ToLower(c.want)) {
				t.Fatalf("err = %v, want an invalid-input error about %q", err, c.want)
			}
			if strings.Contains(err.Error(), "not-the-password") {
				t.Error("the password is in the error")
			}
			if rows, _ := f.DB().Certificates(f.Ctx, 0); len(rows) != 0 {
				t.Errorf("%d certificates stored after a refusal", len(rows))
			}
		})
	}
}

// smallRSA is a self-signed certificate with an RSA 1024 key (KSeF refuses it).
func smallRSA(t *testing.T) *kcert.Material {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	tpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "small", SerialNumber: "TINPL-" + ksefpltest.NIP},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(1, 0, 0), KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return &kcert.Material{Cert: c, Key: key}
}

func TestImportWarnsAboutAnotherSubject(t *testing.T) {
	f := ksefpltest.NewFixture(t, ksefpltest.WithoutSim())
	res := importSeal(t, f, seal(t, ksefpltest.NIPShop2, "ec"))
	if !strings.Contains(strings.Join(res.Warnings, "\n"), "identifies NIP "+ksefpltest.NIPShop2+", not the seller NIP "+ksefpltest.NIP) {
		t.Fatalf("warnings %v", res.Warnings)
	}
}

func TestListAndRemove(t *testing.T) {
	f := ksefpltest.NewFixture(t, ksefpltest.WithoutSim())
	m := seal(t, ksefpltest.NIP, "ec")
	importSeal(t, f, m)
	env := seal(t, ksefpltest.NIP, "rsa")
	certPEM, keyPEM, _ := kcert.EncodePEM(env)
	f.Setenv(config.EnvAPICert+"_BASE", string(certPEM)+string(keyPEM))
	list, err := certificate.List(f.Ctx, f.Deps, "base")
	if err != nil || len(list) != 2 || list[0].Source != "KSEFPL_API_CERT_BASE" || !list[0].InUse || list[1].Source != "stored" {
		t.Fatalf("list %+v %v", list, err)
	}
	// The environment override wins over the stored certificate.
	s, _ := f.Deps.Website(f.Ctx, f.Scope("base"))
	if s.AuthCert.Fingerprint != kcert.Fingerprint(env.Cert) {
		t.Fatalf("website uses %s, want the KSEFPL_API_CERT_BASE certificate", s.AuthCert.Serial)
	}
	if _, err := certificate.Remove(f.Ctx, f.Deps, f.Scope("base"), kcert.SerialHex(m.Cert), "test"); err != nil {
		t.Fatal(err)
	}
	var nf *certificate.NotFoundError
	if _, err := certificate.Remove(f.Ctx, f.Deps, f.Scope("base"), kcert.SerialHex(m.Cert), "test"); !errors.As(err, &nf) {
		t.Fatalf("second remove: %v", err)
	}
	if rows, _ := f.DB().Certificates(f.Ctx, 0); len(rows) != 0 {
		t.Fatalf("%d rows after remove", len(rows))
	}
}

// useCertificate imports m and makes the base website authenticate with it.
func useCertificate(t *testing.T, f *ksefpltest.Fixture, m *kcert.Material) {
	t.Helper()
	importSeal(t, f, m)
	f.Set(config.PathAuthMethod, config.AuthCertificate, config.Default)
}

// accessToken authenticates the base website as submit does.
func accessToken(t *testing.T, f *ksefpltest.Fixture) (string, error) {
	t.Helper()
	c, s := f.Client("base")
	return c.AccessToken(f.Ctx, s.Credentials())
}

// Every signature ksefpl sends verifies with xmlsec1, independently of ksefpl and of
// the simulator, for both key types.
func TestXAdESLoginsVerifyWithXmlsec1(t *testing.T) {
	xmlsec := testenv.Xmlsec1(t)
	for _, keyType := range []string{"ec", "rsa"} {
		t.Run(keyType, func(t *testing.T) {
			f := ksefpltest.NewFixture(t)
			m := seal(t, ksefpltest.NIP, keyType)
			useCertificate(t, f, m)
			if _, err := accessToken(t, f); err != nil {
				t.Fatal(err)
			}
			docs := f.Sim.SignedAuthRequests()
			if len(docs) != 1 {
				t.Fatalf("the simulator received %d signed requests", len(docs))
			}
			dir := t.TempDir()
			certPEM, _, _ := kcert.EncodePEM(&kcert.Material{Cert: m.Cert, Key: m.Key})
			os.WriteFile(filepath.Join(dir, "cert.pem"), certPEM, 0o600)
			os.WriteFile(filepath.Join(dir, "signed.xml"), docs[0], 0o600)
			out, err := exec.Command(xmlsec, "--verify", "--enabled-reference-uris", "empty,same-doc", "--trusted-pem", filepath.Join(dir, "cert.pem"),
				"--id-attr:Id", "http://uri.etsi.org/01903/v1.3.2#:SignedProperties", filepath.Join(dir, "signed.xml")).CombinedOutput()
			if err != nil || !strings.Contains(string(out), "OK") {
				t.Fatalf("xmlsec1 does not verify the signed AuthTokenRequest: %v\n%s", err, out)
			}
			// Tampered after signing: xmlsec1 and the simulator both refuse it.
			bad := bytes.Replace(docs[0], []byte("<Nip>"+ksefpltest.NIP), []byte("<Nip>"+ksefpltest.NIPShop2), 1)
			os.WriteFile(filepath.Join(dir, "bad.xml"), bad, 0o600)
			if exec.Command(xmlsec, "--verify", "--enabled-reference-uris", "empty,same-doc", "--trusted-pem", filepath.Join(dir, "cert.pem"),
				"--id-attr:Id", "http://uri.etsi.org/01903/v1.3.2#:SignedProperties", filepath.Join(dir, "bad.xml")).Run() == nil {
				t.Fatal("xmlsec1 accepted a tampered document")
			}
		})
	}
}

func TestXAdESLoginFailuresAreCredentialFailures(t *testing.T) {
	now := time.Now()
	for _, c := range []struct {
		name string
		prep func(t *testing.T, f *ksefpltest.Fixture) *kcert.Material
		want string
	}{
		{"expired", func(t *testing.T, f *ksefpltest.Fixture) *kcert.Material {
			return testCert(t, "seal", ksefpltest.NIP, "ec", now.AddDate(-1, 0, 0), now.Add(time.Minute))
		}, "expired"},
		{"revoked in KSeF", func(t *testing.T, f *ksefpltest.Fixture) *kcert.Material {
			m := seal(t, ksefpltest.NIP, "ec")
			if err := f.Sim.RevokeCertificate(kcert.SerialHex(m.Cert)); err != nil {
				t.Fatal(err)
			}
			return m
		}, "460"},
		{"another NIP without permissions", func(t *testing.T, f *ksefpltest.Fixture) *kcert.Material {
			return seal(t, ksefpltest.NIPShop2, "rsa")
		}, "415"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := ksefpltest.NewFixture(t)
			useCertificate(t, f, c.prep(t, f))
			if c.name == "expired" {
				d := *f.Deps
				d.Now = func() time.Time { return now.Add(time.Hour) }
				f.Deps = &d
			}
			_, err := accessToken(t, f)
			if !failure.Is(err, failure.Auth) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v (class %q), want an auth failure mentioning %q", err, failure.Of(err), c.want)
			}
		})
	}
}

func TestEnrollAuthenticationAndOffline(t *testing.T) {
	f := ksefpltest.NewFixture(t, ksefpltest.WithSim(ksefsim.Config{EnrollmentPolls: 2}))
	qualified := seal(t, ksefpltest.NIP, "ec")
	useCertificate(t, f, qualified)
	res, err := certificate.Enroll(f.Ctx, f.Deps, certificate.EnrollRequest{Scope: f.Scope("base"), Usage: certificate.Authentication,
		Wait: 10 * time.Second, PollInterval: time.Millisecond, Actor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Authenticated || !res.Certificate.InUse || res.Certificate.Origin != store.CertEnrolled || res.Certificate.Issuer != kcert.NameString(f.Sim.CACertificate().Subject) {
		t.Fatalf("enrolment %+v", res)
	}
	s, _ := f.Deps.Website(f.Ctx, f.Scope("base"))
	if s.AuthCert.Serial != res.Certificate.Serial {
		t.Fatalf("in use %s, want the KSeF certificate %s", s.AuthCert.Serial, res.Certificate.Serial)
	}
	if _, err := accessToken(t, f); err != nil {
		t.Fatal("the KSeF certificate does not authenticate:", err)
	}
	off, err := certificate.Enroll(f.Ctx, f.Deps, certificate.EnrollRequest{Scope: f.Scope("base"), Usage: certificate.Offline,
		Wait: 10 * time.Second, PollInterval: time.Millisecond, Actor: "test"})
	if err != nil || !off.Certificate.InUse {
		t.Fatalf("offline enrolment %+v %v", off, err)
	}
	s, _ = f.Deps.Website(f.Ctx, f.Scope("base"))
	if s.OfflineCert == nil || !certificate.IsOfflineCertificate(s.OfflineCert.Certificate) {
		t.Fatalf("offline certificate %+v", s.OfflineCert)
	}
	for _, r := range []string{certificate.ReasonEnrollmentSent, certificate.ReasonEnrolled, certificate.ReasonInUse} {
		found := false
		for _, e := range f.Trail(0) {
			found = found || e.Reason == r
		}
		if !found {
			t.Errorf("no %s audit row", r)
		}
	}
	// Revoked in KSeF, the KSeF certificate no longer authenticates.
	if _, err := certificate.Revoke(f.Ctx, f.Deps, f.Scope("base"), res.Certificate.Serial, "", "test"); err != nil {
		t.Fatal(err)
	}
	// Forget the cached KSeF tokens, so that the next call authenticates afresh.
	if _, err := f.DB().ForgetConnectionState(f.Ctx, []string{"website:1|"}, []int64{1}); err != nil {
		t.Fatal(err)
	}
	if _, err := accessToken(t, f); !failure.Is(err, failure.Auth) {
		t.Fatalf("after revocation: %v", err)
	}
}

func TestEnrollWaitsAcrossRuns(t *testing.T) {
	f := ksefpltest.NewFixture(t, ksefpltest.WithSim(ksefsim.Config{EnrollmentPolls: 3}))
	useCertificate(t, f, seal(t, ksefpltest.NIP, "ec"))
	req := certificate.EnrollRequest{Scope: f.Scope("base"), Usage: certificate.Offline, Wait: time.Millisecond, PollInterval: time.Millisecond, Actor: "test"}
	_, err := certificate.Enroll(f.Ctx, f.Deps, req)
	var pe *certificate.PendingError
	if !errors.As(err, &pe) || !failure.Is(err, failure.Unavailable) {
		t.Fatalf("err = %v, want the enrolment kept as pending", err)
	}
	req.Wait = 10 * time.Second
	res, err := certificate.Enroll(f.Ctx, f.Deps, req)
	if err != nil || !res.Resumed || res.Reference != pe.Reference {
		t.Fatalf("second run: %+v %v, want enrolment %s collected", res, err, pe.Reference)
	}
	if es, _ := f.DB().Enrollments(f.Ctx, 1, store.EnrollmentPending); len(es) != 0 {
		t.Errorf("%d enrolments still pending", len(es))
	}
}

func TestEnrollNeedsAnXAdESLogin(t *testing.T) {
	f := ksefpltest.NewFixture(t)
	_, err := certificate.Enroll(context.Background(), f.Deps, certificate.EnrollRequest{Scope: f.Scope("base"), Usage: certificate.Authentication})
	var ne *certificate.NeedsXAdESError
	if !errors.As(err, &ne) || !failure.Is(err, failure.Auth) {
		t.Fatalf("err = %v", err)
	}
	for _, s := range []string{"never with a KSeF token", "qualified electronic seal", "KSeF web application"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("the refusal does not say %q: %v", s, err)
		}
	}
}

func TestEnrollLimitReached(t *testing.T) {
	f := ksefpltest.NewFixture(t, ksefpltest.WithSim(ksefsim.Config{CertificateEnrollmentLimit: 1}))
	useCertificate(t, f, seal(t, ksefpltest.NIP, "ec"))
	req := certificate.EnrollRequest{Scope: f.Scope("base"), Usage: certificate.Offline, Wait: 10 * time.Second, PollInterval: time.Millisecond}
	if _, err := certificate.Enroll(f.Ctx, f.Deps, req); err != nil {
		t.Fatal(err)
	}
	_, err := certificate.Enroll(f.Ctx, f.Deps, req)
	var le *certificate.LimitError
	if !errors.As(err, &le) || !failure.Is(err, failure.Rejected) {
		t.Fatalf("err = %v, want the limit", err)
	}
}
