package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3" // the "sqlite3" driver, for a fixture written outside the store

	"github.com/ibiki/ibiki/internal/ibikitest"
	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/store"
)

func delivery(id, conv string) model.Delivery {
	return model.Delivery{ID: id, ClientID: "acme", ConversationID: conv, Type: model.EventMessageReceived,
		Payload: []byte(`{}`), Status: model.DeliveryPending, CreatedAt: t0}
}

func enqueueDeliveries(t *testing.T, s *store.Store, ds ...model.Delivery) {
	t.Helper()
	ibikitest.Must(t, s.InTx(t.Context(), func(tx *store.Tx) error {
		for _, d := range ds {
			if err := tx.EnqueueDelivery(t.Context(), d); err != nil {
				return err
			}
		}
		return nil
	}))
}

func claimDeliveries(t *testing.T, s *store.Store, n int) []model.Job {
	t.Helper()
	var jobs []model.Job
	ibikitest.Must(t, s.InTx(t.Context(), func(tx *store.Tx) (err error) {
		jobs = nil
		lanes, err := tx.DeliveryLanes(t.Context())
		if err != nil || len(lanes) == 0 {
			return err
		}
		if l := lanes[0]; l.Priority != model.PriorityInteractive || l.ClientID != "acme" {
			return fmt.Errorf("lane %+v, want acme's at interactive priority", l)
		}
		jobs, err = tx.ClaimDeliveries(t.Context(), lanes[0].ClientID, t0.Add(time.Hour), t0.Add(2*time.Hour), "me", n)
		return err
	}))
	return jobs
}

func refs(jobs []model.Job) string {
	var out []string
	for _, j := range jobs {
		out = append(out, j.Ref)
	}
	return strings.Join(out, ",")
}

func finish(t *testing.T, s *store.Store, j model.Job) bool {
	t.Helper()
	var ok bool
	ibikitest.Must(t, s.InTx(t.Context(), func(tx *store.Tx) (err error) {
		ok, err = tx.DequeueDelivery(t.Context(), j)
		return err
	}))
	return ok
}

// lessee takes new deliveries as the queue runner does, recording them.
type lessee struct {
	mu    sync.Mutex
	until time.Time
	taken []model.Job
}

func (l *lessee) Lease() (string, time.Time) { return "me", l.until }

func (l *lessee) Take(j model.Job) {
	l.mu.Lock()
	l.taken = append(l.taken, j)
	l.mu.Unlock()
}

func (l *lessee) jobs() []model.Job {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]model.Job(nil), l.taken...)
}

// queueStat returns the count of the deliveries in the queue in one state.
func queueStat(t *testing.T, s *store.Store, state model.JobState) int64 {
	t.Helper()
	return countIn(t, s.DeliveryQueueStats, state)
}

// countIn returns the count of one state in a queue's stats.
func countIn(t *testing.T, stats func(context.Context) ([]store.QueueStat, error), state model.JobState) int64 {
	t.Helper()
	all, err := stats(t.Context())
	ibikitest.Must(t, err)
	for _, st := range all {
		if st.State == state {
			return st.Count
		}
	}
	return 0
}

// Deliveries of one conversation go one at a time, in order; other conversations do not wait.
func TestDeliveriesOfAConversationRunOneAtATime(t *testing.T) {
	s := ibikitest.NewStore(t)
	addClient(t, s, "acme")
	enqueueDeliveries(t, s, delivery("evt_1", "conv_a"), delivery("evt_2", "conv_a"), delivery("evt_3", "conv_b"),
		delivery("evt_4", "conv_a"), delivery("evt_5", ""))
	jobs := claimDeliveries(t, s, 10)
	if got := refs(jobs); got != "evt_1,evt_3,evt_5" {
		t.Fatalf("claimed %s, want evt_1,evt_3,evt_5 (evt_2 and evt_4 wait behind evt_1)", got)
	}
	if j := jobs[0]; j.OrderKey != "conv_a" || j.Attempts != 1 || j.ClientID != "acme" || j.Ref != "evt_1" {
		t.Fatalf("job = %+v", j)
	}
	stale := jobs[0]
	stale.Attempts = 7
	if finish(t, s, stale) {
		t.Fatal("a run that does not hold the current claim finished the delivery")
	}
	if !finish(t, s, jobs[0]) {
		t.Fatal("finish did not apply")
	}
	if got := refs(claimDeliveries(t, s, 10)); got != "evt_2" {
		t.Fatalf("after evt_1 claimed %q, want evt_2", got)
	}
}

