package queue

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
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
	r := &Runner{store: s, opt: opt, kinds: map[model.JobKind]*kindRunner{}}
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
	r.kinds[k.Kind] = &kindRunner{r: r, cfg: k, wakeCh: make(chan struct{}, 1), perClient: map[string]int{}}
}

// wake is called after every commit that made jobs runnable.
func (r *Runner) wake(kinds []string) {
	for _, k := range kinds {
		if k == "*" {
			for _, kr := range r.kinds {
				kr.pending.Store(true)
				kr.signal()
			}
			continue
		}
		if kr := r.kinds[model.JobKind(k)]; kr != nil {
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
		var n int64
		err := r.store.InTx(ctx, func(tx *store.Tx) (err error) { n, err = tx.ReleaseRunning(ctx); return err })
		if err != nil {
			return err
		}
		if n > 0 {
			r.opt.Log.Warn("queue: took back jobs a previous process left running", "jobs", n)
		}
	}
	var wg sync.WaitGroup
	for _, kr := range r.kinds {
		kr.start(work)
		wg.Add(1)
		go func() { defer wg.Done(); kr.loop(ctx, work) }()
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

// sweep returns jobs whose lease lapsed (their worker died) to the queue.
func (r *Runner) sweep(ctx context.Context) {
	t := time.NewTicker(max(r.opt.Lease/4, 100*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		var n int64
		err := r.store.InTx(ctx, func(tx *store.Tx) (err error) {
			n, err = tx.ReleaseExpired(ctx, r.opt.Clock())
			return err
		})
		if err != nil && ctx.Err() == nil {
			r.opt.Log.Error("queue: release expired leases", "error", err)
		} else if n > 0 {
			r.opt.Log.Warn("queue: released jobs whose lease expired", "jobs", n)
		}
	}
}

// kindRunner claims and runs the jobs of one kind.
type kindRunner struct {
	r      *Runner
	cfg    Kind
	wakeCh chan struct{}

	// pending says the queue may hold jobs of this kind that are ready and not claimed: a
	// finishing job then wakes the claim loop for its slot. Adopted jobs need no claim, so
	// with everything adopted the loop stays idle between polls.
	pending atomic.Bool

	mu        sync.Mutex
	running   int
	perClient map[string]int
	jobs      sync.WaitGroup
	// Adopted jobs (born leased to this process, see store.AdoptNew) wait here for a free slot.
	work      context.Context // nil before Run and once it stops
	claiming  bool            // a claim is under way: it counted the free slots, adopt must not take them
	backlog   []model.Job
	perLogged map[string]int // backlog entries per client
}

// start lets the kind run jobs in work, and take new ones born leased to it (only deliveries
// are, see store.Adoption). It runs after any ReleaseRunning, which would otherwise hand the
// same jobs to the queue as well.
func (k *kindRunner) start(work context.Context) {
	k.mu.Lock()
	k.work = work
	k.mu.Unlock()
	if store.CanAdopt(k.cfg.Kind) {
		k.r.store.AdoptNew(k.cfg.Kind, &store.Adoption{Owner: k.r.opt.Owner, Lease: k.r.opt.Lease,
			Clock: k.r.opt.Clock, Take: k.adopt})
	}
}

// stop ends adoption and gives the adopted jobs that never started back to the queue.
func (k *kindRunner) stop() {
	if store.CanAdopt(k.cfg.Kind) {
		k.r.store.AdoptNew(k.cfg.Kind, nil)
	}
	k.mu.Lock()
	k.work = nil
	left := k.backlog
	k.backlog, k.perLogged = nil, nil
	k.mu.Unlock()
	for _, j := range left {
		k.giveBack(j)
	}
}

// adopt takes a job born leased to this runner. It starts at once when a slot is free and no
// claim is under way; it waits in the backlog when only the slot is missing; it goes back to the
// queue when its client reached its cap (the claim then shares the slots fairly). While older
// work waits in the queue (retries, deliveries promoted behind their conversation, ones given
// back), adoption leaves an eighth of the slots to the claim, so that the queue keeps moving. It
// runs on the store's writer goroutine, so it must neither block nor write.
func (k *kindRunner) adopt(j model.Job) {
	k.mu.Lock()
	c := j.ClientID
	switch {
	case k.work == nil || k.perClient[c]+k.perLogged[c] >= k.cfg.PerClient:
	case k.running < k.adoptLimit() && !k.claiming:
		k.startLocked(j)
		k.mu.Unlock()
		return
	case len(k.backlog) < 4*k.cfg.Concurrency:
		k.backlog = append(k.backlog, j)
		if k.perLogged == nil {
			k.perLogged = map[string]int{}
		}
		k.perLogged[c]++
		k.mu.Unlock()
		return
	}
	k.mu.Unlock()
	go k.giveBack(j)
}

// adoptLimit is how many jobs may run before adopted ones wait: all the slots, but an eighth
// (at least one) left to the claim while the queue holds ready work.
func (k *kindRunner) adoptLimit() int {
	if k.pending.Load() {
		return k.cfg.Concurrency - max(k.cfg.Concurrency/8, 1)
	}
	return k.cfg.Concurrency
}

// startLocked runs j in the background; k.mu is held.
func (k *kindRunner) startLocked(j model.Job) {
	k.running++
	k.perClient[j.ClientID]++
	k.jobs.Add(1)
	go k.run(k.work, j)
}

// fromBacklog starts the adopted jobs that fit in the free slots (see adoptLimit), oldest
// first. One whose client reached its cap, or whose lease is half gone (it would risk lapsing
// while it runs), goes back to the queue instead.
func (k *kindRunner) fromBacklog() {
	var back []model.Job
	k.mu.Lock()
	if k.claiming {
		k.mu.Unlock()
		return
	}
	now := k.r.opt.Clock()
	limit := k.adoptLimit()
	kept := k.backlog[:0]
	for _, j := range k.backlog {
		switch {
		case k.work == nil || k.perClient[j.ClientID] >= k.cfg.PerClient || j.LeaseUntil.Sub(now) < k.r.opt.Lease/2:
			back = append(back, j)
		case k.running < limit:
			k.startLocked(j)
		default:
			kept = append(kept, j)
			continue
		}
		if k.perLogged[j.ClientID]--; k.perLogged[j.ClientID] <= 0 {
			delete(k.perLogged, j.ClientID)
		}
	}
	clear(k.backlog[len(kept):])
	k.backlog = kept
	k.mu.Unlock()
	for _, j := range back {
		k.giveBack(j)
	}
}

// giveBack returns an adopted job that did not run to the queue, without counting its claim.
func (k *kindRunner) giveBack(j model.Job) {
	err := k.r.store.InTx(context.Background(), func(tx *store.Tx) error {
		_, err := tx.DeferJob(context.Background(), j, k.r.opt.Clock())
		return err
	})
	if err != nil {
		k.r.opt.Log.Warn("queue: adopted job left to its lease", "kind", j.Kind, "job", j.Ref, "error", err)
	}
}

func (k *kindRunner) signal() {
	select {
	case k.wakeCh <- struct{}{}:
	default:
	}
}

func (k *kindRunner) loop(ctx, work context.Context) {
	defer k.jobs.Wait()
	defer k.stop()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-k.wakeCh:
		case <-timer.C:
		}
		next, more, err := k.claim(ctx, work)
		if err != nil && ctx.Err() == nil {
			k.r.opt.Log.Error("queue: claim", "kind", k.cfg.Kind, "error", err)
		}
		if more {
			k.signal()
		}
		// Sleep until the earliest future job is due, or the poll interval.
		wait := k.r.opt.Poll
		if !next.IsZero() {
			wait = min(wait, max(next.Sub(k.r.opt.Clock()), time.Millisecond))
		}
		timer.Reset(wait)
	}
}

// claim leases as many ready jobs as there are free slots, lane by lane, and starts them. It
// returns the earliest run time among lanes not yet due, and whether more may be ready.
func (k *kindRunner) claim(ctx, work context.Context) (next time.Time, more bool, err error) {
	k.fromBacklog()
	k.mu.Lock()
	free := k.cfg.Concurrency - k.running // ahead of the backlog: it holds the newest work
	budget := map[string]int{}
	if free <= 0 {
		k.mu.Unlock()
		return time.Time{}, false, nil
	}
	k.claiming = true
	k.mu.Unlock()
	defer func() {
		k.mu.Lock()
		k.claiming = false
		k.mu.Unlock()
		k.fromBacklog()
	}()
	// Cleared before the look, so that work announced during it sets it again.
	k.pending.Store(false)
	lanes, err := k.r.store.Lanes(ctx, k.cfg.Kind)
	if err != nil {
		k.pending.Store(true)
		return time.Time{}, false, err
	}
	now := k.r.opt.Clock()
	var due []store.Lane
	for _, l := range lanes {
		if l.MinRunAt.After(now) {
			if next.IsZero() || l.MinRunAt.Before(next) {
				next = l.MinRunAt
			}
			continue
		}
		due = append(due, l)
	}
	if len(due) == 0 {
		return next, false, nil
	}
	// Interactive work first, then the lanes that have waited longest.
	slices.SortFunc(due, func(a, b store.Lane) int {
		return cmp.Or(cmp.Compare(a.Priority, b.Priority), a.MinRunAt.Compare(b.MinRunAt))
	})
	k.mu.Lock()
	for _, l := range due {
		if _, ok := budget[l.ClientID]; !ok {
			budget[l.ClientID] = k.cfg.PerClient - k.perClient[l.ClientID] - k.perLogged[l.ClientID]
		}
	}
	k.mu.Unlock()
	// Share the free slots fairly: each due lane gets an equal part first.
	share := max(free/len(due), 1)
	var claimed []model.Job
	err = k.r.store.InTx(ctx, func(tx *store.Tx) error {
		claimed, more = claimed[:0], false
		left := free
		used := map[string]int{}
		for _, l := range due {
			n := min(share, left, budget[l.ClientID]-used[l.ClientID])
			if n <= 0 {
				k.pending.Store(true) // left for a slot that frees later
				continue
			}
			jobs, err := tx.Claim(ctx, k.cfg.Kind, l, now, now.Add(k.r.opt.Lease), k.r.opt.Owner, n)
			if err != nil {
				return err
			}
			claimed = append(claimed, jobs...)
			left -= len(jobs)
			used[l.ClientID] += len(jobs)
			if len(jobs) == n {
				more = true
				k.pending.Store(true)
			}
		}
		return nil
	})
	if err != nil {
		k.pending.Store(true)
		return next, false, err
	}
	k.mu.Lock()
	k.running += len(claimed)
	for _, j := range claimed {
		k.perClient[j.ClientID]++
	}
	k.mu.Unlock()
	for _, j := range claimed {
		k.jobs.Add(1)
		go k.run(work, j)
	}
	return next, more, nil
}

func (k *kindRunner) run(ctx context.Context, j model.Job) {
	defer k.jobs.Done()
	res := k.safeHandle(ctx, j)
	k.record(j, res)
	k.mu.Lock()
	k.running--
	if k.perClient[j.ClientID]--; k.perClient[j.ClientID] <= 0 {
		delete(k.perClient, j.ClientID)
	}
	waiting := len(k.backlog) > 0
	k.mu.Unlock()
	if waiting {
		k.fromBacklog()
	}
	if k.pending.Load() {
		k.signal()
	}
}

func (k *kindRunner) safeHandle(ctx context.Context, j model.Job) (res Result) {
	defer func() {
		if p := recover(); p != nil {
			res = Fail(fmt.Errorf("panic: %v", p))
		}
	}()
	return k.cfg.Handler.Handle(ctx, j)
}

// record commits the outcome with the handler's writes. If the writes fail, the job is retried
// with back-off instead, without them.
func (k *kindRunner) record(j model.Job, res Result) {
	ctx := context.Background()
	log := k.r.opt.Log
	err := k.r.store.InTx(ctx, func(tx *store.Tx) error {
		if res.Write != nil {
			if err := res.Write(ctx, tx); err != nil {
				return err
			}
		}
		return k.outcome(ctx, tx, j, res)
	})
	if err == nil {
		if res.After != nil {
			res.After()
		}
		return
	}
	if errors.Is(err, errLeaseLost) {
		log.Warn("queue: job outlived its lease; its newer run decides", "kind", j.Kind, "job", j.ID)
		return
	}
	log.Error("queue: job failed to record", "kind", j.Kind, "job", j.ID, "error", err)
	err = k.r.store.InTx(ctx, func(tx *store.Tx) error {
		return k.outcome(ctx, tx, j, Fail(err))
	})
	if err != nil {
		log.Error("queue: job left to its lease", "kind", j.Kind, "job", j.ID, "error", err)
	}
}

// errLeaseLost means the job was claimed again by someone else (this run's lease lapsed): its
// outcome, and the writes that came with it, must not be committed.
var errLeaseLost = errors.New("queue: lease lost, the job was claimed again")

func (k *kindRunner) outcome(ctx context.Context, tx *store.Tx, j model.Job, res Result) error {
	var (
		err  error
		mine = true
	)
	switch {
	case res.Dead || (res.Err != nil && res.RetryAt.IsZero() && j.Attempts >= k.cfg.MaxAttempts):
		k.r.opt.Log.Error("queue: job dead", "kind", j.Kind, "job", j.ID, "attempts", j.Attempts, "error", res.Err)
		if mine, err = tx.BuryJob(ctx, j, errText(res.Err)); err == nil && mine && k.cfg.OnDead != nil {
			err = k.cfg.OnDead(ctx, tx, j, res.Err)
		}
	case !res.RetryAt.IsZero() && res.Deferred:
		mine, err = tx.DeferJob(ctx, j, res.RetryAt)
	case !res.RetryAt.IsZero():
		mine, err = tx.RetryJob(ctx, j, res.RetryAt, errText(res.Err))
	case res.Err != nil:
		k.r.opt.Log.Warn("queue: job failed, will retry", "kind", j.Kind, "job", j.ID, "attempts", j.Attempts, "error", res.Err)
		mine, err = tx.RetryJob(ctx, j, k.r.opt.Clock().Add(k.cfg.Backoff(j.Attempts)), errText(res.Err))
	case res.Finish != nil:
		mine, err = res.Finish(ctx, tx, j)
	default:
		mine, err = tx.FinishJob(ctx, j)
	}
	if err == nil && !mine {
		return errLeaseLost
	}
	return err
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	s := err.Error()
	if len(s) > 1000 {
		s = s[:1000]
	}
	return s
}
