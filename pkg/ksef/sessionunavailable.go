package ksef

import (
	"errors"
	"fmt"
	"strings"

	"github.com/ksefpl/ksefpl/pkg/failure"
)

// SessionUnavailableError is KSeF's answer 21184 "Sesja tymczasowo
// niedostępna" to an invoice send (API 2.8.0+): maintenance made the online
// session temporarily unavailable ("Trwają prace serwisowe i sesja
// {referenceNumber} jest tymczasowo niedostępna. Spróbuj ponownie później lub
// otwórz nową sesję, aby wysłać kolejne faktury."). KSeF refused the request
// before processing it, so the invoice was NOT received: stop sending into
// this session, open a new one and send the invoice (and the rest) there. The
// invoices already accepted in this session are not affected; close it as
// usual.
type SessionUnavailableError struct {
	// SessionRef is the session that refused the invoice.
	SessionRef string
	// Err is KSeF's answer.
	Err *APIError
}

// Class is failure.Unavailable: nothing is wrong with the invoice.
func (e *SessionUnavailableError) Class() failure.Class { return failure.Unavailable }

// Error describes the failure and what to do about it.
func (e *SessionUnavailableError) Error() string {
	what := "Sesja tymczasowo niedostępna."
	if e.Err != nil {
		for _, d := range e.Err.Exceptions {
			if d.Code == ErrCodeSessionUnavailable {
				what = d.Description
				if len(d.Details) > 0 {
					what = strings.TrimSuffix(what, ".") + ": " + strings.Join(d.Details, "; ")
				}
			}
		}
	}
	return fmt.Sprintf("KSeF session %s is temporarily unavailable for sending (%d %s) — the invoice was not received; open a new session and send it there (the invoices it already accepted are not affected)",
		e.SessionRef, ErrCodeSessionUnavailable, what)
}

// Unwrap returns KSeF's answer.
func (e *SessionUnavailableError) Unwrap() error {
	if e.Err == nil {
		return nil
	}
	return e.Err
}

// IsSessionUnavailable reports whether err is KSeF's 21184 "Sesja tymczasowo
// niedostępna": the online session cannot take invoices for now, the invoice
// was not received, and sending should go on in a new session. The job that
// got it has not failed.
func IsSessionUnavailable(err error) bool {
	var se *SessionUnavailableError
	if errors.As(err, &se) {
		return true
	}
	var ae *APIError
	return errors.As(err, &ae) && ae.HasCode(ErrCodeSessionUnavailable)
}

// sessionUnavailable wraps a 21184 answer of a send in a
// *SessionUnavailableError; other errors pass unchanged.
func sessionUnavailable(sessionRef string, err error) error {
	var ae *APIError
	if errors.As(err, &ae) && ae.HasCode(ErrCodeSessionUnavailable) {
		return &SessionUnavailableError{SessionRef: sessionRef, Err: ae}
	}
	return err
}
