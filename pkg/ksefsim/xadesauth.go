package ksefsim

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ksefpl/ksefpl/internal/lazyre"
	"github.com/ksefpl/ksefpl/pkg/kcert"
	"github.com/ksefpl/ksefpl/pkg/xades"
)

// Exception codes of POST /auth/xades-signature (open-api 400 description; research
// §3.10, §8.3).
const (
	codeUnreadable        = 21001 // Nieczytelna treść.
	codeInvalidCert       = 21115 // Nieprawidłowy certyfikat.
	codeBadCharEncoding   = 21217 // Nieprawidłowe kodowanie znaków.
	codeSchema            = 21401 // Dokument nie jest zgodny ze schemą (xsd).
	codeSignatureConflict = 21406 // Konflikt podpisu i typu uwierzytelnienia.
	codeBadDocument       = 9101  // Nieprawidłowy dokument.
	codeNoSignature       = 9102  // Brak podpisu.
	codeTooManySignatures = 9103  // Przekroczona liczba dozwolonych podpisów.
	codeBadSignature      = 9105  // Nieprawidłowy podpis.
	descUnreadable        = "Nieczytelna treść."
	descInvalidCert       = "Nieprawidłowy certyfikat."
	descBadCharEncoding   = "Nieprawidłowe kodowanie znaków."
	descSchema            = "Dokument nie jest zgodny ze schemą (xsd)."
	descSignatureConflict = "Konflikt podpisu i typu uwierzytelnienia."
	descBadDocument       = "Nieprawidłowy dokument."
	descNoSignature       = "Brak podpisu."
	descTooManySignatures = "Przekroczona liczba dozwolonych podpisów."
	descBadSignature      = "Nieprawidłowy podpis."
)

// Status 460 of an authentication (AuthenticationOperationStatusResponse.status):
// certificate problems found after the request was accepted.
const (
	authCertError     = 460
	descCertError     = "Uwierzytelnianie zakończone niepowodzeniem z powodu błędu certyfikatu"
	detInvalidCert    = "Nieważny certyfikat."
	detCertRevoked    = "Certyfikat odwołany."
	detUntrustedChain = "Niezaufany łańcuch certyfikatów."
	detIncorrectCert  = "Niepoprawny certyfikat."
)

// Authentication methods of XAdES (AuthenticationMethod; displayName from its table).
var (
	methodInternal  = authMethodInfo{Category: "XadesSignature", Code: "InternalCertificate", DisplayName: "Certyfikat KSeF"}
	methodSignature = authMethodInfo{Category: "XadesSignature", Code: "QualifiedSignature", DisplayName: "Podpis kwalifikowany"}
	methodSeal      = authMethodInfo{Category: "XadesSignature", Code: "QualifiedSeal", DisplayName: "Pieczęć kwalifikowana"}
)

// xadesMethod classifies the signing certificate: a KSeF certificate, a person's
// certificate (givenName or surname in the subject), or a seal.
func xadesMethod(c *x509.Certificate, kc *ksefCert) authMethodInfo {
	if kc != nil {
		return methodInternal
	}
	for _, a := range c.Subject.Names {
		if a.Type.Equal(kcert.OIDGivenName) || a.Type.Equal(kcert.OIDSurname) {
			return methodSignature
		}
	}
	return methodSeal
}

var xmlEncodingDecl = lazyre.New(`^<\?xml[^>]*?\sencoding\s*=\s*["']([^"']*)["']`)

// checkEncoding refuses a body that is empty (21001) or not UTF-8 (21217).
func checkEncoding(body []byte) *apiError {
	if len(bytes.TrimSpace(body)) == 0 {
		return &apiError{Code: codeUnreadable, Description: descUnreadable, Details: []string{"Brak treści żądania."}}
	}
	bad := func(d string) *apiError {
		return &apiError{Code: codeBadCharEncoding, Description: descBadCharEncoding, Details: []string{d}}
	}
	if bytes.HasPrefix(body, []byte{0xFE, 0xFF}) || bytes.HasPrefix(body, []byte{0xFF, 0xFE}) {
		return bad("Dokument musi być zakodowany w UTF-8 (otrzymano UTF-16).")
	}
	b := bytes.TrimPrefix(body, []byte{0xEF, 0xBB, 0xBF})
	if !utf8.Valid(b) {
		return bad("Dokument zawiera bajty niebędące poprawnym kodowaniem UTF-8.")
	}
	if m := xmlEncodingDecl.FindSubmatch(b); m != nil {
		switch strings.ToLower(string(m[1])) {
		case "utf-8", "utf8", "us-ascii", "ascii":
		default:
			return bad(fmt.Sprintf("Deklarowane kodowanie '%s' nie jest obsługiwane; wymagane jest UTF-8.", m[1]))
		}
	}
	return nil
}

// wellFormedness are the xades KindMalformed messages that mean "not readable XML"
// (21001); the other malformed documents are refused as invalid documents (9101).
var wellFormedness = []string{"not well-formed", "no root element", "no complete root element", "text outside the root element",
	"XML declaration not at the start", "duplicate attribute", "more than one root element", "cannot locate the end"}

