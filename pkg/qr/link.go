package qr

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/ksefpl/ksefpl/pkg/nip"
)

// LabelOffline is printed under KOD I while the invoice has no KSeF number yet (an
// offline invoice before sending, or an online one still waiting for its number).
const LabelOffline = "OFFLINE"

// linkDateLayout is the DD-MM-YYYY form of P_1 in the link.
const linkDateLayout = "02-01-2006"

// Label returns the text printed under KOD I: the KSeF number when known, else OFFLINE.
func Label(ksefNumber string) string {
	if s := strings.TrimSpace(ksefNumber); s != "" {
		return s
	}
	return LabelOffline
}

// HashBase64URL returns SHA-256 of the exact invoice bytes in Base64URL without
// padding (43 characters), the form the link carries.
func HashBase64URL(xml []byte) string {
	h := sha256.Sum256(xml)
	return base64.RawURLEncoding.EncodeToString(h[:])
}

// InvoiceLink builds the KOD I link
// {base}/invoice/{sellerNIP}/{issueDate as DD-MM-YYYY}/{hash}. base is the
// environment's QR address (ksef.Endpoints.QR, e.g. https://qr-test.ksef.mf.gov.pl);
// hash is the Base64URL SHA-256 of the invoice file (see HashBase64URL). Bad values
// give an *InputError.
func InvoiceLink(base, sellerNIP string, issueDate time.Time, hash string) (string, error) {
	b, err := checkBase(base)
	if err != nil {
		return "", err
	}
	if err := nip.Validate(sellerNIP); err != nil {
		return "", &InputError{Field: "seller NIP", Msg: err.Error(), Err: err}
	}
	if issueDate.IsZero() {
		return "", &InputError{Field: "issue date", Msg: "missing: the link needs the invoice's P_1"}
	}
	raw, err := base64.RawURLEncoding.DecodeString(hash)
	if err != nil || len(raw) != sha256.Size {
		return "", &InputError{Field: "invoice hash", Msg: fmt.Sprintf("%q is not a Base64URL SHA-256 without padding (43 characters); compute it with HashBase64URL from the exact XML bytes", hash)}
	}
	return b + "/invoice/" + sellerNIP + "/" + issueDate.Format(linkDateLayout) + "/" + hash, nil
}

// checkBase validates the QR service address and drops a trailing slash.
func checkBase(base string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(base))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", &InputError{Field: "QR base URL", Msg: fmt.Sprintf("%q is not a plain http(s) address such as https://qr-test.ksef.mf.gov.pl; check ksefpl/connection/environment and base_url", base)}
	}
	return strings.TrimSuffix(strings.TrimSpace(base), "/"), nil
}
