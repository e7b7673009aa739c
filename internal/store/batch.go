package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime/debug"
	"slices"
	"sync/atomic"
	"time"

	"github.com/ibiki/ibiki/internal/model"
)

// Tx is one caller's share of a write transaction. Reads through it see its own writes.
type Tx struct {
	reader
	kinds      []string // what became ready to claim (see OnWrite), announced after commit
	after      []func() // run after commit
	news       []Announcement
	caches     *caches
	lessee     *Lessee  // who new deliveries are born leased to (nil: born queued); a pointer keeps Tx small
	sendLessee *Lessee  // who sends born started are leased to (QueueStartedSend)
	held       []string // PostgreSQL: the order keys whose locks this function took (lockKey)
	// atCommit says MoveCreditsAtCommit defers its entries (into credits) to the end of the
	// batch; false runs them where they are asked (a batch run again after an overdraft).
	atCommit bool
	credits  []model.LedgerEntry
	// fresh (SQLite) holds the conversations this function created, whose first delivery can
	// wait behind none (EnqueueDelivery then skips its probe).
	fresh []string
	// freshSends (SQLite) holds the conversations this function created whose first send can
	// wait behind none (QueueStartedSend then skips its probe).
	freshSends []string
}

type writeReq struct {
	ctx  context.Context
	fn   func(*Tx) error
	done chan error
}

// InTx runs fn in a write transaction and returns once it is committed (or failed). fn may share
// the database transaction with other callers' functions; an error from fn undoes fn's writes
// only. fn must only touch the database through tx and may run more than once (after another
// caller's failure, or a deadlock), so it must not have other side effects and must reset
// whatever it captures.
func (s *Store) InTx(ctx context.Context, fn func(*Tx) error) error {
	req := &writeReq{ctx: ctx, fn: fn, done: make(chan error, 1)}
	// The read lock orders this hand-over before Close stops the writers, so no request can be
	// left in the channel with nobody to run it.
	s.closeMu.RLock()
	if s.closed {
		s.closeMu.RUnlock()
		return ErrClosed
	}
	queue := s.writes
	if urgent, _ := ctx.Value(priorityKey{}).(bool); urgent {
		queue = s.urgent
	}
	select {
	case queue <- req:
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
		case first = <-s.urgent:
		default:
			select {
			case first = <-s.urgent:
			case first = <-s.writes:
			case <-s.quit:
				// Finish what was already handed over, then stop.
				for {
					select {
					case r := <-s.urgent:
						s.commit([]*writeReq{r})
					case r := <-s.writes:
						s.commit([]*writeReq{r})
					default:
						return
					}
				}
			}
		}
		batch = append(batch[:0], first)
	fill:
		for len(batch) < s.maxBatch {
			select {
			case r := <-s.urgent:
				batch = append(batch, r)
				continue
			default:
			}
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

type priorityKey struct{}

// WithPriority marks the transactions run with ctx as moving queued work forward (a claim, the
// outcomes of runs): the writers take them ahead of the others, so that under a flood of new
// work what is already queued keeps moving, and the flood waits for its commits instead.
func WithPriority(ctx context.Context) context.Context {
	return context.WithValue(ctx, priorityKey{}, true)
}

// commit runs the batch in one transaction and reports each caller's outcome.
func (s *Store) commit(batch []*writeReq) {
	start := time.Now()
	defer func() {
		s.stats.commits.Add(1)
		s.stats.transactions.Add(int64(len(batch)))
		s.stats.busy.Add(int64(time.Since(start)))
	}()
	results := make([]error, len(batch))
	var (
		eff  effects
		err  error
		done bool
	)
	// Fast first: no savepoints, and the batch's credit moves applied together at its end.
	// An overdraft there runs the batch again with each move where it was asked, so that only
	// the functions that overdraw fail.
	atCommit := true
	eff, err, done = s.runTx(batch, results, false, atCommit)
	if !done {
		atCommit = !errors.Is(err, errOverdrawn)
		eff, err, done = s.runTx(batch, results, true, atCommit)
	}
	if !done && errors.Is(err, errOverdrawn) {
		eff, err, done = s.runTx(batch, results, true, false)
	}
	if !done {
		// A PostgreSQL deadlock between concurrent writers: the whole batch was rolled back.
		// Each caller now gets a transaction of its own, which holds its locks only briefly,
		// and hears its own outcome (not the error of the run that gave up).
		err = nil
		s.runAlone(batch, results)
	}
	if err == nil {
		// Before the callers hear back: what they do next may rely on the effects.
		s.applyEffects(eff)
	}
	for i, r := range batch {
		if err != nil && results[i] == nil {
			results[i] = err
		}
		r.done <- results[i]
	}
}

// effects are what committed transactions asked for once they are durable: job kinds to
// announce, cache entries to drop; and, before the commit, the credit moves deferred to it.
type effects struct {
	kinds   []string
	after   []func()
	news    []Announcement
	credits []model.LedgerEntry
}

func (e *effects) add(tx *Tx) {
	e.kinds = append(e.kinds, tx.kinds...)
	e.after = append(e.after, tx.after...)
	e.news = append(e.news, tx.news...)
	e.credits = append(e.credits, tx.credits...)
}

func (s *Store) applyEffects(e effects) {
	for _, f := range e.after {
		f()
	}
	slices.Sort(e.kinds)
	s.notify(slices.Compact(e.kinds))
	s.announce(e.news)
}

func (s *Store) newTx(sqlTx writeTx, atCommit bool) *Tx {
	return &Tx{reader: reader{q: sqlTx, engine: s.engine, stmts: s.writeStmts, write: true}, caches: s.caches,
		lessee: s.lessee.Load(), sendLessee: s.sendLessee.Load(), atCommit: atCommit}
}

// writeTx is a write transaction: a *sql.Tx on PostgreSQL, connTx on SQLite.
type writeTx interface {
	queryer
	Commit() error
	Rollback() error
}

// connTx is a transaction on SQLite's writer connection, begun and ended by statements rather
// than by database/sql's Tx. A Tx watches its context with a goroutine, and gives every query
// in it one more to watch that context; the writer runs all the store's writes, so those
// goroutines and their wake-ups were a share of every message's cost. The writer is the only
// user of the connection, and never cancels.
type connTx struct{ *sql.Conn }

func (s *Store) begin(ctx context.Context) (writeTx, error) {
	if s.conn == nil {
		return s.write.BeginTx(ctx, nil)
	}
	// IMMEDIATE takes the write lock now, rather than upgrade a read lock later (which can
	// fail at once with SQLITE_BUSY while the migrations' connection writes).
	if _, err := s.conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		// A transaction left open (a ROLLBACK that failed) would refuse every BEGIN after it:
		// end it, and begin once more.
		if _, rbErr := s.conn.ExecContext(ctx, "ROLLBACK"); rbErr != nil {
			return nil, err
		}
		if _, err := s.conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
			return nil, err
		}
	}
	return connTx{s.conn}, nil
}

