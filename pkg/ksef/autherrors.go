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
// and failure.Auth for the others.
func (e *AuthStatusError) Class() failure.Class {
	if e.Code == 500 || e.Code == 550 {
		return failure.Unavailable
	}
	return failure.Auth
}

// WrongContext reports a 450 whose details say the token belongs to another
// context (a token for another NIP).
func (e *AuthStatusError) WrongContext() bool {
	return e.Code == 450 && e.detailHas("kontekście", "context")
}

// TokenRevoked reports a 450 for a revoked or inactive token.
func (e *AuthStatusError) TokenRevoked() bool {
	return e.Code == 450 && e.detailHas("unieważniony", "nieaktywny", "revoked", "inactive")
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
		switch {
		case e.WrongContext():
			return "the token was generated for a different NIP/context than the one configured; use a token generated for this NIP or fix the NIP"
		case e.TokenRevoked():
			return "the KSeF token was revoked or is not active; generate a new token in KSeF and configure it"
		case e.detailHas("czas", "time"):
			return "the token timestamp was rejected; check the system clock and retry"
		case e.detailHas("kodowanie", "encoding", "szyfrowanie", "encryption"):
			return "KSeF could not read the token; make sure it is a KSeF 2.0 token copied whole (1.0 tokens no longer work)"
		}
		return "the KSeF token is invalid; check it was copied whole and is Active in KSeF"
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
