package queue

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/store"
)

// kindRunner claims and runs the jobs of one kind.
type kindRunner struct {
	r      *Runner
	cfg    Kind
	table  table
	wakeCh chan struct{}
	// recs carries finished runs to recordLoop, which records their outcomes in batches; nil
	// outside Run (each run records its own).
	recs chan recording
	// idle hands a job to a run goroutine waiting for its next one (spawn).
	idle chan runReq

	// pending says the queue may hold jobs of this kind that are ready and not claimed: a
	// finishing job then wakes the claim loop for its slot. Adopted jobs need no claim, so
	// with everything adopted the loop stays idle between polls.
	pending atomic.Bool

	mu        sync.Mutex
	running   int
	perClient map[string]int
	// ended counts the runs that ended, so that a claim can tell whether a slot freed while
	// it looked (that run's end could not know the claim would leave work for it).
	ended uint64
	jobs  sync.WaitGroup
	// Adopted jobs (born leased to this process, see adopt.go) wait here for a free slot.
	work     context.Context // nil before Run and once it stops
	claiming bool            // a claim is under way: it counted the free slots, adopt must not take them
	// yielded: the last claim took nothing, its due lanes' budgets being held by the backlog;
	// the slot adoption leaves to the claim goes to the backlog then (adoptLimit).
	yielded   bool
	backlog   []model.Job
	perLogged map[string]int // backlog entries per client
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
	ended := k.ended
	if free <= 0 {
		k.mu.Unlock()
		return time.Time{}, false, nil
	}
	k.claiming, k.yielded = true, false
	k.mu.Unlock()
	defer func() {
		k.mu.Lock()
		k.claiming = false
		k.mu.Unlock()
		k.fromBacklog()
	}()
	// Cleared before the look, so that work announced during it sets it again.
	k.pending.Store(false)
	lanes, err := k.table.lanes(ctx, k.r.store)
	if err != nil {
		k.pending.Store(true)
		return time.Time{}, false, err
	}
	now := k.r.opt.Clock()
	due, next := dueLanes(lanes, now)
	if len(due) == 0 {
		return next, false, nil
	}
	budget := k.budgets(due)
	// Share the free slots fairly: each due lane gets an equal part first.
	share := max(free/len(due), 1)
	var (
		claimed      []model.Job
		filled, left bool // a lane took its whole share; a lane was left for a slot that frees later
	)
	// The transaction may run more than once: it only claims, and says what it saw. When the
	// kind's Claimed step fails, the claim is made again without it (the runs then do that
	// step themselves), so that one message's trouble cannot stop every claim.
	hook := k.cfg.Claimed
	claim := func(tx *store.Tx) error {
		claimed, filled, left = claimed[:0], false, false
		slots := free
		used := map[string]int{}
		for _, l := range due {
			n := min(share, slots, budget[l.ClientID]-used[l.ClientID])
			if n <= 0 {
				left = true
				continue
			}
			jobs, err := k.table.claim(ctx, tx, l, now, now.Add(k.r.opt.Lease), k.r.opt.Owner, n)
			if err != nil {
				return err
			}
			claimed = append(claimed, jobs...)
			slots -= len(jobs)
			used[l.ClientID] += len(jobs)
			filled = filled || len(jobs) == n
		}
		if hook != nil && len(claimed) > 0 {
			if err := hook(ctx, tx, claimed); err != nil {
				return &hookError{err}
			}
		}
		return nil
	}
	err = k.r.store.InTx(store.WithPriority(ctx), claim)
	if he := (*hookError)(nil); errors.As(err, &he) {
		k.r.opt.Log.Error("queue: the claim's own step failed; claiming without it", "kind", k.cfg.Kind, "error", he.err)
		hook = nil
		err = k.r.store.InTx(store.WithPriority(ctx), claim)
	}
	if err != nil {
		k.pending.Store(true)
		return next, false, err
	}
	if filled || left {
		k.pending.Store(true)
	}
	k.mu.Lock()
	// A run that ended during the claim found pending cleared and woke nobody: look again
	// for the lanes left waiting.
	more = filled || (left && k.ended != ended)
	k.running += len(claimed)
	for _, j := range claimed {
		k.perClient[j.ClientID]++
	}
	// Nothing claimed although lanes were due: their clients' budgets are taken by adopted jobs
	// waiting in the backlog, which only the reserved slot could start. Without this, those
	// jobs and the queue waited for each other until the backlog's leases were half gone.
	k.yielded = len(claimed) == 0 && left
	k.mu.Unlock()
	for _, j := range claimed {
		k.jobs.Add(1)
		k.spawn(work, j)
	}
	return next, more, nil
}

// dueLanes returns the lanes whose work is due, interactive work first and then the lanes that
// have waited longest, and the earliest run time among the others.
func dueLanes(lanes []store.Lane, now time.Time) (due []store.Lane, next time.Time) {
	for _, l := range lanes {
		if l.MinRunAt.After(now) {
			if next.IsZero() || l.MinRunAt.Before(next) {
				next = l.MinRunAt
			}
			continue
		}
		due = append(due, l)
	}
	slices.SortFunc(due, func(a, b store.Lane) int {
		return cmp.Or(cmp.Compare(a.Priority, b.Priority), a.MinRunAt.Compare(b.MinRunAt))
	})
	return due, next
}

// budgets returns how many more jobs each due lane's client may run: its cap, less what runs
// and what waits in the backlog.
func (k *kindRunner) budgets(due []store.Lane) map[string]int {
	budget := map[string]int{}
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, l := range due {
		if _, ok := budget[l.ClientID]; !ok {
			budget[l.ClientID] = k.cfg.PerClient - k.perClient[l.ClientID] - k.perLogged[l.ClientID]
		}
	}
	return budget
}

type runReq struct {
	ctx context.Context
	j   model.Job
}

// keepIdle is how long a run goroutine waits for its next job before it ends.
const keepIdle = 5 * time.Second

// spawn runs j (counted in k.jobs by the caller) in a goroutine that ran a job before, when one
// waits for work, or in a new one. A run's stack grows to what a provider call and its
// recording need; a new goroutine for every run copied its stack up to that size each time
// (runtime.newstack, 1.5 % of the server's CPU sending flat out).
func (k *kindRunner) spawn(ctx context.Context, j model.Job) {
	select {
	case k.idle <- runReq{ctx, j}:
	default:
		go k.runMany(runReq{ctx, j})
	}
}

// runMany runs its job, then the ones spawn hands it, until none came for keepIdle or its last
// job's context ended (the runner stops).
func (k *kindRunner) runMany(req runReq) {
	idle := time.NewTimer(keepIdle)
	defer idle.Stop()
	for {
		k.run(req.ctx, req.j)
		idle.Reset(keepIdle)
		select {
		case next := <-k.idle:
			req = next
		case <-idle.C:
			return
		case <-req.ctx.Done():
			return
		}
	}
}

func (k *kindRunner) run(ctx context.Context, j model.Job) {
	defer k.jobs.Done()
	res := k.safeHandle(ctx, j)
	if k.recs != nil {
		done := make(chan struct{})
		k.recs <- recording{j: j, res: res, done: done}
		<-done
	} else {
		k.record(j, res)
	}
	k.mu.Lock()
	k.running--
	k.ended++
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

// hookError is a failure of the kind's Claimed step inside the claim's transaction.
type hookError struct{ err error }

func (e *hookError) Error() string { return "claimed: " + e.err.Error() }
func (e *hookError) Unwrap() error { return e.err }
