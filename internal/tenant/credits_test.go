package tenant_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/ibiki/ibiki/internal/ibikitest"
	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/store"
	"github.com/ibiki/ibiki/internal/tenant"
)

func TestTopUp(t *testing.T) {
	s := newService(t)
	mustCreate(t, s, "acme")
	moves := []struct {
		name        string
		amount      int64
		reference   string
		wantKind    model.LedgerKind
		wantBalance int64
		wantRef     string
	}{
		{"a top-up adds credits", 500, "  invoice 1  ", model.LedgerTopUp, 500, "invoice 1"},
		{"a negative amount is an adjustment", -100, "fix", model.LedgerAdjustment, 400, "fix"},
		{"an adjustment may reach zero", -400, "", model.LedgerAdjustment, 0, ""},
		{"the largest top-up is accepted", tenant.MaxTopUpCents, strings.Repeat("r", 200), model.LedgerTopUp, tenant.MaxTopUpCents, strings.Repeat("r", 200)},
		{"the largest adjustment is accepted", -tenant.MaxTopUpCents, "", model.LedgerAdjustment, 0, ""},
	}
	for _, tt := range moves {
		t.Run(tt.name, func(t *testing.T) {
			c, e, err := s.TopUp(t.Context(), "acme", tt.amount, tt.reference)
			if err != nil {
				t.Fatal(err)
			}
			if c.ID != "acme" || e.ClientID != "acme" || e.Kind != tt.wantKind || e.AmountCents != tt.amount ||
				e.BalanceCents != tt.wantBalance || e.Reference != tt.wantRef || !e.CreatedAt.Equal(t0) || !strings.HasPrefix(e.ID, model.PrefixLedger) {
				t.Errorf("entry = %+v", e)
			}
			wantBalance(t, s, tt.wantBalance)
		})
	}

	refused := []struct {
		name, field string
		amount      int64
		reference   string
	}{
		{"zero is refused", "amount_cents", 0, ""},
		{"more than the maximum is refused", "amount_cents", tenant.MaxTopUpCents + 1, ""},
		{"less than minus the maximum is refused", "amount_cents", -tenant.MaxTopUpCents - 1, ""},
		{"a 201-byte reference is refused", "reference", 5, strings.Repeat("r", 201)},
		{"the amount is checked before the reference", "amount_cents", 0, strings.Repeat("r", 201)},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := s.TopUp(t.Context(), "acme", tt.amount, tt.reference)
			wantField(t, err, tt.field, tenant.CodeInvalid)
			wantBalance(t, s, 0)
		})
	}

	t.Run("an adjustment below zero is insufficient credits and moves nothing", func(t *testing.T) {
		_, _, err := s.TopUp(t.Context(), "acme", 3, "")
		ibikitest.Must(t, err)
		_, _, err = s.TopUp(t.Context(), "acme", -5, "")
		var ic *store.InsufficientCreditsError
		if !errors.As(err, &ic) || ic.BalanceCents != 3 || ic.NeededCents != 5 {
			t.Fatalf("TopUp(-5) = %v, want insufficient credits (3, 5)", err)
		}
		wantBalance(t, s, 3)
	})

	t.Run("an unknown client is not found", func(t *testing.T) {
		if _, _, err := s.TopUp(t.Context(), "nobody", 5, ""); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("TopUp(nobody) = %v, want store.ErrNotFound", err)
		}
	})
}

func TestTopUpKeepsTheKeyedAnswerInTheSameTransaction(t *testing.T) {
	s := newService(t)
	mustCreate(t, s, "acme")
	keyed := func(key string, answer func(model.LedgerEntry) error) context.Context {
		return store.WithIdempotencyKey(t.Context(), &store.IdempotencyKey{Owner: store.OperatorOwner, Key: key,
			RequestHash: "h", Answer: func(result any) (store.IdempotentAnswer, error) {
				e := result.(model.LedgerEntry)
				if err := answer(e); err != nil {
					return store.IdempotentAnswer{}, err
				}
				return store.IdempotentAnswer{StatusCode: 200, Response: []byte(e.ID)}, nil
			}})
	}

	t.Run("the key's answer is made from the entry as recorded, and kept with it", func(t *testing.T) {
		var saved model.LedgerEntry
		_, e, err := s.TopUp(keyed("k1", func(e model.LedgerEntry) error { saved = e; return nil }), "acme", 7, "ref")
		if err != nil || saved != e || saved.BalanceCents != 7 {
			t.Errorf("TopUp = %+v, %v; the answer was made from %+v", e, err, saved)
		}
		a, err := s.Store.IdempotentAnswer(t.Context(), store.OperatorOwner, "k1")
		if err != nil || string(a.Response) != e.ID {
			t.Errorf("kept answer = %+v, %v; want the entry %s", a, err, e.ID)
		}
		wantBalance(t, s, 7)
	})

	t.Run("an answer that cannot be kept undoes the top-up", func(t *testing.T) {
		boom := errors.New("boom")
		_, _, err := s.TopUp(keyed("k2", func(model.LedgerEntry) error { return boom }), "acme", 100, "")
		if !errors.Is(err, boom) {
			t.Fatalf("TopUp = %v, want the answer's error", err)
		}
		wantBalance(t, s, 7)
	})
}

// wantBalance checks acme's balance and that it still equals the sum of its ledger.
func wantBalance(t *testing.T, s *tenant.Service, want int64) {
	t.Helper()
	b, err := s.Store.Balance(t.Context(), "acme")
	sum, err2 := s.Store.LedgerSum(t.Context(), "acme")
	if err != nil || err2 != nil || b != want || sum != want {
		t.Errorf("balance = %d, ledger sum = %d (%v, %v), want %d", b, sum, err, err2, want)
	}
}
