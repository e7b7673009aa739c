package store_test

import (
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
