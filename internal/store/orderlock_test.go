package store_test

import (
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ibiki/ibiki/internal/ibikitest"
	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/store"
)

// On PostgreSQL the statements that write a conversation take the lock of the order key that
// the transaction enqueues under next (its deliveries' for an inbound message, its send jobs'
// for an ordered outbound one), so that the enqueue needs no statement of its own for it; a
// bulk message (not ordered) takes none. Another connection probes the locks while the
// transaction is open.
func TestConversationWritesTakeTheOrderLockTheirEnqueueNeeds(t *testing.T) {
	if ibikitest.Engine() != store.Postgres {
		t.Skip("PostgreSQL only: SQLite has one writer and takes no locks (the suite runs this on PostgreSQL too)")
	}
	url := ibikitest.DatabaseURL(t)
	s := ibikitest.OpenStore(t, url)
	probe, err := sql.Open("pgx", url)
	ibikitest.Must(t, err)
	defer probe.Close()
	ctx := t.Context()
	addClient(t, s, "acme")
	// held reports whether another transaction holds key's lock.
	held := func(key string) bool {
		t.Helper()
		var free bool
		ibikitest.Must(t, probe.QueryRowContext(ctx, `SELECT pg_try_advisory_xact_lock(hashtextextended($1, 0))`, key).Scan(&free))
		return !free
	}
	in := inbound("msg_1", "p1", "+15551230001")
	out := model.Message{ID: "msg_2", Direction: model.Outbound, Channel: model.ChannelSMS, From: "+15550000001",
		To: "+15551230002", Body: "hello", CreatedAt: t0}
	cases := []struct {
		name  string
		touch func(tx *store.Tx) (string, error)
		key   func(conv string) string // the key that must be held, "" for none
	}{
		{"inbound, new conversation", func(tx *store.Tx) (string, error) { return tx.TouchInbound(ctx, "acme", in, "conv_in") },
			func(c string) string { return c }},
		{"inbound, known conversation", func(tx *store.Tx) (string, error) {
			return tx.TouchKnownInbound(ctx, "acme", in, "conv_in")
		}, func(c string) string { return c }},
		{"inbound, known id that is not the client's", func(tx *store.Tx) (string, error) {
			return tx.TouchKnownInbound(ctx, "acme", inbound("msg_3", "p3", "+15551230009"), "conv_other")
		}, func(c string) string { return c }},
		{"outbound, ordered", func(tx *store.Tx) (string, error) {
			id, _, err := tx.TouchOutbound(ctx, "acme", out, "conv_out", true)
			return id, err
		}, store.SendOrderKey},
		{"outbound, bulk", func(tx *store.Tx) (string, error) {
			id, _, err := tx.TouchOutbound(ctx, "acme", out, "conv_out", false)
			return id, err
		}, func(string) string { return "" }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var conv string
			ibikitest.Must(t, s.InTx(ctx, func(tx *store.Tx) (err error) {
				if conv, err = c.touch(tx); err != nil {
					return err
				}
				if key := c.key(conv); key != "" && !held(key) {
					return fmt.Errorf("the lock of %q is not held after the write", key)
				}
				for _, other := range []string{conv, store.SendOrderKey(conv)} {
					if other != c.key(conv) && held(other) {
						return fmt.Errorf("the lock of %q is held, and nothing asked for it", other)
					}
				}
				return nil
			}))
			if key := c.key(conv); key != "" && held(key) {
				t.Errorf("the lock of %q outlived its transaction", key)
			}
		})
	}
}

// Deliveries enqueued into a conversation while its head finishes, from many concurrent
// transactions, are never left waiting with nothing ahead of them: each enqueue and each finish
// decide under the conversation's lock (on PostgreSQL, taken by the conversation's write for the
// enqueue, by a statement of its own for the finish). In the end every delivery has run, in the
// order of its seq.
func TestDeliveriesEnqueuedWhileTheHeadFinishesAreNeverStranded(t *testing.T) {
	s := ibikitest.NewStore(t)
	ctx := t.Context()
	addClient(t, s, "acme")
	const writers, each = 4, 15
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				m := inbound(fmt.Sprintf("msg_%d_%d", w, i), fmt.Sprintf("p%d_%d", w, i), "+15551230001")
				err := s.InTx(ctx, func(tx *store.Tx) error {
					conv, err := tx.TouchInbound(ctx, "acme", m, "conv_new")
					if err != nil {
						return err
					}
					return tx.EnqueueDelivery(ctx, delivery(fmt.Sprintf("evt_%d_%d", w, i), conv))
				})
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	var ran []model.Job
	finishAll := func() (int, error) {
		var jobs []model.Job
		err := s.InTx(ctx, func(tx *store.Tx) (err error) {
			jobs, err = tx.ClaimDeliveries(ctx, "acme", t0.Add(time.Hour), t0.Add(2*time.Hour), "me", 10)
			return err
		})
		for _, j := range jobs {
			if err != nil {
				break
			}
			err = s.InTx(ctx, func(tx *store.Tx) error {
				ok, err := tx.DequeueDelivery(ctx, j)
				if err == nil && !ok {
					err = errors.New("a claimed delivery could not leave the queue")
				}
				return err
			})
			ran = append(ran, j)
		}
		return len(jobs), err
	}
	for writing := true; writing; {
		select {
		case <-done:
			writing = false
		case err := <-errs:
			t.Fatal(err)
		default:
		}
		if _, err := finishAll(); err != nil {
			t.Fatal(err)
		}
	}
	// Whatever the writers left, with the writers gone, runs to the end.
	for {
		n, err := finishAll()
		ibikitest.Must(t, err)
		if n == 0 {
			break
		}
	}
	if len(ran) != writers*each {
		t.Fatalf("%d deliveries ran, want %d; in the queue still: %d waiting, %d queued", len(ran), writers*each,
			queueStat(t, s, model.JobWaiting), queueStat(t, s, model.JobQueued))
	}
	for i := 1; i < len(ran); i++ {
		if ran[i].ID <= ran[i-1].ID {
			t.Fatalf("delivery %s (seq %d) ran after %s (seq %d)", ran[i].Ref, ran[i].ID, ran[i-1].Ref, ran[i-1].ID)
		}
	}
}
