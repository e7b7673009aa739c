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
		st, _ := s.QueueStats(t.Context())
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
		st, _ := s.QueueStats(t.Context())
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

func TestAJobWhoseWorkerDiedRunsAfterItsLease(t *testing.T) {
	s := ibikitest.NewStore(t)
	enqueue(t, s, model.Job{Ref: "orphan"})
	// A worker of another process claims the job and dies.
	ibikitest.Must(t, s.InTx(t.Context(), func(tx *store.Tx) error {
		lanes, err := tx.Lanes(t.Context(), kind)
		if err != nil || len(lanes) != 1 {
			return fmt.Errorf("lanes %v: %w", lanes, err)
		}
		now := time.Now()
		jobs, err := tx.Claim(t.Context(), kind, lanes[0], now, now.Add(200*time.Millisecond), "dead-process", 10)
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
// do not fit its slots wait in its backlog (when their client could run them) or go back to the
// queue; every one runs once, and what is left in the backlog at shutdown goes back to the
// queue.
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
	count := func(state model.JobState) int64 {
		stats, err := s.QueueStats(ctx)
		ibikitest.Must(t, err)
		for _, st := range stats {
			if st.Kind == model.JobWebhook && st.State == state {
				return st.Count
			}
		}
		return 0
	}
	var (
		mu      sync.Mutex
		runs    = map[string]int{}
		release = make(chan struct{})
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
			mu.Lock()
			runs[j.Ref]++
			gate := release
			mu.Unlock()
			if !strings.HasPrefix(j.Ref, "probe") {
				<-gate
			}
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
		born := count(model.JobRunning) == 1
		eventually(t, "the probe ran", func() bool { return count(model.JobRunning)+count(model.JobQueued) == 0 })
		return born
	})
	mu.Lock()
	clear(runs)
	mu.Unlock()

	// acme fills both slots (its cap): its other eight go back to the queue. beta's wait in
	// the backlog, as many as beta may run (two); its third goes back to the queue.
	for i := range 10 {
		enqueueDelivery("acme", fmt.Sprint("a_", i))
	}
	for i := range 3 {
		enqueueDelivery("beta", fmt.Sprint("b_", i))
	}
	eventually(t, "four born running (two run, two in the backlog), nine queued", func() bool {
		return count(model.JobRunning) == 4 && count(model.JobQueued) == 9
	})
	if n := started(""); n != 2 {
		t.Errorf("%d started, want 2", n)
	}
	mu.Lock()
	close(release)
	mu.Unlock()
	eventually(t, "every delivery ran", func() bool { return count(model.JobRunning)+count(model.JobQueued) == 0 })
	mu.Lock()
	for _, ref := range []string{"a_", "b_"} {
		n := 10
		if ref == "b_" {
			n = 3
		}
		for i := range n {
			if got := runs[fmt.Sprint(ref, i)]; got != 1 {
				t.Errorf("%s%d ran %d times", ref, i, got)
			}
		}
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
	eventually(t, "two in the backlog", func() bool { return count(model.JobRunning) == 4 })
	stop()
	mu.Lock()
	close(release)
	mu.Unlock()
	<-done
	if got := count(model.JobQueued); got != 2 {
		t.Errorf("after shutdown %d queued, want the 2 that never started", got)
	}
	if got := count(model.JobRunning); got != 0 {
		t.Errorf("after shutdown %d still running", got)
	}
	if n := started("late_b"); n != 0 {
		t.Errorf("%d of beta's late deliveries started, want none (no free slot)", n)
	}
}
