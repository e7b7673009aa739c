package inbound

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ibiki/ibiki/internal/metrics"
	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/optout"
	"github.com/ibiki/ibiki/internal/routing"
	"github.com/ibiki/ibiki/internal/store"
	"github.com/ibiki/ibiki/internal/webhook"
)

// reads is what routing reads: the store's read pool, or a transaction.
type reads interface {
	MessageByID(ctx context.Context, id string) (model.Message, error)
	Number(ctx context.Context, number string) (model.Number, error)
	Client(ctx context.Context, id string) (model.Client, error)
	ContactOwners(ctx context.Context, phone string, limit int) ([]string, error)
	LastSender(ctx context.Context, phone string) (string, error)
	ConversationOwners(ctx context.Context, phone, to string, limit int) ([]store.ConversationOwner, error)
	ConversationAndContact(ctx context.Context, clientID, phone string, ch model.Channel) (string, model.ContactInfo, bool, error)
}

// route decides a message's client and gives the message to it. It reads and decides on the
// read pool, then writes in one transaction: the single SQLite writer only does the writes. A
// message found already routed is left alone, and the write is conditional on the message
// still being unrouted, so a message routed twice (a sweep racing the first try) routes once.
func (s *Service) route(ctx context.Context, m model.Message) error {
	if m.RoutedBy != model.RoutedByNotYetRouted {
		return nil
	}
	r := cachedReads{s.Store}
	d, err := routing.Route(ctx, lookup{r}, routing.Input{From: m.From, To: m.To, Business: m.Contact.Business})
	if err != nil {
		return err
	}
	var write func(ctx context.Context, tx *store.Tx) error
	if d.ClientID == "" {
		write = func(ctx context.Context, tx *store.Tx) error {
			return tx.SetMessageRoute(ctx, m.ID, "", "", model.RoutedByUnrouted)
		}
	} else {
		p, err := s.plan(ctx, r, m, d.ClientID, d.Rule)
		if err != nil {
			return err
		}
		if p.service != "" {
			// Routing takes one phone's messages in order: the service may decide here.
			if p.serviceWrite, err = s.Services.Inline(ctx, p.client, p.m, p.contact, p.service); err != nil {
				return err
			}
		}
		write = func(ctx context.Context, tx *store.Tx) error { return s.apply(ctx, tx, p) }
	}
	err = s.Store.InTx(ctx, func(tx *store.Tx) error { return write(ctx, tx) })
	if errors.Is(err, store.ErrNotFound) {
		return nil // routed meanwhile, by another try
	}
	if err == nil {
		metrics.Routed.WithLabelValues(m.Provider, string(d.Rule)).Inc()
	}
	return err
}

