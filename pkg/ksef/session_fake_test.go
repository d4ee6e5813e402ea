package ksef

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ksefpl/ksefpl/internal/oapicheck"
	"github.com/ksefpl/ksefpl/pkg/testenv"
)

// fakeSessions is a test-local KSeF serving the online-session, status and
// UPO endpoints over real HTTP with real crypto: it unwraps the session key
// with its RSA private key, decrypts every invoice and checks the declared
// hashes and sizes, as KSeF does. It answers in the open-api-2.8.1.json shapes;
// tests wrap it with the contract checker.
type fakeSessions struct {
	t     *testing.T
	srv   *httptest.Server
	check *oapicheck.Checker

	mu       sync.Mutex
	seq      int
	access   string
	keys     []*rsa.PrivateKey
	certs    []PublicKeyCertificate
	sessions map[string]*fakeSession
	calls    map[string]int
	lastHdr  map[string]http.Header // last request headers by endpoint

	// hooks
	sendStatus    []int // HTTP statuses to answer sends with before accepting (500, 429, -1 = drop the connection)
	pendingPolls  int   // invoice status polls answering 100/150 before the result
	closingPolls  int   // session status polls answering 170 after close
	rejectOldKey  bool  // answer 21470 to a publicKeyId that is not the newest
	tamperUPO     bool  // send an x-ms-meta-hash that does not match
	omitUPOHash   bool  // send no x-ms-meta-hash
	expiredLinks  bool  // pre-signed links answer 403 AuthenticationFailed
	invoiceResult func(xml []byte) InvoiceStatus
	unavailable   int    // sends to answer 21184 "Sesja tymczasowo niedostępna" before accepting
	warning       string // X-System-Warning sent with every /v2 answer
}

type fakeSession struct {
	ref      string
	key, iv  []byte
	form     FormCode
	closed   bool
	polls    int
	invoices []*fakeInvoice
}

type fakeInvoice struct {
	ref, hash, ksef string
	xml             []byte
	polls           int
	result          InvoiceStatus
}

// The official contract, loaded once per test binary (loading is slow); each
// test takes a Fresh checker of it.
var (
	contractOnce sync.Once
	contract     *oapicheck.Checker
	contractErr  error
)

// ContractChecker returns a fresh checker of open-api-2.8.1.json (the API
// production runs) for one test. It is
// exported for the package's external tests (test builds only).
func ContractChecker(t testing.TB) *oapicheck.Checker {
	t.Helper()
	path := testenv.SharedPath(t, "ksef-docs", "open-api-2.8.1.json")
	contractOnce.Do(func() { contract, contractErr = oapicheck.Load(context.Background(), path) })
	if contractErr != nil {
		t.Fatalf("load the contract: %v", contractErr)
	}
	return contract.Fresh()
}

func newFakeSessions(t *testing.T) *fakeSessions {
	t.Helper()
	f := &fakeSessions{t: t, access: "access-jwt", sessions: map[string]*fakeSession{}, calls: map[string]int{}, lastHdr: map[string]http.Header{}}
	f.rotateKey()
	chk := ContractChecker(t)
	f.check = chk
	f.srv = httptest.NewServer(chk.Middleware(http.HandlerFunc(f.serve)))
	t.Cleanup(func() {
		f.srv.Close()
		for _, v := range chk.Violations() {
			if strings.HasSuffix(v, "-> 500: response: status is not supported") {
				continue // HTTP 500 is observed in practice but absent from the contract
			}
			t.Errorf("contract violation: %s", v)
		}
	})
	return f
}

func (f *fakeSessions) client(t *testing.T) *Client {
	return newTestClient(t, f.srv.URL+"/v2", func(o *Options) { o.StatusPollInterval = time.Millisecond })
}

// rotateKey makes a new RSA key the current SymmetricKeyEncryption key.
func (f *fakeSessions) rotateKey() {
	f.t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		f.t.Fatal(err)
	}
	now := time.Now()
	from := now.Add(-time.Hour).Add(time.Duration(len(f.keys)) * time.Minute)
	tpl := &x509.Certificate{SerialNumber: big.NewInt(int64(len(f.keys) + 1)), Subject: pkix.Name{CommonName: "MF (test)"}, NotBefore: from, NotAfter: now.Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &k.PublicKey, k)
	if err != nil {
		f.t.Fatal(err)
	}
	spki, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	h := sha256.Sum256(spki)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.keys = append(f.keys, k)
	f.certs = []PublicKeyCertificate{{Certificate: base64.StdEncoding.EncodeToString(der), CertificateID: fmt.Sprint(len(f.keys)),
		PublicKeyID: base64.StdEncoding.EncodeToString(h[:]), ValidFrom: from, ValidTo: now.Add(24 * time.Hour), Usage: []string{"SymmetricKeyEncryption"}}}
}

