package store

// Tests of the SQLite opener on the store's own connections (an internal test: the pools are
// unexported). They run on SQLite whatever IBIKI_TEST_DATABASE says.

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mattn/go-sqlite3"
)

func openSQLiteForTest(t *testing.T, readConns int) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ibiki.db")
	s, err := Open(t.Context(), path, Options{ReadConns: readConns})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	return s, path
}

// Every connection of both pools carries the pragmas: the writer and each reader, and the
// readers are read-only.
func TestSQLiteConnectionsCarryThePragmas(t *testing.T) {
	ctx := t.Context()
	const readers = 3
	s, _ := openSQLiteForTest(t, readers)

	check := func(t *testing.T, c *sql.Conn, queryOnly int64) {
		t.Helper()
		// A read first: a connection opens the WAL on its first read, which must not change
		// any of the settings.
		var n int64
		if err := c.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		var mode string
		if err := c.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil {
			t.Fatal(err)
		}
		if mode != "wal" {
			t.Errorf("journal_mode = %q, want wal", mode)
		}
		for _, p := range []struct {
			name string
			want int64
		}{
			{"synchronous", 2}, // FULL
			{"foreign_keys", 1},
			{"temp_store", 2}, // MEMORY
			{"busy_timeout", 10000},
			{"page_size", 8192},
			{"cache_size", -32000},
			{"wal_autocheckpoint", 4000},
			{"query_only", queryOnly},
		} {
			var got int64
			if err := c.QueryRowContext(ctx, `PRAGMA `+p.name).Scan(&got); err != nil {
				t.Fatalf("PRAGMA %s: %v", p.name, err)
			}
			if got != p.want {
				t.Errorf("PRAGMA %s = %d, want %d", p.name, got, p.want)
			}
		}
	}

	t.Run("writer", func(t *testing.T) {
		check(t, s.conn, 0)         // the connection the writer holds
		c, err := s.write.Conn(ctx) // the migrations'
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		check(t, c, 0)
	})
	t.Run("readers", func(t *testing.T) {
		// Hold them all at once, so that each is a connection of its own.
		var conns []*sql.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for range readers {
			c, err := s.read.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			conns = append(conns, c)
		}
		for _, c := range conns {
			check(t, c, 1)
			_, err := c.ExecContext(ctx, `INSERT INTO settings (key, value, updated_at) VALUES ('k', 'v', 0)`)
			if se := (sqlite3.Error{}); !errors.As(err, &se) || se.Code != sqlite3.ErrReadonly {
				t.Errorf("a write on a read connection: %v, want SQLITE_READONLY", err)
			}
		}
	})
}

