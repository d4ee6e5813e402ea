package ksefsim

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
)

// handlePartUpload serves the pre-signed part uploads (PUT, no Authorization): it
// checks the signature and the upload window (403, in the blob storage error format),
// the x-ms-blob-type header (400) and the size cap (413), stores the bytes and answers
// 201. Like blob storage, it does not compare the bytes with the declaration: a wrong
// size shows at close (21157), a wrong hash when the package is processed (405).
func (s *Server) handlePartUpload(w http.ResponseWriter, r *http.Request) {
	now, ok := s.checkSignedLink(w, r, http.MethodPut, "w",
		"Signature did not match. Use the url from partUploadRequests exactly as given.",
		"Signed expiry time has passed: the upload window (parts x 20 minutes) is over. Open a new batch session.")
	if !ok {
		return
	}
	switch bt := r.Header.Get(headerBlobType); {
	case bt == "":
		storageError(w, http.StatusBadRequest, "MissingRequiredHeader", "An HTTP header that's mandatory for this request is not specified: x-ms-blob-type (send the headers from partUploadRequests).")
		return
	case bt != partUploadBlobType:
		storageError(w, http.StatusBadRequest, "InvalidHeaderValue", "The value for one of the HTTP headers is not in the correct format: x-ms-blob-type must be BlockBlob.")
		return
	}
	ref := strings.ToUpper(r.PathValue("sessionRef"))
	ordinal, err := strconv.Atoi(r.PathValue("ordinal"))
	s.st.mu.Lock()
	ss := s.st.sessions.byRef[ref]
	if ss != nil {
		s.settleSession(ss, now)
	}
	switch {
	case ss == nil || ss.batch == nil || err != nil || ordinal < 1 || ordinal > len(ss.batch.parts):
		s.st.mu.Unlock()
		storageError(w, http.StatusNotFound, "ResourceNotFound", "The specified resource does not exist.")
		return
	case ss.status.Code != batchStarted:
		s.st.mu.Unlock()
		storageError(w, http.StatusForbidden, "AuthorizationFailure", "This request is not authorized to perform this operation: the batch session is no longer accepting parts.")
		return
	}
	s.st.mu.Unlock()

	got, err := s.st.parts.put(ref, ordinal, r.Body, maxPartEncrypted)
	if err != nil {
		if errors.Is(err, errPartTooLarge) {
			storageError(w, http.StatusRequestEntityTooLarge, "RequestBodyTooLarge", "The request body is too large: a part is at most 100 MB before encryption.")
			return
		}
		storageError(w, http.StatusBadRequest, "InvalidInput", "The part could not be read: "+err.Error())
		return
	}
	s.st.mu.Lock()
	if ss.status.Code == batchStarted {
		ss.batch.parts[ordinal-1].uploaded = true
		ss.batch.parts[ordinal-1].got = got
		ss.touch(now)
	}
	s.st.mu.Unlock()
	raw, _ := base64.StdEncoding.DecodeString(got.hash)
	w.Header().Set("ETag", `"0x`+strings.ToUpper(hex.EncodeToString(raw[:8]))+`"`)
	w.Header().Set("x-ms-request-server-encrypted", "true")
	w.WriteHeader(http.StatusCreated)
}
