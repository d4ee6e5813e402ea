package ksef

import (
	"fmt"
	"strings"
	"time"

	"github.com/ksefpl/ksefpl/pkg/failure"
)

// AuthStatusError is a terminal failure status of an authentication operation
// (GET /auth/{ref}): 415, 425, 450, 460, 470, 480, 500 or 550.
type AuthStatusError struct {
	Code        int
	Description string
	Details     []string
}

// Class is failure.Unavailable for 500/550 (KSeF-side failures worth retrying)
// and failure.Auth for the others — every 450 variant included: the token or
// its use was refused, and the hint says what the operator must do.
func (e *AuthStatusError) Class() failure.Class {
	if e.Code == 500 || e.Code == 550 {
		return failure.Unavailable
	}
	return failure.Auth
}

// TokenRejection is why KSeF refused a KSeF token: the Polish details of
// authentication status 450 ("Uwierzytelnianie zakończone niepowodzeniem z
// powodu błędnego tokenu"), as listed by AuthenticationOperationStatusResponse
// in API 2.8.1 (the Polish texts since API 2.6.1).
type TokenRejection string

// The documented 450 details. The value is the detail's Polish text (for
// TokenRejectionContext, its fixed start).
const (
	// TokenRejectionUnknown: a 450 whose details are not documented.
	TokenRejectionUnknown TokenRejection = ""
	// TokenRejectionChallenge: the challenge was refused (expired after 10
	// minutes, already used, or unknown).
	TokenRejectionChallenge TokenRejection = "Nieprawidłowe wyzwanie autoryzacyjne"
	// TokenRejectionInvalid: KSeF does not know the token.
	TokenRejectionInvalid TokenRejection = "Nieprawidłowy token"
	// TokenRejectionTime: the timestamp encrypted with the token is not the
	// challenge's timestampMs.
	TokenRejectionTime TokenRejection = "Nieprawidłowy czas tokena"
	// TokenRejectionRevoked: the token was revoked.
	TokenRejectionRevoked TokenRejection = "Token unieważniony"
	// TokenRejectionInactive: the token is not active (still pending after generation,
	// or its activation failed).
	TokenRejectionInactive TokenRejection = "Token nieaktywny"
	// TokenRejectionEncryption: KSeF could not decrypt the encrypted token.
	TokenRejectionEncryption TokenRejection = "Nieprawidłowe szyfrowanie tokena"
	// TokenRejectionEncoding: the decrypted token is not a KSeF 2.0 token (KSeF
	// 1.0 tokens end here).
	TokenRejectionEncoding TokenRejection = "Nieprawidłowe kodowanie tokena"
	// TokenRejectionContext: "Token nie może być użyty w kontekście
	// {contextIdentifier}" — the token belongs to another context.
	TokenRejectionContext TokenRejection = "Token nie może być użyty w kontekście"
)

// tokenRejections is the match order: the longer texts first, so that no
// text is taken for another one it contains.
var tokenRejections = [...]TokenRejection{TokenRejectionContext, TokenRejectionChallenge, TokenRejectionEncryption,
	TokenRejectionEncoding, TokenRejectionTime, TokenRejectionRevoked, TokenRejectionInactive, TokenRejectionInvalid}

// TokenRejection classifies a 450 by its Polish details (never by English
// text); TokenRejectionUnknown for other codes and undocumented details.
func (e *AuthStatusError) TokenRejection() TokenRejection {
	if e.Code != 450 {
		return TokenRejectionUnknown
	}
	for _, r := range tokenRejections {
		for _, d := range e.Details {
			if strings.HasPrefix(strings.ToLower(strings.TrimSpace(d)), strings.ToLower(string(r))) {
				return r
			}
		}
	}
	return TokenRejectionUnknown
}

// RejectedContext is the context identifier a TokenRejectionContext detail names
// ("" otherwise).
func (e *AuthStatusError) RejectedContext() string {
	if e.TokenRejection() != TokenRejectionContext {
		return ""
	}
	for _, d := range e.Details {
		d = strings.TrimSpace(d)
		if len(d) >= len(TokenRejectionContext) && strings.EqualFold(d[:len(TokenRejectionContext)], string(TokenRejectionContext)) {
			return strings.Trim(strings.TrimSpace(d[len(TokenRejectionContext):]), " .'\"{}")
		}
	}
	return ""
}

// WrongContext reports a 450 "Token nie może być użyty w kontekście …": the
// token was generated for another context (another NIP).
func (e *AuthStatusError) WrongContext() bool { return e.TokenRejection() == TokenRejectionContext }

