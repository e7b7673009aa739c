package store

import (
	"context"
	"embed"
	"fmt"
	"io/fs"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrations embed.FS

// Migrate applies every pending migration and returns the versions it applied. On PostgreSQL a
// session lock makes instances that start together take turns.
func (s *Store) Migrate(ctx context.Context) ([]int64, error) { return s.MigrateTo(ctx, 0) }

// MigrateTo applies the migrations up to version (0: all), for tests of a migration's data
// changes.
func (s *Store) MigrateTo(ctx context.Context, version int64) ([]int64, error) {
	p, err := s.migrations()
	if err != nil {
		return nil, err
	}
	var res []*goose.MigrationResult
	if version > 0 {
		res, err = p.UpTo(ctx, version)
	} else {
		res, err = p.Up(ctx)
	}
	if err != nil {
		return nil, fmt.Errorf("store: migrate: %w", err)
	}
	return versions(res), nil
}

// MigrateDownTo undoes the migrations above version and returns the versions it undid, newest
// first: for tests of the Down migrations.
func (s *Store) MigrateDownTo(ctx context.Context, version int64) ([]int64, error) {
	p, err := s.migrations()
	if err != nil {
		return nil, err
	}
	res, err := p.DownTo(ctx, version)
	if err != nil {
		return nil, fmt.Errorf("store: migrate down: %w", err)
	}
	return versions(res), nil
}

func versions(res []*goose.MigrationResult) []int64 {
	var out []int64
	for _, r := range res {
		out = append(out, r.Source.Version)
	}
	return out
}

func (s *Store) migrations() (*goose.Provider, error) {
	dialect, dir := goose.DialectSQLite3, "migrations/sqlite"
	var opts []goose.ProviderOption
	if s.engine == Postgres {
		dialect, dir = goose.DialectPostgres, "migrations/postgres"
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return nil, fmt.Errorf("store: migration lock: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	sub, err := fs.Sub(migrations, dir)
	if err != nil {
		return nil, err
	}
	p, err := goose.NewProvider(dialect, s.write, sub, opts...)
	if err != nil {
		return nil, fmt.Errorf("store: migrations: %w", err)
	}
	return p, nil
}
