// Package store holds all of Ibiki's SQL, for SQLite and PostgreSQL. Reads run on a pool;
// every write runs in a transaction handed to InTx, which batches the transactions of
// concurrent callers into one commit (group commit) so that durability stays full and cheap.
// A function handed to InTx may therefore run more than once: it has no effect but its writes
// through Tx (and Tx.AfterCommit). Transports (api, dashboard, hooks) never call InTx: domain
// packages do. A request's Idempotency-Key
// reaches the transaction through its context (WithIdempotencyKey), and Tx.Done keeps the
// answer there. The queue tables have per-table statements; which table a job kind uses, and
// who new deliveries are born leased to (Lessee), are the queue's to decide.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Errors the store returns; callers test them with errors.Is.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("conflict")
	ErrClosed   = errors.New("store closed")
	// ErrBusy means a write kept losing deadlocks to other writers: retry later.
	ErrBusy = errors.New("store busy: the write kept deadlocking with others")
)

// Engine names a database engine.
type Engine string

// Engines.
const (
	SQLite   Engine = "sqlite"
	Postgres Engine = "postgres"
)

// Options tunes the store. Zero values pick defaults.
type Options struct {
	// Writers is the number of concurrent write transactions. SQLite allows one writer, so it
	// is always 1 there; on PostgreSQL several writers overlap their commits.
	Writers int
	// MaxBatch caps how many callers' transactions share one commit.
	MaxBatch int
	// ReadConns caps the read pool.
	ReadConns int
}

// Store is the database. It is safe for concurrent use.
type Store struct {
	engine Engine
	read   *sql.DB
	write  *sql.DB
	lock   *os.File // SQLite: the lock that keeps other processes off the database
	reader
	writes chan *writeReq
	// urgent carries the transactions that move queued work forward (WithPriority): the
	// writers take them before the others, so that work in the queue is not starved by new
	// work arriving.
	urgent   chan *writeReq
	quit     chan struct{}
	wg       sync.WaitGroup
	closeMu  sync.RWMutex
	closed   bool
	maxBatch int
	stats    stats
	caches   *caches
	// conn is SQLite's writer connection, which the writer holds (see connTx), and
	// writeStmts caches the statements prepared on it.
	conn       *sql.Conn
	writeStmts *stmtCache

	hookMu     sync.RWMutex
	onWrite    []func(kinds []string)
	onAnnounce []func(Announcement)
	lessee     atomic.Pointer[Lessee]
	sendLessee atomic.Pointer[Lessee] // who sends born started are leased to (LeaseNewSends)
	// shareLog hears the errors of sharing announcements between instances (SetShareLog).
	shareLog func(error)
}

// Open opens the database named by url: "postgres://…" or "postgresql://…" selects PostgreSQL;
// anything else is a SQLite file path (optionally "sqlite://path" or "file:path"). It does not
// migrate: call Migrate.
func Open(ctx context.Context, url string, opt Options) (*Store, error) {
	var (
		s   *Store
		err error
	)
	if strings.HasPrefix(url, "postgres://") || strings.HasPrefix(url, "postgresql://") {
		s, err = openPostgres(ctx, url, &opt)
	} else {
		s, err = openSQLite(ctx, url, &opt)
	}
	if err != nil {
		return nil, err
	}
	s.reader = reader{q: s.read, engine: s.engine}
	if s.engine == SQLite {
		s.reader.stmts = newStmtCache(s.read)
		s.writeStmts = newStmtCache(s.conn)
	}
	s.maxBatch = opt.MaxBatch
	if s.maxBatch <= 0 {
		s.maxBatch = 256
	}
	s.caches = &caches{}
	s.writes = make(chan *writeReq, 4096)
	s.urgent = make(chan *writeReq, 4096)
	s.quit = make(chan struct{})
	for range opt.Writers {
		s.wg.Add(1)
		go s.writer()
	}
	return s, nil
}

// Engine tells which database engine the store runs on.
func (s *Store) Engine() Engine { return s.engine }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.read.PingContext(ctx); err != nil {
		return err
	}
	var one int
	return s.read.QueryRowContext(ctx, "SELECT 1").Scan(&one)
}

// Closed reports whether Close was called: work running in the background (a retry waiting its
// turn) stops quietly rather than report the closed pools' errors.
func (s *Store) Closed() bool {
	s.closeMu.RLock()
	defer s.closeMu.RUnlock()
	return s.closed
}

// Close stops the writers after the transactions already handed to InTx, then closes the pools.
func (s *Store) Close() error {
	s.closeMu.Lock()
	already := s.closed
	s.closed = true
	s.closeMu.Unlock()
	if already {
		return nil
	}
	close(s.quit)
	s.wg.Wait()
	var err error
	if s.writeStmts != nil {
		s.writeStmts.close()
		s.reader.stmts.close()
		err = s.conn.Close()
	}
	err = errors.Join(err, s.write.Close())
	if s.read != s.write {
		err = errors.Join(err, s.read.Close())
	}
	if s.lock != nil {
		err = errors.Join(err, s.lock.Close())
	}
	return err
}

