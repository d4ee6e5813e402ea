package ksefsim

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
)

// JWT token types, as the "token-type" claim of the official examples spells them
// (open-api.json AuthenticationInitResponse / AuthenticationTokensResponse examples).
const (
	tokenTypeOperation = "OperationToken" // authenticationToken
	tokenTypeContext   = "ContextToken"   // accessToken
	tokenTypeRefresh   = "RefreshToken"   // refreshToken
)

// jwtIssuer is the iss/aud claim of simulator tokens (the real TEST uses "ksef-api-ti").
const jwtIssuer = "ksefsim"

// claims is the JWT payload. Claim names follow the decoded examples in open-api.json;
// jti makes every token unique.
type claims struct {
	TokenType    string `json:"token-type"`
	OperationRef string `json:"operation-reference-number"`
	ContextType  string `json:"context-identifier-type,omitempty"`
	ContextValue string `json:"context-identifier-value,omitempty"`
	AuthMethod   string `json:"authentication-method,omitempty"`
	Subject      string `json:"sub,omitempty"`
	ID           string `json:"jti"`
	Expires      int64  `json:"exp"`
	IssuedAt     int64  `json:"iat"`
	Issuer       string `json:"iss"`
	Audience     string `json:"aud"`
}

var errJWTInvalid = errors.New("malformed or wrongly signed token")

// signJWT returns header.payload.signature (HS256) for c.
func signJWT(secret []byte, c claims) string {
	c.Issuer, c.Audience = jwtIssuer, jwtIssuer
	if c.ID == "" {
		var b [16]byte
		_, _ = rand.Read(b[:])
		c.ID = hex.EncodeToString(b[:])
	}
	head := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))
	body, _ := json.Marshal(c)
	signing := head + "." + base64.RawURLEncoding.EncodeToString(body)
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(signing))
	return signing + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// parseJWT verifies the signature and decodes the claims. It does not check expiry.
func parseJWT(secret []byte, tok string) (claims, error) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return claims{}, errJWTInvalid
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(parts[0] + "." + parts[1]))
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || !hmac.Equal(sig, mac.Sum(nil)) {
		return claims{}, errJWTInvalid
	}
	body, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return claims{}, errJWTInvalid
	}
	var c claims
	if err := json.Unmarshal(body, &c); err != nil {
		return claims{}, errJWTInvalid
	}
	return c, nil
}
