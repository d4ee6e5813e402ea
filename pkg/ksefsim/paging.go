package ksefsim

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
)

// pageCursor is the content of a continuation token: which listing it belongs to
// and where the next page starts. The token is opaque to clients (base64 JSON).
type pageCursor struct {
	Scope  string `json:"s"`
	Offset int    `json:"o"`
}

func encodeCursor(scope string, offset int) string {
	b, _ := json.Marshal(pageCursor{Scope: scope, Offset: offset})
	return base64.StdEncoding.EncodeToString(b)
}

// pageParams reads pageSize (10..1000, default 10) and the x-continuation-token
// header; scope ties the token to one listing. On failure it answers 400.
func (s *Server) pageParams(w http.ResponseWriter, r *http.Request, scope string) (size, offset int, ok bool) {
	size = 10
	if v := r.URL.Query().Get("pageSize"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 10 || n > 1000 {
			s.writeBadRequest(w, r, validationError(fmt.Sprintf("Parametr 'pageSize' musi być liczbą z zakresu %d-%d.", 10, 1000)))
			return 0, 0, false
		}
		size = n
	}
	tok := r.Header.Get("x-continuation-token")
	if tok == "" {
		return size, 0, true
	}
	raw, err := base64.StdEncoding.DecodeString(tok)
	var c pageCursor
	if err == nil {
		err = json.Unmarshal(raw, &c)
	}
	if err != nil || c.Scope != scope || c.Offset < 0 {
		s.writeBadRequest(w, r, apiError{Code: codeBadContinuation, Description: descBadContinuation})
		return 0, 0, false
	}
	return size, c.Offset, true
}

// page cuts items [offset, offset+size) and returns the continuation token for the
// rest, nil when there is no more.
func page[T any](items []T, scope string, size, offset int) ([]T, *string) {
	if offset > len(items) {
		offset = len(items)
	}
	end := min(offset+size, len(items))
	out := items[offset:end]
	if end < len(items) {
		t := encodeCursor(scope, end)
		return out, &t
	}
	return out, nil
}
