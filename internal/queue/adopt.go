package queue

import (
	"context"
	"time"

	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/store"
)

// Adoption: while a kind whose table can do it (bornLeased: deliveries, and the sends Ibiki
// starts itself, see store.QueueStartedSend) runs, its new jobs are born leased to this process
// and handed to it after their commit, so their first run needs no claim. This file is that
// policy: which jobs start at once, which wait in a small backlog, and which go back to the
// queue, without ever breaking the per-client caps or taking the slots a claim counted. (Jobs of
// the jobs table are born queued and claimed. Sends are born started when package outbound
// decides so: the answers routing queues, and clients' sends on SQLite to a provider that needs
// the attempt recorded first. Adopting clients' sends to the simulator, measured for issue 15,
// made dispatch compete with accepting sends and lowered the flat-out accept rate; with SMPP
// both ways, where every message's whole path counts, it raised the rate.)

// start lets the kind run jobs in work, and take new ones born leased to it. It runs after any
// release of running jobs at start, which would otherwise hand the same jobs to the queue too.
func (k *kindRunner) start(work context.Context) {
	k.mu.Lock()
	k.work = work
	k.mu.Unlock()
	if t, ok := k.table.(bornLeased); ok {
		t.leaseNew(k.r.store, k)
	}
}

// stop ends adoption and gives the adopted jobs that never started back to the queue.
func (k *kindRunner) stop() {
	if t, ok := k.table.(bornLeased); ok {
		t.leaseNew(k.r.store, nil)
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

// Lease names this runner as the owner of a job born now, for one lease (store.Lessee).
func (k *kindRunner) Lease() (owner string, until time.Time) {
	return k.r.opt.Owner, k.r.opt.Clock().Add(k.r.opt.Lease)
}

// Take adopts a job born leased to this runner, once its transaction committed (store.Lessee).
// It starts at once when a slot is free and no claim is under way; it waits in the backlog when
// only the slot is missing; it goes back to the queue when its client reached its cap (the
// claim then shares the slots fairly). While older work waits in the queue (retries, deliveries
// promoted behind their conversation, ones given back), adoption leaves an eighth of the slots
// to the claim, so that the queue keeps moving. It runs on the store's writer goroutine, so it
// must neither block nor write.
func (k *kindRunner) Take(j model.Job) {
	j.Kind = k.cfg.Kind
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

// Room says whether a job of the client born now would be taken (started, or kept in the
// backlog) rather than given back, as things stand (store.Room): Take's rule, without taking.
// A send is born started only then: one given back costs a write, and its "sending" event has
// gone out already. Jobs born in the same commit are not counted, so a burst can still find
// the room gone by its Take.
func (k *kindRunner) Room(clientID string) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.work != nil && k.perClient[clientID]+k.perLogged[clientID] < k.cfg.PerClient &&
		(k.running < k.adoptLimit() && !k.claiming || len(k.backlog) < 4*k.cfg.Concurrency)
}

// adoptLimit is how many jobs may run before adopted ones wait: all the slots, but an eighth
// (at least one) left to the claim while the queue holds ready work, unless the last claim
// could take none of it (yielded). k.mu is held.
func (k *kindRunner) adoptLimit() int {
	if k.pending.Load() && !k.yielded {
		return k.cfg.Concurrency - max(k.cfg.Concurrency/8, 1)
	}
	return k.cfg.Concurrency
}

// startLocked runs j in the background; k.mu is held.
func (k *kindRunner) startLocked(j model.Job) {
	k.running++
	k.perClient[j.ClientID]++
	k.jobs.Add(1)
	k.spawn(k.work, j)
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
	ctx, now := context.Background(), k.r.opt.Clock()
	err := k.r.store.InTx(ctx, func(tx *store.Tx) error {
		if t, ok := k.table.(returnsAdopted); ok {
			_, err := t.giveBack(ctx, tx, j, now)
			return err
		}
		_, err := k.table.requeue(ctx, tx, j, now, "", true)
		return err
	})
	if err != nil {
		k.r.opt.Log.Warn("queue: adopted job left to its lease", "kind", j.Kind, "job", j.Ref, "error", err)
		return
	}
	if k.cfg.Returned != nil {
		k.cfg.Returned(j)
	}
}
