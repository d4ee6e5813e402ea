package ksefsim

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Control endpoints under /sim/ drive the simulator from outside a Go process
// (`ksefpl sim serve`, shell tests). They answer JSON; errors are {"error": "..."}.
//
//	GET  /sim/health                         {"status":"ok"}
//	POST /sim/tokens         {"nip":"…","permissions":[…]?} -> {"token":"…","referenceNumber":"…"}
//	POST /sim/tokens/revoke  {"token":"…"}   -> 204
//	GET  /sim/faults, PUT /sim/faults        Faults as JSON
//	POST /sim/keys/rotate                    -> the new certificates (same shape as /v2/security/public-key-certificates)
//	GET  /sim/rate-limits, PUT /sim/rate-limits {"enabled":true,"timeScale":3600?}
//	GET  /sim/latarnia                       the LatarniaStatus GET /latarnia/status answers now
//	PUT  /sim/latarnia       LatarniaStatus  a fixed status and messages (until reset or the next publish)
//	DELETE /sim/latarnia                     -> 204 (nothing published: AVAILABLE, no messages)
//	POST /sim/latarnia/events LatarniaEvent {"category":"FAILURE|TOTAL_FAILURE|MAINTENANCE",
//	                                         "start"?,"end"?,"title"?,"text"?,"published"?} -> 201 LatarniaMessage
//	POST /sim/latarnia/events/{eventId}/end  {"end"?} -> LatarniaMessage (the FAILURE_END)
//	POST /sim/ksef-certificates KSeFCertificateRequest {"type":"Offline|Authentication","nip"|"pesel",
//	                                         "key":"ec|rsa","name"} -> IssuedCertificate (a KSeF certificate)
//	GET  /sim/invoices                       []ReceivedInvoice (the judge)
//	POST /sim/sessions/{ref}/terminate       -> 204 (404 for an unknown session)
//	POST /sim/invoices/release               -> {"released":N} (lifts StallInvoices)
//	GET  /sim/stats                          Stats: requests and 429s per endpoint group, invoices
//	DELETE /sim/stats                        -> 204 (counters back to zero)
//	GET  /sim/ca                             the CA certificate (PEM)
//	POST /sim/certificates   CertificateRequest {"nip","pesel","kind":"seal|personal","key":"ec|rsa","name"}
//	                                         -> IssuedCertificate {"certificate":PEM,"privateKey":PEM,"serialNumber","fingerprint"}
//	POST /sim/certificates/revoke {"serialNumber":"…"} -> 204
//	POST /sim/certificates/expire {"serialNumber":"…"} -> 204
//	POST /sim/permissions    PermissionGrant {"contextNip","subjectType":"Nip|Pesel|Fingerprint","value","permissions"?} -> 204
//	GET  /sim/auth-requests                  []SignedAuthRequest {"receivedAt","referenceNumber"?,"document":base64}
//
// Session faults are part of /sim/faults: {"sessions":{"terminateAfterInvoices":N,
// "stallInvoices":N,"stallAll":true,"failAfterAccept":N,"unavailableAtSend":N,
// "unavailableSends":N}}, and so are the X-System-Warning headers:
// {"systemWarnings":{"POST /v2/auth/xades-signature":[{"code":"sig-001","message":"…"}]}}.
// Unknown control paths answer {"error": "…"} with 404 (405 and Allow for a wrong method).
//
// Latarnia: POST /sim/latarnia/events publishes a message and answers it (201); its
// eventId names the event. A FAILURE or TOTAL_FAILURE without "end" lasts until POST
// /sim/latarnia/events/{eventId}/end (end omitted: now; in the future: the FAILURE_END
// is published then); with "end" its FAILURE_END is scheduled at once. A MAINTENANCE
// needs "start" and "end". Times are RFC 3339; the status follows the simulator's
// clock. Example, a failure from 10:00 to 12:00 UTC and a total failure from now on:
//
//	POST /sim/latarnia/events {"category":"FAILURE","start":"2026-03-02T10:00:00Z","end":"2026-03-02T12:00:00Z"}
//	POST /sim/latarnia/events {"category":"TOTAL_FAILURE"}        -> {"eventId":1002,…}
//	POST /sim/latarnia/events/1002/end {}

type (
	simTokenRequest struct {
		NIP         string    `json:"nip"`
		Permissions *[]string `json:"permissions"`
	}
	simTokenResponse struct {
		Token           string `json:"token"`
		ReferenceNumber string `json:"referenceNumber"`
	}
	simRevokeRequest struct {
		Token string `json:"token"`
	}
	simRateLimits struct {
		Enabled   bool     `json:"enabled"`
		TimeScale *float64 `json:"timeScale,omitempty"` // omitted in PUT: unchanged
	}
	simError struct {
		Error string `json:"error"`
	}
)

func writeSimError(w http.ResponseWriter, status int, msg string) {
	writeOK(w, status, simError{Error: msg})
}

