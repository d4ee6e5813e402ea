package qr

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ksefpl/ksefpl/internal/ksefpltest"
	"github.com/ksefpl/ksefpl/pkg/certificate"
	"github.com/ksefpl/ksefpl/pkg/config"
	"github.com/ksefpl/ksefpl/pkg/failure"
	"github.com/ksefpl/ksefpl/pkg/kcert"
	"github.com/ksefpl/ksefpl/pkg/store"
	"github.com/ksefpl/ksefpl/pkg/website"
)

// offlineJob queues a frozen invoice in website code and marks it issued offline24
// with a deadline.
func (f *jobFixture) offlineJob(code, increment string) *store.Job {
	f.t.Helper()
	j := f.job(code, increment, true, "")
	j, err := f.src.DB.UpdateJob(f.ctx, j.ID, nil, func(x *store.Job) error {
		x.OfflineMode, x.Deadline = "offline24", "2026-11-23"
		return nil
	}, store.AuditEntry{})
	if err != nil {
		f.t.Fatal(err)
	}
	return j
}

// importCert imports m for the usage in website code through pkg/certificate.
func (f *jobFixture) importCert(code, usage string, m *kcert.Material) {
	f.t.Helper()
	p12, err := kcert.EncodePKCS12(m, "pw")
	if err != nil {
		f.t.Fatal(err)
	}
	if _, err := certificate.Import(f.ctx, f.src, certificate.ImportRequest{Scope: f.Scope(code), Usage: usage, PKCS12: p12,
		Password: "pw", Actor: "test"}); err != nil {
		f.t.Fatal(err)
	}
}

// sellerOffline is an Offline certificate of the fixture's seller, valid for a year.
func sellerOffline(t *testing.T, keyType string) *kcert.Material {
	now := time.Now()
	return offlineCert(t, keyType, ksefpltest.NIP, now.Add(-time.Hour), now.AddDate(1, 0, 0))
}

func TestForJobOfflineBuildsBothCodes(t *testing.T) {
	for _, keyType := range []string{kcert.KeyEC, kcert.KeyRSA} {
		t.Run(keyType, func(t *testing.T) {
			f := newJobFixture(t)
			m := sellerOffline(t, keyType)
			f.importCert("base", certificate.Offline, m)
			j := f.offlineJob("base", "INV-1")
			got, err := ForJob(f.ctx, f.src, Selector{JobID: j.ID})
			if err != nil {
				t.Fatal(err)
			}
			if got.Link != f.wantLink("https://qr-test.ksef.mf.gov.pl") || got.Label != LabelOffline || !got.Offline() ||
				got.OfflineMode != "offline24" || got.Deadline != "2026-11-23" || got.DeadlineLifted || got.CertificateErr != nil || len(got.Warnings) != 0 {
				t.Fatalf("%+v", got)
			}
			c := got.Certificate
			serial := kcert.SerialHex(m.Cert)
			prefix := "https://qr-test.ksef.mf.gov.pl/certificate/Nip/5261040828/5261040828/" + serial + "/" + HashBase64URL(f.xml) + "/"
			if c == nil || c.Label != "CERTYFIKAT" || c.Serial != serial || c.Fingerprint != kcert.Fingerprint(m.Cert) ||
				!strings.HasPrefix(c.Link, prefix) || c.ContextType != "Nip" || c.ContextValue != ksefpltest.NIP || c.SellerNIP != ksefpltest.NIP {
				t.Fatalf("KOD II %+v\nwant prefix %s", c, prefix)
			}
			if err := VerifyCertificateLink(c.Link, m.Cert); err != nil {
				t.Fatal(err)
			}
			codes, err := got.Codes(KodAll)
			if err != nil || len(codes) != 2 || codes[0] != (Code{got.Link, "OFFLINE"}) || codes[1] != (Code{c.Link, "CERTYFIKAT"}) {
				t.Fatalf("codes %+v %v", codes, err)
			}
			for k, want := range map[Kod]Code{KodI: codes[0], KodII: codes[1]} {
				if one, err := got.Codes(k); err != nil || len(one) != 1 || one[0] != want {
					t.Fatalf("kod %d: %+v %v", k, one, err)
				}
			}
			if _, err := got.Codes(Kod(3)); !failure.Is(err, failure.Invalid) {
				t.Fatalf("kod 3: %v", err)
			}
			sheet, err := RenderCodes(0, codes...)
			if err != nil {
				t.Fatal(err)
			}
			checkSheet(t, sheet)
		})
	}
}

