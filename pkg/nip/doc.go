// Package nip owns the Polish tax identification number (NIP, Numer
// Identyfikacji Podatkowej): normalising what users type or paste
// ("PL 526-104-08-28"), validating the check digit and the pattern that
// KSeF's XML schema (etd:TNrNIP) enforces, and formatting for display.
//
// Validation failures are returned as *Error, whose Reason tells callers why
// the number was rejected; Reason values are themselves errors, so
// errors.Is(err, nip.ReasonChecksum) works.
package nip
