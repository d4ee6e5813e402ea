// Package home owns ksefpl's data directory: where it is (--home, KSEFPL_HOME, XDG), its
// permissions (0700 directory, 0600 files), the deployment settings file env.json (the
// analogue of Magento's app/etc/env.php, holding the encryption keys) and first-use
// initialisation. It opens the store and the keyring for the rest of the program.
package home

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/ksefpl/ksefpl/pkg/failure"
	"github.com/ksefpl/ksefpl/pkg/secret"
	"github.com/ksefpl/ksefpl/pkg/store"
)

// File names inside the home directory.
const (
	DBFile  = "ksefpl.db"
	EnvFile = "env.json"
)

// EnvCryptKey is the environment variable that, when set, supplies the encryption keys
// instead of env.json (cloud deployments). It uses env.json's key format.
const EnvCryptKey = "KSEFPL_CRYPT_KEY"

// Dir resolves the home directory: the flag value when given, else $KSEFPL_HOME, else
// $XDG_DATA_HOME/ksefpl, else ~/.local/share/ksefpl.
func Dir(flag string, getenv func(string) string) (string, error) {
	switch {
	case flag != "":
		return filepath.Abs(flag)
	case getenv("KSEFPL_HOME") != "":
		return filepath.Abs(getenv("KSEFPL_HOME"))
	case getenv("XDG_DATA_HOME") != "":
		return filepath.Join(getenv("XDG_DATA_HOME"), "ksefpl"), nil
	}
	h := getenv("HOME")
	if h == "" {
		var err error
		if h, err = os.UserHomeDir(); err != nil {
			return "", fmt.Errorf("cannot find a home directory: set --home or KSEFPL_HOME: %w", err)
		}
	}
	return filepath.Join(h, ".local", "share", "ksefpl"), nil
}

// Home is an opened data directory.
type Home struct {
	Dir  string
	DB   *store.DB
	Keys *secret.Keyring // nil when no key is configured
	// KeySource says where the keys came from: "env.json", EnvCryptKey or "" (none).
	KeySource string
	// Warnings are problems every command should mention (env.json readable by others).
	Warnings []string
	// keyText is the key material the keys were parsed from, to compare with another
	// home's (see MigrateFrom); never printed.
	keyText string
}

// MissingError means the home directory (or its database) does not exist: only
// setup:install (and config:set) create one, so that a mistyped KSEFPL_HOME in cron fails
// loudly instead of starting an empty home. Its class is invalid.
type MissingError struct{ Dir string }

// Error says what to do.
func (e *MissingError) Error() string {
	return "ksefpl home " + e.Dir + " does not exist — run ksefpl setup:install (or check --home / KSEFPL_HOME)"
}

// Class is failure.Invalid.
func (e *MissingError) Class() failure.Class { return failure.Invalid }

// OpenExisting opens the home at dir like Open but creates nothing: a missing directory
// or database is a *MissingError.
func OpenExisting(ctx context.Context, dir string, getenv func(string) string, opts store.Options) (*Home, error) {
	st, err := os.Stat(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, &MissingError{Dir: dir}
	}
	if err != nil {
		return nil, fmt.Errorf("home %s: %w", dir, err)
	}
	if !st.IsDir() {
		return nil, failure.New(failure.Invalid, fmt.Errorf("home %s is not a directory: choose another --home", dir))
	}
	env, err := readEnv(filepath.Join(dir, EnvFile))
	if err != nil {
		return nil, err
	}
	dsn, err := mysqlDSN(env, getenv)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(dir, DBFile)); dsn == "" && errors.Is(err, os.ErrNotExist) {
		return nil, &MissingError{Dir: dir}
	}
	db, err := openStore(ctx, dir, dsn, opts)
	if err != nil {
		return nil, err
	}
	h, err := openKeys(dir, db, env, getenv)
	if err != nil {
		db.Close()
		return nil, err
	}
	h.Warnings = permissionWarnings(dir)
	return h, nil
}

// permissionWarnings names the home's files that group or others may read.
func permissionWarnings(dir string) []string {
	var out []string
	for _, f := range []string{EnvFile, DBFile} {
		st, err := os.Stat(filepath.Join(dir, f))
		if err == nil && st.Mode().Perm()&0o077 != 0 {
			out = append(out, fmt.Sprintf("%s has mode %04o: group or others may read it (it holds %s); run ksefpl setup:install to make it 0600",
				filepath.Join(dir, f), st.Mode().Perm(), map[string]string{EnvFile: "the encryption keys", DBFile: "the encrypted secrets"}[f]))
		}
	}
	return out
}

