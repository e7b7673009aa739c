package inbound

import (
	"context"
	"errors"
	"fmt"

	"github.com/ibiki/ibiki/internal/metrics"
	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/queue"
	"github.com/ibiki/ibiki/internal/routing"
	"github.com/ibiki/ibiki/internal/store"
	"github.com/ibiki/ibiki/internal/webhook"
)

// Handle is the route job: it decides the message's client and gives the message to it, in the
// transaction that finishes the job. A message already routed is left alone, so a job that runs
// twice routes once.
func (s *Service) Handle(ctx context.Context, job model.Job) queue.Result {
	var (
		provider string
		rule     model.RoutedBy
	)
	return queue.Result{
		Write: func(ctx context.Context, tx *store.Tx) error {
			m, err := tx.MessageByID(ctx, job.Ref)
			if errors.Is(err, store.ErrNotFound) || err == nil && m.RoutedBy != model.RoutedByNotYetRouted {
				rule = ""
				return nil
			}
			if err != nil {
				return err
			}
			d, err := routing.Route(ctx, lookup{tx}, routing.Input{From: m.From, To: m.To, Business: m.Contact.Business})
			if err != nil {
				return err
			}
			provider, rule = m.Provider, d.Rule
			if d.ClientID == "" {
				return tx.SetMessageRoute(ctx, m.ID, "", "", model.RoutedByUnrouted)
			}
			return s.attach(ctx, tx, m, d.ClientID, d.Rule)
		},
		After: func() {
			if rule != "" {
				metrics.Routed.WithLabelValues(provider, string(rule)).Inc()
			}
		},
	}
}

// attach gives a message to a client: its conversation, the opt-out a "blocked" status means,
// and the delivery of a message.received event to the client's webhook.
func (s *Service) attach(ctx context.Context, tx *store.Tx, m model.Message, clientID string, by model.RoutedBy) error {
	c, err := tx.Client(ctx, clientID)
	if err != nil {
		return fmt.Errorf("route %s to %s: %w", m.ID, clientID, err)
	}
	now := s.Clock().UTC()
	conv, err := tx.TouchInbound(ctx, clientID, m, model.NewIDAt(model.PrefixConversation, now))
	if err != nil {
		return err
	}
	if err := tx.SetMessageRoute(ctx, m.ID, clientID, conv, by); err != nil {
		return err
	}
	m.ClientID, m.ConversationID, m.RoutedBy = clientID, conv, by
	if m.Status == model.StatusBlocked {
		// The provider matched an opt-out word: the phone asked this client to stop. The
		// outbound side refuses later sends to it; the client still hears about the message.
		if err := tx.UpsertOptOut(ctx, model.OptOut{ClientID: clientID, Phone: m.From, Source: m.Provider,
			Keyword: m.MatchedBlockWord, CreatedAt: now}); err != nil {
			return err
		}
	}
	contact := m.Contact
	if ct, err := tx.ContactByPhone(ctx, clientID, m.From); err == nil {
		contact = model.ContactInfo{FirstName: ct.FirstName, LastName: ct.LastName, Business: ct.Business}
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	payload, err := webhook.Payload(model.EventMessageReceived, now, webhook.NewMessageData(m, contact))
	if err != nil {
		return err
	}
	_, err = webhook.Enqueue(ctx, tx, c, model.EventMessageReceived, m, payload, now)
	return err
}

// Assign routes an unrouted message to a client chosen by the operator; from then on it is
// delivered like any routed message.
func (s *Service) Assign(ctx context.Context, messageID, clientID string) (model.Message, error) {
	var out model.Message
	err := s.Store.InTx(ctx, func(tx *store.Tx) error {
		m, err := tx.MessageByID(ctx, messageID)
		if err != nil {
			return err
		}
		if m.RoutedBy != model.RoutedByUnrouted {
			return ErrNotUnrouted
		}
		c, err := tx.Client(ctx, clientID)
		if err != nil {
			return err
		}
		if !c.Active {
			return ErrClientInactive
		}
		if err := s.attach(ctx, tx, m, clientID, model.RoutedByAssigned); err != nil {
			return err
		}
		out, err = tx.MessageByID(ctx, messageID)
		return err
	})
	if err == nil {
		metrics.Routed.WithLabelValues(out.Provider, string(model.RoutedByAssigned)).Inc()
	}
	return out, err
}

// lookup answers the routing rules from the store, inside the routing transaction.
type lookup struct{ tx *store.Tx }

func (l lookup) NumberClient(ctx context.Context, number string) (string, error) {
	n, err := l.tx.Number(ctx, number)
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	return n.ClientID, err
}

func (l lookup) ActiveClient(ctx context.Context, id string) (bool, error) {
	c, err := l.tx.Client(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil && c.Active, err
}

func (l lookup) ContactClients(ctx context.Context, phone string, limit int) ([]string, error) {
	return l.tx.ContactOwners(ctx, phone, limit)
}

func (l lookup) LastSender(ctx context.Context, phone string) (string, error) {
	id, err := l.tx.LastSender(ctx, phone)
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	return id, err
}