// Commit ends the transaction either way, as sql.Tx's does: after a failed COMMIT, whatever
// SQLite kept open is rolled back.
func (t connTx) Commit() error {
	if _, err := t.ExecContext(context.Background(), "COMMIT"); err != nil {
		_, _ = t.ExecContext(context.Background(), "ROLLBACK")
		return err
	}
	return nil
}

func (t connTx) Rollback() error {
	_, err := t.ExecContext(context.Background(), "ROLLBACK")
	return err
}

// errOverdrawn says that the credit moves a batch deferred to its end would overdraw a balance:
// the batch runs again with each move applied where it was asked.
var errOverdrawn = errors.New("store: the batch's credit moves overdraw a balance")

// runTx runs the batch in one transaction. With atCommit, the functions' MoveCreditsAtCommit
// are applied together before the commit (applyCredits); an overdraft there rolls back and
// reports errOverdrawn, not done.
//
// Without savepoints it is the fast path (each savepoint costs two statements, round trips on
// PostgreSQL and sub-journal work on SQLite): failures are rare, and when a function fails the
// transaction is rolled back and done reports false, so that the batch runs again with
// savepoints. A lone function needs no second run: the rollback undid exactly its writes.
//
// With savepoints, one function's error undoes its writes only. On a PostgreSQL deadlock the
// whole transaction is rolled back and done reports false: the victim's earlier savepoints
// still hold locks, so retrying inside the transaction would deadlock again (runAlone follows).
func (s *Store) runTx(batch []*writeReq, results []error, savepoints, atCommit bool) (eff effects, err error, done bool) {
	ctx := context.Background()
	sqlTx, err := s.begin(ctx)
	if err != nil {
		return eff, fmt.Errorf("store: begin: %w", err), true
	}
	again := func() (effects, error, bool) {
		_ = sqlTx.Rollback()
		clear(results)
		return effects{}, nil, false
	}
	for i, r := range batch {
		if err := r.ctx.Err(); err != nil {
			results[i] = err
			continue
		}
		tx := s.newTx(sqlTx, atCommit)
		if !savepoints {
			if err := safeCall(r.fn, tx); err != nil {
				if len(batch) == 1 && !retryable(err) {
					_ = sqlTx.Rollback()
					results[0] = err
					return effects{}, nil, true
				}
				return again()
			}
			eff.add(tx)
			continue
		}
		var broken error
		results[i], broken = s.runOne(ctx, sqlTx, tx, r.fn)
		switch {
		case broken != nil:
			// The savepoint could not be rolled back: the transaction is in an unknown state,
			// so nobody's writes may be committed.
			_ = sqlTx.Rollback()
			clear(results)
			return effects{}, fmt.Errorf("store: transaction broken: %w", broken), true
		case retryable(results[i]):
			return again()
		case results[i] == nil:
			eff.add(tx)
		}
	}
	if len(eff.credits) > 0 {
		if err := s.newTx(sqlTx, false).applyCredits(ctx, eff.credits); err != nil {
			_ = sqlTx.Rollback()
			clear(results)
			switch {
			case errors.Is(err, errOverdrawn):
				return effects{}, err, false
			case retryable(err):
				return effects{}, nil, false // like a deadlock anywhere else in the batch
			}
			return effects{}, err, true
		}
	}
	if err := sqlTx.Commit(); err != nil {
		if retryable(err) {
			clear(results)
			return effects{}, nil, false
		}
		return effects{}, fmt.Errorf("store: commit: %w", err), true
	}
	return eff, nil, true
}

