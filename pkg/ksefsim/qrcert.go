package ksefsim

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"math/big"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/ksefpl/ksefpl/pkg/kcert"
)

// KOD II verification (kody-qr.md "KOD II - Weryfikacja certyfikatu"):
//
//	GET /qr/certificate/{ctxType}/{ctxValue}/{sellerNIP}/{serial}/{hash}/{signature}
//
// The link is checked in the documented order:
//
//  1. the certificate: serial is the serial number (hexadecimal, as KSeF writes it:
//     16 upper-case digits) of a KSeF certificate the simulator's CA issued (an
//     enrolment, or IssueKSeFCertificate), of type Offline (an Authentication
//     certificate cannot sign KOD II), neither revoked nor expired nor not yet valid
//     at the simulator's clock;
//  2. the signature: the Base64URL signature over the UTF-8 bytes of the link without
//     its scheme and without the signature segment. The simulator takes the host the
//     link was addressed to (the request's Host, with its port when there is one; also
//     X-Forwarded-Host when a proxy sets it) and the path up to the hash. For a
//     simulator at http://127.0.0.1:8089, whose QR base is http://127.0.0.1:8089/qr,
//     the link http://127.0.0.1:8089/qr/certificate/Nip/1111111111/1111111111/01F20A5D352AE590/{hash}/{sig}
//     signs "127.0.0.1:8089/qr/certificate/Nip/1111111111/1111111111/01F20A5D352AE590/{hash}";
//     addressed as https://qr-test.ksef.mf.gov.pl/certificate/… it signs
//     "qr-test.ksef.mf.gov.pl/certificate/…". EC P-256 keys: ECDSA with SHA-256, the
//     signature as IEEE P1363 r‖s (64 bytes, recommended) or ASN.1 DER; RSA keys
//     (2048 bits or more): RSASSA-PSS, SHA-256, MGF1-SHA-256, salt length exactly 32;
//  3. the issuer's permissions: the certificate's subject (NIP, PESEL or fingerprint)
//     holds InvoiceWrite (or PefInvoiceWrite) in the context: its own NIP, or a grant
//     (GrantPermissions). InternalId and NipVatUe contexts are judged by the NIP they
//     start with; PeppolId contexts have no permissions in the simulator;
//  4. the context may issue for the seller: the context's NIP is the seller's NIP
//     (self-invoicing, tax representatives, VAT groups and the like are not simulated).
//
// The answer (HTML, or JSON with Accept: application/json) is 200 with valid true or
// false and, when false, a reasonCode: certificate-not-found, certificate-not-offline,
// certificate-revoked, certificate-expired, certificate-not-yet-valid,
// signature-invalid, no-permission, seller-not-allowed. A malformed link is 400 with
// reasonCode malformed-link.

// qrCertAnswer is the JSON answer of the KOD II page.
type qrCertAnswer struct {
	Valid       bool           `json:"valid"`
	ReasonCode  string         `json:"reasonCode,omitempty"`
	Reason      string         `json:"reason"`
	Context     qrContext      `json:"context"`
	SellerNip   string         `json:"sellerNip"`
	InvoiceHash string         `json:"invoiceHash"`
	Certificate *qrCertificate `json:"certificate,omitempty"`
}

type qrContext struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

type qrCertificate struct {
	Serial            string    `json:"serial"`
	Subject           string    `json:"subject"`
	SubjectIdentifier subjectID `json:"subjectIdentifier"`
	Name              string    `json:"name"`
	Type              string    `json:"type"`
	Status            string    `json:"status"`
	ValidFrom         string    `json:"validFrom"`
	ValidTo           string    `json:"validTo"`
}

// KOD II reason codes.
const (
	qrMalformed         = "malformed-link"
	qrCertNotFound      = "certificate-not-found"
	qrCertNotOffline    = "certificate-not-offline"
	qrCertRevoked       = "certificate-revoked"
	qrCertExpired       = "certificate-expired"
	qrCertNotYetValid   = "certificate-not-yet-valid"
	qrSignatureInvalid  = "signature-invalid"
	qrNoPermission      = "no-permission"
	qrSellerNotAllowed  = "seller-not-allowed"
	qrPSSSaltLength     = 32
	qrMinRSABits        = 2048
	qrCertificateLayout = "2006-01-02T15:04:05Z07:00"
)

