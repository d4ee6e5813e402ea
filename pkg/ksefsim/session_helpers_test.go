package ksefsim

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ksefpl/ksefpl/pkg/testenv"
)

// Client-side wire types for sessions, written for the tests from open-api.json.
type (
	cOpen struct {
		ReferenceNumber, ValidUntil string
	}
	cInvStatus struct {
		Code        int
		Description string
		Details     []string
		Extensions  map[string]string
	}
	cInvoice struct {
		OrdinalNumber                               int
		InvoiceNumber, KsefNumber, ReferenceNumber  string
		InvoiceHash, AcquisitionDate, InvoicingDate string
		PermanentStorageDate                        string
		UpoDownloadURL                              string `json:"upoDownloadUrl"`
		UpoDownloadURLExpirationDate                string `json:"upoDownloadUrlExpirationDate"`
		InvoicingMode                               string
		Status                                      cInvStatus
	}
	cInvoices struct {
		ContinuationToken string
		Invoices          []cInvoice
	}
	cSessionStatus struct {
		Status struct {
			Code        int
			Description string
			Details     []string
		}
		DateCreated, DateUpdated, ValidUntil string
		UPO                                  *struct {
			Pages []struct {
				ReferenceNumber           string
				DownloadURL               string `json:"downloadUrl"`
				DownloadURLExpirationDate string `json:"downloadUrlExpirationDate"`
			}
		} `json:"upo"`
		InvoiceCount, SuccessfulInvoiceCount, FailedInvoiceCount int
	}
)

// otherNIP is a second NIP that satisfies the KSeF NIP pattern (testNIP is the first).
const otherNIP = "7335255579"

// csession is a client's view of an open online session.
type csession struct {
	e       *env
	access  string
	ref     string
	key, iv []byte
}

// loggedIn issues a token for nip and returns an access token.
func (e *env) loggedIn(nip string) string {
	e.t.Helper()
	_, tk := e.login(e.issue(nip), nip)
	return tk.AccessToken.Token
}

func fa3Form() map[string]string {
	return map[string]string{"systemCode": "FA (3)", "schemaVersion": "1-0E", "value": "FA"}
}

// openSession opens an FA (3) session with a fresh AES key.
func (e *env) openSession(access string) *csession {
	e.t.Helper()
	return e.openSessionForm(access, fa3Form())
}

func (e *env) openSessionForm(access string, form map[string]string) *csession {
	e.t.Helper()
	return e.openSessionWith(access, form)
}

// openSessionWith opens a session of form, sending the extra headers with the open.
func (e *env) openSessionWith(access string, form map[string]string, headers ...string) *csession {
	e.t.Helper()
	cert, pub := e.cert(usageSymmetricEncryption)
	key, iv := make([]byte, 32), make([]byte, 16)
	_, _ = rand.Read(key)
	_, _ = rand.Read(iv)
	wrapped := encryptToken(e.t, pub, string(key))
	r := e.call("POST", "/v2/sessions/online", map[string]any{
		"formCode": form,
		"encryption": map[string]string{
			"encryptedSymmetricKey": wrapped, "initializationVector": base64.StdEncoding.EncodeToString(iv),
			"publicKeyId": cert.PublicKeyID,
		},
	}, append(bearer(access), headers...)...)
	if r.status != 201 {
		e.t.Fatalf("open session: %d %s", r.status, r.body)
	}
	var o cOpen
	r.decode(e.t, &o)
	return &csession{e: e, access: access, ref: o.ReferenceNumber, key: key, iv: iv}
}

func encryptCBC(t *testing.T, key, iv, plain []byte) []byte {
	t.Helper()
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	pad := 16 - len(plain)%16
	buf := append(append([]byte{}, plain...), []byte(strings.Repeat(string(rune(pad)), pad))...)
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(buf, buf)
	return buf
}

func b64sha(b []byte) string {
	h := sha256.Sum256(b)
	return base64.StdEncoding.EncodeToString(h[:])
}

// sendBody is the SendInvoiceRequest for doc; tweak may alter it before sending.
func (cs *csession) sendBody(doc []byte) map[string]any {
	ct := encryptCBC(cs.e.t, cs.key, cs.iv, doc)
	return map[string]any{
		"invoiceHash": b64sha(doc), "invoiceSize": len(doc),
		"encryptedInvoiceHash": b64sha(ct), "encryptedInvoiceSize": len(ct),
		"encryptedInvoiceContent": base64.StdEncoding.EncodeToString(ct),
	}
}

func (cs *csession) sendRaw(body map[string]any) reply {
	cs.e.t.Helper()
	return cs.e.call("POST", "/v2/sessions/online/"+cs.ref+"/invoices", body, bearer(cs.access)...)
}

// send sends doc and returns the invoice reference number, failing on anything but 202.
func (cs *csession) send(doc []byte) string {
	cs.e.t.Helper()
	r := cs.sendRaw(cs.sendBody(doc))
	if r.status != 202 {
		cs.e.t.Fatalf("send invoice: %d %s", r.status, r.body)
	}
	var out struct{ ReferenceNumber string }
	r.decode(cs.e.t, &out)
	if !validRefNumber(out.ReferenceNumber) || out.ReferenceNumber[9:11] != infixInvoice {
		cs.e.t.Fatalf("invoice reference %q is not an EE reference number", out.ReferenceNumber)
	}
	return out.ReferenceNumber
}

