package queue_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ibiki/ibiki/internal/ibikitest"
	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/queue"
	"github.com/ibiki/ibiki/internal/store"
)

const kind model.JobKind = "test"

func enqueue(t *testing.T, s *store.Store, jobs ...model.Job) {
	t.Helper()
	ibikitest.Must(t, s.InTx(t.Context(), func(tx *store.Tx) error {
		for _, j := range jobs {
			j.Kind = kind
			if j.RunAt.IsZero() {
				j.RunAt = time.Now()
			}
			j.CreatedAt = time.Now()
			if _, err := tx.Enqueue(t.Context(), j); err != nil {
				return err
			}
		}
		return nil
	}))
}

// start runs a runner with one kind until the test ends.
func start(t *testing.T, s *store.Store, k queue.Kind, opt queue.Options) {
	t.Helper()
	k.Kind = kind
	opt.Poll = 20 * time.Millisecond
	if opt.Log == nil {
		opt.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	r := queue.New(s, opt)
	r.Register(k)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestJobsRunOnceAndAreDeleted(t *testing.T) {
	s := ibikitest.NewStore(t)
	var runs sync.Map
	var n atomic.Int32
	start(t, s, queue.Kind{Concurrency: 8, Handler: queue.HandlerFunc(func(ctx context.Context, j model.Job) queue.Result {
		if _, dup := runs.LoadOrStore(j.Ref, true); dup {
			t.Errorf("job %s ran twice", j.Ref)
		}
		n.Add(1)
		return queue.Result{}
	})}, queue.Options{})
	var jobs []model.Job
	for i := range 100 {
		jobs = append(jobs, model.Job{Ref: fmt.Sprint(i), ClientID: fmt.Sprintf("c%d", i%3)})
	}
	enqueue(t, s, jobs...)
	eventually(t, "100 jobs ran", func() bool { return n.Load() == 100 })
	eventually(t, "the queue is empty", func() bool {
		st, _ := queue.Stats(t.Context(), s)
		return len(st) == 0
	})
}

func TestJobsWithOneOrderKeyRunOneAtATimeInOrder(t *testing.T) {
	s := ibikitest.NewStore(t)
	var (
		mu      sync.Mutex
		order   []string
		running atomic.Int32
	)
	start(t, s, queue.Kind{Concurrency: 8, Handler: queue.HandlerFunc(func(ctx context.Context, j model.Job) queue.Result {
		if running.Add(1) > 1 {
			t.Errorf("job %s overlaps another job of its key", j.Ref)
		}
		time.Sleep(2 * time.Millisecond)
		mu.Lock()
		order = append(order, j.Ref)
		mu.Unlock()
		running.Add(-1)
		return queue.Result{}
	})}, queue.Options{})
	for i := range 20 {
		enqueue(t, s, model.Job{Ref: fmt.Sprintf("%02d", i), ClientID: "acme", OrderKey: "conv_1"})
	}
	eventually(t, "20 jobs ran", func() bool { mu.Lock(); defer mu.Unlock(); return len(order) == 20 })
	for i, ref := range order {
		if ref != fmt.Sprintf("%02d", i) {
			t.Fatalf("order = %v", order)
		}
	}
}

func TestRetryKeepsLaterJobsOfTheSameKeyWaiting(t *testing.T) {
	s := ibikitest.NewStore(t)
	var (
		mu    sync.Mutex
		order []string
		tries atomic.Int32
	)
	start(t, s, queue.Kind{Concurrency: 4, Handler: queue.HandlerFunc(func(ctx context.Context, j model.Job) queue.Result {
		mu.Lock()
		order = append(order, j.Ref)
		mu.Unlock()
		if j.Ref == "first" && tries.Add(1) < 3 {
			return queue.Result{RetryAt: time.Now().Add(30 * time.Millisecond), Err: errors.New("try later")}
		}
		return queue.Result{}
	})}, queue.Options{})
	enqueue(t, s, model.Job{Ref: "first", OrderKey: "k"}, model.Job{Ref: "second", OrderKey: "k"})
	eventually(t, "both finished", func() bool { mu.Lock(); defer mu.Unlock(); return len(order) == 4 })
	if fmt.Sprint(order) != "[first first first second]" {
		t.Fatalf("order = %v", order)
	}
}

func TestASlowClientDoesNotDelayAnother(t *testing.T) {
	s := ibikitest.NewStore(t)
	release := make(chan struct{})
	var fast atomic.Int32
	start(t, s, queue.Kind{Concurrency: 4, PerClient: 2, Handler: queue.HandlerFunc(func(ctx context.Context, j model.Job) queue.Result {
		if j.ClientID == "slow" {
			<-release
			return queue.Result{}
		}
		fast.Add(1)
		return queue.Result{}
	})}, queue.Options{})
	defer close(release)
	var jobs []model.Job
	for i := range 50 {
		jobs = append(jobs, model.Job{Ref: fmt.Sprint("s", i), ClientID: "slow"})
	}
	enqueue(t, s, jobs...)
	jobs = jobs[:0]
	for i := range 20 {
		jobs = append(jobs, model.Job{Ref: fmt.Sprint("f", i), ClientID: "fast"})
	}
	enqueue(t, s, jobs...)
	eventually(t, "the fast client's 20 jobs ran while the slow client's hang", func() bool { return fast.Load() == 20 })
}

func TestFailingJobDiesAfterMaxAttempts(t *testing.T) {
	s := ibikitest.NewStore(t)
	var tries atomic.Int32
	start(t, s, queue.Kind{MaxAttempts: 3, Backoff: func(int) time.Duration { return time.Millisecond },
		Handler: queue.HandlerFunc(func(ctx context.Context, j model.Job) queue.Result {
			tries.Add(1)
			if j.Ref == "after" {
				return queue.Result{}
			}
			return queue.Fail(errors.New("boom"))
		})}, queue.Options{})
	enqueue(t, s, model.Job{Ref: "x", OrderKey: "k"}, model.Job{Ref: "after", OrderKey: "k"})
	eventually(t, "the job is dead and the next one of its key ran", func() bool {
		st, _ := queue.Stats(t.Context(), s)
		return len(st) == 1 && st[0].State == model.JobDead && st[0].Count == 1
	})
	if got := tries.Load(); got != 4 { // three for "x", one for "after"
		t.Fatalf("tries = %d, want 4", got)
	}
}

func TestWritesCommitWithTheJobOrNotAtAll(t *testing.T) {
	s := ibikitest.NewStore(t)
	ibikitest.Must(t, s.InTx(t.Context(), func(tx *store.Tx) error {
		return tx.InsertClient(t.Context(), model.Client{ID: "acme", Name: "A", WebhookSecret: "x", Active: true})
	}))
	var tries atomic.Int32
	start(t, s, queue.Kind{Backoff: func(int) time.Duration { return time.Millisecond },
		Handler: queue.HandlerFunc(func(ctx context.Context, j model.Job) queue.Result {
			n := tries.Add(1)
			return queue.Done(func(ctx context.Context, tx *store.Tx) error {
				if err := tx.PutSetting(ctx, fmt.Sprint("try", n), "x", time.Now()); err != nil {
					return err
				}
				if n == 1 {
					return errors.New("write failed")
				}
				return nil
			})
		})}, queue.Options{})
	enqueue(t, s, model.Job{Ref: "x"})
	eventually(t, "the second run committed", func() bool {
		_, err := s.Setting(t.Context(), "try2")
		return err == nil
	})
	if _, err := s.Setting(t.Context(), "try1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the failed run's write is visible: %v", err)
	}
}

// A handler's Finish replaces the store's FinishJob, in the transaction of its Write; a Finish
// that finds the job no longer the run's (false) rolls both back, and the job runs again once
// its lease lapses.
func TestFinishTakesTheJobOutWithTheWrites(t *testing.T) {
	s := ibikitest.NewStore(t)
	var runs atomic.Int32
	start(t, s, queue.Kind{Handler: queue.HandlerFunc(func(ctx context.Context, j model.Job) queue.Result {
		n := runs.Add(1)
		return queue.Result{
			Write: func(ctx context.Context, tx *store.Tx) error {
				return tx.PutSetting(ctx, fmt.Sprint("write", n), "x", time.Now())
			},
			Finish: func(ctx context.Context, tx *store.Tx, j model.Job) (bool, error) {
				if err := tx.PutSetting(ctx, fmt.Sprint("finish", n), "x", time.Now()); err != nil {
					return false, err
				}
				if n == 1 {
					return false, nil // as if the lease had lapsed
				}
				return tx.FinishJob(ctx, j)
			},
		}
	})}, queue.Options{Lease: 200 * time.Millisecond})
	enqueue(t, s, model.Job{Ref: "x"})
	eventually(t, "the second run finished the job", func() bool {
		_, err := s.Setting(t.Context(), "finish2")
		return err == nil
	})
	for _, key := range []string{"write1", "finish1"} {
		if _, err := s.Setting(t.Context(), key); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s of the run whose Finish said false is visible: %v", key, err)
		}
	}
	if _, err := s.Setting(t.Context(), "write2"); err != nil {
		t.Errorf("write2 of the finishing run: %v", err)
	}
	time.Sleep(400 * time.Millisecond) // past a lease: a job not taken out would run again
	if n := runs.Load(); n != 2 {
		t.Errorf("ran %d times, want 2", n)
	}
}

