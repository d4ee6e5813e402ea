package ksef

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ksefpl/ksefpl/pkg/failure"
)

func TestOnlineSessionFullFlowOverHTTP(t *testing.T) {
	t.Parallel()
	f := newFakeSessions(t)
	c := f.client(t)
	ctx := context.Background()

	s, err := c.OpenOnlineSession(ctx, f.access, FormCodeFA3())
	if err != nil {
		t.Fatal(err)
	}
	if s.ReferenceNumber == "" || time.Until(s.ValidUntil) < 11*time.Hour {
		t.Errorf("session %v", s)
	}
	f.mu.Lock()
	fs := f.sessions[s.ReferenceNumber]
	f.mu.Unlock()
	key, iv := s.SymmetricKey()
	if string(fs.key) != string(key) || string(fs.iv) != string(iv) {
		t.Fatal("the key and IV the server unwrapped differ from the session's")
	}
	if fs.form != FormCodeFA3() || fs.form.SystemCode != "FA (3)" {
		t.Errorf("form code sent %+v", fs.form)
	}

	xml := minimalInvoice(1)
	sent, err := c.SendInvoice(ctx, f.access, s, xml, SendOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if sent.InvoiceHash != SHA256Base64(xml) || sent.InvoiceSize != len(xml) {
		t.Errorf("sent %+v", sent)
	}
	f.mu.Lock()
	got := string(fs.invoices[0].xml)
	f.mu.Unlock()
	if got != string(xml) {
		t.Fatalf("server decrypted %q", got)
	}

	f.pendingPolls = 2
	inv, err := c.WaitForInvoice(ctx, f.access, s.ReferenceNumber, sent.ReferenceNumber)
	if err != nil {
		t.Fatal(err)
	}
	if !inv.Status.Succeeded() || inv.Status.Pending() || ValidateKSeFNumber(inv.KSeFNumber) != nil || inv.Err() != nil {
		t.Fatalf("invoice %+v", inv)
	}
	if inv.InvoiceHash != sent.InvoiceHash || inv.InvoicingMode != "Online" || inv.AcquisitionDate == nil || inv.OrdinalNumber != 1 {
		t.Errorf("invoice fields %+v", inv)
	}
	if n := f.count("GET /sessions/{ref}/invoices/{inv}"); n != 3 {
		t.Errorf("polled %d times, want 3 (100, 150, 200)", n)
	}

	if err := c.CloseOnlineSession(ctx, f.access, s.ReferenceNumber); err != nil {
		t.Fatal(err)
	}
	f.closingPolls = 1
	st, err := c.WaitForSession(ctx, f.access, s.ReferenceNumber)
	if err != nil {
		t.Fatal(err)
	}
	if !st.Succeeded() || st.Err() != nil || st.InvoiceCount != 1 || st.SuccessfulInvoiceCount != 1 || st.FailedInvoiceCount != 0 || len(st.UPOPages()) != 1 {
		t.Fatalf("session status %+v", st)
	}

	page := st.UPOPages()[0]
	upo, err := c.DownloadUPO(ctx, page.DownloadURL)
	if err != nil {
		t.Fatal(err)
	}
	if !upo.HashVerified || upo.Hash != SHA256Base64(upo.XML) || !strings.Contains(string(upo.XML), "session-upo/"+s.ReferenceNumber) {
		t.Errorf("pre-signed UPO %+v %s", upo, upo.XML)
	}
	if h := f.header("GET /storage"); h.Get("Authorization") != "" || h.Get("X-Error-Format") != "" {
		t.Errorf("pre-signed download sent KSeF headers: %v", h)
	}
	upo, err = c.SessionUPO(ctx, f.access, s.ReferenceNumber, page.ReferenceNumber)
	if err != nil || !upo.HashVerified || !strings.Contains(string(upo.XML), "session "+s.ReferenceNumber) {
		t.Errorf("session UPO %v %v", upo, err)
	}
	if a := f.header("GET /sessions/{ref}/upo/{upo}").Get("Accept"); a != "application/xml" {
		t.Errorf("UPO Accept %q", a)
	}
	upo, err = c.InvoiceUPO(ctx, f.access, s.ReferenceNumber, sent.ReferenceNumber)
	if err != nil || !upo.HashVerified || !strings.Contains(string(upo.XML), inv.KSeFNumber) {
		t.Errorf("invoice UPO %v %v", upo, err)
	}
	upo, err = c.InvoiceUPOByKSeFNumber(ctx, f.access, s.ReferenceNumber, inv.KSeFNumber)
	if err != nil || !upo.HashVerified || !strings.Contains(string(upo.XML), inv.KSeFNumber) {
		t.Errorf("invoice UPO by KSeF number %v %v", upo, err)
	}
	upo, err = c.DownloadUPO(ctx, inv.UPODownloadURL)
	if err != nil || !upo.HashVerified || !strings.Contains(string(upo.XML), inv.KSeFNumber) {
		t.Errorf("pre-signed invoice UPO %v %v", upo, err)
	}
	if f.check.Checked() < 10 {
		t.Errorf("only %d exchanges were checked against the contract", f.check.Checked())
	}
}

func TestSendInvoiceNotRetriedOn500(t *testing.T) {
	t.Parallel()
	f := newFakeSessions(t)
	c := f.client(t)
	ctx := context.Background()
	s, err := c.OpenOnlineSession(ctx, f.access, FormCodeFA3())
	if err != nil {
		t.Fatal(err)
	}
	f.sendStatus = []int{500}
	_, err = c.SendInvoice(ctx, f.access, s, minimalInvoice(1), SendOptions{})
	var ae *APIError
	if !errors.As(err, &ae) || ae.HTTPStatus != 500 || failure.Of(err) != failure.Unavailable {
		t.Fatalf("want a 500 APIError, got %v", err)
	}
	if n := f.count("POST /sessions/online/{ref}/invoices"); n != 1 {
		t.Errorf("send attempted %d times, want exactly 1", n)
	}
}

func TestSendInvoiceNotRetriedOnNetworkError(t *testing.T) {
	t.Parallel()
	f := newFakeSessions(t)
	c := f.client(t)
	ctx := context.Background()
	s, err := c.OpenOnlineSession(ctx, f.access, FormCodeFA3())
	if err != nil {
		t.Fatal(err)
	}
	f.sendStatus = []int{-1}
	_, err = c.SendInvoice(ctx, f.access, s, minimalInvoice(1), SendOptions{})
	var ne *NetworkError
	if !errors.As(err, &ne) || ne.Attempts != 1 || failure.Of(err) != failure.Unavailable {
		t.Fatalf("want a NetworkError after 1 attempt, got %v", err)
	}
	if n := f.count("POST /sessions/online/{ref}/invoices"); n != 1 {
		t.Errorf("send attempted %d times, want exactly 1", n)
	}
}

func TestSendInvoiceRetriedOn429(t *testing.T) {
	t.Parallel()
	f := newFakeSessions(t)
	c := f.client(t)
	ctx := context.Background()
	s, err := c.OpenOnlineSession(ctx, f.access, FormCodeFA3())
	if err != nil {
		t.Fatal(err)
	}
	f.sendStatus = []int{429, 429}
	sent, err := c.SendInvoice(ctx, f.access, s, minimalInvoice(1), SendOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n := f.count("POST /sessions/online/{ref}/invoices"); n != 3 {
		t.Errorf("send attempted %d times, want 3 (429, 429, 202)", n)
	}
	f.mu.Lock()
	n := len(f.sessions[s.ReferenceNumber].invoices)
	f.mu.Unlock()
	if n != 1 || sent.ReferenceNumber == "" {
		t.Errorf("%d invoices stored, sent %+v", n, sent)
	}
}

func TestOpenOnlineSessionRefetchesRotatedKey(t *testing.T) {
	t.Parallel()
	f := newFakeSessions(t)
	c := f.client(t)
	ctx := context.Background()
	if _, err := c.PublicKey(ctx, UsageSymmetricKeyEncryption); err != nil {
		t.Fatal(err)
	}
	f.rotateKey()
	f.rejectOldKey = true
	s, err := c.OpenOnlineSession(ctx, f.access, FormCodeFA2())
	if err != nil {
		t.Fatal(err)
	}
	if n := f.count("POST /sessions/online"); n != 2 {
		t.Errorf("open attempted %d times, want 2 (21470, then with the new key)", n)
	}
	if n := f.count("GET /security/public-key-certificates"); n != 2 {
		t.Errorf("keys fetched %d times, want 2", n)
	}
	f.mu.Lock()
	fs := f.sessions[s.ReferenceNumber]
	f.mu.Unlock()
	key, _ := s.SymmetricKey()
	if string(fs.key) != string(key) || fs.form.SystemCode != "FA (2)" {
		t.Error("the session key was not unwrapped with the new key")
	}
}

func TestCloseOnlineSessionTwiceIsSuccess(t *testing.T) {
	t.Parallel()
	f := newFakeSessions(t)
	c := f.client(t)
	ctx := context.Background()
	s, err := c.OpenOnlineSession(ctx, f.access, FormCodeFA3())
	if err != nil {
		t.Fatal(err)
	}
	if err := c.CloseOnlineSession(ctx, f.access, s.ReferenceNumber); err != nil {
		t.Fatal(err)
	}
	if err := c.CloseOnlineSession(ctx, f.access, s.ReferenceNumber); err != nil {
		t.Fatalf("closing an already closed session (21180) must succeed: %v", err)
	}
	if n := f.count("POST /sessions/online/{ref}/close"); n != 2 {
		t.Errorf("close called %d times", n)
	}
	err = c.CloseOnlineSession(ctx, f.access, "20250625-SO-FFFFFFFFFF-B675CF5D68-07")
	var ae *APIError
	if !errors.As(err, &ae) || !ae.HasCode(ErrCodeSessionNotFound) || !IsSessionGone(err) || failure.Of(err) != failure.Rejected {
		t.Fatalf("closing an unknown session: %v", err)
	}
	if !strings.Contains(err.Error(), "open a new session") {
		t.Errorf("no hint in %q", err)
	}
}

func TestSendIntoClosedSessionIsSessionGone(t *testing.T) {
	t.Parallel()
	f := newFakeSessions(t)
	c := f.client(t)
	ctx := context.Background()
	s, err := c.OpenOnlineSession(ctx, f.access, FormCodeFA3())
	if err != nil {
		t.Fatal(err)
	}
	if err := c.CloseOnlineSession(ctx, f.access, s.ReferenceNumber); err != nil {
		t.Fatal(err)
	}
	_, err = c.SendInvoice(ctx, f.access, s, minimalInvoice(1), SendOptions{})
	if !IsSessionGone(err) || failure.Of(err) != failure.Rejected {
		t.Fatalf("want a session-gone error, got %v", err)
	}
	if IsSessionGone(errors.New("other")) || IsSessionGone(nil) {
		t.Error("IsSessionGone true for an unrelated error")
	}
}

func TestSendInvoicePayloadHashAndSizeMismatch(t *testing.T) {
	t.Parallel()
	f := newFakeSessions(t)
	c := f.client(t)
	ctx := context.Background()
	s, err := c.OpenOnlineSession(ctx, f.access, FormCodeFA3())
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.EncryptInvoice(minimalInvoice(1), SendOptions{})
	if err != nil {
		t.Fatal(err)
	}
	bad := *p
	bad.EncryptedInvoiceHash = SHA256Base64([]byte("something else"))
	_, err = c.SendInvoicePayload(ctx, f.access, s.ReferenceNumber, &bad)
	var ae *APIError
	if !errors.As(err, &ae) || !ae.HasCode(ErrCodeInvoiceHash) || !strings.Contains(err.Error(), "ksefpl bug") {
		t.Errorf("wrong hash: %v", err)
	}
	bad = *p
	bad.EncryptedInvoiceSize++
	_, err = c.SendInvoicePayload(ctx, f.access, s.ReferenceNumber, &bad)
	if !errors.As(err, &ae) || !ae.HasCode(ErrCodeInvoiceSize) {
		t.Errorf("wrong size: %v", err)
	}
	if _, err := c.SendInvoicePayload(ctx, f.access, s.ReferenceNumber, p); err != nil {
		t.Errorf("the untouched payload: %v", err)
	}
}

func TestEncryptInvoiceLocalChecks(t *testing.T) {
	s, err := ResumeOnlineSession("20250625-SO-0000000001-B675CF5D68-07", time.Now().Add(time.Hour), FormCodeFA3(), make([]byte, 32), make([]byte, 16))
	if err != nil {
		t.Fatal(err)
	}
	for name, xml := range map[string][]byte{
		"empty":   nil,
		"blank":   []byte("  \n"),
		"BOM":     append([]byte("\xEF\xBB\xBF"), minimalInvoice(1)...),
		"too big": make([]byte, MaxInvoiceSizeWithAttachments+1),
	} {
		_, err := s.EncryptInvoice(xml, SendOptions{})
		var ce *InvoiceContentError
		if !errors.As(err, &ce) || failure.Of(err) != failure.Invalid {
			t.Errorf("%s: want InvoiceContentError, got %v", name, err)
		}
	}
	p, err := s.EncryptInvoice(minimalInvoice(7), SendOptions{OfflineMode: true, HashOfCorrectedInvoice: SHA256Base64([]byte("orig"))})
	if err != nil {
		t.Fatal(err)
	}
	// AES-CBC with PKCS#7 and no IV prefix: the ciphertext is the plaintext
	// rounded up to the next full block.
	n := len(minimalInvoice(7))
	if p.EncryptedInvoiceSize != (n/16+1)*16 || !p.OfflineMode || p.HashOfCorrectedInvoice == "" {
		t.Errorf("payload %d bytes for %d, %+v", p.EncryptedInvoiceSize, n, p.OfflineMode)
	}
	if _, err := (*OnlineSession)(nil).EncryptInvoice(minimalInvoice(1), SendOptions{}); err == nil {
		t.Error("nil session accepted")
	}
	if _, err := ResumeOnlineSession("x", time.Now(), FormCodeFA3(), make([]byte, 16), make([]byte, 16)); err == nil {
		t.Error("a 16-byte key accepted")
	}
}

func TestResumedSessionSendsDecryptableInvoices(t *testing.T) {
	t.Parallel()
	f := newFakeSessions(t)
	c := f.client(t)
	ctx := context.Background()
	s, err := c.OpenOnlineSession(ctx, f.access, FormCodeFA3())
	if err != nil {
		t.Fatal(err)
	}
	key, iv := s.SymmetricKey()
	r, err := ResumeOnlineSession(s.ReferenceNumber, s.ValidUntil, s.Form, key, iv)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.SendInvoice(ctx, f.access, r, minimalInvoice(2), SendOptions{}); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	got := string(f.sessions[s.ReferenceNumber].invoices[0].xml)
	f.mu.Unlock()
	if got != string(minimalInvoice(2)) {
		t.Errorf("server decrypted %q", got)
	}
}

func TestOnlineSessionStringHidesKey(t *testing.T) {
	key := []byte("0123456789abcdef0123456789ABCDEF")
	s, err := ResumeOnlineSession("20250625-SO-0000000001-B675CF5D68-07", time.Now(), FormCodeFA3(), key, []byte("IVIVIVIVIVIVIVIV"))
	if err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{s.String(), fmt.Sprintf("%v", s), fmt.Sprintf("%+v", s), fmt.Sprintf("%#v", s), fmt.Sprint(*s)} {
		if strings.Contains(out, "0123456789abcdef") || strings.Contains(out, "IVIVIV") || strings.Contains(out, "48 49 50") {
			t.Errorf("key or IV shown: %s", out)
		}
	}
	if !strings.Contains(s.String(), s.ReferenceNumber) {
		t.Errorf("reference missing from %s", s)
	}
}

func TestSessionInvoicesPaging(t *testing.T) {
	t.Parallel()
	f := newFakeSessions(t)
	c := f.client(t)
	ctx := context.Background()
	s, err := c.OpenOnlineSession(ctx, f.access, FormCodeFA3())
	if err != nil {
		t.Fatal(err)
	}
	f.invoiceResult = func(xml []byte) InvoiceStatus {
		if strings.Contains(string(xml), "FV/2<") || strings.Contains(string(xml), "FV/13<") || strings.Contains(string(xml), "FV/24<") {
			return InvoiceStatus{Code: 450, Description: "Błąd weryfikacji semantyki dokumentu faktury", Details: []string{"P_1 później niż data przyjęcia"}}
		}
		return InvoiceStatus{Code: 200, Description: "Sukces"}
	}
	var refs []string
	for i := 1; i <= 25; i++ {
		sent, err := c.SendInvoice(ctx, f.access, s, minimalInvoice(i), SendOptions{})
		if err != nil {
			t.Fatal(err)
		}
		refs = append(refs, sent.ReferenceNumber)
	}
	// Page by page: 10 + 10 + 5, the token travelling in x-continuation-token.
	p1, err := c.SessionInvoices(ctx, f.access, s.ReferenceNumber, 10, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(p1.Invoices) != 10 || p1.ContinuationToken == "" || f.header("GET /sessions/{ref}/invoices").Get("x-continuation-token") != "" {
		t.Fatalf("page 1: %d invoices, token %q", len(p1.Invoices), p1.ContinuationToken)
	}
	p2, err := c.SessionInvoices(ctx, f.access, s.ReferenceNumber, 10, p1.ContinuationToken)
	if err != nil {
		t.Fatal(err)
	}
	if got := f.header("GET /sessions/{ref}/invoices").Get("x-continuation-token"); got != p1.ContinuationToken {
		t.Errorf("continuation header %q, want %q", got, p1.ContinuationToken)
	}
	p3, err := c.SessionInvoices(ctx, f.access, s.ReferenceNumber, 10, p2.ContinuationToken)
	if err != nil {
		t.Fatal(err)
	}
	if len(p2.Invoices) != 10 || len(p3.Invoices) != 5 || p3.ContinuationToken != "" || p3.Invoices[4].ReferenceNumber != refs[24] {
		t.Fatalf("pages %d/%d, last token %q", len(p2.Invoices), len(p3.Invoices), p3.ContinuationToken)
	}

	before := f.count("GET /sessions/{ref}/invoices")
	var walked []string
	for inv, err := range c.AllSessionInvoices(ctx, f.access, s.ReferenceNumber, 10) {
		if err != nil {
			t.Fatal(err)
		}
		walked = append(walked, inv.ReferenceNumber)
	}
	if strings.Join(walked, ",") != strings.Join(refs, ",") {
		t.Errorf("walked %d invoices out of order or incomplete", len(walked))
	}
	if n := f.count("GET /sessions/{ref}/invoices") - before; n != 3 {
		t.Errorf("walk fetched %d pages, want 3", n)
	}

	var failed []*SessionInvoice
	for inv, err := range c.AllFailedSessionInvoices(ctx, f.access, s.ReferenceNumber, 0) {
		if err != nil {
			t.Fatal(err)
		}
		failed = append(failed, inv)
	}
	if len(failed) != 3 || failed[0].ReferenceNumber != refs[1] || failed[0].Status.Code != InvoiceSemanticError || failed[0].Err() == nil {
		t.Fatalf("failed invoices %+v", failed)
	}
	var re *InvoiceRejectedError
	if err := failed[0].Err(); !errors.As(err, &re) || re.ReferenceNumber != refs[1] || failure.Of(err) != failure.Rejected || !strings.Contains(err.Error(), "P_1") {
		t.Errorf("rejection error %v", err)
	}
	fp, err := c.FailedSessionInvoices(ctx, f.access, s.ReferenceNumber, 10, "")
	if err != nil || len(fp.Invoices) != 3 || fp.ContinuationToken != "" {
		t.Errorf("failed page %+v %v", fp, err)
	}

	// Stopping the walk early makes no further requests.
	before = f.count("GET /sessions/{ref}/invoices")
	for range c.AllSessionInvoices(ctx, f.access, s.ReferenceNumber, 10) {
		break
	}
	if n := f.count("GET /sessions/{ref}/invoices") - before; n != 1 {
		t.Errorf("an early break fetched %d pages", n)
	}

	_, err = c.SessionInvoices(ctx, f.access, s.ReferenceNumber, 10, "garbage")
	var ae *APIError
	if !errors.As(err, &ae) || !ae.HasCode(ErrCodeContinuationToken) {
		t.Errorf("bad token: %v", err)
	}
	if _, err := c.SessionInvoices(ctx, f.access, s.ReferenceNumber, 5, ""); failure.Of(err) != failure.Invalid {
		t.Errorf("page size 5 accepted: %v", err)
	}
	// An error during the walk is yielded once and ends it.
	n := 0
	for inv, err := range c.AllSessionInvoices(ctx, f.access, "20250625-SO-FFFFFFFFFF-B675CF5D68-07", 10) {
		n++
		if inv != nil || !IsSessionGone(err) {
			t.Errorf("walk of an unknown session yielded %v, %v", inv, err)
		}
	}
	if n != 1 {
		t.Errorf("walk yielded %d times", n)
	}
}

func TestInvoiceStatusDuplicate(t *testing.T) {
	t.Parallel()
	f := newFakeSessions(t)
	c := f.client(t)
	ctx := context.Background()
	s, err := c.OpenOnlineSession(ctx, f.access, FormCodeFA3())
	if err != nil {
		t.Fatal(err)
	}
	orig := "5265877635-20250626-010080DD2B5E-26"
	origSession := "20250626-SO-2F14610000-242991F8C9-B4"
	f.invoiceResult = func([]byte) InvoiceStatus {
		return InvoiceStatus{Code: 440, Description: "Duplikat faktury",
			Details:    []string{"Duplikat faktury. Faktura o numerze KSeF: " + orig + " została już prawidłowo przesłana do systemu w sesji: " + origSession},
			Extensions: Extensions{"originalSessionReferenceNumber": origSession, "originalKsefNumber": orig}}
	}
	sent, err := c.SendInvoice(ctx, f.access, s, minimalInvoice(1), SendOptions{})
	if err != nil {
		t.Fatal(err)
	}
	inv, err := c.WaitForInvoice(ctx, f.access, s.ReferenceNumber, sent.ReferenceNumber)
	if err != nil {
		t.Fatal(err)
	}
	n, r, ok := inv.Status.Duplicate()
	if !ok || n != orig || r != origSession || !inv.Status.Final() || inv.Status.Succeeded() || inv.KSeFNumber != "" {
		t.Fatalf("duplicate: %q %q %v %+v", n, r, ok, inv.Status)
	}
	var re *InvoiceRejectedError
	if err := inv.Err(); !errors.As(err, &re) || re.OriginalKSeFNumber != orig || !strings.Contains(err.Error(), orig) || failure.Of(err) != failure.Rejected {
		t.Errorf("duplicate error %v", err)
	}
}

func TestDuplicateFallsBackToDetails(t *testing.T) {
	orig := "5265877635-20250626-010080DD2B5E-26"
	st := InvoiceStatus{Code: InvoiceDuplicate, Details: []string{"Duplikat faktury. Faktura o numerze KSeF: " + orig + " została już prawidłowo przesłana do systemu w sesji: 20250626-SO-2F14610000-242991F8C9-B4"}}
	n, r, ok := st.Duplicate()
	if !ok || n != orig || r != "20250626-SO-2F14610000-242991F8C9-B4" {
		t.Errorf("from details: %q %q %v", n, r, ok)
	}
	if _, _, ok := (InvoiceStatus{Code: InvoiceSucceeded}).Duplicate(); ok {
		t.Error("200 reported as a duplicate")
	}
}

func TestExtensionsDecodeTolerantly(t *testing.T) {
	var st InvoiceStatus
	err := json.Unmarshal([]byte(`{"code":440,"description":"d","extensions":{"originalKsefNumber":"X","n":5,"b":true,"z":null},"future":1}`), &st)
	if err != nil {
		t.Fatal(err)
	}
	if st.Extensions["originalKsefNumber"] != "X" || st.Extensions["n"] != "5" || st.Extensions["b"] != "true" {
		t.Errorf("extensions %v", st.Extensions)
	}
	if _, ok := st.Extensions["z"]; ok {
		t.Error("null extension kept")
	}
}

func TestStatusCodePredicates(t *testing.T) {
	for _, tc := range []struct {
		code                                    SessionStatusCode
		open, closing, succeeded, failed, final bool
	}{
		{SessionOpen, true, false, false, false, false},
		{SessionProcessing, false, true, false, false, false},
		{SessionClosed, false, true, false, false, false},
		{SessionSucceeded, false, false, true, false, true},
		{SessionKeyDecryptionFailed, false, false, false, true, true},
		{SessionCancelled, false, false, false, true, true},
		{SessionNoValidInvoices, false, false, false, true, true},
		{SessionUnknownError, false, false, false, true, true},
	} {
		c := tc.code
		if c.Open() != tc.open || c.Closing() != tc.closing || c.Succeeded() != tc.succeeded || c.Failed() != tc.failed || c.Final() != tc.final {
			t.Errorf("session %d: open %v closing %v succeeded %v failed %v final %v", c, c.Open(), c.Closing(), c.Succeeded(), c.Failed(), c.Final())
		}
		st := &SessionStatus{ReferenceNumber: "R", Status: SessionState{Code: c, Description: "d"}}
		var fe *SessionFailedError
		if (st.Err() != nil) != tc.failed || (tc.failed && (!errors.As(st.Err(), &fe) || fe.ReferenceNumber != "R")) {
			t.Errorf("session %d: Err %v", c, st.Err())
		}
	}
	if failure.Of((&SessionStatus{Status: SessionState{Code: 500}}).Err()) != failure.Unavailable ||
		failure.Of((&SessionStatus{Status: SessionState{Code: 445}}).Err()) != failure.Rejected {
		t.Error("session failure classes")
	}
	for _, tc := range []struct {
		code                                       InvoiceStatusCode
		pending, succeeded, failed, final, retries bool
	}{
		{InvoiceAccepted, true, false, false, false, false},
		{InvoiceProcessing, true, false, false, false, false},
		{InvoiceSucceeded, false, true, false, true, false},
		{InvoiceFileInvalid, false, false, true, true, false},
		{InvoiceDuplicate, false, false, true, true, false},
		{InvoiceSemanticError, false, false, true, true, false},
		{InvoiceUnknownError, false, false, true, true, true},
		{InvoiceCancelledBySystem, false, false, true, true, true},
	} {
		c := tc.code
		if c.Pending() != tc.pending || c.Succeeded() != tc.succeeded || c.Failed() != tc.failed || c.Final() != tc.final || c.Retryable() != tc.retries {
			t.Errorf("invoice %d predicates", c)
		}
		err := InvoiceStatus{Code: c}.Err()
		if (err != nil) != tc.failed {
			t.Errorf("invoice %d: Err %v", c, err)
		}
		if tc.retries && failure.Of(err) != failure.Unavailable {
			t.Errorf("invoice %d: class %v", c, failure.Of(err))
		}
	}
}

func TestWaitForInvoiceTimesOut(t *testing.T) {
	t.Parallel()
	f := newFakeSessions(t)
	c := newTestClient(t, f.srv.URL+"/v2", func(o *Options) {
		o.StatusPollInterval = time.Millisecond
		o.StatusPollTimeout = 20 * time.Millisecond
	})
	ctx := context.Background()
	s, err := c.OpenOnlineSession(ctx, f.access, FormCodeFA3())
	if err != nil {
		t.Fatal(err)
	}
	f.pendingPolls = 1 << 30
	sent, err := c.SendInvoice(ctx, f.access, s, minimalInvoice(1), SendOptions{})
	if err != nil {
		t.Fatal(err)
	}
	inv, err := c.WaitForInvoice(ctx, f.access, s.ReferenceNumber, sent.ReferenceNumber)
	var pe *StatusPendingError
	if !errors.As(err, &pe) || pe.Code != 150 || failure.Of(err) != failure.Unavailable || inv == nil || !inv.Status.Pending() {
		t.Fatalf("want a pending error with the last status, got %v %v", inv, err)
	}
}

func TestSessionStatusOfFailedSession(t *testing.T) {
	t.Parallel()
	f := newFakeSessions(t)
	c := f.client(t)
	ctx := context.Background()
	s, err := c.OpenOnlineSession(ctx, f.access, FormCodeFA3())
	if err != nil {
		t.Fatal(err)
	}
	st, err := c.SessionStatus(ctx, f.access, s.ReferenceNumber)
	if err != nil || !st.Open() || st.Closing() || st.ValidUntil == nil || st.UPOPages() != nil {
		t.Fatalf("open session status %+v %v", st, err)
	}
	f.invoiceResult = func([]byte) InvoiceStatus {
		return InvoiceStatus{Code: 430, Description: "Błąd weryfikacji pliku faktury"}
	}
	if _, err := c.SendInvoice(ctx, f.access, s, minimalInvoice(1), SendOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := c.CloseOnlineSession(ctx, f.access, s.ReferenceNumber); err != nil {
		t.Fatal(err)
	}
	st, err = c.WaitForSession(ctx, f.access, s.ReferenceNumber)
	if err != nil {
		t.Fatal(err)
	}
	var fe *SessionFailedError
	if !st.Failed() || st.Status.Code != SessionNoValidInvoices || st.FailedInvoiceCount != 1 || !errors.As(st.Err(), &fe) || !strings.Contains(fe.Error(), s.ReferenceNumber) {
		t.Errorf("failed session %+v: %v", st, st.Err())
	}
	_, err = c.SessionStatus(ctx, f.access, "20250625-SO-FFFFFFFFFF-B675CF5D68-07")
	if !IsSessionGone(err) {
		t.Errorf("unknown session: %v", err)
	}
}

func TestRevokeToken(t *testing.T) {
	t.Parallel()
	f := newFakeSessions(t)
	c := f.client(t)
	ref := "20251010-EC-1DCE3E3000-12ECB5B36E-45"
	if err := c.RevokeToken(context.Background(), f.access, ref); err != nil {
		t.Fatal(err)
	}
	if f.count("DELETE /tokens/{ref}") != 1 || f.header("DELETE /tokens/{ref}").Get("Authorization") != "Bearer "+f.access {
		t.Error("DELETE /tokens/{ref} not called with the access token")
	}
	err := c.RevokeToken(context.Background(), "wrong", ref)
	var ae *APIError
	if !errors.As(err, &ae) || ae.HTTPStatus != 401 || failure.Of(err) != failure.Auth {
		t.Errorf("wrong access token: %v", err)
	}
	if err := c.RevokeToken(context.Background(), f.access, ""); failure.Of(err) != failure.Invalid {
		t.Errorf("empty reference: %v", err)
	}
}
