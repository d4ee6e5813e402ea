// Package secret owns the encryption of stored secrets (API tokens, access and
// refresh tokens) in the same format as Magento 2's EncryptorInterface, so that
// values and keys can move between a Magento env.php and ksefpl's env.json.
//
// A value is stored as "<keyVersion>:3:<base64(nonce ‖ ciphertext ‖ tag)>":
// ChaCha20-Poly1305 IETF with a random 12-byte nonce that is also the
// additional authenticated data. Keys live in a Keyring; the key version is the
// key's index, the last key encrypts and every key decrypts, which is how
// Magento's "encryption:key:change" rotation works.
//
// Key material and plaintexts never appear in errors or in a Keyring's String
// output; Export is the one method that reveals keys. Fingerprint identifies a
// secret in output without revealing it.
package secret
