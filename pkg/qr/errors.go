package qr

import (
	"errors"
	"fmt"
	"time"

	"github.com/ksefpl/ksefpl/pkg/failure"
)

// InputError reports a value the link or image cannot be built from (a bad NIP, date,
// hash, base URL, size or invoice XML). Callers treat it as invalid input.
type InputError struct {
	Field string
	Msg   string
	Err   error
}

// Error names the field and what is wrong with it.
func (e *InputError) Error() string { return e.Field + ": " + e.Msg }

// Unwrap returns the underlying error, if any.
func (e *InputError) Unwrap() error { return e.Err }

// NotFrozenError reports a job whose XML is not frozen yet: there are no exact bytes to
// hash, so there can be no link.
type NotFrozenError struct {
	JobID       int64
	IncrementID string
	Status      string
}

// Error says why there is no link and what to do.
func (e *NotFrozenError) Error() string {
	return fmt.Sprintf("job %d (%s) is %s and its XML is not frozen yet: the verification link hashes the exact bytes "+
		"sent to KSeF; run ksefpl submit first (or wait for the next run), then ask again", e.JobID, e.IncrementID, e.Status)
}

// NotFoundError reports a selector that matched no job.
type NotFoundError struct{ Query string }

// Error names the query and where to look.
func (e *NotFoundError) Error() string {
	return fmt.Sprintf("no queued job with %s: list jobs with ksefpl queue list", e.Query)
}

// AmbiguousError reports a KSeF number held by jobs of more than one website.
type AmbiguousError struct {
	KSeFNumber string
	JobIDs     []int64
}

// Error lists the jobs and how to pick one.
func (e *AmbiguousError) Error() string {
	return fmt.Sprintf("KSeF number %s belongs to jobs %v: pick one with --job, or narrow with --website", e.KSeFNumber, e.JobIDs)
}

// WebsiteMismatchError reports a job that belongs to another website than the one asked for.
type WebsiteMismatchError struct {
	JobID   int64
	Website string // the job's website
	Asked   string
}

// Error names both websites.
func (e *WebsiteMismatchError) Error() string {
	return fmt.Sprintf("job %d belongs to website %q, not %q: drop --website or give the job's website", e.JobID, e.Website, e.Asked)
}

// HashMismatchError reports frozen bytes whose SHA-256 differs from the hash recorded
// when they were frozen: the stored XML was changed or damaged.
type HashMismatchError struct {
	JobID    int64
	Recorded string
	Actual   string
}

// Error gives both hashes and says not to publish a link.
func (e *HashMismatchError) Error() string {
	return fmt.Sprintf("job %d: the frozen XML hashes to %s but %s was recorded when it was frozen; the stored bytes "+
		"were changed, so no link is built (restore the database from a backup or check ksefpl audit --job %d)",
		e.JobID, e.Actual, e.Recorded, e.JobID)
}

// Class is failure.Invalid.
func (e *InputError) Class() failure.Class { return failure.Invalid }

// Class is failure.Invalid: the job has no frozen bytes yet.
func (e *NotFrozenError) Class() failure.Class { return failure.Invalid }

// Class is failure.Invalid.
func (e *NotFoundError) Class() failure.Class { return failure.Invalid }

// Class is failure.Invalid.
func (e *AmbiguousError) Class() failure.Class { return failure.Invalid }

// Class is failure.Invalid.
func (e *WebsiteMismatchError) Class() failure.Class { return failure.Invalid }

// Class is failure.Invalid: no link is built from changed bytes.
func (e *HashMismatchError) Class() failure.Class { return failure.Invalid }

// CertificateProblem says why a certificate cannot sign KOD II.
type CertificateProblem string

// The problems CheckOfflineCertificate reports.
const (
	// CertMissing: the website has no KSeF certificate of type Offline.
	CertMissing CertificateProblem = "missing"
	// CertNotOffline: the certificate is not of type Offline (an Authentication
	// certificate, or one without the non-repudiation-only key usage).
	CertNotOffline CertificateProblem = "not-offline"
	// CertExpired: the certificate's validity ended.
	CertExpired CertificateProblem = "expired"
	// CertNotYetValid: the certificate's validity has not started.
	CertNotYetValid CertificateProblem = "not-yet-valid"
	// CertUnsupportedKey: the key is neither ECDSA P-256 nor RSA of 2048 bits or more.
	CertUnsupportedKey CertificateProblem = "unsupported-key"
	// CertNoKey: the private key is missing or cannot be decrypted.
	CertNoKey CertificateProblem = "no-key"
	// CertKeyMismatch: the stored private key does not belong to the certificate.
	CertKeyMismatch CertificateProblem = "key-mismatch"
)

