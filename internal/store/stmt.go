package store

import (
	"context"
	"database/sql"
	"sync"
)

// stmtCache keeps SQLite statements prepared: parsing a statement costs as much as running
// it, and the same few statements run thousands of times a second. (pgx caches prepared
// statements on PostgreSQL by itself.) The read pool's cache prepares on the pool; the
// writer's prepares on the writer's own connection, inside a transaction too.
type stmtCache struct {
	prep  preparer
	mu    sync.Mutex
	stmts map[string]*sql.Stmt
}

// preparer is a *sql.DB (the read pool) or a *sql.Conn (the writer's connection).
type preparer interface {
	PrepareContext(ctx context.Context, query string) (*sql.Stmt, error)
}

func newStmtCache(p preparer) *stmtCache {
	return &stmtCache{prep: p, stmts: map[string]*sql.Stmt{}}
}

// get returns the prepared statement for q, preparing it on first use; nil when q does not
// prepare (the caller runs it unprepared and sees the error there).
func (c *stmtCache) get(ctx context.Context, q string) *sql.Stmt {
	c.mu.Lock()
	st, ok := c.stmts[q]
	c.mu.Unlock()
	if ok {
		return st
	}
	st, err := c.prep.PrepareContext(ctx, q)
	if err != nil {
		return nil
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

func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range c.stmts {
		st.Close()
	}
	clear(c.stmts)
}
