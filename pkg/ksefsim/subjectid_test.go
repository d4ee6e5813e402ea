package ksefsim

import (
	"strings"
	"testing"
)

func TestNIPChecksum(t *testing.T) {
	for nip, ok := range map[string]bool{
		"5265877635": true, "7335255579": true, "5261040828": true,
		"1234567890": false, // checksum 10 is never valid
		"5265877636": false, "526587763": false, "52658776a5": false,
	} {
		if validNIPChecksum(nip) != ok {
			t.Errorf("validNIPChecksum(%q) = %v", nip, !ok)
		}
	}
	f, problems := parseInvoice(withParties(fa3(testNIP, "X/1", newTestClock().Now()), "1234567890", "5265877636-00001"))
	if problems != nil {
		t.Fatal(problems)
	}
	got := identifierProblems(f)
	if len(got) != 2 || !strings.Contains(got[0], "1234567890 (Podmiot2)") || !strings.Contains(got[1], "5265877636-00001 (Podmiot3[1])") {
		t.Fatalf("identifierProblems = %q", got)
	}
}

// withParties replaces the buyer's NIP and adds a Podmiot3 with an internal identifier.
func withParties(doc []byte, buyerNIP, internalID string) []byte {
	s := strings.Replace(string(doc), "<NIP>"+otherNIP+"</NIP>", "<NIP>"+buyerNIP+"</NIP>", 1)
	third := "<Podmiot3><DaneIdentyfikacyjne><IDWew>" + internalID + "</IDWew><Nazwa>Oddział</Nazwa></DaneIdentyfikacyjne><Rola>2</Rola></Podmiot3>"
	return []byte(strings.Replace(s, "</Podmiot2>", "</Podmiot2>\n\t"+third, 1))
}

// TestSubjectIdentifierValidationFeature: sessions opened with X-KSeF-Feature:
// subject-identifier-validation reject (450) invoices with a bad NIP checksum; other
// sessions accept them, as the TEST environment does.
func TestSubjectIdentifierValidationFeature(t *testing.T) {
	t.Parallel()
	e := newBatchEnv(t, Config{InvoiceStepPolls: -1})
	access := e.loggedIn(testNIP)
	bad := withParties(fa3(testNIP, "FS/1", e.today()), "1234567890", "5265877635-00001")

	plain := e.openSession(access)
	if v, _ := plain.waitInvoice(plain.send(bad)); v.Status.Code != 200 {
		t.Fatalf("without the feature: %+v", v)
	}
	checked := e.openSessionWith(access, fa3Form(), "X-KSeF-Feature", "subject-identifier-validation")
	v, _ := checked.waitInvoice(checked.send(withParties(fa3(testNIP, "FS/2", e.today()), "1234567890", "5265877635-00001")))
	if v.Status.Code != 450 || v.Status.Description != "Błąd weryfikacji semantyki dokumentu faktury" ||
		len(v.Status.Details) != 1 || !strings.Contains(v.Status.Details[0], "1234567890") || v.KsefNumber != "" {
		t.Fatalf("with the feature: %+v", v)
	}
	if v, _ := checked.waitInvoice(checked.send(fa3(testNIP, "FS/3", e.today()))); v.Status.Code != 200 {
		t.Fatalf("valid identifiers with the feature: %+v", v)
	}

	// Batch sessions honour the header too.
	files := []pkgFile{{name: "ok.xml", data: fa3(testNIP, "FS/B1", e.today())}, {name: "bad.xml", data: withParties(fa3(testNIP, "FS/B2", e.today()), "5265877636", "5265877635-00001")}}
	b := e.newBatch(access, buildZip(t, files), 1, "")
	b.openHdr = []string{"X-KSeF-Feature", "subject-identifier-validation"}
	b.open()
	b.uploadAll()
	b.close()
	if st, _ := b.waitBatch(); st.SuccessfulInvoiceCount != 1 || st.FailedInvoiceCount != 1 {
		t.Fatalf("batch with the feature: %+v", st)
	}
	e.noViolations()
}
