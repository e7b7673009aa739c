package queue

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/store"
)

// verdict is what a run's Result does to its job.
type verdict int

const (
	finish   verdict = iota // out of the queue: done (the handler's Finish, or the table's)
	bury                    // out of the queue for good (dead), with the kind's OnDead
	deferRun                // back to the queue at RetryAt, not counted as an attempt
	retry                   // back to the queue at the handler's RetryAt
	backoff                 // failed: back to the queue after the kind's back-off
)

// outcome is a verdict with the time it puts the job back at. It is decided before the
// transaction that records it, which may run more than once and so decides nothing.
type outcome struct {
	verdict verdict
	runAt   time.Time
}

// judge reads a run's Result.
func (k *kindRunner) judge(j model.Job, res Result) outcome {
	switch {
	case res.Dead || (res.Err != nil && res.RetryAt.IsZero() && j.Attempts >= k.cfg.MaxAttempts):
		return outcome{verdict: bury}
	case !res.RetryAt.IsZero() && res.Deferred:
		return outcome{verdict: deferRun, runAt: res.RetryAt}
	case !res.RetryAt.IsZero():
		return outcome{verdict: retry, runAt: res.RetryAt}
	case res.Err != nil:
		return outcome{verdict: backoff, runAt: k.r.opt.Clock().Add(k.cfg.Backoff(j.Attempts))}
	}
	return outcome{verdict: finish}
}

// record commits the outcome with the handler's writes. If the writes fail, the job is retried
// with back-off instead, without them.
func (k *kindRunner) record(j model.Job, res Result) {
	ctx := store.WithPriority(context.Background()) // it frees slots: ahead of new work
	log := k.r.opt.Log
	o := k.judge(j, res)
	err := k.r.store.InTx(ctx, func(tx *store.Tx) error {
		if res.Write != nil {
			if err := res.Write(ctx, tx); err != nil {
				return err
			}
		}
		return k.apply(ctx, tx, j, res, o)
	})
	if err == nil {
		k.logOutcome(j, res, o)
		if res.After != nil {
			res.After()
		}
		return
	}
	if errors.Is(err, errLeaseLost) {
		log.Warn("queue: job outlived its lease; its newer run decides", "kind", j.Kind, "job", j.ID, "ref", j.Ref)
		return
	}
	log.Error("queue: job failed to record", "kind", j.Kind, "job", j.ID, "ref", j.Ref, "error", err)
	failed := Fail(err)
	o = k.judge(j, failed)
	err = k.r.store.InTx(ctx, func(tx *store.Tx) error { return k.apply(ctx, tx, j, failed, o) })
	if err != nil {
		log.Error("queue: job left to its lease", "kind", j.Kind, "job", j.ID, "ref", j.Ref, "error", err)
		return
	}
	k.logOutcome(j, failed, o)
}

// maxRecordBatch bounds how many runs' outcomes one transaction records.
const maxRecordBatch = 256

// recording is a finished run waiting for its outcome to be recorded (recordLoop).
type recording struct {
	j    model.Job
	res  Result
	done chan struct{}
}

// recordLoop records the outcomes of the kind's runs in batches: the runs that finished while
// the previous batch was committing are recorded together, in one transaction, with one
// statement for all the jobs that simply finished (a batchLeaver table). It ends when recs is
// closed (every run has ended).
func (k *kindRunner) recordLoop() {
	batch := make([]recording, 0, maxRecordBatch)
	for first := range k.recs {
		batch = append(batch[:0], first)
	fill:
		for len(batch) < maxRecordBatch {
			select {
			case r, ok := <-k.recs:
				if !ok {
					break fill
				}
				batch = append(batch, r)
			default:
				break fill
			}
		}
		k.recordBatch(batch)
		for _, r := range batch {
			close(r.done)
		}
	}
}

// recordBatch commits the outcomes of several runs in one transaction. When that fails (a
// handler's write failed, or a run lost its lease), each is recorded on its own as before, so
// that one run's trouble decides nothing for the others.
func (k *kindRunner) recordBatch(batch []recording) {
	if len(batch) == 1 {
		k.record(batch[0].j, batch[0].res)
		return
	}
	ctx := store.WithPriority(context.Background())
	outcomes := make([]outcome, len(batch))
	for i, r := range batch {
		outcomes[i] = k.judge(r.j, r.res)
	}
	leaver, _ := k.table.(batchLeaver)
	err := k.r.store.InTx(ctx, func(tx *store.Tx) error {
		var finishing []model.Job
		for i, r := range batch {
			if r.res.Write != nil {
				if err := r.res.Write(ctx, tx); err != nil {
					return err
				}
			}
			if leaver != nil && outcomes[i].verdict == finish && r.res.Finish == nil {
				finishing = append(finishing, r.j)
				continue
			}
			if err := k.apply(ctx, tx, r.j, r.res, outcomes[i]); err != nil {
				return err
			}
		}
		if len(finishing) == 0 {
			return nil
		}
		n, err := leaver.leaveAll(ctx, tx, finishing)
		if err == nil && n != len(finishing) {
			err = errLeaseLost
		}
		return err
	})
	if err != nil {
		var wg sync.WaitGroup
		for _, r := range batch {
			wg.Go(func() { k.record(r.j, r.res) })
		}
		wg.Wait()
		return
	}
	for i, r := range batch {
		k.logOutcome(r.j, r.res, outcomes[i])
		if r.res.After != nil {
			r.res.After()
		}
	}
}

// errLeaseLost means the job was claimed again by someone else (this run's lease lapsed): its
// outcome, and the writes that came with it, must not be committed.
var errLeaseLost = errors.New("queue: lease lost, the job was claimed again")

// apply writes an outcome to the job's table, inside the transaction that records the run.
func (k *kindRunner) apply(ctx context.Context, tx *store.Tx, j model.Job, res Result, o outcome) error {
	var (
		mine bool
		err  error
	)
	switch o.verdict {
	case bury:
		if mine, err = k.table.leave(ctx, tx, j, true, errText(res.Err)); err == nil && mine && k.cfg.OnDead != nil {
			err = k.cfg.OnDead(ctx, tx, j, res.Err)
		}
	case deferRun:
		mine, err = k.table.requeue(ctx, tx, j, o.runAt, "", true)
	case retry, backoff:
		mine, err = k.table.requeue(ctx, tx, j, o.runAt, errText(res.Err), false)
	case finish:
		if res.Finish != nil {
			mine, err = res.Finish(ctx, tx, j)
		} else {
			mine, err = k.table.leave(ctx, tx, j, false, "")
		}
	}
	if err == nil && !mine {
		return errLeaseLost
	}
	return err
}

// logOutcome reports, once it is committed, an outcome someone should hear of.
func (k *kindRunner) logOutcome(j model.Job, res Result, o outcome) {
	switch o.verdict {
	case bury:
		k.r.opt.Log.Error("queue: job dead", "kind", j.Kind, "job", j.ID, "ref", j.Ref, "attempts", j.Attempts, "error", res.Err)
	case backoff:
		k.r.opt.Log.Warn("queue: job failed, will retry", "kind", j.Kind, "job", j.ID, "ref", j.Ref, "attempts", j.Attempts, "error", res.Err)
	}
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