func (f *fakeSessions) count(ep string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[ep]
}

func (f *fakeSessions) header(ep string) http.Header {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lastHdr[ep]
}

func (f *fakeSessions) ref(infix string) string {
	f.seq++
	return fmt.Sprintf("20250625-%s-%010X-B675CF5D68-07", infix, f.seq)
}

func (f *fakeSessions) upoXML(what string) []byte {
	return []byte(`<?xml version="1.0" encoding="UTF-8"?><Potwierdzenie xmlns="http://upo.schematy.mf.gov.pl/KSeF/v4-3"><Opis>` + what + `</Opis></Potwierdzenie>`)
}

func exceptionResponse(w http.ResponseWriter, code int, desc, detail string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(400)
	_ = json.NewEncoder(w).Encode(map[string]any{"exception": map[string]any{
		"exceptionDetailList": []map[string]any{{"exceptionCode": code, "exceptionDescription": desc, "details": []string{detail}}},
		"referenceNumber":     "20250625-EE-0000000001-B675CF5D68-07", "serviceCode": "00-abc", "serviceCtx": "srvABCDA", "serviceName": "Undefined",
		"timestamp": time.Now().UTC().Format(time.RFC3339)}})
}

func (f *fakeSessions) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	path := strings.TrimPrefix(r.URL.Path, "/v2")
	parts := strings.Split(strings.Trim(path, "/"), "/")
	ep := r.Method + " " + path
	switch {
	case strings.HasPrefix(path, "/storage/"):
		ep = "GET /storage"
	case len(parts) >= 2 && parts[0] == "sessions" && parts[1] != "online":
		ep = r.Method + " /sessions/{ref}" + strings.TrimPrefix(path, "/sessions/"+parts[1])
		if len(parts) >= 4 && parts[2] == "invoices" && parts[3] != "failed" && parts[3] != "ksef" {
			ep = r.Method + " /sessions/{ref}/invoices/{inv}" + strings.TrimPrefix(path, "/sessions/"+parts[1]+"/invoices/"+parts[3])
		}
		if len(parts) >= 4 && parts[2] == "upo" {
			ep = "GET /sessions/{ref}/upo/{upo}"
		}
		if len(parts) >= 5 && parts[3] == "ksef" {
			ep = "GET /sessions/{ref}/invoices/ksef/{n}/upo"
		}
	case len(parts) >= 3 && parts[0] == "sessions" && parts[1] == "online":
		ep = r.Method + " /sessions/online/{ref}/" + parts[len(parts)-1]
	case len(parts) == 2 && parts[0] == "tokens":
		ep = r.Method + " /tokens/{ref}"
	}
	f.calls[ep]++
	f.lastHdr[ep] = r.Header.Clone()
	if f.warning != "" && ep != "GET /storage" {
		w.Header().Set(SystemWarningHeader, f.warning)
	}
	if ep != "GET /security/public-key-certificates" && ep != "GET /storage" && r.Header.Get("Authorization") != "Bearer "+f.access {
		problem401(w)
		return
	}
	switch ep {
	case "GET /security/public-key-certificates":
		writeJSON(w, 200, f.certs)
	case "POST /sessions/online":
		f.openSession(w, r)
	case "POST /sessions/online/{ref}/invoices":
		f.sendInvoice(w, r, parts[2])
	case "POST /sessions/online/{ref}/close":
		s := f.sessions[parts[2]]
		switch {
		case s == nil:
			exceptionResponse(w, 21173, "Brak sesji o wskazanym numerze referencyjnym.", "Sesja o numerze referencyjnym "+parts[2]+" nie została odnaleziona.")
		case s.closed:
			exceptionResponse(w, 21180, "Status sesji nie pozwala na wykonanie operacji.", "Status sesji 170 uniemożliwia jej zamknięcie.")
		default:
			s.closed = true
			w.WriteHeader(204)
		}
	case "GET /sessions/{ref}":
		f.sessionStatus(w, parts[1])
	case "GET /sessions/{ref}/invoices", "GET /sessions/{ref}/invoices/failed":
		f.listInvoices(w, r, parts[1], strings.HasSuffix(path, "/failed"))
	case "GET /sessions/{ref}/invoices/{inv}":
		s := f.sessions[parts[1]]
		inv := s.find(parts[3])
		if inv == nil {
			exceptionResponse(w, 21405, "Błąd walidacji danych wejściowych.", "invoice not found")
			return
		}
		writeJSON(w, 200, f.invoiceView(s, inv, true))
	case "GET /sessions/{ref}/invoices/{inv}/upo":
		s := f.sessions[parts[1]]
		inv := s.find(parts[3])
		if inv == nil || inv.ksef == "" {
			exceptionResponse(w, 21178, "Nie znaleziono UPO dla podanych kryteriów.", "brak")
			return
		}
		f.writeUPO(w, f.upoXML(inv.ksef))
	case "GET /sessions/{ref}/invoices/ksef/{n}/upo":
		s := f.sessions[parts[1]]
		for _, inv := range s.invoices {
			if inv.ksef == parts[4] {
				f.writeUPO(w, f.upoXML(inv.ksef))
				return
			}
		}
		exceptionResponse(w, 21178, "Nie znaleziono UPO dla podanych kryteriów.", "brak")
	case "GET /sessions/{ref}/upo/{upo}":
		f.writeUPO(w, f.upoXML("session "+parts[1]))
	case "GET /storage":
		if r.Header.Get("Authorization") != "" {
			f.t.Errorf("pre-signed UPO link requested with an Authorization header")
		}
		if r.URL.Query().Get("sig") != "s3cr3t" {
			w.WriteHeader(403)
			return
		}
		if f.expiredLinks {
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(403)
			_, _ = w.Write([]byte(`<?xml version="1.0" encoding="utf-8"?><Error><Code>AuthenticationFailed</Code><Message>Signed expiry time has passed</Message></Error>`))
			return
		}
		f.writeUPO(w, f.upoXML("storage "+strings.TrimPrefix(path, "/storage/")))
	case "DELETE /tokens/{ref}":
		w.WriteHeader(204)
	default:
		http.NotFound(w, r)
	}
}