func TestAJobWhoseWorkerDiedRunsAfterItsLease(t *testing.T) {
	s := ibikitest.NewStore(t)
	enqueue(t, s, model.Job{Ref: "orphan"})
	// A worker of another process claims the job and dies.
	ibikitest.Must(t, s.InTx(t.Context(), func(tx *store.Tx) error {
		lanes, err := tx.JobLanes(t.Context(), kind)
		if err != nil || len(lanes) != 1 {
			return fmt.Errorf("lanes %v: %w", lanes, err)
		}
		now := time.Now()
		jobs, err := tx.ClaimJobs(t.Context(), kind, lanes[0], now, now.Add(200*time.Millisecond), "dead-process", 10)
		if len(jobs) != 1 {
			return fmt.Errorf("claimed %d: %w", len(jobs), err)
		}
		return err
	}))
	var ran atomic.Int32
	start(t, s, queue.Kind{Handler: queue.HandlerFunc(func(ctx context.Context, j model.Job) queue.Result {
		ran.Add(1)
		return queue.Result{}
	})}, queue.Options{Lease: 400 * time.Millisecond})
	eventually(t, "the orphaned job ran", func() bool { return ran.Load() == 1 })
}

func TestOnDeadRunsInTheTransactionThatBuriesTheJob(t *testing.T) {
	s := ibikitest.NewStore(t)
	start(t, s, queue.Kind{MaxAttempts: 1,
		Handler: queue.HandlerFunc(func(ctx context.Context, j model.Job) queue.Result { return queue.Fail(errors.New("boom")) }),
		OnDead: func(ctx context.Context, tx *store.Tx, j model.Job, cause error) error {
			return tx.PutSetting(ctx, "dead:"+j.Ref, cause.Error(), time.Now())
		}}, queue.Options{})
	enqueue(t, s, model.Job{Ref: "doomed"})
	eventually(t, "OnDead recorded the death", func() bool {
		v, err := s.Setting(t.Context(), "dead:doomed")
		return err == nil && v == "boom"
	})
}

