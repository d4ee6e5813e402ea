// Package golive owns the pre-production checklist (golive:check): run against a
// website's TEST environment (or the local simulator), it proves end to end that the shop
// is ready to go live — test-connection passes; the FA preview of a sample invoice shows
// the configured seller and tax codes and is valid; a real test invoice goes PENDING →
// SUBMITTED → ACCEPTED through the queue and submit; its KSeF number is written to its
// queue record; its UPO downloads and its hash checks. It refuses the demo and production
// environments, where a test invoice must never be sent.
package golive
