package home

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// envSettings is env.json: deployment settings that do not belong in the database.
// Its crypt.key holds one or more encryption keys separated by newlines, the last being
// current — the format of Magento's app/etc/env.php 'crypt' => ['key' => ...].
type envSettings struct {
	Crypt struct {
		Key string `json:"key"`
	} `json:"crypt"`
	// DB is the database connection, as Magento's 'db' => ['connection' => ['default'
	// => [...]]]; absent (or engine sqlite) means ksefpl.db in the home.
	DB *dbSettings `json:"db,omitempty"`
	// Extra keeps fields written by newer versions.
	Extra map[string]json.RawMessage `json:"-"`
}

// dbSettings is env.json's "db" object.
type dbSettings struct {
	Connection struct {
		Default *DBConnection `json:"default,omitempty"`
	} `json:"connection"`
}

// DBConnection is a MySQL/MariaDB connection in env.json (db.connection.default), in
// Magento's field names. The password is stored as given: env.json is 0600, as Magento's
// env.php holds it.
type DBConnection struct {
	Host     string `json:"host"`               // HOST[:PORT], or a unix socket path
	DBName   string `json:"dbname"`             //
	Username string `json:"username"`           //
	Password string `json:"password,omitempty"` //
	Engine   string `json:"engine"`             // "mysql" or "sqlite"
	SSLCA    string `json:"ssl_ca,omitempty"`   // PEM file of the CA that signs the server's certificate (TLS)
}

func readEnv(path string) (envSettings, error) {
	var env envSettings
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return env, nil
	}
	if err != nil {
		return env, fmt.Errorf("read %s: %w", path, err)
	}
	if err := json.Unmarshal(b, &env); err != nil {
		return env, fmt.Errorf("%s is not valid JSON (restore it from backup; it holds the encryption keys): %w", path, err)
	}
	if err := json.Unmarshal(b, &env.Extra); err != nil {
		return env, fmt.Errorf("read %s: %w", path, err)
	}
	delete(env.Extra, "crypt")
	delete(env.Extra, "db")
	return env, nil
}

// writeEnv replaces env.json atomically with mode 0600.
func writeEnv(path string, env envSettings) error {
	out := map[string]any{}
	for k, v := range env.Extra {
		out[k] = v
	}
	out["crypt"] = env.Crypt
	if env.DB != nil {
		out["db"] = env.DB
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".env-*.json")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
