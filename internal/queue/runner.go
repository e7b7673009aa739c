package queue

import (
	"cmp"
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/store"
)

// Options tunes a Runner. Zero values pick defaults.
type Options struct {
	// Owner names this process in job leases (default: a random id).
	Owner string
	// Lease is how long a claimed job stays claimed; a worker that dies holds it that long
	// (default 60 s). It must exceed the longest handler run.
	Lease time.Duration
	// Poll is the longest wait between looks at the queue when nothing announced work
	// (default 500 ms): it is how fast other instances' jobs and due retries are seen.
	Poll time.Duration
	// Grace is how long shutdown waits for running jobs (default 10 s).
	Grace time.Duration
	// Exclusive says that no other process uses this database (SQLite): the jobs left running
	// by a dead process are taken back at start instead of after their lease.
	Exclusive bool
	Clock     func() time.Time
	Log       *slog.Logger
}

// Runner claims and runs jobs.
type Runner struct {
	store *store.Store
	opt   Options
	kinds map[model.JobKind]*kindRunner
	// ready maps what the store announces as ready (a kind, or store.DeliveriesReady) to the
	// kind that claims it.
	ready map[string]*kindRunner
}

// New returns a runner over the store. Register kinds, then Run.
func New(s *store.Store, opt Options) *Runner {
	if opt.Owner == "" {
		opt.Owner = model.NewID("run")
	}
	opt.Lease = cmp.Or(opt.Lease, 60*time.Second)
	opt.Poll = cmp.Or(opt.Poll, 500*time.Millisecond)
	opt.Grace = cmp.Or(opt.Grace, 10*time.Second)
	if opt.Clock == nil {
		opt.Clock = time.Now
	}
	if opt.Log == nil {
		opt.Log = slog.Default()
	}
	r := &Runner{store: s, opt: opt, kinds: map[model.JobKind]*kindRunner{}, ready: map[string]*kindRunner{}}
	s.OnWrite(r.wake)
	return r
}

// Register adds a kind of job. Call it before Run.
func (r *Runner) Register(k Kind) {
	k.Concurrency = cmp.Or(k.Concurrency, 16)
	k.PerClient = cmp.Or(k.PerClient, k.Concurrency)
	k.MaxAttempts = cmp.Or(k.MaxAttempts, 10)
	if k.Backoff == nil {
		k.Backoff = defaultBackoff
	}
	t, ready := tableFor(k.Kind)
	kr := &kindRunner{r: r, cfg: k, table: t, wakeCh: make(chan struct{}, 1), idle: make(chan runReq), perClient: map[string]int{}}
	r.kinds[k.Kind], r.ready[ready] = kr, kr
}

// wake is called after every commit that made jobs runnable, with what became ready.
func (r *Runner) wake(ready []string) {
	for _, name := range ready {
		if name == store.AnyReady {
			for _, kr := range r.kinds {
				kr.pending.Store(true)
				kr.signal()
			}
			continue
		}
		if kr := r.ready[name]; kr != nil {
			kr.pending.Store(true)
			kr.signal()
		}
	}
}

// Run runs jobs until ctx ends, then lets running jobs finish (up to Grace) and returns.
// Jobs it had claimed but not started go back to the queue.
func (r *Runner) Run(ctx context.Context) error {
	// Handlers get their own context: shutdown must let an in-flight delivery finish and be
	// recorded, not cut it off and send it again after the restart.
	work, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()
	if r.opt.Exclusive {
		n, err := r.release(ctx, (*store.Tx).ReleaseRunningJobs, (*store.Tx).ReleaseRunningDeliveries,
			(*store.Tx).ReleaseRunningSends)
		if err != nil {
			return err
		}
		if n > 0 {
			r.opt.Log.Warn("queue: took back jobs a previous process left running", "jobs", n)
		}
	}
	var wg sync.WaitGroup
	for _, kr := range r.kinds {
		kr.recs = make(chan recording, kr.cfg.Concurrency)
		recorded := make(chan struct{})
		go func() { defer close(recorded); kr.recordLoop() }()
		kr.start(work)
		wg.Add(1)
		go func() {
			defer wg.Done()
			kr.loop(ctx, work) // returns once every run has ended
			close(kr.recs)
			<-recorded
		}()
	}
	wg.Add(1)
	go func() { defer wg.Done(); r.sweep(ctx) }()
	<-ctx.Done()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(r.opt.Grace):
		cancelWork()
		<-done
	}
	return nil
}

// sweep returns jobs whose lease lapsed (their worker died) to the queue, lets run the jobs left
// waiting with nothing ahead of them (store.PromoteStranded), and moves into the send queue the
// send jobs an earlier build still enqueued (store.AdoptSendJobs; a rolling upgrade).
func (r *Runner) sweep(ctx context.Context) {
	t := time.NewTicker(max(r.opt.Lease/4, 100*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := r.opt.Clock()
		n, err := r.release(ctx,
			func(tx *store.Tx, ctx context.Context) (int64, error) { return tx.ReleaseExpiredJobs(ctx, now) },
			(*store.Tx).PromoteStranded,
			func(tx *store.Tx, ctx context.Context) (int64, error) { return tx.ReleaseExpiredDeliveries(ctx, now) },
			func(tx *store.Tx, ctx context.Context) (int64, error) { return tx.ReleaseExpiredSends(ctx, now) },
			(*store.Tx).AdoptSendJobs)
		if err != nil && ctx.Err() == nil {
			r.opt.Log.Error("queue: release expired leases", "error", err)
		} else if n > 0 {
			r.opt.Log.Warn("queue: released jobs whose lease expired", "jobs", n)
		}
	}
}

// release runs a release statement of each table in one transaction, and returns how many jobs
// they put back in the queue.
func (r *Runner) release(ctx context.Context, tables ...func(*store.Tx, context.Context) (int64, error)) (int64, error) {
	var n int64
	err := r.store.InTx(ctx, func(tx *store.Tx) error {
		n = 0
		for _, release := range tables {
			m, err := release(tx, ctx)
			if err != nil {
				return err
			}
			n += m
		}
		return nil
	})
	return n, err
}
