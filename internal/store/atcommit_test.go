package store

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/ibiki/ibiki/internal/model"
)

// One batch of functions that move credits at the commit, committed together (the writer's
// commit driven directly, so that they surely share it): when their sum fits the balance they all
// commit with it; when it would overdraw, exactly the functions that overdraw fail, in the order
// the batch holds them, and the others commit.
func TestABatchsCreditMovesFailOnlyTheFunctionsThatOverdraw(t *testing.T) {
	s, _ := openSQLiteForTest(t, 1)
	ctx := context.Background()
	at := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	n := 0
	move := func(amount int64) func(*Tx) error {
		n++
		e := model.LedgerEntry{ID: fmt.Sprintf("led_%02d", n), ClientID: "acme", Kind: model.LedgerCharge,
			AmountCents: amount, Reference: "test", CreatedAt: at}
		return func(tx *Tx) error { return tx.MoveCreditsAtCommit(ctx, e) }
	}
	commit := func(fns ...func(*Tx) error) []error {
		batch := make([]*writeReq, len(fns))
		for i, fn := range fns {
			batch[i] = &writeReq{ctx: ctx, fn: fn, done: make(chan error, 1)}
		}
		s.commit(batch)
		errs := make([]error, len(fns))
		for i, r := range batch {
			errs[i] = <-r.done
		}
		return errs
	}
	balance := func() int64 {
		b, err := s.Balance(ctx, "acme")
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	if errs := commit(func(tx *Tx) error {
		return tx.InsertClient(ctx, model.Client{ID: "acme", Name: "Acme", Active: true, WebhookSecret: "whsec_x"})
	}, move(100), move(-30), move(-30)); errors.Join(errs...) != nil {
		t.Fatalf("a batch that fits: %v", errs)
	}
	if b := balance(); b != 40 {
		t.Fatalf("balance %d after +100 -30 -30, want 40", b)
	}
	errs := commit(move(-30), move(-30), move(20), move(-30))
	var ic *InsufficientCreditsError
	if errs[0] != nil || !errors.As(errs[1], &ic) || errs[2] != nil || errs[3] != nil {
		t.Fatalf("40 -30 -30 +20 -30: %v, want only the second refused", errs)
	}
	if ic.BalanceCents != 10 || ic.NeededCents != 30 {
		t.Fatalf("the refusal says balance %d, needed %d; want 10 and 30", ic.BalanceCents, ic.NeededCents)
	}
	if b := balance(); b != 0 {
		t.Fatalf("balance %d, want 0", b)
	}
	if sum, err := s.LedgerSum(ctx, "acme"); err != nil || sum != 0 {
		t.Fatalf("ledger sum %d (%v), want 0", sum, err)
	}
}
