package ops

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/ksefpl/ksefpl/pkg/config"
	"github.com/ksefpl/ksefpl/pkg/home"
	"github.com/ksefpl/ksefpl/pkg/secret"
	"github.com/ksefpl/ksefpl/pkg/store"
)

// KeyChange reports what ChangeKey did.
type KeyChange struct {
	// NewVersion is the version of the added key, now current.
	NewVersion int `json:"new_version"`
	// Versions is how many key versions env.json holds now.
	Versions int `json:"versions"`
	// Generated is true when ksefpl generated the key.
	Generated bool `json:"generated"`
	// ConfigValues and CacheRows are how many stored secrets were re-encrypted.
	ConfigValues int64 `json:"config_values"`
	CacheRows    int64 `json:"cache_rows"`
	// CacheDropped is how many cache rows were dropped because the old keys could not
	// decrypt them (KSeF issues such tokens again on the next authentication).
	CacheDropped int64 `json:"cache_dropped"`
	// PrivateKeys is how many certificate private keys were re-encrypted.
	PrivateKeys int64 `json:"private_keys"`
	// Scrubbed reports that the old ciphertexts are gone from the database files.
	Scrubbed    bool   `json:"scrubbed"`
	ScrubDetail string `json:"scrub_detail,omitempty"`
}

// secretPaths returns the registry paths stored encrypted.
func secretPaths() []string {
	var out []string
	for _, f := range config.Fields() {
		if f.Secret() {
			out = append(out, f.Path)
		}
	}
	return out
}

// ChangeKey adds a key version (newKey, or a generated one when newKey is empty) and
// re-encrypts every stored secret with it, as Magento's encryption:key:change does.
// Order matters for crash safety: every secret is first checked to decrypt with the
// current keys (else *UndecryptableError and nothing changes), then env.json is written
// with the extended keyring (old keys kept, so every value still decrypts whatever
// happens next), then the database is re-encrypted in one transaction and its files
// scrubbed of the old ciphertexts. Keys from KSEFPL_CRYPT_KEY give *KeysFromEnvError.
func ChangeKey(ctx context.Context, h *home.Home, newKey string) (*KeyChange, error) {
	if h.KeySource == home.EnvCryptKey {
		return nil, &KeysFromEnvError{Variable: home.EnvCryptKey}
	}
	if h.Keys == nil {
		return nil, config.ErrNoKey
	}
	res := &KeyChange{}
	if newKey == "" {
		k, err := secret.GenerateKey()
		if err != nil {
			return nil, err
		}
		newKey, res.Generated = k, true
	}
	for _, existing := range strings.Fields(h.Keys.Export()) {
		if existing == newKey {
			return nil, &KeyInUseError{}
		}
	}
	next, err := h.Keys.WithKey(newKey)
	if err != nil {
		return nil, fmt.Errorf("the new key cannot be used; nothing changed: %w", err)
	}
	if err := checkDecryptable(ctx, h.DB, h.Keys); err != nil {
		return nil, err
	}
	if err := h.SaveKeys(next); err != nil {
		return nil, fmt.Errorf("write the new key to env.json; nothing changed: %w", err)
	}
	re, err := h.DB.ReencryptSecrets(ctx, secretPaths(),
		func(r store.ConfigRow) (string, error) { return next.Reencrypt(r.Value) },
		func(e store.CacheEntry) (string, bool, error) {
			v, err := next.Reencrypt(e.Value)
			if errors.Is(err, secret.ErrCannotDecrypt) {
				return "", false, nil
			}
			return v, err == nil, err
		},
		next.Reencrypt)
	if err != nil {
		return nil, fmt.Errorf("key version %d was added to env.json (every value still decrypts with the kept old keys), "+
			"but re-encrypting the database failed and was rolled back: run ksefpl encryption:key:change again: %w", next.Current(), err)
	}
	res.NewVersion, res.Versions = next.Current(), next.Versions()
	res.ConfigValues, res.CacheRows, res.CacheDropped, res.PrivateKeys = re.ConfigValues, re.CacheRows, re.CacheDropped, re.Keys
	res.Scrubbed, res.ScrubDetail = re.Scrubbed, re.ScrubDetail
	return res, nil
}