// OfflineCertificateError refuses to sign KOD II: the website's offline certificate is
// missing or cannot be used (Problem). Its message says how to get a usable one.
type OfflineCertificateError struct {
	Problem CertificateProblem
	// Website is the website code, for the hint ("" or base: no --website flag).
	Website string
	// Serial, NotBefore and NotAfter describe the certificate (empty when missing).
	Serial    string
	NotBefore time.Time
	NotAfter  time.Time
	Err       error
}

// Error says what is wrong and what to do.
func (e *OfflineCertificateError) Error() string {
	w := ""
	if e.Website != "" && e.Website != "base" {
		w = " --website " + e.Website
	}
	enroll := "obtain a KSeF certificate of type Offline with ksefpl certificate:enroll --type offline" + w +
		" (or import one with ksefpl certificate:import --type offline --file CERT.p12" + w + ")"
	site := "the website"
	if e.Website != "" {
		site = fmt.Sprintf("website %q", e.Website)
	}
	const what = "KOD II (the CERTYFIKAT code of an offline invoice) cannot be signed"
	switch e.Problem {
	case CertMissing:
		return fmt.Sprintf("%s: %s has no KSeF certificate of type Offline; %s", what, site, enroll)
	case CertNotOffline:
		return fmt.Sprintf("%s with certificate %s: it is not a KSeF certificate of type Offline (an Authentication certificate "+
			"only authenticates to the API, and KSeF refuses KOD II signed with it); %s", what, e.Serial, enroll)
	case CertExpired:
		return fmt.Sprintf("%s: the offline certificate %s expired on %s; %s", what, e.Serial, e.NotAfter.UTC().Format(time.DateOnly), enroll)
	case CertNotYetValid:
		return fmt.Sprintf("%s: the offline certificate %s is valid only from %s (check the system clock); wait until then, or %s",
			what, e.Serial, e.NotBefore.UTC().Format(time.RFC3339), enroll)
	case CertUnsupportedKey:
		key := "unsupported"
		var uk *UnsupportedKeyError
		if errors.As(e.Err, &uk) {
			key = uk.Key
		}
		return fmt.Sprintf("%s with the offline certificate %s: its key is %s, but KSeF accepts ECDSA P-256 (recommended) or RSA of %d bits "+
			"or more; %s", what, e.Serial, key, MinRSABits, enroll)
	case CertNoKey:
		return fmt.Sprintf("%s: the private key of the offline certificate %s cannot be used (%v); if the deployment key it was "+
			"saved with is lost, import the certificate with its key again with ksefpl certificate:import --type offline --file CERT.p12%s, "+
			"or obtain a new one with ksefpl certificate:enroll --type offline%s", what, e.Serial, e.Err, w, w)
	case CertKeyMismatch:
		return fmt.Sprintf("%s: the stored private key does not belong to the offline certificate %s (%v); import the certificate "+
			"with its own key with ksefpl certificate:import --type offline --file CERT.p12%s", what, e.Serial, e.Err, w)
	}
	return fmt.Sprintf("%s: %s (%v)", what, e.Problem, e.Err)
}

// Unwrap returns the underlying error, if any.
func (e *OfflineCertificateError) Unwrap() error { return e.Err }

// Class is failure.Invalid: the configured certificate cannot sign KOD II.
func (e *OfflineCertificateError) Class() failure.Class { return failure.Invalid }

// UnsupportedKeyError reports a key KOD II cannot be signed or verified with.
type UnsupportedKeyError struct {
	Key string // e.g. "ECDSA P-384", "RSA 1024-bit"
}

// Error names the key and the ones KSeF accepts.
func (e *UnsupportedKeyError) Error() string {
	return fmt.Sprintf("KOD II cannot be signed with a key of type %s: KSeF accepts ECDSA P-256 (recommended) or RSA of %d bits or more", e.Key, MinRSABits)
}

// Class is failure.Invalid.
func (e *UnsupportedKeyError) Class() failure.Class { return failure.Invalid }

// SignatureError reports a KOD II link that does not verify with the certificate.
type SignatureError struct {
	Reason string
	Err    error
}

// Error says why the link does not verify.
func (e *SignatureError) Error() string { return "the KOD II link does not verify: " + e.Reason }

// Unwrap returns the underlying error, if any.
func (e *SignatureError) Unwrap() error { return e.Err }

// Class is failure.Invalid.
func (e *SignatureError) Class() failure.Class { return failure.Invalid }
