// Package qr owns KSeF verification links and QR images: KOD I, the link under which
// anyone can check that an invoice is in KSeF and unchanged
// (https://qr[-test|-demo].ksef.mf.gov.pl/invoice/{seller NIP}/{P_1 as DD-MM-YYYY}/{Base64URL SHA-256}),
// the label printed under it (the KSeF number, or OFFLINE before one exists), its PNG
// rendering, and the lookup of a queued job's frozen bytes to build them from.
//
// The link is built only from the exact bytes sent to KSeF (a job's frozen XML): a
// rebuilt document would hash differently and the link would not verify. KOD II (the
// offline certificate code) is not implemented: it needs a KSeF certificate of type
// Offline, which ksefpl does not manage.
package qr
