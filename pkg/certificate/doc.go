// Package certificate owns a website's certificates as the certificate:* commands see
// them: importing a qualified seal or signature, or a KSeF certificate, with its private
// key (checked against the certificate, KSeF's key rules and its validity, and stored
// encrypted with the deployment keys); listing what a website holds — stored or from the
// KSEFPL_API_CERT environment override — and what it uses; removing a certificate; and,
// against KSeF after an XAdES login, enrolling, renewing and revoking KSeF certificates.
// Every change writes an audit row in the same transaction.
package certificate