// writeSimOutcome answers a control action: 204 when err is nil, else the error with
// 404 when it is notFound and 400 otherwise.
func writeSimOutcome(w http.ResponseWriter, err, notFound error) {
	if err == nil {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	status := http.StatusBadRequest
	if errors.Is(err, notFound) {
		status = http.StatusNotFound
	}
	writeSimError(w, status, err.Error())
}

// decodeSim decodes a control request body, answering 400 on failure.
func decodeSim(w http.ResponseWriter, r *http.Request, v any) bool {
	body, err := readBody(r)
	if err == nil {
		err = json.Unmarshal(body, v)
	}
	if err != nil {
		writeSimError(w, http.StatusBadRequest, "invalid JSON body: "+err.Error())
		return false
	}
	return true
}

func (s *Server) handleSimHealth(w http.ResponseWriter, _ *http.Request) {
	writeOK(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) handleSimIssueToken(w http.ResponseWriter, r *http.Request) {
	var req simTokenRequest
	if !decodeSim(w, r, &req) {
		return
	}
	var tok string
	var err error
	if req.Permissions != nil {
		tok, err = s.IssueTokenWithPermissions(req.NIP, *req.Permissions...)
	} else {
		tok, err = s.IssueToken(req.NIP)
	}
	if err != nil {
		writeSimError(w, http.StatusBadRequest, err.Error())
		return
	}
	ref, _, _ := strings.Cut(tok, "|")
	writeOK(w, http.StatusOK, simTokenResponse{Token: tok, ReferenceNumber: ref})
}

func (s *Server) handleSimRevokeToken(w http.ResponseWriter, r *http.Request) {
	var req simRevokeRequest
	if !decodeSim(w, r, &req) {
		return
	}
	writeSimOutcome(w, s.RevokeToken(req.Token), ErrUnknownToken)
}

func (s *Server) handleSimGetFaults(w http.ResponseWriter, _ *http.Request) {
	writeOK(w, http.StatusOK, s.Faults())
}

func (s *Server) handleSimPutFaults(w http.ResponseWriter, r *http.Request) {
	var f Faults
	if !decodeSim(w, r, &f) {
		return
	}
	if err := s.setFaults(f); err != nil {
		writeSimError(w, http.StatusBadRequest, err.Error())
		return
	}
	writeOK(w, http.StatusOK, s.Faults())
}

func (s *Server) handleSimRotateKeys(w http.ResponseWriter, r *http.Request) {
	if err := s.RotateKeys(); err != nil {
		writeSimError(w, http.StatusInternalServerError, err.Error())
		return
	}
	s.handlePublicKeyCertificates(w, r)
}

func (s *Server) handleSimGetRateLimits(w http.ResponseWriter, _ *http.Request) {
	scale := s.TimeScale()
	writeOK(w, http.StatusOK, simRateLimits{Enabled: s.RateLimiting(), TimeScale: &scale})
}

func (s *Server) handleSimPutRateLimits(w http.ResponseWriter, r *http.Request) {
	var req simRateLimits
	if !decodeSim(w, r, &req) {
		return
	}
	if req.TimeScale != nil && *req.TimeScale <= 0 {
		writeSimError(w, http.StatusBadRequest, "timeScale must be positive (1 = real time, 3600 = an hour per second)")
		return
	}
	s.SetRateLimiting(req.Enabled)
	if req.TimeScale != nil {
		s.SetTimeScale(*req.TimeScale)
	}
	s.handleSimGetRateLimits(w, r)
}

func (s *Server) handleSimGetLatarnia(w http.ResponseWriter, _ *http.Request) {
	writeOK(w, http.StatusOK, s.Latarnia())
}

func (s *Server) handleSimPutLatarnia(w http.ResponseWriter, r *http.Request) {
	var st LatarniaStatus
	if !decodeSim(w, r, &st) {
		return
	}
	if err := s.SetLatarnia(st); err != nil {
		writeSimError(w, http.StatusBadRequest, err.Error())
		return
	}
	writeOK(w, http.StatusOK, s.Latarnia())
}

// simLatarniaEnd is the body of POST /sim/latarnia/events/{eventId}/end.
type simLatarniaEnd struct {
	End time.Time `json:"end,omitzero"`
}

func (s *Server) handleSimResetLatarnia(w http.ResponseWriter, _ *http.Request) {
	s.ResetLatarnia()
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleSimPublishLatarnia(w http.ResponseWriter, r *http.Request) {
	var ev LatarniaEvent
	if !decodeSim(w, r, &ev) {
		return
	}
	m, err := s.PublishLatarnia(ev)
	if err != nil {
		writeSimError(w, http.StatusBadRequest, err.Error())
		return
	}
	writeOK(w, http.StatusCreated, m)
}

func (s *Server) handleSimEndLatarnia(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.Atoi(r.PathValue("eventId"))
	if err != nil {
		writeSimError(w, http.StatusBadRequest, "eventId must be a number, got "+strconv.Quote(r.PathValue("eventId")))
		return
	}
	var req simLatarniaEnd
	if body, _ := readBody(r); len(bytes.TrimSpace(body)) > 0 {
		if err := json.Unmarshal(body, &req); err != nil {
			writeSimError(w, http.StatusBadRequest, "invalid JSON body: "+err.Error())
			return
		}
	}
	m, err := s.EndLatarniaFailure(id, req.End)
	switch {
	case errors.Is(err, ErrUnknownLatarniaEvent):
		writeSimError(w, http.StatusNotFound, err.Error())
	case err != nil:
		writeSimError(w, http.StatusBadRequest, err.Error())
	default:
		writeOK(w, http.StatusOK, m)
	}
}