// giveUp leaves a message that could not be routed after several tries in the unrouted inbox,
// where the operator sees it and can assign it.
func (s *Service) giveUp(ctx context.Context, id string) error {
	err := s.Store.InTx(ctx, func(tx *store.Tx) error {
		return tx.SetMessageRoute(ctx, id, "", "", model.RoutedByUnrouted)
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	return err
}

// plan is a routing decision with everything its writes need, read beforehand.
type plan struct {
	m       model.Message
	client  model.Client
	convID  string
	known   bool // convID was read, not made up: the conversation exists
	contact model.ContactInfo
	// fillName: the provider named the contact and the client's book has no name for the
	// phone: the name is written into the book (store.Tx.FillContactName).
	fillName bool
	// service is the service on the message's number that takes it ("" : none), and
	// serviceWrite its decision made in routing (nil: the service's job decides).
	service      string
	serviceWrite func(ctx context.Context, tx *store.Tx, conv string) error
	payload      []byte
	now          time.Time
}

func (s *Service) plan(ctx context.Context, r reads, m model.Message, clientID string, by model.RoutedBy) (plan, error) {
	p := plan{m: m, now: s.Clock().UTC(), contact: m.Contact}
	var err error
	if p.client, err = r.Client(ctx, clientID); err != nil {
		return p, fmt.Errorf("route %s to %s: %w", m.ID, clientID, err)
	}
	conv, contact, found, err := r.ConversationAndContact(ctx, clientID, m.From, m.Channel)
	if err != nil {
		return p, err
	}
	p.convID, p.known = conv, conv != ""
	if !p.known {
		p.convID = model.NewIDAt(model.PrefixConversation, p.now)
	}
	named := m.Contact.FirstName != "" || m.Contact.LastName != ""
	unnamed := contact.FirstName == "" && contact.LastName == ""
	switch {
	case found && unnamed && named:
		p.fillName = true
		p.contact.Business = contact.Business
	case found:
		p.contact = contact
	default:
		p.fillName = named
	}
	p.m.ClientID, p.m.ConversationID, p.m.RoutedBy = clientID, p.convID, by
	if s.Services != nil {
		if p.service, _, err = s.Services.Takes(ctx, p.m); err != nil {
			return p, err
		}
	}
	if p.client.WebhookURL == "" || p.service != "" {
		return p, nil // no delivery (the client reads its conversations through the API), or the service's
	}
	p.payload, err = webhook.Payload(model.EventMessageReceived, p.now, webhook.NewMessageData(p.m, p.contact))
	return p, err
}

// apply gives the message to its client: the conversation, the opt-out that a "blocked" status
// means, and the message.received delivery to the client's webhook.
func (s *Service) apply(ctx context.Context, tx *store.Tx, p plan) error {
	touch := tx.TouchInbound
	if p.known {
		touch = tx.TouchKnownInbound
	}
	conv, err := touch(ctx, p.client.ID, p.m, p.convID)
	if err != nil {
		return err
	}
	if err := tx.SetMessageRoute(ctx, p.m.ID, p.client.ID, conv, p.m.RoutedBy); err != nil {
		return err
	}
	if p.fillName {
		if err := tx.FillContactName(ctx, model.NewIDAt(model.PrefixContact, p.now), p.client.ID, p.m.From, p.contact, p.now); err != nil {
			return err
		}
	}
	if p.service != "" {
		// The service sends message.received, after it has run (Takes left STOP, START, HELP
		// and blocked messages to the keywords below).
		p.m.ConversationID = conv
		if p.serviceWrite != nil {
			return p.serviceWrite(ctx, tx, conv)
		}
		return s.Services.Enqueue(ctx, tx, p.client.ID, p.service, p.m, p.now)
	}
	if conv != p.convID {
		// The conversation was created after the plan was read (an operator's assignment
		// raced the route job): describe the message with the real one.
		p.m.ConversationID = conv
		if p.client.WebhookURL != "" {
			if p.payload, err = webhook.Payload(model.EventMessageReceived, p.now, webhook.NewMessageData(p.m, p.contact)); err != nil {
				return err
			}
		}
	}
	if _, err := webhook.Enqueue(ctx, tx, p.client, model.EventMessageReceived, p.m, p.payload, p.now); err != nil {
		return err
	}
	return s.keywords(ctx, tx, p)
}

// keywords applies what the message asks of the client's list: STOP (or the provider's
// "blocked") puts the phone on the client's suppression list, START takes it off, HELP gets
// the configured auto-reply. The client hears of the first two by a message.opt_out or
// message.opt_in event, queued after the message itself.
func (s *Service) keywords(ctx context.Context, tx *store.Tx, p plan) error {
	action, word := optout.Classify(p.m.Body)
	source := "keyword"
	if p.m.Status == model.StatusBlocked {
		action, word, source = optout.Stop, p.m.MatchedBlockWord, p.m.Provider
	}
	var event model.EventType
	switch action {
	case optout.Stop:
		if err := tx.UpsertOptOut(ctx, model.OptOut{ClientID: p.client.ID, Phone: p.m.From, Source: source,
			Keyword: word, CreatedAt: p.now}); err != nil {
			return err
		}
		event = model.EventMessageOptOut
	case optout.Start:
		removed, err := tx.DeleteOptOut(ctx, p.client.ID, p.m.From)
		if err != nil || !removed {
			return err // "YES" from a phone that never opted out is just a reply
		}
		event = model.EventMessageOptIn
	case optout.Help:
		if s.Replies == nil {
			return nil
		}
		return s.Replies.QueueHelpReply(ctx, tx, p.client, p.m)
	default:
		if s.Replies == nil {
			return nil
		}
		return s.Replies.QueueAutoReply(ctx, tx, p.client, p.m, p.contact)
	}
	payload, err := webhook.Payload(event, p.now, webhook.NewMessageData(p.m, p.contact))
	if err != nil {
		return err
	}
	_, err = webhook.Enqueue(ctx, tx, p.client, event, p.m, payload, p.now)
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
		// Claim the message first: the conditional update takes its row lock, so of several
		// concurrent assignments (PostgreSQL) one goes on and the others wait, then find it
		// routed and answer ErrNotUnrouted rather than a not-found from a later write.
		if err := tx.SetMessageRoute(ctx, m.ID, "", "", model.RoutedByUnrouted); errors.Is(err, store.ErrNotFound) {
			return ErrNotUnrouted
		} else if err != nil {
			return err
		}
		c, err := tx.Client(ctx, clientID)
		if err != nil {
			return err
		}
		if !c.Active {
			return ErrClientInactive
		}
		p, err := s.plan(ctx, tx, m, clientID, model.RoutedByAssigned)
		if err != nil {
			return err
		}
		if err := s.apply(ctx, tx, p); err != nil {
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

// cachedReads reads clients and numbers through the store's short-lived cache (every message
// needs them, and they change rarely), and conversation ids through a cache that never goes
// stale (an id never changes), with the contact in the same read when the id is not cached.
type cachedReads struct{ *store.Store }

func (c cachedReads) Client(ctx context.Context, id string) (model.Client, error) {
	return c.CachedClient(ctx, id)
}

func (c cachedReads) Number(ctx context.Context, number string) (model.Number, error) {
	return c.CachedNumber(ctx, number)
}

func (c cachedReads) ConversationAndContact(ctx context.Context, clientID, phone string, ch model.Channel) (string, model.ContactInfo, bool, error) {
	return c.CachedConversationAndContact(ctx, clientID, phone, ch)
}

// lookup answers the routing rules from the store.
type lookup struct{ r reads }

func (l lookup) NumberClient(ctx context.Context, number string) (string, error) {
	n, err := l.r.Number(ctx, number)
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	return n.ClientID, err
}

func (l lookup) ActiveClient(ctx context.Context, id string) (bool, error) {
	c, err := l.r.Client(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil && c.Active, err
}

func (l lookup) ContactClients(ctx context.Context, phone string, limit int) ([]string, error) {
	return l.r.ContactOwners(ctx, phone, limit)
}

func (l lookup) LastSender(ctx context.Context, phone string) (string, error) {
	id, err := l.r.LastSender(ctx, phone)
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	return id, err
}

func (l lookup) ConversationClients(ctx context.Context, phone, to string, limit int) ([]routing.Candidate, error) {
	owners, err := l.r.ConversationOwners(ctx, phone, to, limit)
	cs := make([]routing.Candidate, len(owners))
	for i, o := range owners {
		cs[i] = routing.Candidate{ClientID: o.ClientID, OnNumber: o.OnNumber}
	}
	return cs, err
}