// runAlone runs each request in a transaction of its own, again after a deadlock, a few times.
func (s *Store) runAlone(batch []*writeReq, results []error) {
	for i, r := range batch {
		one := []*writeReq{r}
		res := make([]error, 1)
		for try := 0; ; try++ {
			eff, err, done := s.runTx(one, res, true, false)
			if done {
				if err == nil {
					s.applyEffects(eff)
				}
				results[i] = cmp.Or(res[0], err)
				break
			}
			if try == 4 {
				results[i] = ErrBusy
				break
			}
			time.Sleep(time.Duration(1+rand.IntN(10)) * time.Millisecond)
		}
	}
}

// runOne runs fn inside a savepoint. broken reports that the savepoint itself failed, after
// which the transaction cannot be trusted.
func (s *Store) runOne(ctx context.Context, sqlTx writeTx, tx *Tx, fn func(*Tx) error) (err, broken error) {
	if _, err := sqlTx.ExecContext(ctx, "SAVEPOINT w"); err != nil {
		return nil, fmt.Errorf("savepoint: %w", err)
	}
	err = safeCall(fn, tx)
	if err == nil {
		if _, err := sqlTx.ExecContext(ctx, "RELEASE SAVEPOINT w"); err != nil {
			return nil, fmt.Errorf("release savepoint: %w", err)
		}
		return nil, nil
	}
	if _, rbErr := sqlTx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT w"); rbErr != nil {
		return err, fmt.Errorf("rollback to savepoint: %w", rbErr)
	}
	if _, rbErr := sqlTx.ExecContext(ctx, "RELEASE SAVEPOINT w"); rbErr != nil {
		return err, fmt.Errorf("release savepoint: %w", rbErr)
	}
	return err, nil
}

func safeCall(fn func(*Tx) error, tx *Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("store: panic in transaction: %v\n%s", p, debug.Stack())
		}
	}()
	return fn(tx)
}

// AfterCommit runs f once the transaction has committed (never if it does not).
func (tx *Tx) AfterCommit(f func()) { tx.after = append(tx.after, f) }

// Stats counts the work of the writers since the store opened.
type Stats struct {
	Commits      int64         // database commits
	Transactions int64         // InTx calls they carried (Transactions/Commits is the batch size)
	Busy         time.Duration // time the writers spent running and committing batches
}

type stats struct {
	commits, transactions, busy atomic.Int64
}

// Stats returns the writers' counters.
func (s *Store) Stats() Stats {
	return Stats{Commits: s.stats.commits.Load(), Transactions: s.stats.transactions.Load(),
		Busy: time.Duration(s.stats.busy.Load())}
}
