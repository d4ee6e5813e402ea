// Package qr owns KSeF verification links and QR images.
//
// KOD I is the link under which anyone can check that an invoice is in KSeF and
// unchanged (https://qr[-test|-demo].ksef.mf.gov.pl/invoice/{seller NIP}/{P_1 as DD-MM-YYYY}/{Base64URL SHA-256}),
// labelled with the KSeF number, or OFFLINE before one exists.
//
// KOD II, which an invoice issued offline (offline24, offline, awaryjny) carries next
// to KOD I, confirms its issuer: {QR service}/certificate/{context type}/{context
// value}/{seller NIP}/{certificate serial}/{hash}/{signature}, labelled CERTYFIKAT. The
// signature covers the link without its scheme and signature and is made with the
// private key of a KSeF certificate of type Offline (ECDSA P-256 in IEEE P1363 form, or
// RSASSA-PSS SHA-256 with a 32-byte salt); an Authentication certificate is refused.
// VerifyCertificateLink checks such a link against a certificate.
//
// The package also renders the codes as PNG (one code, or several side by side) and
// looks up a queued job's frozen bytes to build them from. Links are built only from
// the exact bytes sent to KSeF (a job's frozen XML): a rebuilt document would hash
// differently and the link would not verify.
package qr