func (s *fakeSession) find(ref string) *fakeInvoice {
	if s == nil {
		return nil
	}
	for _, inv := range s.invoices {
		if inv.ref == ref {
			return inv
		}
	}
	return nil
}

func (f *fakeSessions) writeUPO(w http.ResponseWriter, xml []byte) {
	w.Header().Set("Content-Type", "application/xml")
	switch {
	case f.omitUPOHash:
	case f.tamperUPO:
		w.Header().Set("x-ms-meta-hash", SHA256Base64(append(xml, ' ')))
	default:
		w.Header().Set("x-ms-meta-hash", SHA256Base64(xml))
	}
	_, _ = w.Write(xml)
}

func (f *fakeSessions) openSession(w http.ResponseWriter, r *http.Request) {
	var req struct {
		FormCode   FormCode `json:"formCode"`
		Encryption struct {
			EncryptedSymmetricKey string `json:"encryptedSymmetricKey"`
			InitializationVector  string `json:"initializationVector"`
			PublicKeyID           string `json:"publicKeyId"`
		} `json:"encryption"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		exceptionResponse(w, 21405, "Błąd walidacji danych wejściowych.", err.Error())
		return
	}
	cur := f.certs[0].PublicKeyID
	if req.Encryption.PublicKeyID != cur {
		if f.rejectOldKey {
			exceptionResponse(w, 21470, "Przesłany identyfikator klucza jest nieznany lub wskazuje na wycofany klucz.", "Klucz o identyfikatorze "+req.Encryption.PublicKeyID+" nie jest wspierany.")
			return
		}
		f.t.Errorf("publicKeyId %q is not the current key %q", req.Encryption.PublicKeyID, cur)
	}
	wrapped, _ := base64.StdEncoding.DecodeString(req.Encryption.EncryptedSymmetricKey)
	key, err := rsa.DecryptOAEP(sha256.New(), nil, f.keys[len(f.keys)-1], wrapped, nil)
	if err != nil || len(key) != 32 {
		f.t.Errorf("the session key does not unwrap with RSA-OAEP SHA-256: %v (len %d)", err, len(key))
	}
	iv, _ := base64.StdEncoding.DecodeString(req.Encryption.InitializationVector)
	if len(iv) != 16 {
		f.t.Errorf("IV has %d bytes", len(iv))
	}
	s := &fakeSession{ref: f.ref("SO"), key: key, iv: iv, form: req.FormCode}
	f.sessions[s.ref] = s
	writeJSON(w, 201, map[string]any{"referenceNumber": s.ref, "validUntil": time.Now().Add(12 * time.Hour).Format(time.RFC3339Nano)})
}

func (f *fakeSessions) sendInvoice(w http.ResponseWriter, r *http.Request, ref string) {
	if len(f.sendStatus) > 0 {
		st := f.sendStatus[0]
		f.sendStatus = f.sendStatus[1:]
		switch st {
		case -1:
			// Drop the connection without an answer.
			panic(http.ErrAbortHandler)
		case 429:
			w.Header().Set("Retry-After", "0")
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(429)
			_ = json.NewEncoder(w).Encode(map[string]any{"title": "Too Many Requests", "status": 429, "detail": "Przekroczono limit 10 żądań na sekundę.",
				"instance": r.URL.Path, "timestamp": time.Now().UTC().Format(time.RFC3339Nano), "traceId": "673843e023c432286660bc0501a3af44"})
			return
		default:
			w.WriteHeader(st)
			_, _ = w.Write([]byte(`{"exception":{"exceptionDetailList":[{"exceptionCode":500,"exceptionDescription":"Wystąpił nieoczekiwany błąd."}]}}`))
			return
		}
	}
	s := f.sessions[ref]
	if s == nil {
		exceptionResponse(w, 21173, "Brak sesji o wskazanym numerze referencyjnym.", "Sesja o numerze referencyjnym "+ref+" nie została odnaleziona.")
		return
	}
	if f.unavailable > 0 {
		f.unavailable--
		problem400(w, ErrCodeSessionUnavailable, "Sesja tymczasowo niedostępna.",
			"Trwają prace serwisowe i sesja "+ref+" jest tymczasowo niedostępna. Spróbuj ponownie później lub otwórz nową sesję, aby wysłać kolejne faktury.")
		return
	}
	if s.closed {
		exceptionResponse(w, 21180, "Status sesji nie pozwala na wykonanie operacji.", "Status sesji 170 uniemożliwia wysyłkę faktur.")
		return
	}
	var req InvoicePayload
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		exceptionResponse(w, 21405, "Błąd walidacji danych wejściowych.", err.Error())
		return
	}
	ct, err := base64.StdEncoding.DecodeString(req.EncryptedInvoiceContent)
	if err != nil {
		exceptionResponse(w, 21405, "Błąd walidacji danych wejściowych.", "encryptedInvoiceContent is not Base64")
		return
	}
	if len(ct) != req.EncryptedInvoiceSize {
		exceptionResponse(w, 21402, "Nieprawidłowy rozmiar pliku.", "Długość treści nie zgadza się z rozmiarem pliku.")
		return
	}
	if SHA256Base64(ct) != req.EncryptedInvoiceHash {
		exceptionResponse(w, 21403, "Nieprawidłowy skrót pliku.", "Skrót treści nie zgadza się ze skrótem pliku.")
		return
	}
	xml, err := AESDecryptCBC(s.key, s.iv, ct)
	if err != nil {
		f.t.Errorf("invoice does not decrypt with the session key and IV: %v", err)
		return
	}
	if len(xml) != req.InvoiceSize || SHA256Base64(xml) != req.InvoiceHash {
		f.t.Errorf("plaintext size/hash mismatch: %d/%s vs declared %d/%s", len(xml), SHA256Base64(xml), req.InvoiceSize, req.InvoiceHash)
	}
	inv := &fakeInvoice{ref: f.ref("EE"), hash: req.InvoiceHash, xml: xml, result: InvoiceStatus{Code: 200, Description: "Sukces"}}
	if f.invoiceResult != nil {
		inv.result = f.invoiceResult(xml)
	}
	if inv.result.Code == 200 {
		inv.ksef = NewKSeFNumber("5265877635", time.Now(), fmt.Sprintf("%012X", f.seq))
	}
	s.invoices = append(s.invoices, inv)
	writeJSON(w, 202, map[string]any{"referenceNumber": inv.ref})
}

func (f *fakeSessions) invoiceView(s *fakeSession, inv *fakeInvoice, poll bool) map[string]any {
	st := inv.result
	if inv.polls < f.pendingPolls {
		st = InvoiceStatus{Code: 100, Description: "Faktura przyjęta do dalszego przetwarzania"}
		if inv.polls > 0 {
			st = InvoiceStatus{Code: 150, Description: "Trwa przetwarzanie"}
		}
	}
	if poll {
		inv.polls++
	}
	ordinal := 0
	for i, x := range s.invoices {
		if x == inv {
			ordinal = i + 1
		}
	}
	v := map[string]any{"ordinalNumber": ordinal, "referenceNumber": inv.ref, "invoiceHash": inv.hash,
		"invoicingDate": time.Now().Format(time.RFC3339Nano), "invoicingMode": "Online", "status": st}
	if st.Code == 200 {
		v["ksefNumber"] = inv.ksef
		v["invoiceNumber"] = "FV/1"
		v["acquisitionDate"] = time.Now().Format(time.RFC3339Nano)
		v["upoDownloadUrl"] = f.srv.URL + "/storage/invoice-upo/" + inv.ksef + ".xml?sv=2025-01-05&sig=s3cr3t"
		v["upoDownloadUrlExpirationDate"] = time.Now().Add(time.Hour).Format(time.RFC3339Nano)
	}
	return v
}

func (f *fakeSessions) sessionStatus(w http.ResponseWriter, ref string) {
	s := f.sessions[ref]
	if s == nil {
		exceptionResponse(w, 21173, "Brak sesji o wskazanym numerze referencyjnym.", "Sesja o numerze referencyjnym "+ref+" nie została znaleziona.")
		return
	}
	ok, failed := 0, 0
	for _, inv := range s.invoices {
		if inv.result.Code == 200 {
			ok++
		} else {
			failed++
		}
	}
	v := map[string]any{"dateCreated": time.Now().Format(time.RFC3339), "dateUpdated": time.Now().Format(time.RFC3339),
		"validUntil": time.Now().Add(12 * time.Hour).Format(time.RFC3339), "invoiceCount": len(s.invoices), "successfulInvoiceCount": ok, "failedInvoiceCount": failed}
	switch {
	case !s.closed:
		v["status"] = map[string]any{"code": 100, "description": "Sesja interaktywna otwarta"}
	case s.polls < f.closingPolls:
		s.polls++
		v["status"] = map[string]any{"code": 170, "description": "Sesja interaktywna zamknięta"}
	case ok == 0:
		v["status"] = map[string]any{"code": 445, "description": "Błąd weryfikacji, brak poprawnych faktur"}
	default:
		v["status"] = map[string]any{"code": 200, "description": "Sesja interaktywna przetworzona pomyślnie"}
		upoRef := "20250918-EU-2EBD6FA000-242EB9B66D-43"
		v["upo"] = map[string]any{"pages": []map[string]any{{"referenceNumber": upoRef,
			"downloadUrl":               f.srv.URL + "/storage/session-upo/" + ref + "/upo_00.xml?sv=2025-01-05&se=2025-09-21&sig=s3cr3t",
			"downloadUrlExpirationDate": time.Now().Add(time.Hour).Format(time.RFC3339)}}}
	}
	writeJSON(w, 200, v)
}

// listInvoices pages with opaque continuation tokens "page-<offset>".
func (f *fakeSessions) listInvoices(w http.ResponseWriter, r *http.Request, ref string, failedOnly bool) {
	s := f.sessions[ref]
	if s == nil {
		exceptionResponse(w, 21173, "Brak sesji o wskazanym numerze referencyjnym.", "nie znaleziona")
		return
	}
	size := 10
	if ps := r.URL.Query().Get("pageSize"); ps != "" {
		size, _ = strconv.Atoi(ps)
	}
	start := 0
	if tok := r.Header.Get("x-continuation-token"); tok != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(tok, "page-"))
		if !strings.HasPrefix(tok, "page-") || err != nil {
			exceptionResponse(w, 21418, "Przekazany token kontynuacji ma nieprawidłowy format.", "")
			return
		}
		start = n
	}
	var all []*fakeInvoice
	for _, inv := range s.invoices {
		if !failedOnly || inv.result.Code >= 400 {
			all = append(all, inv)
		}
	}
	end := min(start+size, len(all))
	items := []map[string]any{}
	for _, inv := range all[start:end] {
		items = append(items, f.invoiceView(s, inv, false))
	}
	v := map[string]any{"invoices": items}
	if end < len(all) {
		v["continuationToken"] = "page-" + strconv.Itoa(end)
	}
	writeJSON(w, 200, v)
}

// minimalInvoice is a small XML document standing in for an invoice (the
// fake does not validate the schema).
func minimalInvoice(n int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, `<?xml version="1.0" encoding="UTF-8"?><Faktura xmlns="http://crd.gov.pl/wzor/2025/06/25/13775/"><Fa><P_2>FV/%d</P_2></Fa></Faktura>`, n)
	return b.Bytes()
}
