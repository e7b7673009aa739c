package store

import (
	"context"
	"database/sql"
	"sync"
)

// stmtCache keeps SQLite statements prepared: parsing a statement costs as much as running
// it, and the same few statements run thousands of times a second. (pgx caches prepared
// statements on PostgreSQL by itself.)
//
// On the writer, a statement cannot be prepared while a transaction holds the only
// connection, so the first use of a query runs unprepared and marks it; the writer prepares
// the marked queries between transactions (prepareMarked).
type stmtCache struct {
	db     *sql.DB
	mu     sync.Mutex
	stmts  map[string]*sql.Stmt
	marked map[string]bool
}

func newStmtCache(db *sql.DB) *stmtCache {
	return &stmtCache{db: db, stmts: map[string]*sql.Stmt{}, marked: map[string]bool{}}
}

// get returns the prepared statement for q, preparing it now when prepareNow (read pool).
func (c *stmtCache) get(ctx context.Context, q string, prepareNow bool) *sql.Stmt {
	c.mu.Lock()
	st, ok := c.stmts[q]
	if !ok && !prepareNow {
		c.marked[q] = true
	}
	c.mu.Unlock()
	if ok || !prepareNow {
		return st
	}
	st, err := c.db.PrepareContext(ctx, q)
	if err != nil {
		return nil // the caller runs the query unprepared and sees the error there
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if prev, ok := c.stmts[q]; ok {
		st.Close()
		return prev
	}
	c.stmts[q] = st
	return st
}

// prepareMarked prepares the queries first seen inside a transaction.
func (c *stmtCache) prepareMarked(ctx context.Context) {
	c.mu.Lock()
	var qs []string
	for q := range c.marked {
		qs = append(qs, q)
	}
	clear(c.marked)
	c.mu.Unlock()
	for _, q := range qs {
		if st, err := c.db.PrepareContext(ctx, q); err == nil {
			c.mu.Lock()
			c.stmts[q] = st
			c.mu.Unlock()
		}
	}
}

func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range c.stmts {
		st.Close()
	}
	clear(c.stmts)
}