func TestARunThatOutlivedItsLeaseCommitsNothing(t *testing.T) {
	s := ibikitest.NewStore(t)
	var runs atomic.Int32
	start(t, s, queue.Kind{Concurrency: 2, Handler: queue.HandlerFunc(func(ctx context.Context, j model.Job) queue.Result {
		n := runs.Add(1)
		if n == 1 {
			time.Sleep(800 * time.Millisecond) // stalls past its lease; the job is claimed again
		}
		return queue.Done(func(ctx context.Context, tx *store.Tx) error {
			return tx.PutSetting(ctx, fmt.Sprint("run", n), "done", time.Now())
		})
	})}, queue.Options{Lease: 200 * time.Millisecond})
	enqueue(t, s, model.Job{Ref: "slow"})
	eventually(t, "the second run committed", func() bool {
		_, err := s.Setting(t.Context(), "run2")
		return err == nil
	})
	time.Sleep(time.Second) // let the stalled first run come back and try to record
	if _, err := s.Setting(t.Context(), "run1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the run whose lease lapsed committed its writes: %v", err)
	}
}

// New deliveries are born leased to the running runner and start without a claim; those that
// do not fit its slots wait in its backlog or go back to the queue; every one runs once, the
// caps hold whichever path started a delivery, and what is left in the backlog at shutdown
// goes back to the queue.
func TestAdoptedDeliveriesRunOnceAndGoBackAtShutdown(t *testing.T) {
	s := ibikitest.NewStore(t)
	ctx := t.Context()
	for _, id := range []string{"acme", "beta"} {
		ibikitest.Must(t, s.InTx(ctx, func(tx *store.Tx) error {
			return tx.InsertClient(ctx, model.Client{ID: id, Name: id, Active: true, WebhookSecret: "whsec_x"})
		}))
	}
	enqueueDelivery := func(client, id string) {
		t.Helper()
		ibikitest.Must(t, s.InTx(ctx, func(tx *store.Tx) error {
			return tx.EnqueueDelivery(ctx, model.Delivery{ID: id, ClientID: client, ConversationID: "conv_" + id,
				Type: model.EventMessageReceived, Payload: []byte(`{}`), Status: model.DeliveryPending, CreatedAt: time.Now()})
		}))
	}
	// counts reads the queue once: running and queued deliveries.
	counts := func() (running, queued int64) {
		stats, err := queue.Stats(ctx, s)
		ibikitest.Must(t, err)
		for _, st := range stats {
			switch {
			case st.Kind != model.JobWebhook:
			case st.State == model.JobRunning:
				running = st.Count
			case st.State == model.JobQueued:
				queued = st.Count
			}
		}
		return running, queued
	}
	var (
		mu                 sync.Mutex
		runs               = map[string]int{}
		inFlight           = map[string]int{}
		maxAll, maxClient  int
		release            = make(chan struct{})
		totalFlight, ended int
	)
	started := func(prefix string) int {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for ref := range runs {
			if strings.HasPrefix(ref, prefix) {
				n++
			}
		}
		return n
	}
	r := queue.New(s, queue.Options{Poll: 20 * time.Millisecond, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	r.Register(queue.Kind{Kind: model.JobWebhook, Concurrency: 2, PerClient: 2,
		Handler: queue.HandlerFunc(func(ctx context.Context, j model.Job) queue.Result {
			if j.Kind != model.JobWebhook || j.OrderKey != "conv_"+j.Ref || j.Attempts != 1 {
				t.Errorf("delivery %s ran as %+v, want a webhook job of its conversation, on its first claim", j.Ref, j)
			}
			mu.Lock()
			runs[j.Ref]++
			inFlight[j.ClientID]++
			totalFlight++
			maxAll, maxClient = max(maxAll, totalFlight), max(maxClient, inFlight[j.ClientID])
			gate := release
			mu.Unlock()
			if !strings.HasPrefix(j.Ref, "probe") {
				<-gate
			}
			mu.Lock()
			inFlight[j.ClientID]--
			totalFlight--
			ended++
			mu.Unlock()
			return queue.Result{}
		})})
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(runCtx); close(done) }()
	// Wait until the runner adopts: a probe born running rather than queued.
	probes := 0
	eventually(t, "the runner adopts new deliveries", func() bool {
		probes++
		enqueueDelivery("acme", fmt.Sprint("probe_", probes))
		running, _ := counts()
		eventually(t, "the probe ran", func() bool { r, q := counts(); return r+q == 0 })
		return running == 1
	})
	eventually(t, "the probes ended", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return ended == probes
	})
	mu.Lock()
	clear(runs)
	ended = 0
	mu.Unlock()

	// acme fills both slots (its cap); the rest wait in the backlog or the queue.
	for i := range 10 {
		enqueueDelivery("acme", fmt.Sprint("a_", i))
	}
	for i := range 3 {
		enqueueDelivery("beta", fmt.Sprint("b_", i))
	}
	eventually(t, "two started, the other eleven waiting", func() bool {
		running, queued := counts()
		return started("") == 2 && running+queued == 13
	})
	mu.Lock()
	close(release)
	mu.Unlock()
	eventually(t, "every delivery ran", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return ended == 13
	})
	eventually(t, "the queue is empty", func() bool { r, q := counts(); return r+q == 0 })
	mu.Lock()
	for ref, n := range map[string]int{"a_": 10, "b_": 3} {
		for i := range n {
			if got := runs[fmt.Sprint(ref, i)]; got != 1 {
				t.Errorf("%s%d ran %d times", ref, i, got)
			}
		}
	}
	if maxAll > 2 || maxClient > 2 {
		t.Errorf("at most %d ran at once (%d of one client); the caps are 2 and 2", maxAll, maxClient)
	}
	release = make(chan struct{})
	mu.Unlock()

	// At shutdown, adopted deliveries that never started go back to the queue.
	for i := range 2 {
		enqueueDelivery("acme", fmt.Sprint("late_a", i))
	}
	eventually(t, "two late ones running", func() bool { return started("late_a") == 2 })
	for i := range 2 {
		enqueueDelivery("beta", fmt.Sprint("late_b", i))
	}
	eventually(t, "beta's late ones waiting", func() bool { r, q := counts(); return r+q == 4 })
	stop()
	<-time.After(50 * time.Millisecond) // the loop has stopped adopting and given its backlog back
	mu.Lock()
	close(release)
	mu.Unlock()
	<-done
	if running, queued := counts(); running != 0 || queued != 2 {
		t.Errorf("after shutdown %d running and %d queued, want 0 and the 2 that never started", running, queued)
	}
	if n := started("late_b"); n != 0 {
		t.Errorf("%d of beta's late deliveries started, want none (no free slot)", n)
	}
}

