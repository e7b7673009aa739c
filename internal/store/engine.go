package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"github.com/mattn/go-sqlite3"
)

// sqlitePragmas make every connection durable and strict: WAL so readers never block the
// writer, synchronous=FULL so a committed transaction survives power loss, foreign keys on.
// temp_store=MEMORY keeps the savepoint sub-journals of group commit off the disk (they only
// matter until the commit, which the WAL makes durable), and a 32 MB page cache keeps the hot
// indexes in memory. The writer checkpoints the WAL into the database file every 4,000 pages
// (32 MB of 8 KB pages) rather than SQLite's 1,000: each checkpoint costs the writer two
// fsyncs, and under load a quarter as many of them gave 1.04× more messages/s (BENCHMARKS.md).
// A new database is made with pages of 8 KB rather than 4 (page_size comes before
// journal_mode, which fixes it):
// a commit writes each page it changed to the WAL, two system calls a page, and with more rows
// of a table on a page the SMPP path gave 1.09× the messages/s (BENCHMARKS.md). An existing
// database keeps its page size. busy_timeout comes first so that the others wait for a lock
// rather than fail. They run after the driver's own defaults (busy_timeout 5000, synchronous
// NORMAL), so they override them.
var sqlitePragmas = []string{
	"busy_timeout = 10000",
	"page_size = 8192",
	"journal_mode = WAL",
	"synchronous = FULL",
	"foreign_keys = ON",
	"temp_store = MEMORY",
	"cache_size = -32000",
	"wal_autocheckpoint = 4000",
}

// The SQLite drivers: github.com/mattn/go-sqlite3 with sqlitePragmas run on every new
// connection (its DSN parameters cover only some of them, temp_store not at all), and for the
// read pool query_only as well, so that a read connection can never write.
const (
	sqliteDriver     = "ibiki-sqlite"
	sqliteReadDriver = "ibiki-sqlite-read"
)

func init() {
	sql.Register(sqliteDriver, &sqlite3.SQLiteDriver{ConnectHook: runPragmas(sqlitePragmas)})
	sql.Register(sqliteReadDriver, &sqlite3.SQLiteDriver{
		ConnectHook: runPragmas(append(slices.Clone(sqlitePragmas), "query_only = 1"))})
}

func runPragmas(pragmas []string) func(*sqlite3.SQLiteConn) error {
	return func(c *sqlite3.SQLiteConn) error {
		for _, p := range pragmas {
			if _, err := c.Exec("PRAGMA "+p, nil); err != nil {
				return fmt.Errorf("PRAGMA %s: %w", p, err)
			}
		}
		return nil
	}
}

// sqlitePath accepts "path", "sqlite://path", "sqlite:path" and "file:path".
func sqlitePath(raw string) string {
	for _, p := range []string{"sqlite://", "sqlite:", "file:"} {
		if after, ok := strings.CutPrefix(raw, p); ok {
			raw = after
			break
		}
	}
	if i := strings.IndexByte(raw, '?'); i >= 0 {
		raw = raw[:i]
	}
	return raw
}

// openSQLite opens one writer connection (SQLite has a single writer; group commit makes it
// fast), which the writer holds, and a pool of read-only connections.
func openSQLite(ctx context.Context, raw string, opt *Options) (*Store, error) {
	path := sqlitePath(raw)
	if path == "" || path == ":memory:" {
		return nil, errors.New("store: SQLite needs a file path (an in-memory database cannot be shared by the pools)")
	}
	lock, err := lockFile(path + ".lock")
	if err != nil {
		return nil, err
	}
	// _txlock=immediate: a transaction begun by database/sql (the migrations'; the writer
	// begins its own, see connTx) takes the write lock at BEGIN, so that it never has to
	// upgrade a read lock later (which can fail with SQLITE_BUSY at once).
	w, err := sql.Open(sqliteDriver, "file:"+path+"?_txlock=immediate")
	if err != nil {
		lock.Close()
		return nil, fmt.Errorf("store: open sqlite: %w", err)
	}
	// Two connections: the writer's, which it holds, and one for the migrations.
	w.SetMaxOpenConns(2)
	w.SetMaxIdleConns(2)
	w.SetConnMaxLifetime(0)
	conn, err := w.Conn(ctx)
	if err == nil {
		if err = conn.PingContext(ctx); err != nil {
			conn.Close()
		}
	}
	if err != nil {
		w.Close()
		lock.Close()
		return nil, fmt.Errorf("store: open sqlite %s: %w", path, err)
	}
	r, err := sql.Open(sqliteReadDriver, "file:"+path)
	if err != nil {
		conn.Close()
		w.Close()
		lock.Close()
		return nil, fmt.Errorf("store: open sqlite: %w", err)
	}
	n := opt.ReadConns
	if n <= 0 {
		n = 2*runtime.GOMAXPROCS(0) + 2
	}
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	opt.Writers = 1
	return &Store{engine: SQLite, read: r, write: w, conn: conn, lock: lock}, nil
}

// lockFile takes an exclusive lock that lives as long as the process holds the file: one
// process per SQLite database, because the job queue assumes that no other process can be
// running its jobs. The kernel drops the lock when the process dies, even by SIGKILL.
func lockFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("store: lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("store: %s is in use by another ibiki process (one process per SQLite database; use PostgreSQL for several instances)", strings.TrimSuffix(path, ".lock"))
	}
	return f, nil
}

// openPostgres opens one pool shared by readers and writers.
func openPostgres(ctx context.Context, raw string, opt *Options) (*Store, error) {
	db, err := sql.Open("pgx", raw)
	if err != nil {
		return nil, fmt.Errorf("store: open postgres: %w", err)
	}
	if opt.Writers <= 0 {
		opt.Writers = 4
	}
	n := opt.ReadConns
	if n <= 0 {
		n = 16
	}
	db.SetMaxOpenConns(n + opt.Writers)
	db.SetMaxIdleConns(n + opt.Writers)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: open postgres: %w", err)
	}
	return &Store{engine: Postgres, read: db, write: db}, nil
}

// mapErr turns unique-constraint violations of either engine into ErrConflict.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	var se sqlite3.Error
	if errors.As(err, &se) {
		switch se.ExtendedCode {
		case sqlite3.ErrConstraintUnique, sqlite3.ErrConstraintPrimaryKey:
			return fmt.Errorf("%w: %v", ErrConflict, err)
		}
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" {
		return fmt.Errorf("%w: %v", ErrConflict, err)
	}
	return err
}

// retryable reports errors after which the same transaction may simply be run again:
// PostgreSQL deadlocks and serialization failures between concurrent writers.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40P01" || pe.Code == "40001")
}