// The deliveries a function enqueues for a conversation it has just created wait for each other
// too (on SQLite the first one skips the look for deliveries ahead: there can be none).
func TestDeliveriesOfANewConversationRunOneAtATime(t *testing.T) {
	s := ibikitest.NewStore(t)
	addClient(t, s, "acme")
	m := model.Message{ID: "msg_in", Direction: model.Inbound, Channel: model.ChannelSMS, From: "+15550001",
		To: "+15557654321", Body: "STOP", Status: model.StatusReceived, Provider: "p", ReceivedAt: t0, CreatedAt: t0}
	var conv string
	ibikitest.Must(t, s.InTx(t.Context(), func(tx *store.Tx) (err error) {
		if conv, err = tx.TouchInbound(t.Context(), "acme", m, "conv_new"); err != nil {
			return err
		}
		for _, id := range []string{"evt_received", "evt_optout"} {
			if err := tx.EnqueueDelivery(t.Context(), delivery(id, conv)); err != nil {
				return err
			}
		}
		return nil
	}))
	jobs := claimDeliveries(t, s, 10)
	if got := refs(jobs); conv != "conv_new" || got != "evt_received" {
		t.Fatalf("conversation %s, claimed %s; want conv_new, and evt_received alone (evt_optout waits behind it)", conv, got)
	}
	if !finish(t, s, jobs[0]) {
		t.Fatal("finish did not apply")
	}
	if got := refs(claimDeliveries(t, s, 10)); got != "evt_optout" {
		t.Fatalf("after evt_received claimed %q, want evt_optout", got)
	}
}

// A new delivery is born leased to the registered Lessee, and handed to it only once its
// transaction commits; one that must wait is born waiting and is not handed over.
func TestNewDeliveriesAreBornLeasedToTheLessee(t *testing.T) {
	s := ibikitest.NewStore(t)
	addClient(t, s, "acme")
	l := &lessee{until: t0.Add(time.Minute)}
	s.LeaseNewDeliveries(l)
	enqueueDeliveries(t, s, delivery("evt_1", "conv_a"), delivery("evt_2", "conv_a"))
	err := s.InTx(t.Context(), func(tx *store.Tx) error {
		if err := tx.EnqueueDelivery(t.Context(), delivery("evt_9", "conv_c")); err != nil {
			return err
		}
		return context.Canceled // rolled back: never handed over
	})
	if err == nil {
		t.Fatal("the failing transaction succeeded")
	}
	got := l.jobs()
	if refs(got) != "evt_1" {
		t.Fatalf("adopted %q, want evt_1 only", refs(got))
	}
	if j := got[0]; j.Attempts != 1 || !j.LeaseUntil.Equal(t0.Add(time.Minute)) || j.OrderKey != "conv_a" {
		t.Fatalf("adopted job = %+v", j)
	}
	if jobs := claimDeliveries(t, s, 10); len(jobs) != 0 {
		t.Fatalf("claimed %s: an adopted delivery and one waiting behind it are not claimable", refs(jobs))
	}
	if !finish(t, s, got[0]) {
		t.Fatal("the adopter could not finish its delivery")
	}
	if got := refs(claimDeliveries(t, s, 10)); got != "evt_2" {
		t.Fatalf("claimed %q, want evt_2", got)
	}
	s.LeaseNewDeliveries(nil)
	enqueueDeliveries(t, s, delivery("evt_3", "conv_d"))
	if got := refs(claimDeliveries(t, s, 10)); got != "evt_3" {
		t.Fatalf("without a lessee a new delivery is queued: claimed %q", got)
	}
	if n := len(l.jobs()); n != 1 {
		t.Fatalf("the lessee took %d deliveries, want only evt_1", n)
	}
}