// Without an offline certificate KOD I is still returned; KOD II's absence is a typed
// error the caller shows, naming the commands that fix it.
func TestForJobOfflineWithoutOfflineCertificate(t *testing.T) {
	f := newJobFixture(t)
	// An authentication certificate does not count.
	auth, err := kcert.NewTestCertificate(kcert.TestCertOptions{Kind: kcert.KindSeal, NIP: ksefpltest.NIP})
	if err != nil {
		t.Fatal(err)
	}
	f.importCert("base", certificate.Authentication, auth)
	j := f.offlineJob("base", "INV-1")
	got, err := ForJob(f.ctx, f.src, Selector{JobID: j.ID})
	if err != nil {
		t.Fatal(err)
	}
	if got.Link != f.wantLink("https://qr-test.ksef.mf.gov.pl") || got.Label != LabelOffline || got.Certificate != nil {
		t.Fatalf("%+v", got)
	}
	var oe *OfflineCertificateError
	if !errors.As(got.CertificateErr, &oe) || oe.Problem != CertMissing || oe.Website != "base" || !failure.Is(got.CertificateErr, failure.Invalid) {
		t.Fatalf("CertificateErr %v", got.CertificateErr)
	}
	for _, want := range []string{"KOD II", "certificate:enroll --type offline", "certificate:import --type offline"} {
		if !strings.Contains(got.CertificateErr.Error(), want) {
			t.Errorf("message %q lacks %q", got.CertificateErr, want)
		}
	}
	if _, err := got.Codes(KodAll); !errors.Is(err, got.CertificateErr) {
		t.Fatalf("KodAll: %v", err)
	}
	if _, err := got.Codes(KodII); !errors.Is(err, got.CertificateErr) {
		t.Fatalf("KodII: %v", err)
	}
	if one, err := got.Codes(KodI); err != nil || len(one) != 1 || one[0].Link != got.Link {
		t.Fatalf("KodI: %+v %v", one, err)
	}
}

// A stored offline certificate whose key the deployment keys cannot open, or one that
// expired, is refused with its own reason.
func TestForJobOfflineUnusableCertificate(t *testing.T) {
	f := newJobFixture(t)
	m := sellerOffline(t, kcert.KeyEC)
	f.importCert("base", certificate.Offline, m)
	j := f.offlineJob("base", "INV-1")

	noKeys := *f.src
	noKeys.Keys = nil
	got, err := ForJob(f.ctx, &noKeys, Selector{JobID: j.ID})
	var oe *OfflineCertificateError
	var kd *website.KeyDecryptError
	if err != nil || got.Certificate != nil || !errors.As(got.CertificateErr, &oe) || oe.Problem != CertNoKey || !errors.As(got.CertificateErr, &kd) ||
		!strings.Contains(got.CertificateErr.Error(), "certificate:import --type offline") {
		t.Fatalf("without keys: %+v %v", got, err)
	}

	later := *f.src
	later.Now = func() time.Time { return m.Cert.NotAfter.Add(time.Hour) }
	got, err = ForJob(f.ctx, &later, Selector{JobID: j.ID})
	if err != nil || got.Certificate != nil || !errors.As(got.CertificateErr, &oe) || oe.Problem != CertExpired ||
		!strings.Contains(got.CertificateErr.Error(), "expired on") {
		t.Fatalf("expired: %+v %v", got, err)
	}

	// Close to its end it still signs, with a warning.
	soon := *f.src
	soon.Now = func() time.Time { return m.Cert.NotAfter.Add(-72 * time.Hour) }
	got, err = ForJob(f.ctx, &soon, Selector{JobID: j.ID})
	if err != nil || got.Certificate == nil || len(got.Warnings) != 1 || !strings.Contains(got.Warnings[0], "expires on") {
		t.Fatalf("expiring: %+v %v", got, err)
	}
}