// The writer's transactions take the write lock at BEGIN (BEGIN IMMEDIATE), before any
// statement; so do the migrations'.
func TestSQLiteWriteTransactionsBeginImmediate(t *testing.T) {
	t.Run("writer", func(t *testing.T) {
		s, path := openSQLiteForTest(t, 1)
		tx, err := s.begin(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		assertWriteLocked(t, path)
	})
	t.Run("migrations", func(t *testing.T) {
		s, path := openSQLiteForTest(t, 1)
		tx, err := s.write.BeginTx(t.Context(), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		assertWriteLocked(t, path)
	})
}

func assertWriteLocked(t *testing.T, path string) {
	t.Helper()
	other, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=0")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	_, err = other.ExecContext(t.Context(), `BEGIN IMMEDIATE`)
	var se sqlite3.Error
	if !errors.As(err, &se) || se.Code != sqlite3.ErrBusy {
		t.Fatalf("BEGIN IMMEDIATE beside a write transaction: %v, want SQLITE_BUSY", err)
	}
}

// Unique and primary-key violations are ErrConflict; other constraint failures are not.
func TestSQLiteConstraintErrors(t *testing.T) {
	ctx := context.Background()
	s, _ := openSQLiteForTest(t, 1)
	c, err := s.write.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.ExecContext(ctx, `CREATE TEMP TABLE t (id INTEGER PRIMARY KEY, k TEXT NOT NULL, u TEXT UNIQUE)`); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ExecContext(ctx, `CREATE TEMP TABLE p (a TEXT, b TEXT, PRIMARY KEY (a, b))`); err != nil {
		t.Fatal(err)
	}
	insert := func(q string, args ...any) error {
		_, err := c.ExecContext(ctx, q, args...)
		return mapErr(err)
	}
	if err := insert(`INSERT INTO t (id, k, u) VALUES (1, 'x', 'a')`); err != nil {
		t.Fatal(err)
	}
	if err := insert(`INSERT INTO p (a, b) VALUES ('a', 'b')`); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name     string
		q        string
		conflict bool
	}{
		{"unique", `INSERT INTO t (id, k, u) VALUES (2, 'x', 'a')`, true},
		{"rowid primary key", `INSERT INTO t (id, k, u) VALUES (1, 'x', 'b')`, true},
		{"composite primary key", `INSERT INTO p (a, b) VALUES ('a', 'b')`, true},
		{"not null", `INSERT INTO t (id, k, u) VALUES (3, NULL, 'c')`, false},
		{"foreign key", `INSERT INTO users (id, email, name, role, client_id, created_at, updated_at)
			VALUES ('usr_1', 'a@example.com', 'A', 'client', 'no_such_client', 0, 0)`, false},
	} {
		err := insert(tt.q)
		if err == nil {
			t.Errorf("%s: no error", tt.name)
			continue
		}
		if got := errors.Is(err, ErrConflict); got != tt.conflict {
			t.Errorf("%s: %v; ErrConflict %v, want %v", tt.name, err, got, tt.conflict)
		}
	}
}

// SQLite plans a conversation's messages on the conversation index, not on the client's (which
// would read the client's whole history to list one conversation), and a campaign's reply check
// likewise.
func TestConversationQueriesUseTheConversationIndex(t *testing.T) {
	s, _ := openSQLiteForTest(t, 1)
	plan := func(q string, args ...any) string {
		t.Helper()
		return strings.Join(planOf(t, s, q, args...), "; ")
	}
	for _, before := range []string{"", "msg_x"} {
		q, args := newestFirst(conversationMessages, []any{"conv_1", "acme"}, before, 50)
		if got := plan(q, args...); !strings.Contains(got, "USING INDEX messages_conversation (conversation_id=? AND client_id=?") {
			t.Errorf("conversation messages (cursor %q) planned as %q", before, got)
		}
	}
	q := `SELECT m.id FROM messages m WHERE m.campaign_id = ? AND ` + repliedExpr
	if got := plan(q, "cmp_1", 3600000); !strings.Contains(got, "SEARCH i USING INDEX messages_conversation (conversation_id=? AND client_id=? AND id>?)") {
		t.Errorf("campaign replies planned as %q", got)
	}
}

// A database made with another page size (every database before 8 KB pages) opens, migrates
// and keeps its page size.
func TestSQLiteExistingDatabaseKeepsItsPageSize(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "old.db")
	old, err := sql.Open("sqlite3", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`PRAGMA page_size = 4096`, `PRAGMA journal_mode = WAL`, `CREATE TABLE before (a)`} {
		if _, err := old.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	old.Close()
	s, err := Open(ctx, path, Options{ReadConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	var size int64
	if err := s.conn.QueryRowContext(ctx, `PRAGMA page_size`).Scan(&size); err != nil {
		t.Fatal(err)
	}
	if size != 4096 {
		t.Errorf("page_size = %d, want the database's 4096", size)
	}
}

// A transaction left open on the writer's connection (a ROLLBACK that failed) does not stop
// the writes after it: the next one ends it and begins afresh.
func TestSQLiteWriterRecoversFromATransactionLeftOpen(t *testing.T) {
	ctx := t.Context()
	s, _ := openSQLiteForTest(t, 1)
	if _, err := s.conn.ExecContext(ctx, `BEGIN`); err != nil {
		t.Fatal(err)
	}
	err := s.InTx(ctx, func(tx *Tx) error {
		_, err := tx.exec(ctx, `INSERT INTO settings (key, value, updated_at) VALUES ('k', 'v', 0)`)
		return err
	})
	if err != nil {
		t.Fatalf("a write after a transaction left open: %v", err)
	}
	var v string
	if err := s.read.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = 'k'`).Scan(&v); err != nil || v != "v" {
		t.Fatalf("the write reads back %q, %v", v, err)
	}
}
