package secret

import (
	"crypto/sha256"
	"encoding/hex"
)

// Fingerprint returns the lowercase hex SHA-256 of s. It identifies a token in
// output, audit rows and comparisons without revealing it.
func Fingerprint(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
