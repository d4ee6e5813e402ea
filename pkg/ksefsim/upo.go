package ksefsim

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/xml"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// UPO v4-3 (faktury/upo/schemy/upo-v4-3.xsd). The XSD has no place for ds:Signature
// (the Potwierdzenie sequence is closed), so the simulator's UPOs carry no XAdES
// signature at all: they validate against the XSD as they are, and a real UPO's MF
// signature is simply not simulated. NazwaPodmiotuPrzyjmujacego uses the value the
// XSD fixes ("Ministerstwo Finansów"); the official TE examples say
// "Ministerstwo Finansów - środowisko testowe (TE)" and therefore fail the XSD.
const (
	upoNamespace     = "http://upo.schematy.mf.gov.pl/KSeF/v4-3"
	upoSchemaVersion = "4-3"
	upoRecipient     = "Ministerstwo Finansów"
	upoTimeLayout    = "2006-01-02T15:04:05.000-07:00"
	contentTypeXML   = "application/xml"
	headerMetaHash   = "x-ms-meta-hash"
)

type (
	upoXML struct {
		XMLName          xml.Name         `xml:"Potwierdzenie"`
		Xmlns            string           `xml:"xmlns,attr"`
		Version          string           `xml:"wersjaSchemy,attr"`
		Recipient        string           `xml:"NazwaPodmiotuPrzyjmujacego"`
		SessionRef       string           `xml:"NumerReferencyjnySesji"`
		Auth             upoAuth          `xml:"Uwierzytelnienie"`
		Page             *upoPageInfo     `xml:"OpisPotwierdzenia,omitempty"`
		LogicalStructure string           `xml:"NazwaStrukturyLogicznej"`
		FormCode         string           `xml:"KodFormularza"`
		Documents        []upoDocumentXML `xml:"Dokument"`
	}
	upoAuth struct {
		Context  upoContext `xml:"IdKontekstu"`
		TokenRef string     `xml:"NumerReferencyjnyTokenaKSeF,omitempty"`
		DocHash  string     `xml:"SkrotDokumentuUwierzytelniajacego,omitempty"` // XAdES authentication
	}
	upoContext struct {
		NIP        string `xml:"Nip,omitempty"`
		InternalID string `xml:"IdWewnetrzny,omitempty"`
		VatUE      string `xml:"IdZlozonyVatUE,omitempty"`
		Peppol     string `xml:"IdDostawcyUslugPeppol,omitempty"`
	}
	upoPageInfo struct {
		Page      int `xml:"Strona"`
		Pages     int `xml:"LiczbaStron"`
		From      int `xml:"ZakresDokumentowOd"`
		To        int `xml:"ZakresDokumentowDo"`
		Documents int `xml:"CalkowitaLiczbaDokumentow"`
	}
	upoDocumentXML struct {
		SellerNIP  string `xml:"NipSprzedawcy"`
		KSeFNumber string `xml:"NumerKSeFDokumentu"`
		Number     string `xml:"NumerFaktury"`
		IssueDate  string `xml:"DataWystawieniaFaktury"`
		SentAt     string `xml:"DataPrzeslaniaDokumentu"`
		NumberedAt string `xml:"DataNadaniaNumeruKSeF"`
		Hash       string `xml:"SkrotDokumentu"`
		Mode       string `xml:"TrybWysylki"`
	}
)

// upoHead fills the parts common to session and invoice UPOs.
func (s *Server) upoHead(ss *onlineSession) upoXML {
	u := upoXML{
		Xmlns: upoNamespace, Version: upoSchemaVersion, Recipient: upoRecipient, SessionRef: ss.ref,
		Auth:             upoAuth{TokenRef: ss.tokenRef, DocHash: ss.authDocHash},
		LogicalStructure: logicalStructureName(ss.form), FormCode: ss.form.SystemCode,
	}
	switch ss.ctxType {
	case "InternalId":
		u.Auth.Context.InternalID = ss.ctxValue
	case "NipVatUe":
		u.Auth.Context.VatUE = ss.ctxValue
	case "PeppolId":
		u.Auth.Context.Peppol = ss.ctxValue
	default:
		u.Auth.Context.NIP = ss.ctxValue
	}
	return u
}

func (s *Server) upoDocument(inv *invoiceRec) upoDocumentXML {
	mode := inv.invoicingMode()
	return upoDocumentXML{
		SellerNIP: inv.facts.sellerNIP, KSeFNumber: inv.ksefNumber, Number: inv.facts.number,
		IssueDate: inv.facts.issueDate, SentAt: inv.received.In(s.loc).Format(upoTimeLayout),
		NumberedAt: inv.acquired.In(s.loc).Format(upoTimeLayout), Hash: inv.hash, Mode: mode,
	}
}

func renderUPO(u upoXML, ref string) *upoDoc {
	// The structure is fixed and holds only strings and ints: marshalling cannot fail.
	body, _ := xml.MarshalIndent(u, "", "\t")
	body = append([]byte(xml.Header), body...)
	return &upoDoc{ref: ref, body: body, hash: sha256B64(body)}
}

