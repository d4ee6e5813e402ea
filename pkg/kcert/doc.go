// Package kcert owns the certificate material ksefpl authenticates to KSeF
// with: importing a certificate and its private key (PKCS#12/PFX in the modern
// AES and the legacy 3DES/RC2 encodings, PEM certificates with PKCS#8, PKCS#1 or
// SEC1 keys — PKCS#8 optionally password-encrypted — and the single-PEM bundle
// of the KSEFPL_API_CERT environment override), exporting it again (PEM,
// PKCS#12), the checks KSeF applies to it (key type and size, validity dates,
// key/certificate match), the identity KSeF reads from the certificate subject
// (NIP, PESEL or the SHA-256 fingerprint, with the exact attribute patterns of
// the KSeF XAdES documentation), KSeF certificate enrolment (the
// /certificates/enrollments/data subject, the PKCS#10 CSR built from it and the
// way back), and self-signed or CA-issued test certificates shaped like the
// official clients' GetCompanySeal and GetPersonalCertificate (KSeF's TEST
// environment accepts self-signed ones).
//
// The package is a leaf: it uses the standard library, go-pkcs12 and
// youmark/pkcs8 only. It never prints, never touches the file system, and never
// puts a private key or a password in an error message or in the String form
// of a Material.
package kcert
