package outbound

import (
	"context"
	"errors"

	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/store"
)

// Errors of the changes a client makes to its messages after sending them.
var (
	// ErrNotScheduled: only a scheduled message that has not started can be canceled.
	ErrNotScheduled = errors.New("only a scheduled message can be canceled, before its time")
	// ErrNotFinished: a message still on its way out can be neither redacted nor deleted.
	ErrNotFinished = errors.New("the message is still on its way out; redact or delete it once it is sent")
)

// Cancel cancels a client's scheduled message before its time: it is never sent, its charge is
// refunded and its client hears of it (message.status "canceled"). A message that is not (or no
// longer) scheduled is ErrNotScheduled; another client's, store.ErrNotFound.
func (s *Service) Cancel(ctx context.Context, clientID, id string) (model.Message, error) {
	var m model.Message
	err := s.Store.InTx(ctx, func(tx *store.Tx) (err error) {
		now := s.Clock().UTC()
		m, err = tx.CancelScheduled(ctx, clientID, id, now)
		if errors.Is(err, store.ErrNotFound) {
			if _, err := tx.Message(ctx, clientID, id); err != nil {
				return err
			}
			return ErrNotScheduled
		}
		if err != nil {
			return err
		}
		if m.CostCents > 0 {
			if err := tx.MoveCreditsAtCommit(ctx, model.LedgerEntry{ID: model.NewIDAt(model.PrefixLedger, now), ClientID: m.ClientID,
				Kind: model.LedgerRefund, AmountCents: m.CostCents, Reference: "message " + m.ID + " canceled",
				MessageID: m.ID, CreatedAt: now}); err != nil {
				return err
			}
		}
		return s.event(ctx, tx, m, model.EventMessageStatus, now)
	})
	return m, err
}

// Redact empties the text and attachments of a client's message once it is no longer on its way
// out (ErrNotFinished otherwise). The message stays, with its statuses and cost.
func (s *Service) Redact(ctx context.Context, clientID, id string) (model.Message, error) {
	return s.change(ctx, clientID, id, (*store.Tx).RedactMessage)
}

// Delete deletes a client's message once it is no longer on its way out (ErrNotFinished
// otherwise). Its ledger entries stay.
func (s *Service) Delete(ctx context.Context, clientID, id string) error {
	_, err := s.change(ctx, clientID, id, (*store.Tx).DeleteMessage)
	return err
}

func (s *Service) change(ctx context.Context, clientID, id string, do func(*store.Tx, context.Context, string, string) (model.Message, error)) (model.Message, error) {
	var m model.Message
	err := s.Store.InTx(ctx, func(tx *store.Tx) (err error) {
		m, err = do(tx, ctx, clientID, id)
		if errors.Is(err, store.ErrNotFound) {
			if _, err := tx.Message(ctx, clientID, id); err != nil {
				return err
			}
			return ErrNotFinished
		}
		return err
	})
	return m, err
}