// invoiceUPO is the UPO of one accepted invoice, or nil while it has no KSeF number.
// It is rendered on request (its content never changes once the invoice succeeded),
// so that a 10 000-invoice batch does not keep 10 000 documents. Caller holds the lock.
func (s *Server) invoiceUPO(inv *invoiceRec) *upoDoc {
	if inv.status.Code != invSucceeded {
		return nil
	}
	u := s.upoHead(inv.sess)
	u.Documents = []upoDocumentXML{s.upoDocument(inv)}
	return renderUPO(u, "")
}

// sessionUPO is the collective UPO of a session: every invoice with a KSeF number, in
// pages of at most Config.UPOPageSize (officially 10 000) invoices, each page with its
// own EU reference number. Caller holds the lock.
func (s *Server) sessionUPO(ss *onlineSession, now time.Time) []*upoDoc {
	var docs []upoDocumentXML
	for _, inv := range ss.invoices {
		if inv.status.Code == invSucceeded {
			docs = append(docs, s.upoDocument(inv))
		}
	}
	size := s.cfg.UPOPageSize
	pages := (len(docs) + size - 1) / size
	out := make([]*upoDoc, 0, pages)
	for p := 0; p < pages; p++ {
		from, to := p*size, min((p+1)*size, len(docs))
		u := s.upoHead(ss)
		u.Documents = docs[from:to]
		u.Page = &upoPageInfo{Page: p + 1, Pages: pages, From: from + 1, To: to, Documents: len(docs)}
		out = append(out, renderUPO(u, newRefNumber(now, infixUPO)))
	}
	return out
}

// sessionUPOPage finds a page of a session UPO by its reference number.
func sessionUPOPage(ss *onlineSession, ref string) *upoDoc {
	for _, p := range ss.upo {
		if p.ref == ref {
			return p
		}
	}
	return nil
}