// checkDecryptable fails with *UndecryptableError when a stored config secret or a
// certificate's private key does not decrypt with keys (cache rows are dropped instead,
// so they do not count; a key of an enrolment in progress that does not decrypt makes the
// re-encryption fail and roll back).
func checkDecryptable(ctx context.Context, db *store.DB, keys *secret.Keyring) error {
	rows, err := db.ConfigRows(ctx)
	if err != nil {
		return err
	}
	ue := &UndecryptableError{}
	for _, r := range rows {
		f, ok := config.Lookup(r.Path)
		if !ok || !f.Secret() || r.Value == "" {
			continue
		}
		if _, err := keys.Decrypt(r.Value); err != nil {
			ue.Values = append(ue.Values, r.Path+" at "+scopeName(r.Scope, r.ScopeID))
			if ue.Err == nil {
				ue.Err = err
			}
		}
	}
	certs, err := db.Certificates(ctx, 0)
	if err != nil {
		return err
	}
	for _, c := range certs {
		if _, err := keys.Decrypt(c.KeyEnc); err != nil {
			ue.Values = append(ue.Values, fmt.Sprintf("the private key of %s certificate %s (website %d)", c.Usage, c.Serial, c.WebsiteID))
			if ue.Err == nil {
				ue.Err = err
			}
		}
	}
	if len(ue.Values) > 0 {
		return ue
	}
	return nil
}

func scopeName(scope string, id int64) string {
	if scope == store.ScopeDefault {
		return scope
	}
	return fmt.Sprintf("%s %d", scope, id)
}

// KeyVersionUse is one key version and how many stored values it encrypts.
type KeyVersionUse struct {
	Version int  `json:"version"`
	Current bool `json:"current"`
	// Configured is false for a version that values name but the keyring lacks.
	Configured   bool `json:"configured"`
	ConfigValues int  `json:"config_values"`
	CacheRows    int  `json:"cache_rows"`
}

// KeyList is what encryption:key:list shows; it never holds keys.
type KeyList struct {
	// Source is where the keys come from: env.json or KSEFPL_CRYPT_KEY.
	Source   string          `json:"source"`
	Versions []KeyVersionUse `json:"versions"`
	// Malformed counts stored values that are not ciphertext at all.
	Malformed int `json:"malformed"`
}

// ListKeys counts, per key version, the stored secrets (config values of secret paths
// and cache rows) that name it. It reads versions from the values and decrypts nothing.
func ListKeys(ctx context.Context, db *store.DB, keys *secret.Keyring, source string) (*KeyList, error) {
	uses := map[int]*KeyVersionUse{}
	use := func(v int) *KeyVersionUse {
		if uses[v] == nil {
			uses[v] = &KeyVersionUse{Version: v, Configured: v < keys.Versions(), Current: v == keys.Current()}
		}
		return uses[v]
	}
	for v := 0; v < keys.Versions(); v++ {
		use(v)
	}
	out := &KeyList{Source: source, Versions: []KeyVersionUse{}}
	rows, err := db.ConfigRows(ctx)
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		if f, ok := config.Lookup(r.Path); !ok || !f.Secret() || r.Value == "" {
			continue
		}
		v, err := keys.KeyVersion(r.Value)
		if err != nil {
			out.Malformed++
			continue
		}
		use(v).ConfigValues++
	}
	entries, err := db.CacheEntries(ctx)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		v, err := keys.KeyVersion(e.Value)
		if err != nil {
			out.Malformed++
			continue
		}
		use(v).CacheRows++
	}
	for _, u := range uses {
		out.Versions = append(out.Versions, *u)
	}
	sort.Slice(out.Versions, func(i, j int) bool { return out.Versions[i].Version < out.Versions[j].Version })
	return out, nil
}