// TokenRevoked reports a 450 for a revoked ("Token unieważniony") or inactive
// ("Token nieaktywny") token.
func (e *AuthStatusError) TokenRevoked() bool {
	r := e.TokenRejection()
	return r == TokenRejectionRevoked || r == TokenRejectionInactive
}

func (e *AuthStatusError) detailHas(subs ...string) bool {
	for _, d := range e.Details {
		l := strings.ToLower(d)
		for _, s := range subs {
			if strings.Contains(l, s) {
				return true
			}
		}
	}
	return false
}

// Error describes the failure and what to do about it.
func (e *AuthStatusError) Error() string {
	det := ""
	if len(e.Details) > 0 {
		det = " (" + strings.Join(e.Details, "; ") + ")"
	}
	return fmt.Sprintf("KSeF authentication failed with status %d: %s%s — %s", e.Code, e.Description, det, e.hint())
}

func (e *AuthStatusError) hint() string {
	switch e.Code {
	case 415:
		return "the token's owner has no permissions in this context; grant permissions in KSeF or use a token for this NIP"
	case 425:
		return "this authentication was revoked together with its refresh tokens; authenticate again"
	case 450:
		return e.tokenHint()
	case 460:
		switch {
		case e.detailHas("odwołany", "zawieszony", "revoked", "suspended"):
			return "the certificate is revoked or suspended: enroll or import another one (ksefpl certificate:enroll / certificate:import)"
		case e.detailHas("łańcuch", "chain"):
			return "KSeF does not trust the certificate's chain: use a qualified certificate from a trusted provider or a KSeF certificate (self-signed ones work only on the TEST environment)"
		}
		return "the certificate is not valid (expired, not yet valid or malformed): check its dates with ksefpl certificate:list and renew it"
	case 470:
		return "KSeF refused credentials of a deceased person"
	case 480:
		return "authentication is blocked after a suspected security incident; contact the Ministry of Finance"
	case 500:
		return "KSeF had an unknown error; retry later"
	case 550:
		return "KSeF cancelled the operation for internal reasons; retry"
	}
	return "see the KSeF status description"
}

// tokenHint says what to do about each documented 450 detail.
func (e *AuthStatusError) tokenHint() string {
	switch e.TokenRejection() {
	case TokenRejectionChallenge:
		return "KSeF refused the authorisation challenge (older than 10 minutes, or already used); run again — a new challenge is taken; if it repeats, check that the system clock is right"
	case TokenRejectionInvalid:
		return "KSeF does not know this KSeF token: check it was copied whole, for this environment (test, demo and production tokens differ), or generate a new one and set it with ksefpl rotate-token"
	case TokenRejectionTime:
		return "KSeF refused the timestamp encrypted with the token (it must be the challenge's timestampMs); run again; if it repeats, report it as a ksefpl bug"
	case TokenRejectionRevoked:
		return "the KSeF token was revoked; generate a new token in KSeF and set it with ksefpl rotate-token"
	case TokenRejectionInactive:
		return "the KSeF token is not active (a new token becomes active shortly after it is generated, or its activation failed); check its status in KSeF, wait and run again, or generate a new token and set it with ksefpl rotate-token"
	case TokenRejectionEncryption:
		return "KSeF could not decrypt the token: it was encrypted with a public key KSeF no longer uses; the keys are fetched again on the next attempt — run again; if it repeats, report it as a ksefpl bug"
	case TokenRejectionEncoding:
		return "the token is not a KSeF 2.0 token (KSeF 1.0 tokens no longer work) or was altered when copied; generate a KSeF 2.0 token and set it with ksefpl rotate-token"
	case TokenRejectionContext:
		ctx := e.RejectedContext()
		if ctx != "" {
			ctx = " (" + ctx + ")"
		}
		return "the token was generated for a different NIP/context than the one it was used in" + ctx + "; use a token generated for this seller NIP, or correct the configured NIP"
	}
	return "KSeF refused the KSeF token; check it was copied whole and is Active in KSeF, or generate a new one and set it with ksefpl rotate-token"
}

// AuthPendingError is returned when an authentication operation stays in
// status 100 longer than the poll timeout.
type AuthPendingError struct {
	ReferenceNumber string
	Waited          time.Duration
}

// Class is failure.Unavailable.
func (e *AuthPendingError) Class() failure.Class { return failure.Unavailable }

// Error describes the failure and what to do about it.
func (e *AuthPendingError) Error() string {
	return fmt.Sprintf("KSeF authentication %s still in progress after %s; retry later (the pending operation is kept and resumed)", e.ReferenceNumber, e.Waited)
}
