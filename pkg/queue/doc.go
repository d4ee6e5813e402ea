// Package queue owns admission of documents into the submission queue: it validates a
// shop JSON invoice or credit memo (built fully, with no network) or a ready FA(3)/FA(2)
// XML against the website's configuration, stores it as a job with its audit row, and
// holds it as AUTH_ERROR when the website's token was last refused (the pre-flight) until
// a successful test-connection releases it. It also owns how operators see jobs and the
// audit log (list, show, export) and how they retry failed jobs. Sending is pkg/submit's.
package queue