// endTogether runs one job per ref with as many slots, holds every first run until all have
// started, lets them end at once with result's outcome, waits for the queue to empty, and
// returns how many transactions the store carried from the release on.
func endTogether(t *testing.T, s *store.Store, refs []string, result func(model.Job) queue.Result) int64 {
	t.Helper()
	var (
		release = make(chan struct{})
		arrived atomic.Int32
		n       = int32(len(refs))
	)
	start(t, s, queue.Kind{Concurrency: len(refs), Backoff: func(int) time.Duration { return 10 * time.Millisecond },
		Handler: queue.HandlerFunc(func(ctx context.Context, j model.Job) queue.Result {
			if arrived.Add(1) <= n {
				<-release // the first runs end at once
			}
			return result(j)
		})}, queue.Options{})
	jobs := make([]model.Job, len(refs))
	for i, ref := range refs {
		jobs[i] = model.Job{Ref: ref, ClientID: "acme"}
	}
	enqueue(t, s, jobs...)
	eventually(t, "every run started", func() bool { return arrived.Load() >= n })
	before := s.Stats().Transactions
	close(release)
	eventually(t, "the queue is empty", func() bool {
		st, _ := queue.Stats(t.Context(), s)
		return len(st) == 0
	})
	return s.Stats().Transactions - before
}