func (cs *csession) invoice(ref string) cInvoice {
	cs.e.t.Helper()
	r := cs.e.call("GET", "/v2/sessions/"+cs.ref+"/invoices/"+ref, nil, bearer(cs.access)...)
	if r.status != 200 {
		cs.e.t.Fatalf("invoice status: %d %s", r.status, r.body)
	}
	var v cInvoice
	r.decode(cs.e.t, &v)
	return v
}

// waitInvoice polls until the invoice is final and returns it with the sequence of
// codes seen.
func (cs *csession) waitInvoice(ref string) (cInvoice, []int) {
	cs.e.t.Helper()
	var seen []int
	for range 20 {
		v := cs.invoice(ref)
		seen = append(seen, v.Status.Code)
		if v.Status.Code != 100 && v.Status.Code != 150 {
			return v, seen
		}
	}
	cs.e.t.Fatalf("invoice %s never left processing: %v", ref, seen)
	return cInvoice{}, nil
}

func (cs *csession) status() cSessionStatus {
	cs.e.t.Helper()
	r := cs.e.call("GET", "/v2/sessions/"+cs.ref, nil, bearer(cs.access)...)
	if r.status != 200 {
		cs.e.t.Fatalf("session status: %d %s", r.status, r.body)
	}
	var v cSessionStatus
	r.decode(cs.e.t, &v)
	return v
}

func (cs *csession) waitSession() (cSessionStatus, []int) {
	cs.e.t.Helper()
	var seen []int
	for range 20 {
		v := cs.status()
		seen = append(seen, v.Status.Code)
		if v.Status.Code != 100 && v.Status.Code != 170 {
			return v, seen
		}
	}
	cs.e.t.Fatalf("session never became final: %v", seen)
	return cSessionStatus{}, nil
}

func (cs *csession) close() {
	cs.e.t.Helper()
	if r := cs.e.call("POST", "/v2/sessions/online/"+cs.ref+"/close", nil, bearer(cs.access)...); r.status != 204 {
		cs.e.t.Fatalf("close: %d %s", r.status, r.body)
	}
}

// fa3 is a minimal FA (3)-shaped invoice with the fields the simulator reads.
func fa3(nip, number string, issued time.Time) []byte {
	return []byte(fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?>
<Faktura xmlns="http://crd.gov.pl/wzor/2025/06/25/13775/">
	<Naglowek>
		<KodFormularza kodSystemowy="FA (3)" wersjaSchemy="1-0E">FA</KodFormularza>
		<WariantFormularza>3</WariantFormularza>
		<DataWytworzeniaFa>%sT08:00:00Z</DataWytworzeniaFa>
	</Naglowek>
	<Podmiot1>
		<DaneIdentyfikacyjne><NIP>%s</NIP><Nazwa>Sklep testowy sp. z o.o.</Nazwa></DaneIdentyfikacyjne>
		<Adres><KodKraju>PL</KodKraju><AdresL1>ul. Próbna 1</AdresL1></Adres>
	</Podmiot1>
	<Podmiot2>
		<DaneIdentyfikacyjne><NIP>%s</NIP><Nazwa>Nabywca</Nazwa></DaneIdentyfikacyjne>
	</Podmiot2>
	<Fa>
		<KodWaluty>PLN</KodWaluty>
		<P_1>%s</P_1>
		<P_2>%s</P_2>
		<P_15>123.00</P_15>
		<RodzajFaktury>VAT</RodzajFaktury>
	</Fa>
</Faktura>
`, issued.Format("2006-01-02"), nip, otherNIP, issued.Format("2006-01-02"), number))
}

// today is the simulator's acceptance date for the test clock.
func (e *env) today() time.Time { return e.clock.Now() }

// download fetches a URL without any Authorization header.
func (e *env) download(rawURL string) reply {
	e.t.Helper()
	resp, err := http.Get(rawURL)
	if err != nil {
		e.t.Fatalf("GET %s: %v", rawURL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: b}
}

// validateUPO runs xmllint against the official UPO v4-3 XSD.
func validateUPO(t *testing.T, body []byte) {
	t.Helper()
	xmllint := testenv.Xmllint(t)
	xsd := testenv.SharedPath(t, "schemas", "UPO-v4-3.xsd")
	f := filepath.Join(t.TempDir(), "upo.xml")
	if err := os.WriteFile(f, body, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(xmllint, "--nonet", "--noout", "--schema", xsd, f).CombinedOutput()
	if err != nil {
		t.Fatalf("UPO does not validate against UPO-v4-3.xsd: %v\n%s\n%s", err, out, body)
	}
}

func assertMetaHash(t *testing.T, r reply) {
	t.Helper()
	if got, want := r.header.Get("x-ms-meta-hash"), b64sha(r.body); got != want {
		t.Fatalf("x-ms-meta-hash %q, want SHA-256 of the body %q", got, want)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/xml") {
		t.Fatalf("Content-Type %q, want application/xml", ct)
	}
}