// writeUPO answers a UPO document with its x-ms-meta-hash.
func writeUPO(w http.ResponseWriter, d *upoDoc) {
	w.Header().Set("Content-Type", contentTypeXML)
	w.Header().Set(headerMetaHash, d.hash)
	w.Header().Set("Content-Length", strconv.Itoa(len(d.body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(d.body)
}

// presign builds an expiring pre-signed download link on this server.
func (s *Server) presign(base, sessionRef, kind, file string, now time.Time) (string, time.Time) {
	exp := now.Add(storageURLTTL).UTC().Truncate(time.Second)
	path := "/storage/" + sessionRef + "/" + kind + "/" + file
	return s.signedURL(base, path, http.MethodGet, "r", now, exp), exp
}

// signedURL builds a pre-signed link to path on base, in the style of the Azure blob
// SAS links KSeF hands out (sv, st, se, sr, sp, sig): it allows method, with the
// permission sp ("r" or "w"), until exp (UTC, whole seconds).
func (s *Server) signedURL(base, path, method, sp string, now, exp time.Time) string {
	q := url.Values{}
	q.Set("sv", "2025-01-05")
	q.Set("st", now.UTC().Add(-5*time.Minute).Format(time.RFC3339))
	q.Set("se", exp.Format(time.RFC3339))
	q.Set("sr", "b")
	q.Set("sp", sp)
	q.Set("sig", s.storageSig(method, path, exp.Format(time.RFC3339)))
	return base + path + "?" + q.Encode()
}

// checkSignedLink verifies the signature of the pre-signed link r came by (made for
// method; when sp is not empty the link must also carry that permission) and its
// expiry. It answers 403 in the blob storage error format, with the message badSig
// or expired, and reports false when either fails; else it returns the current time.
func (s *Server) checkSignedLink(w http.ResponseWriter, r *http.Request, method, sp, badSig, expired string) (time.Time, bool) {
	q := r.URL.Query()
	se, sig := q.Get("se"), q.Get("sig")
	exp, err := time.Parse(time.RFC3339, se)
	if err != nil || sig == "" || (sp != "" && q.Get("sp") != sp) || !hmac.Equal([]byte(sig), []byte(s.storageSig(method, r.URL.Path, se))) {
		storageError(w, http.StatusForbidden, "AuthenticationFailed", badSig)
		return time.Time{}, false
	}
	now := s.now()
	if !now.Before(exp) {
		storageError(w, http.StatusForbidden, "AuthenticationFailed", expired)
		return time.Time{}, false
	}
	return now, true
}

// storageSig signs a pre-signed link: the method it allows, the path and the expiry.
func (s *Server) storageSig(method, path, expiry string) string {
	m := hmac.New(sha256.New, s.secret)
	m.Write([]byte("ksefsim-storage\n" + method + "\n" + path + "\n" + expiry))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// storageError answers in the Azure blob storage error format.
func storageError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(xml.Header + "<Error><Code>" + code + "</Code><Message>" + msg + "</Message></Error>"))
}

// handleStorage serves the pre-signed links (UPOs and export package parts): no
// Authorization, the signature and the expiry are checked instead.
func (s *Server) handleStorage(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.checkSignedLink(w, r, http.MethodGet, "",
		"Signature did not match. Ask GET /v2/sessions/... for a fresh link.",
		"Signed expiry time has passed. Ask GET /v2/sessions/... for a fresh link."); !ok {
		return
	}
	sessionRef, kind, file := r.PathValue("sessionRef"), r.PathValue("kind"), r.PathValue("file")
	if kind == exportPartKind {
		s.st.mu.Lock()
		part := s.exportPartLocked(sessionRef, file, s.now())
		s.st.mu.Unlock()
		if part == nil {
			storageError(w, http.StatusNotFound, "BlobNotFound", "The specified blob does not exist.")
			return
		}
		writeExportPart(w, part)
		return
	}
	s.st.mu.Lock()
	var doc *upoDoc
	if ss := s.st.sessions.byRef[sessionRef]; ss != nil {
		switch kind {
		case "session-upo":
			if ref, ok := strings.CutSuffix(file, ".xml"); ok {
				doc = sessionUPOPage(ss, ref)
			}
		case "invoice-upo":
			for _, inv := range ss.invoices {
				if inv.status.Code == invSucceeded && file == "upo_"+inv.ksefNumber+".xml" {
					doc = s.invoiceUPO(inv)
				}
			}
		}
	}
	s.st.mu.Unlock()
	if doc == nil {
		storageError(w, http.StatusNotFound, "BlobNotFound", "The specified blob does not exist.")
		return
	}
	writeUPO(w, doc)
}

func upoNotFound(detail string) apiError {
	return apiError{Code: codeUPONotFound, Description: descUPONotFound, Details: []string{detail}}
}

// handleSessionUPO serves GET /sessions/{ref}/upo/{upoRef}.
func (s *Server) handleSessionUPO(w http.ResponseWriter, r *http.Request) {
	c, ok := s.requireAccess(w, r, permsStatus)
	if !ok {
		return
	}
	ref, upoRef := r.PathValue("referenceNumber"), r.PathValue("upoReferenceNumber")
	ss, ok := s.lockSettledSession(w, r, c, ref, anySession, s.now())
	if !ok {
		return
	}
	doc := sessionUPOPage(ss, upoRef)
	s.st.mu.Unlock()
	if doc == nil {
		s.writeBadRequest(w, r, upoNotFound("UPO o numerze referencyjnym "+upoRef+" dla sesji "+ref+" nie zostało znalezione."))
		return
	}
	writeUPO(w, doc)
}

// handleInvoiceUPO serves GET /sessions/{ref}/invoices/{invoiceRef}/upo.
func (s *Server) handleInvoiceUPO(w http.ResponseWriter, r *http.Request) {
	ref, invRef := r.PathValue("referenceNumber"), r.PathValue("invoiceReferenceNumber")
	s.serveInvoiceUPO(w, r, ref, func(ss *onlineSession) *invoiceRec { return findInvoice(ss, invRef) },
		"UPO dla faktury o numerze referencyjnym "+invRef+" w sesji "+ref+" nie zostało znalezione.")
}

// handleInvoiceUPOByKSeF serves GET /sessions/{ref}/invoices/ksef/{ksefNumber}/upo.
func (s *Server) handleInvoiceUPOByKSeF(w http.ResponseWriter, r *http.Request) {
	ref, kn := r.PathValue("referenceNumber"), r.PathValue("ksefNumber")
	s.serveInvoiceUPO(w, r, ref, func(ss *onlineSession) *invoiceRec {
		if inv := s.st.sessions.byKSeF[kn]; inv != nil && inv.sess == ss {
			return inv
		}
		return nil
	}, "UPO o numerze KSeF "+kn+" i numerze referencyjnym sesji "+ref+" nie zostało znalezione.")
}

// serveInvoiceUPO answers the UPO of the invoice find picks (under the lock) in the
// caller's session ref. Unlike the other session endpoints, an unknown session is
// reported like a missing UPO: 400 (21178) with the detail notFound.
func (s *Server) serveInvoiceUPO(w http.ResponseWriter, r *http.Request, ref string, find func(*onlineSession) *invoiceRec, notFound string) {
	c, ok := s.requireAccess(w, r, permsStatus)
	if !ok {
		return
	}
	now := s.now()
	s.st.mu.Lock()
	var doc *upoDoc
	if ss := s.sessionFor(c, ref); ss != nil {
		s.settleSession(ss, now)
		if inv := find(ss); inv != nil {
			doc = s.invoiceUPO(inv)
		}
	}
	s.st.mu.Unlock()
	if doc == nil {
		s.writeBadRequest(w, r, upoNotFound(notFound))
		return
	}
	writeUPO(w, doc)
}