var qrContextTypes = []string{"Nip", "InternalId", "NipVatUe", "PeppolId"}

// handleQRCertificate serves the KOD II page.
func (s *Server) handleQRCertificate(w http.ResponseWriter, r *http.Request) {
	ctxType, ctxValue, seller := r.PathValue("ctxType"), r.PathValue("ctxValue"), r.PathValue("sellerNIP")
	serialIn, hashURL, sigURL := r.PathValue("serial"), r.PathValue("hash"), r.PathValue("signature")
	out := qrCertAnswer{Context: qrContext{Type: ctxType, Value: ctxValue}, SellerNip: seller, InvoiceHash: hashURL}
	hash, herr := decodeB64URL(hashURL)
	sig, serr := decodeB64URL(sigURL)
	serial, nerr := normSerial(serialIn)
	switch {
	case !slices.Contains(qrContextTypes, ctxType):
		out.Reason = "Typ identyfikatora kontekstu musi być jednym z: Nip, InternalId, NipVatUe, PeppolId."
	case ctxValue == "":
		out.Reason = "Brak identyfikatora kontekstu."
	case !validNIPShape(seller):
		out.Reason = "NIP sprzedawcy w linku musi mieć 10 cyfr."
	case nerr != nil || len(serialIn) > 40:
		out.Reason = "Numer seryjny certyfikatu musi być liczbą szesnastkową (np. 01F20A5D352AE590)."
	case herr != nil || len(hash) != sha256.Size:
		out.Reason = "Skrót faktury w linku musi być skrótem SHA-256 zakodowanym w Base64URL (43 znaki)."
	case serr != nil || len(sig) == 0:
		out.Reason = "Podpis w linku musi być zakodowany w Base64URL."
	}
	if out.Reason != "" {
		out.ReasonCode = qrMalformed
		s.writeQR(w, r, http.StatusBadRequest, out, "Nieprawidłowy link weryfikacyjny", out.Reason, nil)
		return
	}

	now := s.now()
	s.st.mu.Lock()
	kc := s.st.certs.bySerial[serial]
	var perms []string
	status := ""
	if kc != nil {
		status = s.certStatus(kc, now)
		out.Certificate = &qrCertificate{
			Serial: kc.serial, Subject: kcert.NameString(kc.cert.Subject), SubjectIdentifier: kc.owner,
			Name: kc.name, Type: kc.typ, Status: status,
			ValidFrom: kc.cert.NotBefore.UTC().Format(qrCertificateLayout), ValidTo: kc.cert.NotAfter.UTC().Format(qrCertificateLayout),
		}
		if nip := contextNIP(ctxType, ctxValue); nip != "" {
			perms = slices.Clone(s.permissionsIn("Nip", nip, kc.owner))
		}
	}
	s.st.mu.Unlock()

	out.ReasonCode, out.Reason = s.judgeKODII(r, kc, status, now, sig, perms, ctxType, ctxValue, seller)
	out.Valid = out.ReasonCode == ""
	title := "Weryfikacja certyfikatu wystawcy (KOD II)"
	var rows [][2]string
	if c := out.Certificate; c != nil {
		rows = [][2]string{{"Numer seryjny", c.Serial}, {"Podmiot", c.Subject}, {"Typ certyfikatu", c.Type},
			{"Status", c.Status}, {"Ważny od", c.ValidFrom}, {"Ważny do", c.ValidTo}}
	}
	rows = append(rows, [2]string{"Kontekst", ctxType + " " + ctxValue}, [2]string{"NIP sprzedawcy", seller})
	s.writeQR(w, r, http.StatusOK, out, title, out.Reason, rows)
}