func refs(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprint(i)
	}
	return out
}

// Runs that end together have their outcomes recorded together (one transaction for many, one
// statement for the jobs that simply finished); a write that fails in such a batch undoes
// nothing of the others', and its own run is retried.
func TestRunsThatEndTogetherAreRecordedTogether(t *testing.T) {
	s := ibikitest.NewStore(t)
	var badFails atomic.Int32
	all := append(refs(63), "bad")
	tx := endTogether(t, s, all, func(j model.Job) queue.Result {
		return queue.Done(func(ctx context.Context, tx *store.Tx) error {
			if j.Ref == "bad" && badFails.Load() < 1 {
				badFails.Add(1) // fails once, in the batch; its retry succeeds
				return errors.New("write failed")
			}
			return tx.PutSetting(ctx, "ran:"+j.Ref, "yes", time.Now())
		})
	})
	for _, ref := range all {
		if v, err := s.Setting(t.Context(), "ran:"+ref); err != nil || v != "yes" {
			t.Errorf("job %s: its write = %q, %v", ref, v, err)
		}
	}
	if badFails.Load() != 1 {
		t.Errorf("the failing write ran %d times failing, want once", badFails.Load())
	}
	// With the batch that failed recorded one by one, the good batches are what is left.
	t.Logf("%d transactions recorded %d runs (and the failed batch again one by one)", tx, len(all))
}

// Without a failure, ending together costs a few transactions, not one per run.
func TestRunsThatEndTogetherShareTheirTransactions(t *testing.T) {
	s := ibikitest.NewStore(t)
	const n = 64
	if tx := endTogether(t, s, refs(n), func(model.Job) queue.Result { return queue.Result{} }); tx > n/4 {
		t.Errorf("%d runs that ended together took %d transactions to record; want them batched", n, tx)
	}
}

// A kind's Claimed step that fails does not stop the claim: the jobs are claimed again without
// it and run.
func TestAFailingClaimedStepDoesNotStopTheQueue(t *testing.T) {
	s := ibikitest.NewStore(t)
	var ran, hooked atomic.Int32
	start(t, s, queue.Kind{Concurrency: 4,
		Claimed: func(ctx context.Context, tx *store.Tx, jobs []model.Job) error {
			hooked.Add(1)
			return errors.New("the step failed")
		},
		Handler: queue.HandlerFunc(func(ctx context.Context, j model.Job) queue.Result {
			ran.Add(1)
			return queue.Result{}
		})}, queue.Options{})
	enqueue(t, s, model.Job{Ref: "1", ClientID: "acme"}, model.Job{Ref: "2", ClientID: "acme"})
	eventually(t, "both jobs ran", func() bool { return ran.Load() == 2 })
	if hooked.Load() == 0 {
		t.Error("the Claimed step never ran")
	}
}
