package queue

import (
	"context"
	"time"

	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/store"
)

// table is where the jobs of one kind live, with the store's statements that move them through
// the queue. The store offers each table's statements and knows nothing of kinds; the runner
// decides here which table a kind uses.
type table interface {
	// lanes lists the clients with ready work, per priority, with their earliest run time.
	lanes(ctx context.Context, s *store.Store) ([]store.Lane, error)
	// claim leases up to limit ready jobs of one lane to owner until leaseUntil, oldest first.
	claim(ctx context.Context, tx *store.Tx, lane store.Lane, now, leaseUntil time.Time, owner string, limit int) ([]model.Job, error)
	// leave takes a run job out of the queue: finished, or dead (kept with reason where the
	// table keeps its dead). It reports false when the run no longer held the job.
	leave(ctx context.Context, tx *store.Tx, j model.Job, dead bool, reason string) (bool, error)
	// requeue puts a running job back, to be claimed at runAt; a deferred run (it did no work)
	// does not count as an attempt. It reports false when the run no longer held the job.
	requeue(ctx context.Context, tx *store.Tx, j model.Job, runAt time.Time, reason string, deferred bool) (bool, error)
}

// batchLeaver is a table that can take many finished jobs out of the queue in one statement
// (recordBatch). leaveAll reports how many of them their runs still held.
type batchLeaver interface {
	leaveAll(ctx context.Context, tx *store.Tx, jobs []model.Job) (int, error)
}

// deliveryKind is the kind of job whose jobs are the deliveries table's rows. A webhook
// delivery is its own job: its row carries its place in the queue, so a message's delivery costs
// no jobs row to insert, claim and delete (see docs/design.md).
const deliveryKind = model.JobWebhook

// tableFor decides where the jobs of a kind live, and what the store announces (OnWrite) when
// some became ready: deliveries in their own table, every other kind in the jobs table.
func tableFor(kind model.JobKind) (t table, ready string) {
	if kind == deliveryKind {
		return deliveryTable{kind: kind}, store.DeliveriesReady
	}
	return jobTable{kind: kind}, string(kind)
}

// jobTable is the store's jobs table, shared by every kind but webhook.
type jobTable struct{ kind model.JobKind }

func (t jobTable) lanes(ctx context.Context, s *store.Store) ([]store.Lane, error) {
	return s.JobLanes(ctx, t.kind)
}

func (t jobTable) claim(ctx context.Context, tx *store.Tx, lane store.Lane, now, leaseUntil time.Time, owner string, limit int) ([]model.Job, error) {
	return tx.ClaimJobs(ctx, t.kind, lane, now, leaseUntil, owner, limit)
}

func (t jobTable) leave(ctx context.Context, tx *store.Tx, j model.Job, dead bool, reason string) (bool, error) {
	if dead {
		return tx.BuryJob(ctx, j, reason)
	}
	return tx.FinishJob(ctx, j)
}

func (t jobTable) leaveAll(ctx context.Context, tx *store.Tx, jobs []model.Job) (int, error) {
	return tx.FinishJobs(ctx, jobs)
}

func (t jobTable) requeue(ctx context.Context, tx *store.Tx, j model.Job, runAt time.Time, reason string, deferred bool) (bool, error) {
	if deferred {
		return tx.DeferJob(ctx, j, runAt)
	}
	return tx.RetryJob(ctx, j, runAt, reason)
}

// deliveryTable is the deliveries table: each pending delivery is a job of its kind, one lane
// per client at interactive priority. A dead delivery simply leaves the queue (the kind's OnDead
// marks it failed: failed deliveries are the operator's dead letters). New deliveries can be
// born leased to this process (bornLeased).
type deliveryTable struct{ kind model.JobKind }

func (t deliveryTable) lanes(ctx context.Context, s *store.Store) ([]store.Lane, error) {
	return s.DeliveryLanes(ctx)
}

func (t deliveryTable) claim(ctx context.Context, tx *store.Tx, lane store.Lane, now, leaseUntil time.Time, owner string, limit int) ([]model.Job, error) {
	jobs, err := tx.ClaimDeliveries(ctx, lane.ClientID, now, leaseUntil, owner, limit)
	for i := range jobs {
		jobs[i].Kind, jobs[i].Priority = t.kind, model.PriorityInteractive
	}
	return jobs, err
}

func (t deliveryTable) leave(ctx context.Context, tx *store.Tx, j model.Job, _ bool, _ string) (bool, error) {
	return tx.DequeueDelivery(ctx, j)
}

func (t deliveryTable) requeue(ctx context.Context, tx *store.Tx, j model.Job, runAt time.Time, _ string, deferred bool) (bool, error) {
	if deferred {
		return tx.DeferDelivery(ctx, j, runAt)
	}
	return tx.RetryDelivery(ctx, j, runAt)
}

// bornLeased is a table whose new rows can be born leased to this process's runner (see
// store.Lessee): the runner registers while it runs, and nil stops it.
type bornLeased interface {
	leaseNew(s *store.Store, to store.Lessee)
}

func (deliveryTable) leaseNew(s *store.Store, to store.Lessee) { s.LeaseNewDeliveries(to) }

// Stats summarises the queue for metrics: the jobs table by kind and state, and the deliveries
// still in the queue as webhook jobs.
func Stats(ctx context.Context, s *store.Store) ([]store.QueueStat, error) {
	jobs, err := s.JobQueueStats(ctx)
	if err != nil {
		return nil, err
	}
	deliveries, err := s.DeliveryQueueStats(ctx)
	for i := range deliveries {
		deliveries[i].Kind = deliveryKind
	}
	return append(jobs, deliveries...), err
}
