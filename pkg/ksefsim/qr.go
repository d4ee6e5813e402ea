package ksefsim

import (
	"crypto/sha256"
	"encoding/base64"
	"html/template"
	"net"
	"net/http"
	"strings"
	"time"
)

// The QR verification service (kody-qr.md). The official one lives on its own host
// (https://qr[-test|-demo].ksef.mf.gov.pl/invoice/… and /certificate/…); the
// simulator serves it under /qr/, so that the QR base of the local environment is
// {simulator root}/qr (pkg/ksef Endpoints.QR), and also at the root of a qr….ksef.mf.gov.pl
// host when that name is resolved to the simulator.
//
//	GET /qr/invoice/{sellerNIP}/{P_1 as DD-MM-YYYY}/{SHA-256 of the invoice, Base64URL}
//	    KOD I: is the invoice in KSeF (Accepted, with its metadata), being processed,
//	    technically corrected (the original of an accepted technical correction: the
//	    new invoice's metadata), or not in KSeF (not sent yet, or rejected).
//	GET /qr/certificate/{Nip|InternalId|NipVatUe|PeppolId}/{context}/{sellerNIP}/{serial}/{hash}/{signature}
//	    KOD II: see handleQRCertificate.
//
// Both answer an HTML page, or JSON when the request's Accept names application/json;
// a well-formed link gets 200 whatever the verdict, a malformed one 400.

// GroupQR is the statistics group of the QR verification pages (not limited).
const GroupQR = "qr"

// qrLinkDateLayout is the DD-MM-YYYY form of P_1 in a KOD I link.
const qrLinkDateLayout = "02-01-2006"

// KOD I verdicts (the simulator's names).
const (
	qrInvoiceAccepted  = "Accepted"
	qrInvoiceCorrected = "TechnicallyCorrected"
	qrInvoiceInProcess = "Processing"
	qrInvoiceNotFound  = "NotFound"
)

// isQRHost reports whether host (host[:port]) is one of KSeF's QR hosts
// (qr.ksef.mf.gov.pl, qr-test…, qr-demo…).
func isQRHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	return (host == "qr.ksef.mf.gov.pl" || strings.HasPrefix(host, "qr-")) && strings.HasSuffix(host, ".ksef.mf.gov.pl")
}

// wantsJSON reports whether the caller asked for JSON rather than a page.
func wantsJSON(r *http.Request) bool {
	return strings.Contains(strings.ToLower(r.Header.Get("Accept")), "application/json")
}

// decodeB64URL decodes Base64URL with or without padding.
func decodeB64URL(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}

// qrInvoiceAnswer is the JSON answer of the KOD I page.
type qrInvoiceAnswer struct {
	Status      string `json:"status"` // Accepted, TechnicallyCorrected, Processing, NotFound
	Message     string `json:"message"`
	SellerNip   string `json:"sellerNip"`
	IssueDate   string `json:"issueDate"`   // P_1 from the link, YYYY-MM-DD
	InvoiceHash string `json:"invoiceHash"` // the hash from the link, Base64URL
	// KsefNumber is the KSeF number the link leads to: the invoice's, or for a
	// technically corrected one the correction's.
	KsefNumber string           `json:"ksefNumber,omitempty"`
	Invoice    *invoiceMetadata `json:"invoice,omitempty"`
	// TechnicalCorrection names the accepted correction of the invoice of the link.
	TechnicalCorrection *qrCorrection `json:"technicalCorrection,omitempty"`
	Error               string        `json:"error,omitempty"` // a malformed link (400)
}

type qrCorrection struct {
	KsefNumber             string `json:"ksefNumber"`
	InvoiceHash            string `json:"invoiceHash"`            // the correction's (Base64)
	HashOfCorrectedInvoice string `json:"hashOfCorrectedInvoice"` // the original's (Base64)
}

