package store

import (
	"context"
	"testing"
	"time"

	"github.com/ibiki/ibiki/internal/model"
)

// A job left waiting with nothing ahead of it (its head finished without promoting it: enqueued
// by a build that did not mark the head followed) is let run by PromoteStranded; a waiting job
// with a head, and the rest of a stranded key, stay waiting.
func TestPromoteStrandedLetsRunTheFirstOfAnOrphanedKey(t *testing.T) {
	s, _ := openSQLiteForTest(t, 1)
	ctx := context.Background()
	now := time.Now()
	enqueue := func(ref, key string) {
		if err := s.InTx(ctx, func(tx *Tx) error {
			_, err := tx.Enqueue(ctx, model.Job{Kind: model.JobSend, ClientID: "c", Ref: ref, OrderKey: key, RunAt: now, CreatedAt: now})
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	enqueue("a1", "a")
	enqueue("a2", "a")
	enqueue("a3", "a")
	enqueue("b1", "b")
	enqueue("b2", "b")
	// As an old build would have left it: a1 finished without knowing a2 waits.
	if err := s.InTx(ctx, func(tx *Tx) error {
		_, err := tx.exec(ctx, `DELETE FROM jobs WHERE ref = 'a1'`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	var n int64
	if err := s.InTx(ctx, func(tx *Tx) (err error) {
		n, err = tx.PromoteStranded(ctx)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	states := map[string]string{}
	rows, err := s.read.QueryContext(ctx, `SELECT ref, state FROM jobs`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var ref, state string
		rows.Scan(&ref, &state)
		states[ref] = state
	}
	rows.Close()
	want := map[string]string{"a2": "queued", "a3": "waiting", "b1": "queued", "b2": "waiting"}
	for ref, st := range want {
		if states[ref] != st {
			t.Errorf("%s is %q, want %q (all: %v)", ref, states[ref], st, states)
		}
	}
	if n != 1 {
		t.Errorf("PromoteStranded = %d, want 1", n)
	}
}
