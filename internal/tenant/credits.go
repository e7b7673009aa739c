package tenant

import (
	"context"
	"fmt"
	"strings"

	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/store"
)

// MaxTopUpCents bounds one ledger movement (one million dollars): a larger one is a typo.
const MaxTopUpCents = 100_000_000

// MaxReferenceLen bounds a top-up's reference (an invoice number, a note), in bytes.
const MaxReferenceLen = 200

// TopUp adds amountCents to the client's credits; a negative amount is an adjustment that
// corrects a mistake and never takes the balance below zero (*store.InsufficientCreditsError).
// It returns the client and the entry as recorded, with the balance after it; the entry is the
// operation's result (store.Tx.Done).
func (s *Service) TopUp(ctx context.Context, id string, amountCents int64, reference string) (model.Client, model.LedgerEntry, error) {
	switch {
	case amountCents == 0 || amountCents > MaxTopUpCents || amountCents < -MaxTopUpCents:
		return model.Client{}, model.LedgerEntry{}, invalid("amount_cents",
			fmt.Sprintf("amount_cents must be a non-zero whole number of cents, at most %d either way", MaxTopUpCents))
	case len(reference) > MaxReferenceLen:
		return model.Client{}, model.LedgerEntry{}, invalid("reference",
			fmt.Sprintf("reference must be at most %d characters", MaxReferenceLen))
	}
	if err := checkText("reference", reference); err != nil {
		return model.Client{}, model.LedgerEntry{}, err
	}
	kind := model.LedgerTopUp
	if amountCents < 0 {
		kind = model.LedgerAdjustment
	}
	now := s.now()
	var (
		c model.Client
		e model.LedgerEntry
	)
	err := s.Store.InTx(ctx, func(tx *store.Tx) (err error) {
		if c, err = tx.Client(ctx, id); err != nil {
			return err
		}
		e, err = tx.MoveCredits(ctx, model.LedgerEntry{ID: model.NewIDAt(model.PrefixLedger, now), ClientID: c.ID,
			Kind: kind, AmountCents: amountCents, Reference: strings.TrimSpace(reference), CreatedAt: now})
		if err != nil {
			return err
		}
		return tx.Done(ctx, e)
	})
	if err != nil {
		return model.Client{}, model.LedgerEntry{}, fmt.Errorf("tenant: top up %s: %w", id, err)
	}
	return c, e, nil
}
