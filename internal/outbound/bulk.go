package outbound

import (
	"context"
	"fmt"

	"github.com/ibiki/ibiki/internal/metrics"
	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/store"
)

// ItemError is one refused item of a bulk send, by its index in the request.
type ItemError struct {
	Index int
	Err   error
}

// Queued is one accepted item of a bulk send.
type Queued struct {
	Index   int
	Message model.Message
}

// BulkResult is what a bulk send did: the accepted items (charged and queued), the refused ones
// and the total charge.
type BulkResult struct {
	Queued    []Queued
	Errors    []ItemError
	CostCents int64
}

// SendBulk accepts many messages at once. Each item is validated on its own and refused items
// are reported by index; the others are charged as a whole (one ledger entry) and queued in one
// transaction, at bulk priority: all of them or, when the balance does not cover them all,
// none (*store.InsufficientCreditsError). Items the caller refused (Request.Refused) are
// reported as they are. The result is the operation's result (store.Tx.Done), also when no item
// was accepted.
func (s *Service) SendBulk(ctx context.Context, c model.Client, reqs []Request) (BulkResult, error) {
	if !c.Active {
		return BulkResult{}, ErrClientInactive
	}
	var (
		base   BulkResult
		drafts []Draft
		index  []int
		phones []string
	)
	for i, req := range reqs {
		if req.Refused != nil {
			base.Errors = append(base.Errors, ItemError{Index: i, Err: req.Refused})
			continue
		}
		req.Priority = model.PriorityBulk
		d, err := s.Check(c, req)
		if err == nil {
			err = s.checkDLT(ctx, &d)
		}
		if err != nil {
			base.Errors = append(base.Errors, ItemError{Index: i, Err: err})
			continue
		}
		drafts, index, phones = append(drafts, d), append(index, i), append(phones, d.To)
	}
	last, err := s.Store.LastInboundNumbers(ctx, c.ID, phones)
	if err != nil {
		return BulkResult{}, err
	}
	sticky := func(_ context.Context, _, to string) (string, error) { return last[to], nil }
	routes := make([]route, len(drafts))
	refused := make([]bool, len(drafts))
	for i, d := range drafts {
		if routes[i], err = s.chooseSender(ctx, c.ID, d.To, d.From, d.Channel, sticky); err == nil {
			err = s.carries(routes[i].provider, d) // a WhatsApp item (whatsapp: address) needs a provider that carries it
		}
		if err != nil {
			base.Errors = append(base.Errors, ItemError{Index: index[i], Err: err})
			refused[i] = true
		}
	}
	var res BulkResult
	err = s.Store.InTx(ctx, func(tx *store.Tx) error {
		res = BulkResult{Errors: append([]ItemError(nil), base.Errors...)}
		now := s.Clock().UTC()
		var ok []int
		for i, d := range drafts {
			if refused[i] {
				continue
			}
			if err := optedOut(ctx, tx, c.ID, d.To); err != nil {
				if err != ErrOptedOut {
					return err
				}
				res.Errors = append(res.Errors, ItemError{Index: index[i], Err: err})
				continue
			}
			ok = append(ok, i)
			res.CostCents += d.Cost
		}
		if len(ok) == 0 {
			return tx.Done(ctx, res)
		}
		if res.CostCents > 0 {
			if err := tx.MoveCreditsAtCommit(ctx, model.LedgerEntry{ID: model.NewIDAt(model.PrefixLedger, now), ClientID: c.ID,
				Kind: model.LedgerCharge, AmountCents: -res.CostCents,
				Reference: fmt.Sprintf("bulk send of %d messages", len(ok)), CreatedAt: now}); err != nil {
				return err
			}
		}
		res.Queued = make([]Queued, 0, len(ok))
		for _, i := range ok {
			m := newMessage(drafts[i], routes[i], now)
			if err := insert(ctx, tx, &m, model.PriorityBulk); err != nil {
				return err
			}
			res.Queued = append(res.Queued, Queued{Index: index[i], Message: m})
		}
		return tx.Done(ctx, res)
	})
	if err == nil {
		for _, q := range res.Queued {
			metrics.OutboundAccepted.WithLabelValues(q.Message.Provider).Inc()
		}
	}
	return res, err
}