// verifyFailure maps a failed xades.Verify to the exception KSeF answers.
func verifyFailure(body []byte, err error) apiError {
	var ve *xades.VerifyError
	if !errors.As(err, &ve) {
		return apiError{Code: codeBadSignature, Description: descBadSignature, Details: []string{"Podpis zweryfikowany negatywnie.", err.Error()}}
	}
	tech := ve.Error()
	switch ve.Kind {
	case xades.KindMalformed:
		for _, p := range wellFormedness {
			if strings.Contains(ve.Msg, p) {
				return apiError{Code: codeUnreadable, Description: descUnreadable, Details: []string{"Dokument nie jest poprawnym dokumentem XML.", tech}}
			}
		}
		return apiError{Code: codeBadDocument, Description: descBadDocument, Details: []string{"Dokument ma niedozwoloną budowę.", tech}}
	case xades.KindNoSignature:
		return apiError{Code: codeNoSignature, Description: descNoSignature, Details: []string{"Dokument nie zawiera podpisu XAdES."}}
	case xades.KindTooManySignatures:
		return apiError{Code: codeTooManySignatures, Description: descTooManySignatures, Details: []string{"Dokument może zawierać tylko jeden podpis.", tech}}
	case xades.KindUnsupported:
		if d := weakKey(body); d != "" {
			return apiError{Code: codeInvalidCert, Description: descInvalidCert, Details: []string{d}}
		}
		return apiError{Code: codeBadSignature, Description: descBadSignature,
			Details: []string{"Podpis złożony z użyciem niewspieranego algorytmu kryptograficznego.", tech}}
	}
	d := "Podpis zweryfikowany negatywnie."
	switch {
	case errors.Is(err, xades.ErrNotXAdES):
		d = "Format podpisu niezgodny z akceptowanymi profilami XAdES."
	case strings.HasPrefix(ve.Msg, "digest of Reference"):
		d = "Nieprawidłowa wartość skrótu dla referencji."
	case strings.Contains(ve.Msg, "SigningCertificate does not match"):
		d = "Skrót certyfikatu w SigningCertificate nie zgadza się z certyfikatem podpisującym."
	case strings.Contains(ve.Msg, "signing certificate is missing"):
		d = "Brak certyfikatu podpisującego w KeyInfo."
	}
	return apiError{Code: codeBadSignature, Description: descBadSignature, Details: []string{d, tech}}
}

// weakKey describes the signing certificate's key when KSeF refuses it (RSA below
// 2048 bits, EC below 256 bits, another key type); "" when the key is fine or no
// certificate is found.
func weakKey(body []byte) string {
	dec := xml.NewDecoder(bytes.NewReader(body))
	for {
		tok, err := dec.Token()
		if err != nil {
			return ""
		}
		se, ok := tok.(xml.StartElement)
		if !ok || se.Name.Space != xades.NamespaceDSig || se.Name.Local != "X509Certificate" {
			continue
		}
		var text string
		if dec.DecodeElement(&text, &se) != nil {
			return ""
		}
		der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(text), ""))
		if err != nil {
			return ""
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			if strings.Contains(err.Error(), "unsupported elliptic curve") {
				return "Certyfikat używa nieobsługiwanej krzywej eliptycznej (wymagana krzywa co najmniej 256-bitowa)."
			}
			return ""
		}
		switch k := c.PublicKey.(type) {
		case *rsa.PublicKey:
			if k.N.BitLen() < 2048 {
				return fmt.Sprintf("Klucz RSA certyfikatu ma %d bitów; wymagane jest co najmniej 2048.", k.N.BitLen())
			}
		case *ecdsa.PublicKey:
			if bits := k.Curve.Params().BitSize; bits < 256 {
				return fmt.Sprintf("Krzywa eliptyczna certyfikatu ma %d bitów; wymagane jest co najmniej 256.", bits)
			}
		default:
			return fmt.Sprintf("Nieobsługiwany typ klucza certyfikatu (%T); dozwolone są RSA i EC.", k)
		}
		return ""
	}
}

