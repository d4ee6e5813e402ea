package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/ksefpl/ksefpl/pkg/store"
)

// benchStore is where one measurement's home keeps its store: ksefpl.db in the home, or
// a fresh database on a MySQL server (dropped afterwards).
type benchStore struct {
	home string
	dsn  string // the database's DSN ("" for SQLite)
	drop func()
}

func newBenchStore(ctx context.Context, home, server string) (*benchStore, error) {
	st := &benchStore{home: home, drop: func() {}}
	if server == "" {
		return st, nil
	}
	dsn, drop, err := store.CreateMySQLDatabase(ctx, server, "ksefpl_bench_")
	if err != nil {
		return nil, fmt.Errorf("bench: --mysql-dsn: %w", err)
	}
	st.dsn, st.drop = dsn, drop
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
