// Package queue runs Ibiki's durable jobs: it claims them from the store in batches, one lane
// per client so that no client can hold up another, runs them with bounded concurrency, and
// records each outcome (done, retry with back-off, dead) in the same transaction as the
// handler's own writes. It owns the jobs' semantics and no SQL: the store offers each table's
// statements (the jobs table, and the deliveries table whose rows are their own jobs), and the
// queue decides which table a kind uses (table.go) and when new jobs are born leased to this
// process (adopt.go).
package queue

import (
	"context"
	"time"

	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/store"
)

// Handler runs one job. It must be idempotent: a lapsed lease makes a job run again.
type Handler interface {
	Handle(ctx context.Context, job model.Job) Result
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, job model.Job) Result

// Handle calls f.
func (f HandlerFunc) Handle(ctx context.Context, job model.Job) Result { return f(ctx, job) }

// Result is what a handler decided. The zero Result finishes the job.
type Result struct {
	// RetryAt, when set, runs the job again at that time (it keeps its place at the head of
	// its order key).
	RetryAt time.Time
	// Err explains a retry or a failure. An Err without RetryAt retries with the kind's
	// back-off until MaxAttempts, then the job is dead.
	Err error
	// Dead moves the job to the dead state at once (Err says why).
	Dead bool
	// Deferred, with RetryAt, says the run did no work (it waited for a throttle): the run
	// does not count as an attempt.
	Deferred bool
	// Write runs in the transaction that records the outcome, so the handler's writes and the
	// job's completion commit together or not at all. Like every store.InTx function, it (and
	// Finish, and the kind's OnDead) may run more than once: it must only write through tx,
	// leave what it captured as it found it, and keep other effects for tx.AfterCommit or After.
	Write func(ctx context.Context, tx *store.Tx) error
	// Finish, on a result that finishes the job (no RetryAt, Err or Dead), replaces the
	// table's own finish (the store's FinishJob, or DequeueDelivery): the handler's own write
	// that also takes the job out of the queue (the store can fold the two into one statement)
	// and reports whether this run still held the job. Write, when also set, runs first.
	Finish func(ctx context.Context, tx *store.Tx, j model.Job) (mine bool, err error)
	// After runs once that transaction has committed (metrics, live updates).
	After func()
}

// Done finishes a job with writes committed atomically with its completion.
func Done(write func(ctx context.Context, tx *store.Tx) error) Result { return Result{Write: write} }

// Fail reports an unexpected error: the job retries with back-off, then dies.
func Fail(err error) Result { return Result{Err: err} }

// Kind configures how one kind of job runs.
type Kind struct {
	Kind    model.JobKind
	Handler Handler
	// Concurrency is how many jobs of this kind run at once in this process.
	Concurrency int
	// PerClient caps the jobs of one client running at once (0 = Concurrency), so that a slow
	// client uses its share and no more.
	PerClient int
	// MaxAttempts buries a job after this many failed runs (0 = 10). Handlers that schedule
	// their own retries (RetryAt) are not limited by it.
	MaxAttempts int
	// Backoff gives the wait after the n-th failure (default: 1s doubling, at most 5 min).
	Backoff func(n int) time.Duration
	// OnDead, when set, runs in the transaction that buries a job, so that what the job was
	// for is left in a state people can see (a failed delivery, an unrouted message).
	OnDead func(ctx context.Context, tx *store.Tx, job model.Job, cause error) error
	// Claimed, when set, runs in the transaction that claims jobs, with the jobs it claimed
	// (a batch): the kind can do there, in a few statements for all of them, the first step
	// of each run (the send job records its attempts), and hand what it wrote to the runs
	// through tx.AfterCommit, which happens before the runs start. Like every transaction's
	// function it may run more than once and must only write through tx. An error undoes the
	// claim.
	Claimed func(ctx context.Context, tx *store.Tx, jobs []model.Job) error
	// Returned, when set, hears of an adopted job given back to the queue without running
	// (after the commit), so that the kind can drop what it kept in memory for its run.
	Returned func(j model.Job)
}

func defaultBackoff(n int) time.Duration {
	d := time.Second << min(n-1, 9)
	return min(d, 5*time.Minute)
}