// Retries, deferrals, lapsed leases and a restart put a delivery back in the queue; a replay
// queues a finished delivery behind its conversation's unfinished ones.
func TestDeliveryQueueStates(t *testing.T) {
	s := ibikitest.NewStore(t)
	ctx := t.Context()
	addClient(t, s, "acme")
	enqueueDeliveries(t, s, delivery("evt_1", "conv_a"))
	j := claimDeliveries(t, s, 1)[0]
	later := t0.Add(30 * time.Minute)
	ibikitest.Must(t, s.InTx(ctx, func(tx *store.Tx) error { _, err := tx.RetryDelivery(ctx, j, later); return err }))
	d, err := s.DeliveryByID(ctx, "evt_1")
	if err != nil || !d.NextAttemptAt.Equal(later) {
		t.Fatalf("after a retry: next attempt %v, %v; want %v", d.NextAttemptAt, err, later)
	}
	j = claimDeliveries(t, s, 1)[0]
	if j.Attempts != 2 {
		t.Fatalf("claims = %d, want 2", j.Attempts)
	}
	ibikitest.Must(t, s.InTx(ctx, func(tx *store.Tx) error { _, err := tx.DeferDelivery(ctx, j, t0); return err }))
	if j = claimDeliveries(t, s, 1)[0]; j.Attempts != 2 {
		t.Fatalf("claims after a deferral = %d, want 2 (a deferral is not a claim)", j.Attempts)
	}
	var n int64
	ibikitest.Must(t, s.InTx(ctx, func(tx *store.Tx) (err error) {
		n, err = tx.ReleaseExpiredDeliveries(ctx, t0.Add(3*time.Hour))
		return err
	}))
	if n != 1 {
		t.Fatalf("released %d lapsed leases, want 1", n)
	}
	j = claimDeliveries(t, s, 1)[0]
	ibikitest.Must(t, s.InTx(ctx, func(tx *store.Tx) (err error) { n, err = tx.ReleaseRunningDeliveries(ctx); return err }))
	if n != 1 {
		t.Fatalf("released %d running at start, want 1", n)
	}
	j = claimDeliveries(t, s, 1)[0]
	if !finish(t, s, j) {
		t.Fatal("finish did not apply")
	}
	beforeReplay := j

	// Replay: evt_1 (finished) goes behind evt_2, which is unfinished in the same conversation.
	enqueueDeliveries(t, s, delivery("evt_2", "conv_a"))
	d, _ = s.DeliveryByID(ctx, "evt_1")
	d.Status, d.Attempts = model.DeliveryPending, 0
	ibikitest.Must(t, s.InTx(ctx, func(tx *store.Tx) error { return tx.RequeueDelivery(ctx, d) }))
	err = s.InTx(ctx, func(tx *store.Tx) error { return tx.RequeueDelivery(ctx, d) })
	if err == nil {
		t.Fatal("a delivery still in the queue was requeued")
	}
	j = claimDeliveries(t, s, 5)[0]
	if j.Ref != "evt_2" {
		t.Fatalf("claimed %s, want evt_2 first", j.Ref)
	}
	finish(t, s, j)
	replayed := claimDeliveries(t, s, 5)
	if got := refs(replayed); got != "evt_1" {
		t.Fatalf("claimed %q, want the replayed evt_1", got)
	}
	if replayed[0].Attempts <= beforeReplay.Attempts {
		t.Fatalf("claims after the replay = %d, want more than %d: a run from before the replay must not match",
			replayed[0].Attempts, beforeReplay.Attempts)
	}
	if finish(t, s, beforeReplay) {
		t.Fatal("a run from before the replay finished the replayed delivery")
	}
	if n := queueStat(t, s, model.JobRunning); n != 1 {
		t.Fatalf("running deliveries in the queue stats = %d, want 1", n)
	}
}