// An online job gets no KOD II unless asked for; asked for, it is built.
func TestForJobOnlineHasNoCertificateCodeUnlessAsked(t *testing.T) {
	f := newJobFixture(t)
	m := sellerOffline(t, kcert.KeyEC)
	f.importCert("base", certificate.Offline, m)
	j := f.job("base", "INV-1", true, "")
	got, err := ForJob(f.ctx, f.src, Selector{JobID: j.ID})
	if err != nil || got.Offline() || got.Certificate != nil || got.CertificateErr != nil {
		t.Fatalf("%+v %v", got, err)
	}
	if codes, err := got.Codes(KodAll); err != nil || len(codes) != 1 {
		t.Fatalf("KodAll: %+v %v", codes, err)
	}
	var ie *InputError
	if _, err := got.Codes(KodII); !errors.As(err, &ie) || !strings.Contains(err.Error(), "only for invoices issued offline") {
		t.Fatalf("KodII: %v", err)
	}
	got, err = ForJob(f.ctx, f.src, Selector{JobID: j.ID, Certificate: true})
	if err != nil || got.Certificate == nil || VerifyCertificateLink(got.Certificate.Link, m.Cert) != nil {
		t.Fatalf("asked: %+v %v", got, err)
	}
	if codes, err := got.Codes(KodAll); err != nil || len(codes) != 2 {
		t.Fatalf("KodAll when asked: %+v %v", codes, err)
	}
}

// The context is the website's NIP (the one it authenticates as); the seller NIP is
// the invoice's. On the simulator the link points at its /qr and signs host and path.
func TestForJobOfflineContextAndLocalHost(t *testing.T) {
	f := newJobFixture(t)
	f.set(config.PathEnvironment, "local", config.Default)
	f.set(config.PathBaseURL, "http://127.0.0.1:8089/v2", config.Default)
	m := sellerOffline(t, kcert.KeyRSA)
	f.importCert("base", certificate.Offline, m)
	j := f.offlineJob("base", "INV-1")
	f.set(config.PathSellerNIP, "7740001454", config.Default)
	got, err := ForJob(f.ctx, f.src, Selector{JobID: j.ID})
	if err != nil || got.Certificate == nil {
		t.Fatalf("%+v %v", got, err)
	}
	prefix := "http://127.0.0.1:8089/qr/certificate/Nip/7740001454/5261040828/" + kcert.SerialHex(m.Cert) + "/"
	if !strings.HasPrefix(got.Certificate.Link, prefix) || got.Certificate.ContextValue != "7740001454" {
		t.Fatalf("%s\nwant prefix %s", got.Certificate.Link, prefix)
	}
	p, err := ParseCertificateLink(got.Certificate.Link)
	if err != nil || !strings.HasPrefix(p.SignedData, "127.0.0.1:8089/qr/certificate/") {
		t.Fatalf("%+v %v", p, err)
	}
	if err := VerifyCertificateLink(got.Certificate.Link, m.Cert); err != nil {
		t.Fatal(err)
	}
}

// The missing-certificate hint of another website names it.
func TestForJobOfflineHintNamesWebsite(t *testing.T) {
	f := newJobFixture(t)
	f.AddWebsite("shop2", ksefpltest.NIP)
	j := f.offlineJob("shop2", "INV-1")
	got, err := ForJob(f.ctx, f.src, Selector{JobID: j.ID})
	if err != nil || got.CertificateErr == nil || !strings.Contains(got.CertificateErr.Error(), "certificate:enroll --type offline --website shop2") {
		t.Fatalf("%+v %v", got, err)
	}
}
