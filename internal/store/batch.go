package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
)

// Tx is one caller's share of a write transaction. Reads through it see its own writes.
type Tx struct {
	reader
	kinds []string // job kinds enqueued, announced after commit
}

type writeReq struct {
	ctx  context.Context
	fn   func(*Tx) error
	done chan error
}

// InTx runs fn in a write transaction and returns once it is committed (or failed). fn may run
// in the same database transaction as other callers' functions, each inside its own savepoint:
// an error from fn undoes fn's writes only. fn must only touch the database through tx and may
// be run again after a deadlock, so it must not have other side effects.
func (s *Store) InTx(ctx context.Context, fn func(*Tx) error) error {
	req := &writeReq{ctx: ctx, fn: fn, done: make(chan error, 1)}
	// The read lock orders this hand-over before Close stops the writers, so no request can be
	// left in the channel with nobody to run it.
	s.closeMu.RLock()
	if s.closed {
		s.closeMu.RUnlock()
		return ErrClosed
	}
	select {
	case s.writes <- req:
	case <-ctx.Done():
		s.closeMu.RUnlock()
		return ctx.Err()
	}
	s.closeMu.RUnlock()
	// Once handed over, wait for the outcome even if ctx ends: the caller must not report a
	// failure for a write that is about to commit.
	return <-req.done
}

// writer is one writing goroutine: it takes the first waiting request, then every request that
// queued up while the previous commit was being flushed, and commits them together.
func (s *Store) writer() {
	defer s.wg.Done()
	batch := make([]*writeReq, 0, s.maxBatch)
	for {
		var first *writeReq
		select {
		case first = <-s.writes:
		case <-s.quit:
			// Finish what was already handed over, then stop.
			for {
				select {
				case r := <-s.writes:
					s.commit([]*writeReq{r})
				default:
					return
				}
			}
		}
		batch = append(batch[:0], first)
	fill:
		for len(batch) < s.maxBatch {
			select {
			case r := <-s.writes:
				batch = append(batch, r)
			default:
				break fill
			}
		}
		s.commit(batch)
	}
}

// commit runs the batch in one transaction and reports each caller's outcome.
func (s *Store) commit(batch []*writeReq) {
	results := make([]error, len(batch))
	kinds, err := s.runBatch(batch, results)
	for i, r := range batch {
		if err != nil && results[i] == nil {
			results[i] = err
		}
		r.done <- results[i]
	}
	if err == nil {
		s.notify(kinds)
	}
}

func (s *Store) runBatch(batch []*writeReq, results []error) (kinds []string, err error) {
	ctx := context.Background()
	sqlTx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("store: begin: %w", err)
	}
	// A lone SQLite transaction needs no savepoint: SQLite has no deadlocks to retry and the
	// rollback of the whole transaction undoes it. PostgreSQL always gets one, so a deadlock
	// victim can be run again inside the same transaction.
	single := len(batch) == 1 && s.engine == SQLite
	for i, r := range batch {
		if err := r.ctx.Err(); err != nil {
			results[i] = err
			continue
		}
		tx := &Tx{reader: reader{q: sqlTx, engine: s.engine}}
		results[i] = s.runOne(ctx, sqlTx, tx, r.fn, single)
		if results[i] == nil {
			kinds = append(kinds, tx.kinds...)
		} else if single {
			_ = sqlTx.Rollback()
			return nil, nil
		}
	}
	if err := sqlTx.Commit(); err != nil {
		return nil, fmt.Errorf("store: commit: %w", err)
	}
	slices.Sort(kinds)
	return slices.Compact(kinds), nil
}

// runOne runs fn inside a savepoint (unless it is alone in its transaction), retrying a few
// times when PostgreSQL picked it as a deadlock victim.
func (s *Store) runOne(ctx context.Context, sqlTx *sql.Tx, tx *Tx, fn func(*Tx) error, single bool) error {
	for try := 0; ; try++ {
		if !single {
			if _, err := sqlTx.ExecContext(ctx, "SAVEPOINT w"); err != nil {
				return fmt.Errorf("store: savepoint: %w", err)
			}
		}
		tx.kinds = tx.kinds[:0]
		err := safeCall(fn, tx)
		if single {
			return err
		}
		if err == nil {
			if _, err := sqlTx.ExecContext(ctx, "RELEASE SAVEPOINT w"); err != nil {
				return fmt.Errorf("store: release savepoint: %w", err)
			}
			return nil
		}
		if _, rbErr := sqlTx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT w"); rbErr != nil {
			return errors.Join(err, rbErr)
		}
		if _, rbErr := sqlTx.ExecContext(ctx, "RELEASE SAVEPOINT w"); rbErr != nil {
			return errors.Join(err, rbErr)
		}
		if !retryable(err) || try == 3 {
			return err
		}
	}
}

func safeCall(fn func(*Tx) error, tx *Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("store: panic in transaction: %v\n%s", p, debug.Stack())
		}
	}()
	return fn(tx)
}
