package queue

import (
	"context"
	"slices"
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

// sendKind is the kind of job whose jobs are the messages table's outbound rows waiting to be
// sent: a message is its own send job (see docs/design.md).
const sendKind = model.JobSend

// tableFor decides where the jobs of a kind live, and what the store announces (OnWrite) when
// some became ready: deliveries and sends in their own rows, every other kind in the jobs table.
func tableFor(kind model.JobKind) (t table, ready string) {
	switch kind {
	case deliveryKind:
		return deliveryTable{kind: kind}, store.DeliveriesReady
	case sendKind:
		return sendTable{kind: kind}, store.SendsReady
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

// sendTable is the messages table's send queue: each outbound message waiting to be sent is a
// job of its kind, in one lane per client and priority. A dead send simply leaves the queue (the
// kind's OnDead fails and refunds the message).
type sendTable struct{ kind model.JobKind }

func (t sendTable) lanes(ctx context.Context, s *store.Store) ([]store.Lane, error) {
	return s.SendLanes(ctx)
}

func (t sendTable) claim(ctx context.Context, tx *store.Tx, lane store.Lane, now, leaseUntil time.Time, owner string, limit int) ([]model.Job, error) {
	jobs, err := tx.ClaimSends(ctx, lane, now, leaseUntil, owner, limit)
	for i := range jobs {
		jobs[i].Kind = t.kind
	}
	return jobs, err
}

func (t sendTable) leave(ctx context.Context, tx *store.Tx, j model.Job, dead bool, reason string) (bool, error) {
	if dead {
		return tx.BurySend(ctx, j, reason)
	}
	return tx.FinishSend(ctx, j)
}

func (t sendTable) leaveAll(ctx context.Context, tx *store.Tx, jobs []model.Job) (int, error) {
	return tx.FinishSends(ctx, jobs)
}

func (t sendTable) requeue(ctx context.Context, tx *store.Tx, j model.Job, runAt time.Time, reason string, deferred bool) (bool, error) {
	if deferred {
		return tx.DeferSend(ctx, j, runAt)
	}
	return tx.RetrySend(ctx, j, runAt, reason)
}

// bornLeased is a table whose new rows can be born leased to this process's runner (see
// store.Lessee): the runner registers while it runs, and nil stops it.
type bornLeased interface {
	leaseNew(s *store.Store, to store.Lessee)
}

func (deliveryTable) leaseNew(s *store.Store, to store.Lessee) { s.LeaseNewDeliveries(to) }

func (sendTable) leaseNew(s *store.Store, to store.Lessee) { s.LeaseNewSends(to) }

// returnsAdopted is a table whose adopted jobs need more than a deferral to go back to the
// queue unrun: a send born started has its attempt recorded, which giving it back undoes.
type returnsAdopted interface {
	giveBack(ctx context.Context, tx *store.Tx, j model.Job, runAt time.Time) (bool, error)
}

func (sendTable) giveBack(ctx context.Context, tx *store.Tx, j model.Job, runAt time.Time) (bool, error) {
	return tx.ReturnStartedSend(ctx, j, runAt)
}

// Stats summarises the queue for metrics: the jobs table by kind and state, and the deliveries
// and the sends still in the queue as webhook and send jobs.
func Stats(ctx context.Context, s *store.Store) ([]store.QueueStat, error) {
	jobs, err := s.JobQueueStats(ctx)
	if err != nil {
		return nil, err
	}
	for _, own := range []struct {
		kind  model.JobKind
		stats func(context.Context) ([]store.QueueStat, error)
	}{{deliveryKind, s.DeliveryQueueStats}, {sendKind, s.SendQueueStats}} {
		st, err := own.stats(ctx)
		if err != nil {
			return nil, err
		}
		for i := range st {
			st[i].Kind = own.kind
		}
		jobs = mergeStats(jobs, st)
	}
	return jobs, nil
}

// mergeStats adds more to stats, summing the counts of a kind and state found in both (the
// jobs table still holds dead send jobs from before migration 00016) and keeping the oldest.
func mergeStats(stats, more []store.QueueStat) []store.QueueStat {
	for _, m := range more {
		i := slices.IndexFunc(stats, func(s store.QueueStat) bool { return s.Kind == m.Kind && s.State == m.State })
		if i < 0 {
			stats = append(stats, m)
			continue
		}
		stats[i].Count += m.Count
		if m.OldestAt.Before(stats[i].OldestAt) {
			stats[i].OldestAt = m.OldestAt
		}
	}
	return stats
}