// fixPermissions makes the home 0700 and its files 0600.
func fixPermissions(dir string) error {
	for _, f := range []string{EnvFile, DBFile, DBFile + "-wal", DBFile + "-shm"} {
		p := filepath.Join(dir, f)
		if _, err := os.Stat(p); err == nil {
			if err := os.Chmod(p, 0o600); err != nil {
				return fmt.Errorf("secure %s: %w", p, err)
			}
		}
	}
	return nil
}

// InstallResult says what Install or Open created.
type InstallResult struct {
	CreatedDir bool
	CreatedKey bool
	CreatedDB  bool
}

// Created reports whether anything was created.
func (r InstallResult) Created() bool { return r.CreatedDir || r.CreatedKey || r.CreatedDB }

// Open opens the home at dir, initialising whatever is missing (directory, env.json with a
// fresh key unless KSEFPL_CRYPT_KEY is set, database). It never replaces an existing key.
func Open(ctx context.Context, dir string, getenv func(string) string, opts store.Options) (*Home, InstallResult, error) {
	var res InstallResult
	if err := ensureDir(dir, &res); err != nil {
		return nil, res, err
	}
	env, err := readEnv(filepath.Join(dir, EnvFile))
	if err != nil {
		return nil, res, err
	}
	if env.Crypt.Key == "" && getenv(EnvCryptKey) == "" {
		k, err := secret.GenerateKey()
		if err != nil {
			return nil, res, fmt.Errorf("generate encryption key: %w", err)
		}
		env.Crypt.Key = k
		if err := writeEnv(filepath.Join(dir, EnvFile), env); err != nil {
			return nil, res, err
		}
		res.CreatedKey = true
	}
	dsn, err := mysqlDSN(env, getenv)
	if err != nil {
		return nil, res, err
	}
	if _, err := os.Stat(filepath.Join(dir, DBFile)); dsn == "" && errors.Is(err, os.ErrNotExist) {
		res.CreatedDB = true
	}
	if err := fixPermissions(dir); err != nil {
		return nil, res, err
	}
	db, err := openStore(ctx, dir, dsn, opts)
	if err != nil {
		return nil, res, err
	}
	h, err := openKeys(dir, db, env, getenv)
	if err != nil {
		db.Close()
		return nil, res, err
	}
	return h, res, nil
}

// openKeys builds the Home over an opened database with the keys of KSEFPL_CRYPT_KEY or
// env.json.
func openKeys(dir string, db *store.DB, env envSettings, getenv func(string) string) (*Home, error) {
	h := &Home{Dir: dir, DB: db}
	var err error
	if k := getenv(EnvCryptKey); k != "" {
		h.Keys, err = secret.ParseKeys(k)
		h.KeySource, h.keyText = EnvCryptKey, k
	} else if env.Crypt.Key != "" {
		h.Keys, err = secret.ParseKeys(env.Crypt.Key)
		h.KeySource, h.keyText = EnvFile, env.Crypt.Key
	}
	if err != nil {
		return nil, fmt.Errorf("encryption key from %s is unusable (check the key, never share it): %w", h.KeySource, err)
	}
	return h, nil
}

// Close releases the database.
func (h *Home) Close() error { return h.DB.Close() }

// SaveKeys writes a new keyring to env.json (used by key rotation). It refuses when the
// keys come from KSEFPL_CRYPT_KEY, which ksefpl cannot update.
func (h *Home) SaveKeys(k *secret.Keyring) error {
	if h.KeySource == EnvCryptKey {
		return fmt.Errorf("the encryption keys come from %s: update that variable instead", EnvCryptKey)
	}
	path := filepath.Join(h.Dir, EnvFile)
	env, err := readEnv(path)
	if err != nil {
		return err
	}
	env.Crypt.Key = k.Export()
	if err := writeEnv(path, env); err != nil {
		return err
	}
	h.Keys = k
	h.KeySource = EnvFile
	return nil
}

func ensureDir(dir string, res *InstallResult) error {
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("create home %s: %w", dir, err)
		}
		res.CreatedDir = true
	case err != nil:
		return fmt.Errorf("home %s: %w", dir, err)
	case !st.IsDir():
		return fmt.Errorf("home %s is not a directory: choose another --home", dir)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("secure home %s: %w", dir, err)
	}
	return nil
}