// handleQRInvoice serves the KOD I page GET /qr/invoice/{nip}/{date}/{hash}.
func (s *Server) handleQRInvoice(w http.ResponseWriter, r *http.Request) {
	nip, date, hashURL := r.PathValue("sellerNIP"), r.PathValue("issueDate"), r.PathValue("hash")
	out := qrInvoiceAnswer{SellerNip: nip, InvoiceHash: hashURL}
	issued, derr := time.Parse(qrLinkDateLayout, date)
	raw, herr := decodeB64URL(hashURL)
	switch {
	case !validNIPShape(nip):
		out.Error = "NIP sprzedawcy w linku musi mieć 10 cyfr."
	case derr != nil:
		out.Error = "Data wystawienia w linku musi mieć postać DD-MM-RRRR."
	case herr != nil || len(raw) != sha256.Size:
		out.Error = "Skrót faktury w linku musi być skrótem SHA-256 zakodowanym w Base64URL (43 znaki)."
	}
	if out.Error != "" {
		s.writeQR(w, r, http.StatusBadRequest, out, "Nieprawidłowy link weryfikacyjny", out.Error, nil)
		return
	}
	out.IssueDate = issued.Format("2006-01-02")
	hash := base64.StdEncoding.EncodeToString(raw)

	now := s.now()
	s.st.mu.Lock()
	var accepted, corrected, pending *invoiceRec
	for _, inv := range s.st.sessions.invoices {
		f := inv.facts
		if inv.hash != hash || (f.sellerNIP != nip && (f.sellerNIP != "" || inv.sess.ctxValue != nip)) ||
			(f.issueDate != "" && f.issueDate != out.IssueDate) {
			continue
		}
		s.settleInvoice(inv, now)
		switch {
		case inv.status.Code == invSucceeded:
			accepted = inv
		case inv.correctedBy != nil:
			corrected = inv
		case !inv.final():
			pending = inv
		}
	}
	switch {
	case accepted != nil:
		m := accepted.metadata()
		out.Status, out.KsefNumber, out.Invoice = qrInvoiceAccepted, accepted.ksefNumber, &m
		out.Message = "Faktura znajduje się w KSeF, numer KSeF: " + accepted.ksefNumber + "."
	case corrected != nil:
		c := corrected.correctedBy
		m := c.metadata()
		out.Status, out.KsefNumber, out.Invoice = qrInvoiceCorrected, c.ksefNumber, &m
		out.TechnicalCorrection = &qrCorrection{KsefNumber: c.ksefNumber, InvoiceHash: c.hash, HashOfCorrectedInvoice: corrected.hash}
		out.Message = "Faktura została technicznie poprawiona: poprawiona faktura znajduje się w KSeF, numer KSeF: " + c.ksefNumber + "."
	case pending != nil:
		out.Status = qrInvoiceInProcess
		out.Message = "Faktura została przesłana do KSeF i jest przetwarzana; numer KSeF nie został jeszcze nadany."
	default:
		out.Status = qrInvoiceNotFound
		out.Message = "Faktura nie znajduje się w KSeF: nie została jeszcze przesłana (faktura offline) albo nie została przyjęta."
	}
	s.st.mu.Unlock()
	var rows [][2]string
	if m := out.Invoice; m != nil {
		rows = [][2]string{
			{"Numer KSeF", m.KsefNumber}, {"Numer faktury", m.InvoiceNumber}, {"NIP sprzedawcy", m.Seller.Nip},
			{"Data wystawienia", m.IssueDate}, {"Data przyjęcia", m.InvoicingDate}, {"Data nadania numeru KSeF", m.AcquisitionDate},
			{"Tryb wystawienia", m.InvoicingMode}, {"Kwota brutto", string(m.GrossAmount) + " " + m.Currency},
		}
		if out.TechnicalCorrection != nil {
			rows = append(rows, [2]string{"Skrót faktury pierwotnej", out.TechnicalCorrection.HashOfCorrectedInvoice})
		}
	}
	s.writeQR(w, r, http.StatusOK, out, "Weryfikacja faktury (KOD I)", out.Message, rows)
}

// qrPage is the HTML page of both QR endpoints.
var qrPage = template.Must(template.New("qr").Parse(`<!DOCTYPE html>
<html lang="pl"><head><meta charset="utf-8"><title>{{.Title}} – ksefsim</title></head>
<body><h1>{{.Title}}</h1>
<p>{{.Message}}</p>
{{if .Rows}}<table>{{range .Rows}}<tr><th>{{index . 0}}</th><td>{{index . 1}}</td></tr>{{end}}</table>{{end}}
<p><small>Symulator KSeF (ksefsim) – strona weryfikacyjna kodów QR.</small></p>
</body></html>
`))

// writeQR answers a QR page: v as JSON when asked for, else the HTML page.
func (s *Server) writeQR(w http.ResponseWriter, r *http.Request, status int, v any, title, message string, rows [][2]string) {
	if wantsJSON(r) {
		writeOK(w, status, v)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_ = qrPage.Execute(w, struct {
		Title, Message string
		Rows           [][2]string
	}{title, message, rows})
}
