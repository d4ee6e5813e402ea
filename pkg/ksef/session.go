package ksef

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"time"
)

// FormCode names the invoice schema a session accepts (the API's FormCode).
// Mind the space in SystemCode, e.g. "FA (3)".
type FormCode struct {
	SystemCode    string `json:"systemCode"`
	SchemaVersion string `json:"schemaVersion"`
	Value         string `json:"value"`
}

// String renders the form code as KSeF writes it, e.g. "FA (3) 1-0E FA".
func (f FormCode) String() string {
	return f.SystemCode + " " + f.SchemaVersion + " " + f.Value
}

// FormCodeFA3 is the form code of FA(3) invoices.
func FormCodeFA3() FormCode {
	return FormCode{SystemCode: "FA (3)", SchemaVersion: "1-0E", Value: "FA"}
}

// FormCodeFA2 is the form code of FA(2) invoices (accepted by the TEST
// environment only).
func FormCodeFA2() FormCode {
	return FormCode{SystemCode: "FA (2)", SchemaVersion: "1-0E", Value: "FA"}
}

// KSeF exception codes of the session, invoice and UPO endpoints (HTTP 400).
const (
	ErrCodeSessionInvoiceLimit        = 21155 // invoice limit per session reached
	ErrCodeTechnicalCorrectionDone    = 21166 // technical correction not available
	ErrCodeTechnicalCorrectionRefused = 21167 // invoice status does not allow a technical correction
	ErrCodeSessionNotFound            = 21173 // no session with this reference number
	ErrCodeUPONotFound                = 21178 // no UPO for the given criteria
	ErrCodeSessionStatus              = 21180 // the session status does not allow the operation
	ErrCodeQueryRangeBeyondData       = 21183 // the date range starts after PermanentStorageHwmDate
	ErrCodeSessionUnavailable         = 21184 // the online session is temporarily unavailable (API 2.8.0+)
	ErrCodeInvoiceSize                = 21402 // declared size does not match the content
	ErrCodeInvoiceHash                = 21403 // declared hash does not match the content
	ErrCodeValidation                 = 21405 // input validation error
	ErrCodeContinuationToken          = 21418 // malformed continuation token
)

// IsSessionGone reports whether err says the online session can no longer be
// used: KSeF does not know it (21173) or its status no longer allows the
// operation (21180: closed, expired after 12 h, or finished). The caller
// should open a new session and send there.
func IsSessionGone(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && (ae.HasCode(ErrCodeSessionNotFound) || ae.HasCode(ErrCodeSessionStatus))
}

// OnlineSession is an open interactive session: its reference, expiry, form
// code and the AES-256 key and IV invoices are encrypted with. The key is a
// secret: String and GoString never show it.
type OnlineSession struct {
	// ReferenceNumber is the session reference (SO infix).
	ReferenceNumber string
	// ValidUntil is when KSeF closes the session by itself (12 h after opening).
	ValidUntil time.Time
	// Form is the schema the session accepts.
	Form FormCode

	key []byte
	iv  []byte
}

// String shows the reference and expiry only.
func (s OnlineSession) String() string {
	return fmt.Sprintf("OnlineSession{%s %s valid until %s}", s.ReferenceNumber, s.Form, s.ValidUntil.Format(time.RFC3339))
}

// GoString hides the key in %#v output too.
func (s OnlineSession) GoString() string { return s.String() }

// SymmetricKey returns copies of the session's AES-256 key and IV, for
// storing the session (encrypted) so that a later run can resume it with
// ResumeOnlineSession. Treat the key as a secret.
func (s *OnlineSession) SymmetricKey() (key, iv []byte) {
	return append([]byte(nil), s.key...), append([]byte(nil), s.iv...)
}

// ResumeOnlineSession rebuilds an OnlineSession opened earlier (possibly by
// another process) from its stored parts.
func ResumeOnlineSession(referenceNumber string, validUntil time.Time, form FormCode, key, iv []byte) (*OnlineSession, error) {
	if referenceNumber == "" {
		return nil, &ConfigError{Field: "online session", Msg: "the session reference number is empty"}
	}
	if len(key) != AESKeySize || len(iv) != AESIVSize {
		return nil, &ConfigError{Field: "online session", Msg: fmt.Sprintf("the stored key must have %d bytes and the IV %d bytes (got %d and %d); open a new session", AESKeySize, AESIVSize, len(key), len(iv))}
	}
	return &OnlineSession{ReferenceNumber: referenceNumber, ValidUntil: validUntil, Form: form,
		key: append([]byte(nil), key...), iv: append([]byte(nil), iv...)}, nil
}

// encryptionInfo is the API's EncryptionInfo.
type encryptionInfo struct {
	EncryptedSymmetricKey string `json:"encryptedSymmetricKey"`
	InitializationVector  string `json:"initializationVector"`
	PublicKeyID           string `json:"publicKeyId,omitempty"`
}

// FeatureHeader is the request header that turns on optional KSeF
// behaviour for one call.
const FeatureHeader = "X-KSeF-Feature"

// FeatureSubjectIdentifierValidation is the X-KSeF-Feature value that turns
// on the validation of the subject identifiers of every invoice of a session
// (API 2.8.0+, on KSeF's test environments; production always validates).
const FeatureSubjectIdentifierValidation = "subject-identifier-validation"

