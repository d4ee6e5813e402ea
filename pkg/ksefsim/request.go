package ksefsim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// maxBody caps request bodies read by the simulator (JSON bodies only for now).
const maxBody = 4 << 20

// readBody reads the whole request body up to maxBody.
func readBody(r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("read request body: %w", err)
	}
	if len(b) > maxBody {
		return nil, errors.New("request body too large")
	}
	return b, nil
}

// jsonErrorText describes a JSON decoding failure for a 21405 detail.
func jsonErrorText(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("błąd składni w pozycji %d.", se.Offset)
	case errors.As(err, &te):
		return fmt.Sprintf("pole '%s' ma nieprawidłowy typ (oczekiwano %s).", te.Field, te.Type)
	case errors.Is(err, io.EOF):
		return "brak treści żądania."
	default:
		return err.Error()
	}
}

// decodeRequest reads a JSON request body into v, answering 400 (21405) with the
// contract's model name when it cannot; it reports whether the handler may go on.
func (s *Server) decodeRequest(w http.ResponseWriter, r *http.Request, v any, model string) bool {
	body, err := readBody(r)
	if err != nil {
		s.writeBadRequest(w, r, validationError("Nie udało się odczytać treści żądania: "+err.Error()+"."))
		return false
	}
	if err := json.NewDecoder(bytes.NewReader(body)).Decode(v); err != nil {
		s.writeBadRequest(w, r, validationError("Treść żądania nie jest poprawnym dokumentem JSON zgodnym z modelem "+model+": "+jsonErrorText(err)))
		return false
	}
	return true
}

// decodeOptional is decodeRequest for an optional body: an empty body leaves v as it is.
func (s *Server) decodeOptional(w http.ResponseWriter, r *http.Request, v any, model string) bool {
	body, err := readBody(r)
	if err != nil {
		s.writeBadRequest(w, r, validationError("Nie udało się odczytać treści żądania: "+err.Error()+"."))
		return false
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return true
	}
	if err := json.NewDecoder(bytes.NewReader(body)).Decode(v); err != nil {
		s.writeBadRequest(w, r, validationError("Treść żądania nie jest poprawnym dokumentem JSON zgodnym z modelem "+model+": "+jsonErrorText(err)))
		return false
	}
	return true
}
