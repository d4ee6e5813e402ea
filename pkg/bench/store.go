package bench

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"

	"github.com/go-sql-driver/mysql"

	"github.com/ksefpl/ksefpl/pkg/store"
)

// benchStore is where one measurement's home keeps its store: ksefpl.db in the home, or
// a fresh database on a MySQL server (dropped afterwards).
type benchStore struct {
	home  string
	dsn   string // the database's DSN ("" for SQLite)
	drop  func()
	admin *sql.DB
}

func newBenchStore(ctx context.Context, home, server string) (*benchStore, error) {
	st := &benchStore{home: home, drop: func() {}}
	if server == "" {
		return st, nil
	}
	cfg, err := mysql.ParseDSN(server)
	if err != nil {
		return nil, fmt.Errorf("bench: --mysql-dsn: %w", err)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "ksefpl_bench_" + hex.EncodeToString(b[:])
	admin, err := sql.Open("mysql", server)
	if err != nil {
		return nil, err
	}
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name+" CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"); err != nil {
		admin.Close()
		return nil, fmt.Errorf("bench: create the database: %w", err)
	}
	st.drop = func() {
		_, _ = admin.ExecContext(context.WithoutCancel(ctx), "DROP DATABASE IF EXISTS "+name)
		admin.Close()
	}
	cfg.DBName = name
	st.dsn = cfg.FormatDSN()
	return st, nil
}

// env is the environment of the measured processes.
func (s *benchStore) env() []string {
	if s.dsn == "" {
		return os.Environ()
	}
	return append(os.Environ(), "KSEFPL_DB_DSN="+s.dsn)
}

func (s *benchStore) open(ctx context.Context) (*store.DB, error) {
	if s.dsn != "" {
		return store.OpenMySQL(ctx, s.dsn, store.Options{})
	}
	return store.Open(ctx, filepath.Join(s.home, "ksefpl.db"), store.Options{})
}