// judgeKODII runs the checks in the documented order and returns the first failure
// (reasonCode, reason) or "" and the positive verdict.
func (s *Server) judgeKODII(r *http.Request, kc *ksefCert, status string, now time.Time, sig []byte, perms []string, ctxType, ctxValue, seller string) (string, string) {
	switch {
	case kc == nil:
		return qrCertNotFound, "Certyfikat o podanym numerze seryjnym nie istnieje w rejestrze certyfikatów KSeF."
	case kc.typ != certTypeOffline:
		return qrCertNotOffline, "Certyfikat KSeF typu " + kc.typ + " nie może służyć do wystawiania faktur w trybie offline (wymagany certyfikat typu Offline)."
	case status == certStatusRevoked:
		return qrCertRevoked, "Certyfikat KSeF został odwołany."
	case status == certStatusExpired:
		return qrCertExpired, "Certyfikat KSeF utracił ważność " + kc.cert.NotAfter.UTC().Format(qrCertificateLayout) + "."
	case now.Before(kc.cert.NotBefore):
		return qrCertNotYetValid, "Certyfikat KSeF jest ważny dopiero od " + kc.cert.NotBefore.UTC().Format(qrCertificateLayout) + "."
	}
	if !verifyKODIISignature(kc.cert.PublicKey, signedLinkCandidates(r), sig) {
		return qrSignatureInvalid, "Podpis linku jest nieprawidłowy: nie został złożony kluczem prywatnym certyfikatu KSeF (oczekiwany podpis: " +
			signedLinkCandidates(r)[0] + ")."
	}
	if !slices.Contains(perms, "InvoiceWrite") && !slices.Contains(perms, "PefInvoiceWrite") {
		return qrNoPermission, "Podmiot " + kc.owner.Type + " " + kc.owner.Value + " nie posiada uprawnienia do wystawiania faktur (InvoiceWrite) w kontekście " + ctxType + " " + ctxValue + "."
	}
	if contextNIP(ctxType, ctxValue) != seller {
		return qrSellerNotAllowed, "Kontekst " + ctxType + " " + ctxValue + " nie jest uprawniony do wystawiania faktur w imieniu sprzedawcy " + seller + "."
	}
	return "", "Certyfikat KSeF wystawcy jest ważny, podpis linku jest prawidłowy, a wystawca jest uprawniony do wystawienia faktury w imieniu sprzedawcy " + seller + "."
}

// contextNIP is the NIP a context stands for: the value of a Nip context, the NIP an
// InternalId (NIP-5 digits) or NipVatUe (NIP-VAT UE number) starts with; "" otherwise.
func contextNIP(ctxType, ctxValue string) string {
	switch ctxType {
	case "Nip":
		return ctxValue
	case "InternalId", "NipVatUe":
		if nip, _, ok := strings.Cut(ctxValue, "-"); ok && validNIPShape(nip) {
			return nip
		}
	}
	return ""
}

// signedLinkCandidates are the strings a KOD II signature may be over: host and
// path of the link without the signature segment, for the request's Host and, behind
// a proxy, X-Forwarded-Host. On a qr….ksef.mf.gov.pl host the link has no /qr prefix.
func signedLinkCandidates(r *http.Request) []string {
	p := r.URL.EscapedPath()
	if isQRHost(r.Host) {
		p = strings.TrimPrefix(p, "/qr")
	}
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		p = p[:i]
	}
	out := []string{r.Host + p}
	for _, h := range strings.Split(r.Header.Get("X-Forwarded-Host"), ",") {
		if h = strings.TrimSpace(h); h != "" && h != r.Host {
			out = append(out, h+p)
		}
	}
	return out
}

// verifyKODIISignature checks sig over any of the candidate strings with the
// certificate's key (kody-qr.md "Algorytmy podpisu").
func verifyKODIISignature(pub crypto.PublicKey, candidates []string, sig []byte) bool {
	for _, c := range candidates {
		if verifyLinkSignature(pub, []byte(c), sig) == nil {
			return true
		}
	}
	return false
}

var errBadLinkSignature = errors.New("invalid KOD II signature")

// verifyLinkSignature verifies one KOD II signature: ECDSA P-256/SHA-256 (IEEE P1363
// r‖s or ASN.1 DER) or RSASSA-PSS SHA-256/MGF1-SHA-256 with a 32-byte salt.
func verifyLinkSignature(pub crypto.PublicKey, msg, sig []byte) error {
	digest := sha256.Sum256(msg)
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return errBadLinkSignature
		}
		if len(sig) == 64 {
			rr, ss := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
			if ecdsa.Verify(k, digest[:], rr, ss) {
				return nil
			}
		}
		if ecdsa.VerifyASN1(k, digest[:], sig) {
			return nil
		}
		return errBadLinkSignature
	case *rsa.PublicKey:
		if k.N.BitLen() < qrMinRSABits {
			return errBadLinkSignature
		}
		return rsa.VerifyPSS(k, crypto.SHA256, digest[:], sig, &rsa.PSSOptions{SaltLength: qrPSSSaltLength, Hash: crypto.SHA256})
	}
	return errBadLinkSignature
}
