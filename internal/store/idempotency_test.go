package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ibiki/ibiki/internal/ibikitest"
	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/store"
)

// Keys belong to their owner: a client, or the operator (who is no client); one key twice for
// one owner is a conflict, and expiry removes both kinds.
func TestIdempotencyKeysByOwner(t *testing.T) {
	s := ibikitest.NewStore(t)
	addClient(t, s, "acme")
	if model.ValidClientID(store.OperatorOwner) {
		t.Fatalf("OperatorOwner %q could be a client's id", store.OperatorOwner)
	}
	save := func(owner, key, hash string) error {
		return s.InTx(t.Context(), func(tx *store.Tx) error {
			return tx.SaveIdempotentAnswer(t.Context(), owner, key, store.IdempotentAnswer{RequestHash: hash, StatusCode: 201, Response: []byte(`{}`)}, t0)
		})
	}
	ibikitest.Must(t, save("acme", "k", "client"))
	ibikitest.Must(t, save(store.OperatorOwner, "k", "operator"))
	if err := save(store.OperatorOwner, "k", "again"); !errors.Is(err, store.ErrConflict) {
		t.Errorf("the operator's key twice: %v, want ErrConflict", err)
	}
	for owner, want := range map[string]string{"acme": "client", store.OperatorOwner: "operator"} {
		got, err := s.IdempotentAnswer(t.Context(), owner, "k")
		if err != nil || got.RequestHash != want {
			t.Errorf("%s's k = %+v, %v; want hash %q", owner, got, err, want)
		}
	}
	ibikitest.Must(t, s.InTx(t.Context(), func(tx *store.Tx) error {
		n, err := tx.ExpireIdempotencyKeys(t.Context(), t0.Add(time.Millisecond), 10)
		if err == nil && n != 2 {
			t.Errorf("expired %d keys, want 2", n)
		}
		return err
	}))
}

// Tx.Done saves the answer of a keyed request in the transaction that did the work: with the
// work, or not at all; never for a request without a key, nor for a result that keeps nothing.
func TestDoneSavesTheKeyedAnswerWithTheWork(t *testing.T) {
	s := ibikitest.NewStore(t)
	keyed := func(key string, answer func(any) (store.IdempotentAnswer, error)) context.Context {
		return store.WithIdempotencyKey(t.Context(), &store.IdempotencyKey{Owner: store.OperatorOwner, Key: key,
			RequestHash: "h-" + key, At: t0, Answer: answer})
	}
	asJSON := func(result any) (store.IdempotentAnswer, error) {
		return store.IdempotentAnswer{StatusCode: 201, Response: []byte(`"` + result.(string) + `"`)}, nil
	}
	work := func(ctx context.Context, id string, fail error) error {
		return s.InTx(ctx, func(tx *store.Tx) error {
			if err := tx.InsertClient(ctx, model.Client{ID: id, Name: id, Active: true, CreatedAt: t0, UpdatedAt: t0}); err != nil {
				return err
			}
			if err := tx.Done(ctx, id); err != nil {
				return err
			}
			return fail
		})
	}
	stored := func(key string) (store.IdempotentAnswer, bool) {
		a, err := s.IdempotentAnswer(t.Context(), store.OperatorOwner, key)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			t.Fatal(err)
		}
		return a, err == nil
	}
	exists := func(id string) bool {
		_, err := s.Client(t.Context(), id)
		return err == nil
	}

	t.Run("a keyed request's answer is saved with its work", func(t *testing.T) {
		ibikitest.Must(t, work(keyed("k1", asJSON), "c1", nil))
		a, ok := stored("k1")
		if !ok || a.RequestHash != "h-k1" || a.StatusCode != 201 || string(a.Response) != `"c1"` || !exists("c1") {
			t.Errorf("stored %+v (%t), client made %t; want the rendered answer beside the client", a, ok, exists("c1"))
		}
	})
	t.Run("a request without a key saves nothing", func(t *testing.T) {
		before := countKeys(t, s)
		ibikitest.Must(t, work(t.Context(), "c2", nil))
		if n := countKeys(t, s); n != before || !exists("c2") {
			t.Errorf("%d keys stored, want %d; client made %t", n, before, exists("c2"))
		}
	})
	t.Run("a result rendered with no status keeps nothing", func(t *testing.T) {
		none := func(any) (store.IdempotentAnswer, error) { return store.IdempotentAnswer{}, nil }
		ibikitest.Must(t, work(keyed("k3", none), "c3", nil))
		if _, ok := stored("k3"); ok || !exists("c3") {
			t.Errorf("k3 stored %t, client made %t; want no answer, and the work done", ok, exists("c3"))
		}
	})
	t.Run("work that fails after Done keeps neither the work nor the answer", func(t *testing.T) {
		boom := errors.New("boom")
		if err := work(keyed("k4", asJSON), "c4", boom); !errors.Is(err, boom) {
			t.Fatalf("work = %v, want boom", err)
		}
		if _, ok := stored("k4"); ok || exists("c4") {
			t.Errorf("k4 stored %t, client made %t; want neither", ok, exists("c4"))
		}
	})
	t.Run("an answer that cannot be rendered undoes the work", func(t *testing.T) {
		bad := errors.New("cannot render")
		fail := func(any) (store.IdempotentAnswer, error) { return store.IdempotentAnswer{}, bad }
		if err := work(keyed("k5", fail), "c5", nil); !errors.Is(err, bad) || exists("c5") {
			t.Errorf("work = %v, client made %t; want the render's error and nothing made", err, exists("c5"))
		}
	})
	t.Run("a key already saved is a conflict, and the second work is undone", func(t *testing.T) {
		if err := work(keyed("k1", asJSON), "c6", nil); !errors.Is(err, store.ErrConflict) || exists("c6") {
			t.Errorf("work = %v, client made %t; want ErrConflict and nothing made", err, exists("c6"))
		}
	})
}

// countKeys counts every stored key: it expires them all in a transaction it then undoes.
func countKeys(t *testing.T, s *store.Store) int64 {
	t.Helper()
	undo := errors.New("undo")
	var n int64
	err := s.InTx(t.Context(), func(tx *store.Tx) (err error) {
		if n, err = tx.ExpireIdempotencyKeys(t.Context(), t0.Add(1000*time.Hour), 1000); err != nil {
			return err
		}
		return undo
	})
	if !errors.Is(err, undo) {
		t.Fatal(err)
	}
	return n
}
