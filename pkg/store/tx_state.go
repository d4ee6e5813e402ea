package store

import (
	"context"
	"database/sql"
	"fmt"
)

// txState is what an open transaction keeps until it ends: its count moves (counts.go)
// and the statements it has prepared. One goroutine uses a transaction, so the maps need
// no lock of their own.
type txState struct {
	counts map[countKey]int
	// stmts are the transaction's statements by query text.
	stmts map[string]*sql.Stmt
	// unshared are the queries this transaction prepared on its own connection because
	// no statement of the database had them yet: they are prepared for the database
	// once the transaction has given its connection back (share).
	unshared []string
	// websiteCodes and lastSeq are what the transaction's events read once (events.go).
	websiteCodes map[int64]string
	lastSeq      map[int64]int64
}

// txStateOf returns tx's state, creating it on first use.
func (d *DB) txStateOf(tx *sql.Tx) *txState {
	if v, ok := d.txs.Load(tx); ok {
		return v.(*txState)
	}
	s := &txState{}
	d.txs.Store(tx, s)
	return s
}

// endTx forgets tx's state and returns it (nil when it kept none). Its statements are
// closed by database/sql when the transaction ends.
func (d *DB) endTx(tx *sql.Tx) *txState {
	v, ok := d.txs.LoadAndDelete(tx)
	if !ok {
		return nil
	}
	return v.(*txState)
}

// prepared returns query prepared for tx, parsed once per transaction at most and, once
// the database holds it, once per connection.
//
// A query the database has not prepared yet is prepared on the transaction's own
// connection: preparing it on the database would take a second connection while tx holds
// the first, and opening one costs a fresh process more than the statement (SQLite reads
// the whole schema again). share prepares it for the database after the transaction.
func (d *DB) prepared(ctx context.Context, tx *sql.Tx, query string) (*sql.Stmt, error) {
	s := d.txStateOf(tx)
	if st := s.stmts[query]; st != nil {
		return st, nil
	}
	var st *sql.Stmt
	if v, ok := d.stmts.Load(query); ok {
		st = tx.StmtContext(ctx, v.(*sql.Stmt))
	} else {
		var err error
		if st, err = tx.PrepareContext(ctx, query); err != nil {
			return nil, fmt.Errorf("prepare: %w", err)
		}
		s.unshared = append(s.unshared, query)
	}
	if s.stmts == nil {
		s.stmts = map[string]*sql.Stmt{}
	}
	s.stmts[query] = st
	return st, nil
}

// shared returns query prepared for the database (outside any transaction), once per
// process; the statements a fresh process runs many times (configuration reads) then
// parse once.
func (d *DB) shared(ctx context.Context, query string) (*sql.Stmt, error) {
	if v, ok := d.stmts.Load(query); ok {
		return v.(*sql.Stmt), nil
	}
	st, err := d.sql.PrepareContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("prepare: %w", err)
	}
	if v, loaded := d.stmts.LoadOrStore(query, st); loaded {
		st.Close()
		return v.(*sql.Stmt), nil
	}
	return st, nil
}

// share prepares for the database the queries a finished transaction prepared on its own
// (see prepared); the connection it gave back is free, so no new one is opened for this.
// A failure only means the next transaction prepares the query again.
func (d *DB) share(ctx context.Context, s *txState) {
	if s == nil {
		return
	}
	for _, q := range s.unshared {
		if _, err := d.shared(ctx, q); err != nil {
			return
		}
	}
}