// What OnWrite listeners hear besides the kinds of the jobs table's jobs made ready.
const (
	// DeliveriesReady: deliveries became ready to claim. The deliveries table does not know
	// which kind of job the queue runs them as.
	DeliveriesReady = "@deliveries"
	// AnyReady: jobs whose kinds the statement did not read were put back (released leases).
	AnyReady = "*"
)

// OnWrite registers fn to be called after each commit that made work ready to claim, with what
// became ready: job kinds, DeliveriesReady or AnyReady. The job runner uses it to wake up at
// once instead of polling.
func (s *Store) OnWrite(fn func(kinds []string)) {
	s.hookMu.Lock()
	defer s.hookMu.Unlock()
	s.onWrite = append(s.onWrite, fn)
}

func (s *Store) notify(kinds []string) {
	if len(kinds) == 0 {
		return
	}
	s.hookMu.RLock()
	defer s.hookMu.RUnlock()
	for _, fn := range s.onWrite {
		fn(kinds)
	}
}

// queryer is what both the read pool and a transaction offer.
type queryer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// reader carries the read queries, so that the same method works on the Store (read pool) and
// inside a transaction (Tx), where it sees the transaction's own writes.
type reader struct {
	q      queryer
	engine Engine
	// SQLite only: prepared statements, prepared where q runs (the read pool, or the writer's
	// connection).
	stmts *stmtCache
	// write: a writer's transaction (see writeCtx).
	write bool
}

var rebound sync.Map // SQL text with ? → SQL text with $n

// rebind turns ? placeholders into $1, $2… for PostgreSQL. Queries are constants, so the result
// is cached. Question marks inside quoted strings are left alone.
func (r reader) rebind(q string) string {
	if r.engine != Postgres {
		return q
	}
	if v, ok := rebound.Load(q); ok {
		return v.(string)
	}
	var b strings.Builder
	n, quoted := 0, false
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case c == '\'':
			quoted = !quoted
			b.WriteByte(c)
		case c == '?' && !quoted:
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
		default:
			b.WriteByte(c)
		}
	}
	rebound.Store(q, b.String())
	return b.String()
}

// writeCtx detaches a write transaction's statements from the caller's cancellation: the
// transaction is shared with other callers, and a statement interrupted by one caller's
// cancelled context would roll back everyone's work (SQLite) or kill the connection (pgx).
// Without a cancellable context, database/sql and the SQLite driver also start no goroutine
// per query and per row to watch it.
func (r reader) writeCtx(ctx context.Context) context.Context {
	if r.write {
		return context.WithoutCancel(ctx)
	}
	return ctx
}

// stmt returns a prepared statement for q when there is one (SQLite).
func (r reader) stmt(ctx context.Context, q string) *sql.Stmt {
	if r.stmts == nil {
		return nil
	}
	return r.stmts.get(ctx, q)
}

func (r reader) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	ctx = r.writeCtx(ctx)
	if st := r.stmt(ctx, q); st != nil {
		res, err := st.ExecContext(ctx, args...)
		return res, mapErr(err)
	}
	res, err := r.q.ExecContext(ctx, r.rebind(q), args...)
	return res, mapErr(err)
}

func (r reader) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	ctx = r.writeCtx(ctx)
	if st := r.stmt(ctx, q); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return r.q.QueryContext(ctx, r.rebind(q), args...)
}

func (r reader) queryRow(ctx context.Context, q string, args ...any) *sql.Row {
	ctx = r.writeCtx(ctx)
	if st := r.stmt(ctx, q); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return r.q.QueryRowContext(ctx, r.rebind(q), args...)
}

// ms converts a time to the stored unix milliseconds; the zero time is 0.
func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// fromMS converts stored unix milliseconds back; 0 is the zero time.
func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

// nullable stores "" as NULL, for columns where NULL has a meaning (no client yet, no id).
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// notFound maps sql.ErrNoRows to ErrNotFound and wraps anything else with what was looked for.
func notFound(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("store: %s: %w", what, err)
	}
	return nil
}

// affected turns "no row changed" into ErrNotFound.
func affected(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// prefixed qualifies a comma-separated column list with a table alias.
func prefixed(alias, cols string) string {
	parts := strings.Split(cols, ",")
	for i, p := range parts {
		parts[i] = alias + strings.TrimSpace(p)
	}
	return strings.Join(parts, ", ")
}

// newestFirst completes a list query over time-ordered ids: rows before the cursor id `before`
// ("" = from the newest), newest first, at most limit.
func newestFirst(q string, args []any, before string, limit int) (string, []any) {
	if before != "" {
		q += ` AND id < ?`
		args = append(args, before)
	}
	return q + ` ORDER BY id DESC LIMIT ?`, append(args, limit)
}

func formatAttemptID(id int64) string { return "att_" + strconv.FormatInt(id, 10) }

// placeholders returns "?, ?, …" for an IN list of n values.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// scanner is a row being read: *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

// collect reads every row of a query with scan; what names the list in errors.
func collect[T any](rows *sql.Rows, err error, what string, scan func(scanner) (T, error)) ([]T, error) {
	if err != nil {
		return nil, notFound(err, what)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, notFound(err, what)
		}
		out = append(out, v)
	}
	return out, notFound(rows.Err(), what)
}