// OnlineSessionOptions are the optional settings of an online session.
type OnlineSessionOptions struct {
	// SubjectIdentifierValidation sends X-KSeF-Feature:
	// subject-identifier-validation when opening the session: KSeF then checks
	// on its test environments, as production always does (API 2.0.1+), the
	// NIP check digits of Podmiot1, Podmiot2, Podmiot3 and PodmiotUpowazniony
	// and the NIP inside Podmiot3's internal identifier (IdWew). An invoice
	// that fails gets invoice status 450, reported by its Err as a
	// *SubjectIdentifierError.
	SubjectIdentifierValidation bool
}

// featureHeader returns the X-KSeF-Feature header of a session open (nil
// when no feature is asked for).
func featureHeader(subjectValidation bool) map[string]string {
	if !subjectValidation {
		return nil
	}
	return map[string]string{FeatureHeader: FeatureSubjectIdentifierValidation}
}

// OpenOnlineSession opens an online session with the default options; see
// OpenOnlineSessionWith.
func (c *Client) OpenOnlineSession(ctx context.Context, accessToken string, form FormCode) (*OnlineSession, error) {
	return c.OpenOnlineSessionWith(ctx, accessToken, form, OnlineSessionOptions{})
}

// OpenOnlineSessionWith calls POST /sessions/online with a new random AES-256
// key and IV, the key wrapped with RSA-OAEP-SHA256 under the
// SymmetricKeyEncryption public key (whose publicKeyId is sent), and the
// X-KSeF-Feature header the options ask for. When KSeF answers 21470 (the key
// was rotated) it re-fetches the keys and tries once more. Opening is not
// retried on 5xx or network errors (a session may have been opened; an unused
// one is cancelled by KSeF after 12 h).
func (c *Client) OpenOnlineSessionWith(ctx context.Context, accessToken string, form FormCode, opts OnlineSessionOptions) (*OnlineSession, error) {
	if form.SystemCode == "" || form.SchemaVersion == "" || form.Value == "" {
		return nil, &ConfigError{Field: "form code", Msg: fmt.Sprintf("%q is incomplete; use FormCodeFA3()", form.String())}
	}
	key, iv, err := NewSessionKey()
	if err != nil {
		return nil, err
	}
	const path = "/sessions/online"
	for attempt := 1; ; attempt++ {
		pub, err := c.PublicKey(ctx, UsageSymmetricKeyEncryption)
		if err != nil {
			return nil, err
		}
		wrapped, err := EncryptSymmetricKey(pub.Key, key)
		if err != nil {
			return nil, err
		}
		body := struct {
			FormCode   FormCode       `json:"formCode"`
			Encryption encryptionInfo `json:"encryption"`
		}{form, encryptionInfo{
			EncryptedSymmetricKey: base64.StdEncoding.EncodeToString(wrapped),
			InitializationVector:  base64.StdEncoding.EncodeToString(iv),
			PublicKeyID:           pub.ID,
		}}
		var out struct {
			ReferenceNumber string    `json:"referenceNumber"`
			ValidUntil      time.Time `json:"validUntil"`
		}
		_, err = c.do(ctx, call{method: "POST", path: path, body: body, bearer: accessToken, out: &out,
			header: featureHeader(opts.SubjectIdentifierValidation)})
		var ae *APIError
		if err != nil && attempt == 1 && errors.As(err, &ae) && ae.HasCode(ErrCodePublicKeyUnknown) {
			c.ForgetPublicKeys()
			continue
		}
		if err != nil {
			return nil, err
		}
		if out.ReferenceNumber == "" {
			return nil, &ResponseError{Method: "POST", Path: path, Err: errors.New("referenceNumber missing")}
		}
		return &OnlineSession{ReferenceNumber: out.ReferenceNumber, ValidUntil: out.ValidUntil, Form: form, key: key, iv: iv}, nil
	}
}

// CloseOnlineSession calls POST /sessions/online/{ref}/close (204), which
// starts the generation of the collective session UPO; it is paced in its own
// group, onlineSessionClose (API 2.8.0+). It is retried on 5xx
// and network errors; an answer 21180 (the session status does not allow
// closing — it is already closed, expired or finished) counts as success, so
// closing twice is harmless. 21173 (unknown session) stays an error.
func (c *Client) CloseOnlineSession(ctx context.Context, accessToken, referenceNumber string) error {
	if referenceNumber == "" {
		return &ConfigError{Field: "session reference", Msg: "empty"}
	}
	_, err := c.do(ctx, call{method: "POST", path: "/sessions/online/" + url.PathEscape(referenceNumber) + "/close", bearer: accessToken, idempotent: true})
	var ae *APIError
	if err != nil && errors.As(err, &ae) && ae.HasCode(ErrCodeSessionStatus) {
		return nil
	}
	return err
}

// RevokeToken calls DELETE /tokens/{referenceNumber} (204), revoking the KSeF
// token with that reference. A token may revoke itself without the
// CredentialsManage permission. After revocation KSeF refuses to redeem or
// refresh tokens of authentications made with it (21301).
func (c *Client) RevokeToken(ctx context.Context, accessToken, tokenReference string) error {
	if tokenReference == "" {
		return &ConfigError{Field: "token reference", Msg: "empty; give the KSeF token's reference number"}
	}
	_, err := c.do(ctx, call{method: "DELETE", path: "/tokens/" + url.PathEscape(tokenReference), bearer: accessToken, idempotent: true})
	return err
}
