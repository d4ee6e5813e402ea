package submit

import (
	"strings"
	"testing"
	"time"

	"github.com/ksefpl/ksefpl/pkg/certificate"
	"github.com/ksefpl/ksefpl/pkg/config"
	"github.com/ksefpl/ksefpl/pkg/kcert"
	"github.com/ksefpl/ksefpl/pkg/ksefsim"
	"github.com/ksefpl/ksefpl/pkg/store"
)

// A website that authenticates with a certificate sends like one with a token, and a
// certificate near its expiry is warned about once a day, in the output and the audit log.
func TestCertificateWebsiteSendsAndWarnsOnceADay(t *testing.T) {
	h := newHarness(t, ksefsim.Config{})
	m, err := kcert.NewTestCertificate(kcert.TestCertOptions{Kind: "seal", NIP: nipBase, KeyType: "rsa",
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(0, 0, 20)})
	if err != nil {
		t.Fatal(err)
	}
	p12, _ := kcert.EncodePKCS12(m, "")
	if _, err := certificate.Import(h.Ctx, h.Deps, certificate.ImportRequest{Scope: h.Scope("base"), Usage: certificate.Authentication, PKCS12: p12}); err != nil {
		t.Fatal(err)
	}
	h.Set(config.PathAuthMethod, config.AuthCertificate, config.Default)
	h.enqueue(1, "invoice", "C-1", invoiceJSON("C-1"))
	res := h.run(opts())
	if res.Accepted != 1 {
		t.Fatalf("accepted %d", res.Accepted)
	}
	warned := func(r *Result) bool {
		return strings.Contains(strings.Join(r.Warnings, "\n"), "authentication certificate "+kcert.SerialHex(m.Cert)+" of website base expires")
	}
	if !warned(res) {
		t.Fatalf("warnings %v", res.Warnings)
	}
	if again := h.run(opts()); warned(again) {
		t.Error("warned twice on the same day")
	}
	n := 0
	for _, e := range h.Trail(0) {
		if e.Reason == ReasonCertificateExpires && e.Event == store.EventWarning {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d audit warnings, want 1", n)
	}
	// The next day it warns again.
	d := *h.Deps
	d.Now = func() time.Time { return time.Now().Add(25 * time.Hour) }
	h.Deps = &d
	if next := h.run(opts()); !warned(next) {
		t.Error("no warning the next day")
	}
}
