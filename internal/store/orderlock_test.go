package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
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

// finishDuringEnqueue runs enqueue in a transaction that stays open once its writes are done,
// and finish meanwhile in another; the first commits only once the second has ended, or has had
// 300 ms to (it must wait, on PostgreSQL, for the conversation's lock the first holds). Whatever
// the timing, a correct store lets the enqueued job run after the finish: the finish either
// waited and saw it, or the enqueue saw the head gone. (On SQLite the finish waits for the one
// writer.)
func finishDuringEnqueue(t *testing.T, s *store.Store, enqueue, finish func(ctx context.Context, tx *store.Tx) error) {
	t.Helper()
	ctx := t.Context()
	written, release := make(chan struct{}), make(chan struct{})
	enqueued := make(chan error, 1)
	go func() {
		once := false
		enqueued <- s.InTx(ctx, func(tx *store.Tx) error {
			if err := enqueue(ctx, tx); err != nil {
				return err
			}
			if !once {
				once = true
				close(written)
				<-release
			}
			return nil
		})
	}()
	select {
	case <-written:
	case err := <-enqueued:
		t.Fatalf("enqueue: %v", err)
	}
	finished := make(chan error, 1)
	go func() { finished <- s.InTx(ctx, func(tx *store.Tx) error { return finish(ctx, tx) }) }()
	var err error
	select {
	case err = <-finished:
		close(release)
	case <-time.After(300 * time.Millisecond):
		close(release)
		err = <-finished
	}
	ibikitest.Must(t, err)
	ibikitest.Must(t, <-enqueued)
}

// A delivery enqueued behind its conversation's head while the head finishes runs next: the
// enqueue (the conversation's write takes the lock on PostgreSQL) and the finish decide in turn.
func TestADeliveryEnqueuedWhileItsHeadFinishesRunsNext(t *testing.T) {
	s := ibikitest.NewStore(t)
	ctx := t.Context()
	addClient(t, s, "acme")
	touchAndEnqueue := func(id, msg string) func(ctx context.Context, tx *store.Tx) error {
		return func(ctx context.Context, tx *store.Tx) error {
			conv, err := tx.TouchInbound(ctx, "acme", inbound(msg, msg, "+15551230001"), "conv_a")
			if err != nil {
				return err
			}
			return tx.EnqueueDelivery(ctx, delivery(id, conv))
		}
	}
	ibikitest.Must(t, s.InTx(ctx, func(tx *store.Tx) error { return touchAndEnqueue("evt_1", "msg_1")(ctx, tx) }))
	head := claimDeliveries(t, s, 10)
	if refs(head) != "evt_1" {
		t.Fatalf("claimed %s, want evt_1", refs(head))
	}
	finishDuringEnqueue(t, s, touchAndEnqueue("evt_2", "msg_2"), func(ctx context.Context, tx *store.Tx) error {
		ok, err := tx.DequeueDelivery(ctx, head[0])
		if err == nil && !ok {
			err = errors.New("the head could not leave the queue")
		}
		return err
	})
	if got := refs(claimDeliveries(t, s, 10)); got != "evt_2" {
		t.Fatalf("claimed %q after the head finished, want evt_2 (waiting %d, queued %d)", got,
			queueStat(t, s, model.JobWaiting), queueStat(t, s, model.JobQueued))
	}
}
