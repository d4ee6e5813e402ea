package certificate

import (
	"fmt"
	"strings"

	"github.com/ksefpl/ksefpl/pkg/failure"
)

// InvalidError refuses a certificate or a request, with every reason. Nothing changed.
type InvalidError struct {
	Subject  string
	Problems []string
}

// Error lists the reasons.
func (e *InvalidError) Error() string {
	if len(e.Problems) == 1 {
		return fmt.Sprintf("%s: %s; nothing changed", e.Subject, e.Problems[0])
	}
	return fmt.Sprintf("%s (%d problems):\n  %s\nnothing changed", e.Subject, len(e.Problems), strings.Join(e.Problems, "\n  "))
}

// Class is failure.Invalid.
func (e *InvalidError) Class() failure.Class { return failure.Invalid }

// NotFoundError names a serial number the website does not hold.
type NotFoundError struct {
	Serial  string
	Website string
}

// Error says where to look.
func (e *NotFoundError) Error() string {
	return fmt.Sprintf("website %s holds no certificate with serial %s: list them with ksefpl certificate:list --website %s",
		e.Website, e.Serial, e.Website)
}

// Class is failure.Invalid.
func (e *NotFoundError) Class() failure.Class { return failure.Invalid }

// NeedsXAdESError refuses an operation KSeF allows only after an XAdES login (enrolment,
// revocation) for a website that has no usable authentication certificate.
type NeedsXAdESError struct {
	Website   string
	Operation string
	Why       string
}

// Error explains KSeF's rule and both ways out.
func (e *NeedsXAdESError) Error() string {
	why := ""
	if e.Why != "" {
		why = " (" + e.Why + ")"
	}
	return fmt.Sprintf("%s needs an XAdES login, and website %s has no usable authentication certificate%s: KSeF allows "+
		"certificate enrolment and revocation only to a subject that authenticated with a signature, never with a KSeF token. "+
		"Either import a qualified electronic seal or signature certificate (from a trust service provider) with "+
		"ksefpl certificate:import --file seal.p12 --website %s, or obtain a KSeF certificate in the KSeF web application "+
		"(Aplikacja Podatnika KSeF) and import it the same way; then run this command again",
		e.Operation, e.Website, why, e.Website)
}

// Class is failure.Auth: the credentials do not allow it.
func (e *NeedsXAdESError) Class() failure.Class { return failure.Auth }

// LimitError means KSeF allows no further enrolment for the subject.
type LimitError struct {
	Enrollments, EnrollmentLimit   int
	Certificates, CertificateLimit int
}

// Error gives KSeF's counts and what to do.
func (e *LimitError) Error() string {
	return fmt.Sprintf("KSeF allows no further certificate request: %d of %d enrolments left, %d of %d active certificates left; "+
		"revoke a certificate you no longer need (ksefpl certificate:revoke SERIAL) and try again",
		e.Enrollments, e.EnrollmentLimit, e.Certificates, e.CertificateLimit)
}

// Class is failure.Rejected.
func (e *LimitError) Class() failure.Class { return failure.Rejected }

// RejectedError is an enrolment KSeF rejected (status 400 or another failure status).
type RejectedError struct {
	Reference   string
	Code        int
	Description string
	Details     []string
}

// Error gives KSeF's code, description and details.
func (e *RejectedError) Error() string {
	det := ""
	if len(e.Details) > 0 {
		det = " (" + strings.Join(e.Details, "; ") + ")"
	}
	return fmt.Sprintf("KSeF rejected certificate enrolment %s with status %d: %s%s", e.Reference, e.Code, e.Description, det)
}

// Class is failure.Rejected.
func (e *RejectedError) Class() failure.Class { return failure.Rejected }

// PendingError means KSeF had not issued the certificate when the wait ended. The
// enrolment is kept; the next certificate:enroll polls it again.
type PendingError struct {
	Reference string
	Website   string
}

// Error says what happens next.
func (e *PendingError) Error() string {
	return fmt.Sprintf("KSeF is still processing certificate enrolment %s; its reference and new key are kept: "+
		"run ksefpl certificate:enroll --website %s again later to collect the certificate", e.Reference, e.Website)
}

// Class is failure.Unavailable: try again later.
func (e *PendingError) Class() failure.Class { return failure.Unavailable }
