// Package ibikitest holds test helpers shared by Ibiki's packages: a real database per test
// (SQLite by default, PostgreSQL when IBIKI_TEST_DATABASE=postgres), the real server on it
// (NewServer), a client webhook receiver (NewReceiver) and a headless browser (NewBrowser).
package ibikitest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver for the admin connection
	"github.com/redis/go-redis/v9"

	"github.com/ibiki/ibiki/internal/store"
)

// Engine returns the engine the test suite runs on: IBIKI_TEST_DATABASE ("sqlite", the
// default, or "postgres").
func Engine() store.Engine {
	if strings.EqualFold(os.Getenv("IBIKI_TEST_DATABASE"), "postgres") {
		return store.Postgres
	}
	return store.SQLite
}

// postgresAdminURL is the server the PostgreSQL runs create their throw-away databases on.
func postgresAdminURL() string {
	if u := os.Getenv("IBIKI_TEST_POSTGRES_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

// DatabaseURL creates an empty database for this test on the selected engine, removes it when
// the test ends, and returns its URL. A PostgreSQL that cannot be reached fails the test: the
// suite never skips silently.
func DatabaseURL(t testing.TB) string {
	t.Helper()
	if Engine() == store.SQLite {
		return filepath.Join(t.TempDir(), "ibiki.db")
	}
	admin := postgresAdminURL()
	db, err := sql.Open("pgx", admin)
	if err != nil {
		t.Fatalf("postgres: %v", err)
	}
	defer db.Close()
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "ibiki_test_" + hex.EncodeToString(b[:])
	if _, err := db.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("postgres at %s: create database: %v (set IBIKI_TEST_POSTGRES_URL, or run without IBIKI_TEST_DATABASE=postgres)", admin, err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", admin)
		if err != nil {
			return
		}
		defer db.Close()
		_, _ = db.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
	})
	i := strings.LastIndex(admin, "/")
	rest := ""
	if q := strings.IndexByte(admin[i:], '?'); q >= 0 {
		rest = admin[i+q:]
	}
	return admin[:i+1] + name + rest
}

// NewStore opens a migrated store on a fresh database and closes it when the test ends.
func NewStore(t testing.TB) *store.Store {
	t.Helper()
	return OpenStore(t, DatabaseURL(t))
}

// OpenStore opens and migrates the store at url and closes it when the test ends.
func OpenStore(t testing.TB, url string) *store.Store {
	t.Helper()
	ctx := context.Background()
	s, err := store.Open(ctx, url, store.Options{})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return s
}

// Must fails the test on err; for fixture steps where an error is a broken test, not a finding.
func Must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(fmt.Errorf("fixture: %w", err))
	}
}

// RedisURL is the Redis the tests use: IBIKI_TEST_REDIS_URL, or the local one at
// 127.0.0.1:6379. A test that needs it fails when it cannot be reached (CI starts one); it does
// not skip.
func RedisURL(t testing.TB) string {
	t.Helper()
	url := os.Getenv("IBIKI_TEST_REDIS_URL")
	if url == "" {
		url = "redis://127.0.0.1:6379/0"
	}
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("IBIKI_TEST_REDIS_URL: %v", err)
	}
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Fatalf("Redis at %s: %v (start one, or set IBIKI_TEST_REDIS_URL)", opt.Addr, err)
	}
	return url
}