// handleXadesSignature serves POST /auth/xades-signature: the signed AuthTokenRequest
// is verified for real (xades.Verify) and read only from what the signature covers.
// Document, signature and challenge problems are answered synchronously (400);
// certificate and permission problems surface later as the operation status (460,
// 415), as on the real service.
func (s *Server) handleXadesSignature(w http.ResponseWriter, r *http.Request) {
	now := s.now()
	body, err := io.ReadAll(io.LimitReader(r.Body, xades.MaxDocumentSize+1))
	if err != nil {
		s.writeBadRequest(w, r, apiError{Code: codeUnreadable, Description: descUnreadable, Details: []string{"Nie udało się odczytać treści żądania."}})
		return
	}
	ref := ""
	defer func() {
		s.st.mu.Lock()
		s.recordSigned(SignedAuthRequest{ReceivedAt: now, ReferenceNumber: ref, Document: body})
		s.st.mu.Unlock()
	}()

	strict := s.cfg.StrictCertificates
	if q := r.URL.Query(); q.Has("verifyCertificateChain") {
		v, err := strconv.ParseBool(q.Get("verifyCertificateChain"))
		if err != nil {
			s.writeBadRequest(w, r, validationError(fmt.Sprintf("Parametr 'verifyCertificateChain' musi mieć wartość true lub false (otrzymano '%s').", q.Get("verifyCertificateChain"))))
			return
		}
		strict = strict || v
	}
	if e := checkEncoding(body); e != nil {
		s.writeBadRequest(w, r, *e)
		return
	}
	verified, err := xades.Verify(body)
	if err != nil {
		s.writeBadRequest(w, r, verifyFailure(body, err))
		return
	}
	req, details := parseAuthTokenRequest(verified.Document)
	if details != nil {
		s.writeBadRequest(w, r, apiError{Code: codeSchema, Description: descSchema, Details: details})
		return
	}
	cert := verified.Certificate

	s.st.mu.Lock()
	ch := s.st.auth.challenges[req.Challenge]
	if ch == nil || ch.used || now.Sub(ch.at) > challengeTTL {
		s.unlockBadRequest(w, r, apiError{Code: codeInvalidChallenge, Description: descInvalidChallenge,
			Details: []string{"Wyzwanie " + req.Challenge + " nie zostało wydane, zostało już użyte lub wygasło."}})
		return
	}
	kc := s.ksefCertOf(cert)
	if req.SubjectType == subjectByCertificate && kc == nil && kcert.IdentityOf(cert).Kind == kcert.IdentityFingerprint {
		s.unlockBadRequest(w, r, apiError{Code: codeSignatureConflict, Description: descSignatureConflict,
			Details: []string{"Certyfikat nie zawiera identyfikatora podmiotu (NIP lub PESEL) wymaganego dla SubjectIdentifierType certificateSubject."}})
		return
	}
	ch.used = true
	info := xadesMethod(cert, kc)
	op := &authOp{
		ref: newRefNumber(now, infixAuth), started: now, ctxType: req.ContextType, ctxValue: req.ContextValue,
		method: info.Code, methodInfo: info, cert: cert, docHash: sha256B64(body),
	}
	s.judgeXades(op, kc, req, strict, now)
	s.st.auth.ops[op.ref] = op
	ref = op.ref
	s.st.mu.Unlock()

	validUntil := now.Add(authTokenTTL).Truncate(time.Second)
	tok := signJWT(s.secret, claims{
		TokenType: tokenTypeOperation, OperationRef: op.ref, ContextType: op.ctxType, ContextValue: op.ctxValue,
		Expires: validUntil.Unix(), IssuedAt: now.Unix(),
	})
	writeOK(w, http.StatusAccepted, authInitResponse{
		ReferenceNumber: op.ref, AuthenticationToken: tokenInfo{Token: tok, ValidUntil: formatTime(validUntil)},
	})
}

// judgeXades decides the final status of a XAdES authentication: certificate
// problems (460), then the subject's permissions in the context (415). Caller holds
// the lock.
func (s *Server) judgeXades(op *authOp, kc *ksefCert, req *authTokenRequest, strict bool, now time.Time) {
	cert := op.cert
	certFail := ""
	switch {
	case strict && cert.CheckSignatureFrom(s.st.certs.ca.Cert) != nil:
		certFail = detUntrustedChain
	case s.certRevoked(cert):
		certFail = detCertRevoked
	case s.certExpired(cert, now) || now.Before(cert.NotBefore):
		certFail = detInvalidCert
	case kc != nil && kc.typ != certTypeAuthentication:
		certFail = detIncorrectCert // an Offline certificate cannot authenticate
	}
	fingerprint := subjectID{Type: subjectFingerprint, Value: kcert.Fingerprint(cert)}
	switch {
	case kc != nil:
		op.subject = kc.owner // a KSeF certificate carries the identity it was issued for
	case req.SubjectType == subjectByFingerprint:
		op.subject = fingerprint
	default:
		op.subject = identityOf(cert)
	}
	if certFail != "" {
		op.final = statusInfo{Code: authCertError, Description: descCertError, Details: []string{certFail}}
		return
	}
	perms := s.permissionsIn(req.ContextType, req.ContextValue, op.subject)
	if perms == nil && kc != nil && req.SubjectType == subjectByFingerprint {
		perms = s.permissionsIn(req.ContextType, req.ContextValue, fingerprint)
	}
	if len(perms) == 0 {
		op.final = statusInfo{Code: authNoPerms, Description: descFailed, Details: []string{detNoPerms}}
		return
	}
	op.permissions = slices.Clone(perms)
	op.final = statusInfo{Code: authSucceeded, Description: descSucceeded}
	if kc != nil {
		kc.lastUse = now
	}
}
