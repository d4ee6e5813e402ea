package ksefsim

import (
	"net/http"
	"strings"
	"time"
)

// 401 detail texts. The contract fixes only the shape (UnauthorizedProblemDetails); the
// texts are the simulator's own, in the service's language.
const (
	detailTokenInvalid  = "Przekazany token jest nieprawidłowy."
	detailTokenExpired  = "Przekazany token wygasł."
	detailTokenWrongUse = "Przekazany token nie może być użyty do tej operacji."
	detailTokenRevoked  = "Przekazany token został unieważniony."
)

// bearerToken extracts the token from `Authorization: Bearer …`.
func bearerToken(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) < 7 || !strings.EqualFold(h[:7], "bearer ") {
		return ""
	}
	return strings.TrimSpace(h[7:])
}

// requireBearer checks the Bearer JWT: present, signed by this server, not expired and
// of one of the wanted token types. On failure it writes the 401 and returns false.
func (s *Server) requireBearer(w http.ResponseWriter, r *http.Request, types ...string) (claims, bool) {
	raw := bearerToken(r)
	if raw == "" {
		s.writeUnauthorized(w, r, detailUnauthenticated)
		return claims{}, false
	}
	c, err := parseJWT(s.secret, raw)
	if err != nil {
		s.writeUnauthorized(w, r, detailTokenInvalid)
		return claims{}, false
	}
	if !s.now().Before(time.Unix(c.Expires, 0)) {
		s.writeUnauthorized(w, r, detailTokenExpired)
		return claims{}, false
	}
	for _, t := range types {
		if c.TokenType == t {
			return c, true
		}
	}
	s.writeUnauthorized(w, r, detailTokenWrongUse)
	return claims{}, false
}
