package inbound

import (
	"cmp"
	"context"
	"hash/maphash"
	"sync"
	"time"

	"github.com/ibiki/ibiki/internal/model"
)

// Router routes accepted messages in the process that accepted them, right after the commit,
// without a job row per message: the message's own "not yet routed" state is the work list.
// Messages of one phone go to one worker, in order, so a contact's replies reach the client in
// the order they arrived. A sweep finds the messages nobody routed — a crash, a full worker
// queue, another instance that died — and routes them too.
type Router struct {
	svc *Service
	// Grace is how old a pending message must be before a sweep takes it. On SQLite (one
	// process) a restart takes everything at once; between instances on PostgreSQL it leaves
	// each instance time to route what it accepted itself.
	Grace time.Duration
	// Sweep is how often to look for pending messages.
	Sweep time.Duration
	// Exclusive says that no other process uses the database: the first sweep takes every
	// pending message, whatever its age.
	Exclusive bool

	seed    maphash.Seed
	workers []chan *model.Message // pointers: 128 queues of 1,024 messages would hold 50 MB of slots

	mu       sync.Mutex
	inflight map[string]bool
	failures map[string]int
}

// maxFailures is how many times a message is tried before it goes to the unrouted inbox.
const maxFailures = 5

// NewRouter returns a router for svc with workers routing at once; it routes once Run runs.
func NewRouter(svc *Service, workers int) *Router {
	r := &Router{svc: svc, seed: maphash.MakeSeed(), inflight: map[string]bool{}, failures: map[string]int{},
		Grace: time.Minute, Sweep: time.Second}
	for range max(workers, 1) {
		r.workers = append(r.workers, make(chan *model.Message, 1024))
	}
	svc.Router = r
	return r
}

// dispatch hands a message to its phone's worker (queued until Run starts the workers). A full
// worker queue drops it: the sweep finds it later.
func (r *Router) dispatch(m model.Message) bool {
	r.mu.Lock()
	if r.inflight[m.ID] {
		r.mu.Unlock()
		return false
	}
	r.inflight[m.ID] = true
	r.mu.Unlock()
	select {
	case r.workers[maphash.String(r.seed, m.From)%uint64(len(r.workers))] <- &m:
		return true
	default:
		r.done(m.ID)
		return false
	}
}

func (r *Router) done(id string) {
	r.mu.Lock()
	delete(r.inflight, id)
	r.mu.Unlock()
}

// Run routes until ctx ends, then finishes the message each worker is on; what is still
// queued stays pending in the database for the next start.
func (r *Router) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, ch := range r.workers {
		wg.Add(1)
		go func() { defer wg.Done(); r.work(ctx, ch) }()
	}
	r.sweep(ctx)
	wg.Wait()
}

func (r *Router) work(ctx context.Context, ch chan *model.Message) {
	// Routing runs to its end even during shutdown: it is a few statements, and a half-done
	// route would only be redone.
	work := context.WithoutCancel(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case m := <-ch:
			r.routeOne(work, *m)
		}
	}
}

func (r *Router) routeOne(ctx context.Context, m model.Message) {
	defer r.done(m.ID)
	err := r.svc.route(ctx, m)
	if err == nil {
		r.mu.Lock()
		delete(r.failures, m.ID)
		r.mu.Unlock()
		return
	}
	r.mu.Lock()
	r.failures[m.ID]++
	n := r.failures[m.ID]
	r.mu.Unlock()
	r.svc.Log.Warn("inbound: routing failed, will retry", "message", m.ID, "tries", n, "error", err)
	if n < maxFailures {
		return
	}
	if err := r.svc.giveUp(ctx, m.ID); err != nil {
		r.svc.Log.Error("inbound: could not move a message to the unrouted inbox", "message", m.ID, "error", err)
		return
	}
	r.svc.Log.Error("inbound: gave up routing a message; it waits in the unrouted inbox", "message", m.ID, "tries", n)
	r.mu.Lock()
	delete(r.failures, m.ID)
	r.mu.Unlock()
}

// sweep routes the messages left pending, oldest first, until ctx ends.
func (r *Router) sweep(ctx context.Context) {
	grace := r.Grace
	if r.Exclusive {
		grace = 0 // nothing else can be routing them: take everything now
	}
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		ms, err := r.svc.Store.PendingMessages(ctx, r.svc.Clock().Add(-grace), 1000)
		if err != nil && ctx.Err() == nil {
			r.svc.Log.Error("inbound: sweep for pending messages", "error", err)
		}
		for _, m := range ms {
			r.dispatch(m)
		}
		if r.Exclusive {
			// After the first sweep, what is pending here was dispatched and is in flight, or
			// fell off a full queue a moment ago: a short grace is enough.
			grace = cmp.Or(min(r.Grace, 2*time.Second), time.Second)
		}
		next := r.Sweep
		if len(ms) == 1000 {
			next = 10 * time.Millisecond // more waiting
		}
		t.Reset(next)
	}
}