// The webhook jobs of a database from before deliveries were their own jobs carry over.
func TestMigrationMovesWebhookJobsIntoDeliveries(t *testing.T) {
	ctx := context.Background()
	url := ibikitest.DatabaseURL(t)
	migratedTo(t, url, 8)
	db, ph := rawDB(t, url)
	at := t0.UnixMilli()
	for _, q := range []string{
		`INSERT INTO clients (id, name, webhook_secret, created_at, updated_at) VALUES ('acme', 'Acme', 'whsec_x', 0, 0)`,
		`INSERT INTO deliveries (id, client_id, conversation_id, type, payload, status, created_at)
			VALUES ('evt_run', 'acme', 'conv_a', 'message.received', '{}', 'pending', 0),
			('evt_wait', 'acme', 'conv_a', 'message.received', '{}', 'pending', 0),
			('evt_done', 'acme', 'conv_b', 'message.received', '{}', 'succeeded', 0)`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	for _, j := range []struct{ state, ref string }{{"running", "evt_run"}, {"waiting", "evt_wait"}} {
		if _, err := db.ExecContext(ctx, ph(`INSERT INTO jobs (kind, state, client_id, ref, order_key, priority, run_at, created_at)
			VALUES ('webhook', ?, 'acme', ?, 'conv_a', 0, ?, 0)`), j.state, j.ref, at); err != nil {
			t.Fatal(err)
		}
	}
	ibikitest.Must(t, db.Close())

	s := ibikitest.OpenStore(t, url)
	if got := refs(claimDeliveries(t, s, 5)); got != "evt_run" {
		t.Fatalf("claimed %q after the migration, want evt_run (evt_wait waits behind it)", got)
	}
	if waiting := queueStat(t, s, model.JobWaiting); waiting != 1 {
		t.Fatalf("waiting deliveries = %d, want 1 (evt_wait)", waiting)
	}
	jobs, err := s.JobQueueStats(ctx)
	ibikitest.Must(t, err)
	for _, st := range jobs {
		if st.Kind == model.JobWebhook {
			t.Fatalf("the jobs table still holds webhook jobs: %+v", jobs)
		}
	}
}

// migratedTo leaves the database at url migrated up to version, as an older build left it.
func migratedTo(t *testing.T, url string, version int64) {
	t.Helper()
	old, err := store.Open(t.Context(), url, store.Options{})
	ibikitest.Must(t, err)
	if _, err := old.MigrateTo(t.Context(), version); err != nil {
		t.Fatal(err)
	}
	ibikitest.Must(t, old.Close())
}

// rawDB opens the database at url directly, not through the store (to write a fixture as an
// older build would have, or to read a table the store does not), and closes it when the test
// ends. ph rewrites a statement's ? placeholders for the engine.
func rawDB(t *testing.T, url string) (db *sql.DB, ph func(string) string) {
	t.Helper()
	driver := "pgx"
	if ibikitest.Engine() == store.SQLite {
		driver = "sqlite3"
	}
	db, err := sql.Open(driver, url)
	ibikitest.Must(t, err)
	t.Cleanup(func() { db.Close() })
	return db, func(q string) string {
		if driver == "sqlite3" {
			return q
		}
		for i := 1; strings.Contains(q, "?"); i++ {
			q = strings.Replace(q, "?", fmt.Sprintf("$%d", i), 1)
		}
		return q
	}
}

var errStale = errors.New("stale run")

// FinishDelivery saves the final state with the attempt and takes the delivery out of the queue
// in one go, letting the next of its conversation run; a stale run changes nothing.
func TestFinishDeliverySavesStateAndLeavesTheQueue(t *testing.T) {
	s := ibikitest.NewStore(t)
	ctx := t.Context()
	addClient(t, s, "acme")
	enqueueDeliveries(t, s, delivery("evt_1", "conv_a"), delivery("evt_2", "conv_a"))
	jobs := claimDeliveries(t, s, 10)
	if got := refs(jobs); got != "evt_1" {
		t.Fatalf("claimed %s, want evt_1", got)
	}
	d, err := s.DeliveryByID(ctx, "evt_1")
	ibikitest.Must(t, err)
	d.Status, d.Attempts, d.LastStatusCode, d.CompletedAt = model.DeliverySucceeded, 1, 200, t0.Add(time.Hour)
	a := model.Attempt{DeliveryID: "evt_1", ClientID: "acme", At: t0.Add(time.Hour), URL: "http://x", StatusCode: 200}

	finishWith := func(j model.Job) (ok bool) {
		t.Helper()
		err := s.InTx(ctx, func(tx *store.Tx) (err error) {
			ok, err = tx.FinishDelivery(ctx, j, &a, d)
			if !ok && err == nil {
				err = errStale // as the runner does: a lost lease rolls back
			}
			return err
		})
		if err != nil && !errors.Is(err, errStale) {
			t.Fatal(err)
		}
		return ok
	}
	stale := jobs[0]
	stale.Attempts = 3
	if finishWith(stale) {
		t.Fatal("a run with a stale claim count finished the delivery")
	}
	if got, _ := s.DeliveryByID(ctx, "evt_1"); got.Status != model.DeliveryPending {
		t.Fatalf("after the stale run: status %s, want pending", got.Status)
	}
	if !finishWith(jobs[0]) {
		t.Fatal("the run holding the delivery could not finish it")
	}
	got, err := s.DeliveryByID(ctx, "evt_1")
	ibikitest.Must(t, err)
	if got.Status != model.DeliverySucceeded || got.Attempts != 1 || got.LastStatusCode != 200 || !got.CompletedAt.Equal(d.CompletedAt) {
		t.Errorf("delivery %+v, want succeeded after 1 attempt (200)", got)
	}
	att, err := s.Attempts(ctx, "evt_1")
	ibikitest.Must(t, err)
	if len(att["evt_1"]) != 1 || att["evt_1"][0].StatusCode != 200 {
		t.Errorf("attempts %+v, want the one 200 (none from the stale run)", att)
	}
	if got := refs(claimDeliveries(t, s, 10)); got != "evt_2" {
		t.Errorf("claimed %s after evt_1 finished, want evt_2", got)
	}
	if finishWith(jobs[0]) {
		t.Error("a finished delivery finished a second time")
	}
}
