// Package inbound takes messages that providers deliver: it stores each one durably and
// idempotently with the job that routes it, and that job gives the message to its client's
// conversation and queues the delivery to the client's webhook.
package inbound

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/ibiki/ibiki/internal/metrics"
	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/provider"
	"github.com/ibiki/ibiki/internal/queue"
	"github.com/ibiki/ibiki/internal/store"
)

// Service accepts, routes and assigns inbound messages.
type Service struct {
	Store *store.Store
	Clock func() time.Time
	Log   *slog.Logger
	// fresh hands accepted messages to their route job, which then needs not read them back.
	fresh     *queue.Handoff[model.Message]
	freshOnce sync.Once
}

func (s *Service) handoff() *queue.Handoff[model.Message] {
	s.freshOnce.Do(func() { s.fresh = queue.NewHandoff[model.Message](10_000) })
	return s.fresh
}

// Errors of Assign.
var (
	ErrNotUnrouted    = errors.New("the message is not unrouted")
	ErrClientInactive = errors.New("the client is not active")
)

// Accepted is the outcome of Accept.
type Accepted struct {
	ID        string // the message id (the first one's, for a duplicate)
	Duplicate bool   // the provider sent this message before
}

// Accept stores a provider's message and the job that routes it, in one transaction. When it
// returns nil, both are committed: a crash right after the provider's 200 cannot lose the
// message. A message the provider already delivered (same provider message id) is not stored
// twice and gets no second route job, hence no second delivery.
func (s *Service) Accept(ctx context.Context, in provider.Inbound) (Accepted, error) {
	now := s.Clock().UTC()
	m := model.Message{
		ID: model.NewIDAt(model.PrefixMessage, now), Direction: model.Inbound, Channel: in.Channel,
		From: in.From, To: in.To, Body: in.Body, Status: in.Status, MatchedBlockWord: in.MatchedBlockWord,
		Contact: in.Contact, Provider: in.Provider, ProviderMessageID: in.ProviderMessageID,
		Meta: encodeMeta(in.Meta), ReceivedAt: now, CreatedAt: now,
	}
	if m.Contact.Business == "" {
		m.Contact.Business = in.Business
	}
	var res Accepted
	err := s.Store.InTx(ctx, func(tx *store.Tx) error {
		id, inserted, err := tx.InsertInbound(ctx, m)
		if err != nil {
			return err
		}
		res = Accepted{ID: id, Duplicate: !inserted}
		if !inserted {
			return nil
		}
		tx.AfterCommit(func() { s.handoff().Put(m.ID, m) })
		// Route jobs of one phone run in order, so its replies reach the client in order.
		_, err = tx.Enqueue(ctx, model.Job{Kind: model.JobRoute, Ref: id, OrderKey: "from:" + m.From,
			Priority: model.PriorityInteractive, RunAt: now, CreatedAt: now})
		return err
	})
	if err != nil {
		return Accepted{}, err
	}
	dup := "false"
	if res.Duplicate {
		dup = "true"
	}
	metrics.InboundAccepted.WithLabelValues(in.Provider, dup).Inc()
	return res, nil
}

func encodeMeta(meta map[string]string) string {
	if len(meta) == 0 {
		return ""
	}
	b, _ := json.Marshal(meta) // a map of strings always encodes
	return string(b)
}
