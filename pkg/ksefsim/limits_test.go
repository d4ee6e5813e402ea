package ksefsim

import (
	"testing"

	"github.com/ksefpl/ksefpl/pkg/kcert"
)

func TestContextAndSubjectLimits(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{})
	access := e.loggedIn(testNIP)
	var ctx struct {
		OnlineSession, BatchSession struct{ MaxInvoiceSizeInMB, MaxInvoiceWithAttachmentSizeInMB, MaxInvoices int }
		CollectiveIdentifier        struct{ MaxInvoices int }
	}
	r := e.call("GET", "/v2/limits/context", nil, bearer(access)...)
	r.decode(t, &ctx)
	for _, s := range []struct{ MaxInvoiceSizeInMB, MaxInvoiceWithAttachmentSizeInMB, MaxInvoices int }{ctx.OnlineSession, ctx.BatchSession} {
		if r.status != 200 || s.MaxInvoiceSizeInMB != 1 || s.MaxInvoiceWithAttachmentSizeInMB != 3 || s.MaxInvoices != 10000 {
			t.Fatalf("GET /limits/context: %d %s", r.status, r.body)
		}
	}
	if ctx.CollectiveIdentifier.MaxInvoices != 500 {
		t.Fatalf("collectiveIdentifier: %s", r.body)
	}
	subject := func(access string) (int, int) {
		var s struct {
			Enrollment  struct{ MaxEnrollments int }
			Certificate struct{ MaxCertificates int }
		}
		r := e.call("GET", "/v2/limits/subject", nil, bearer(access)...)
		if r.status != 200 {
			t.Fatalf("GET /limits/subject: %d %s", r.status, r.body)
		}
		r.decode(t, &s)
		return s.Enrollment.MaxEnrollments, s.Certificate.MaxCertificates
	}
	if en, c := subject(access); en != 300 || c != 100 {
		t.Fatalf("NIP subject limits %d/%d, want 300/100", en, c)
	}
	person := e.testCert(kcert.TestCertOptions{Kind: kcert.KindPersonal, PESEL: "90010112345", KeyType: kcert.KeyEC})
	if err := e.sim.GrantPermissions(PermissionGrant{ContextNIP: testNIP, SubjectType: "Pesel", Value: "90010112345"}); err != nil {
		t.Fatal(err)
	}
	pAccess, _ := e.xadesLogin(person, testNIP, "certificateSubject")
	if en, c := subject(pAccess); en != 12 || c != 6 {
		t.Fatalf("PESEL subject limits %d/%d, want 12/6", en, c)
	}
	e.noViolations()
}
