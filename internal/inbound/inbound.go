// Package inbound takes messages that providers deliver: it stores each one durably and
// idempotently, then routes it — gives it to its client's conversation, queues the delivery to
// the client's webhook, and applies its opt-out keywords (STOP, START, HELP) or blocked status.
// The stored message itself is the routing work: "not yet routed" is a state of the row, found
// again after a crash (see Router).
package inbound

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ibiki/ibiki/internal/metrics"
	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/provider"
	"github.com/ibiki/ibiki/internal/store"
	"github.com/ibiki/ibiki/internal/text"
)

// Service accepts, routes and assigns inbound messages.
type Service struct {
	Store *store.Store
	Clock func() time.Time
	Log   *slog.Logger
	// Router routes what Accept stored; nil leaves it to whoever sweeps pending messages.
	Router *Router
	// Replies answers HELP, and with the clients' auto-replies (nil: no automatic answer).
	Replies Replier
	// Services takes the messages written to a number with a service (nil: none do).
	Services Services
}

// Services gives messages to the services on their numbers (package services): Takes tells
// whether one takes a message (before the routing transaction), Enqueue gives it the message
// inside it. A message a service takes gets its message.received event from the service, with
// what the service did, and no auto-reply.
type Services interface {
	Takes(ctx context.Context, m model.Message) (serviceID string, ok bool, err error)
	// Inline, when it returns a write, decides the service within routing's own transaction
	// (write gets the message's conversation); nil: Enqueue.
	Inline(ctx context.Context, c model.Client, m model.Message, contact model.ContactInfo, serviceID string) (
		write func(ctx context.Context, tx *store.Tx, conv string) error, err error)
	Enqueue(ctx context.Context, tx *store.Tx, clientID, serviceID string, m model.Message, now time.Time) error
}

// Replier queues automatic replies inside the routing transaction.
type Replier interface {
	QueueHelpReply(ctx context.Context, tx *store.Tx, c model.Client, in model.Message) error
	QueueAutoReply(ctx context.Context, tx *store.Tx, c model.Client, in model.Message, contact model.ContactInfo) error
}

// Errors of Assign.
var (
	ErrNotUnrouted    = errors.New("the message is not unrouted")
	ErrClientInactive = errors.New("the client is not active")
)

// Accepted is the outcome of Accept.
type Accepted struct {
	ID        string // the message id (the first one's, for a duplicate); "" for a part held or repeated
	Duplicate bool   // the provider sent this message before
	Held      bool   // a part of a concatenated message, held until its last part (AcceptPart)
}

// Accept stores a provider's message. When it returns nil, the message is committed, as "not
// yet routed": a crash right after the provider's 200 cannot lose it, and the router finds it
// again. A message the provider already delivered (same provider message id) is not stored
// twice and is not routed again, hence gets no second delivery; for a provider that gives no
// ids, a message of the same content within in.RepeatWindow is that one delivered again. A field
// that is not text (package text) is a *provider.FieldError naming it, and nothing is stored.
func (s *Service) Accept(ctx context.Context, in provider.Inbound) (Accepted, error) {
	res, route, err := s.AcceptHeld(ctx, in)
	route()
	return res, err
}

// AcceptHeld is Accept that holds the message's routing until the caller calls route (always,
// once; it does nothing for a duplicate or a failure): what the caller does first happens
// before the routing in this process. A crash in between leaves the message pending, and the
// router's sweep routes it.
func (s *Service) AcceptHeld(ctx context.Context, in provider.Inbound) (res Accepted, route func(), err error) {
	return s.accept(ctx, in, nil)
}

// AcceptPart stores one part of a concatenated message a provider delivers part by part (SMPP):
// when it returns nil the part is committed, held until the message's last part arrives; with
// that one (in its transaction) the whole message, the parts' texts joined in order, is stored
// and routed like any message, and the parts are deleted. in is the part's message (its Body
// the part's text); a part delivered again is held once.
func (s *Service) AcceptPart(ctx context.Context, in provider.Inbound, ref, total, seq int) (Accepted, error) {
	if total < 1 || seq < 1 || seq > total {
		return Accepted{}, &provider.FieldError{Field: "part", Reason: fmt.Sprintf("part %d of %d", seq, total)}
	}
	res, route, err := s.accept(ctx, in, &store.InboundPart{Provider: in.Provider, From: in.From, To: in.To, Ref: ref,
		Total: total, Seq: seq, Body: in.Body})
	route()
	return res, err
}

// accept is AcceptHeld, for a whole message or (part not nil) one of its parts.
func (s *Service) accept(ctx context.Context, in provider.Inbound, part *store.InboundPart) (res Accepted, route func(), err error) {
	route = func() {}
	if err := checkText(in); err != nil {
		return Accepted{}, route, err
	}
	now := s.Clock().UTC()
	m := model.Message{
		ID: model.NewIDAt(model.PrefixMessage, now), Direction: model.Inbound, Channel: in.Channel,
		From: in.From, To: in.To, Body: in.Body, Status: in.Status, MatchedBlockWord: in.MatchedBlockWord,
		Contact: in.Contact, Provider: in.Provider, ProviderMessageID: in.ProviderMessageID,
		Meta: encodeMeta(in.Meta), Media: in.Media, ReceivedAt: now, CreatedAt: now,
	}
	if m.Contact.Business == "" {
		m.Contact.Business = in.Business
	}
	var around [2]string // the keys of the repeat windows before and after this one
	switch w := in.RepeatWindow.Milliseconds(); {
	case w > 0 && part != nil:
		// A concatenated message's repeats are its parts' (kept for the window: AddInboundPart);
		// the message itself is new, whatever part completed it (a reference comes round).
		m.ProviderMessageID = model.NewIDAt("smo", now)
	case w > 0:
		n := now.UnixMilli() / w
		m.ProviderMessageID = in.ProviderMessageID + "." + strconv.FormatInt(n, 36)
		// The one after too: a delivery received later may have committed first.
		around = [2]string{in.ProviderMessageID + "." + strconv.FormatInt(n-1, 36),
			in.ProviderMessageID + "." + strconv.FormatInt(n+1, 36)}
	}
	dispatch := false
	whole := m
	err = s.Store.InTx(ctx, func(tx *store.Tx) error {
		res, dispatch, m = Accepted{}, false, whole
		if part != nil {
			part.ReceivedAt, part.KeepFor = now, in.RepeatWindow
			added, err := tx.AddInboundPart(ctx, *part)
			switch {
			case err != nil:
				return err
			case added.Repeat:
				res.Duplicate = true
				return nil
			case !added.Complete:
				res.Held = true
				return nil
			}
			m.Body = strings.Join(added.Bodies, "")
		}
		if around[0] != "" {
			id, ok, err := tx.RepeatOf(ctx, m.Provider, in.ProviderMessageID, around, now.Add(-in.RepeatWindow), now.Add(in.RepeatWindow))
			if err != nil || ok {
				res.ID, res.Duplicate = id, true
				return err
			}
		}
		id, inserted, err := tx.InsertInbound(ctx, m)
		if err != nil {
			return err
		}
		res, dispatch = Accepted{ID: id, Duplicate: !inserted}, inserted
		return nil
	})
	if err != nil {
		return Accepted{}, route, err
	}
	if dispatch && s.Router != nil {
		route = func() { s.Router.dispatch(m) }
	}
	if res.Held {
		return res, route, nil
	}
	dup := "false"
	if res.Duplicate {
		dup = "true"
	}
	metrics.InboundAccepted.WithLabelValues(in.Provider, dup).Inc()
	return res, route, nil
}

// checkText refuses a message with a field that is not text. The adapters' parsers refuse such
// fields already as they read them; this holds every way in (Inject, adapters to come) to the
// same rule, whichever transport or adapter it uses. Fields are named as the API names them.
func checkText(in provider.Inbound) error {
	fields := [...]struct{ name, v string }{
		{"provider", in.Provider}, {"provider_message_id", in.ProviderMessageID}, {"from", in.From}, {"to", in.To},
		{"body", in.Body}, {"matched_block_word", in.MatchedBlockWord}, {"business", in.Business},
		{"first_name", in.Contact.FirstName}, {"last_name", in.Contact.LastName}, {"business", in.Contact.Business},
	}
	for _, f := range fields {
		if flaw := text.Check(f.v); flaw != text.OK {
			return &provider.FieldError{Field: f.name, Reason: "must be text: it holds " + flaw.String()}
		}
	}
	for _, a := range in.Media {
		if flaw := cmp.Or(text.Check(a.URL), text.Check(a.ContentType)); flaw != text.OK {
			return &provider.FieldError{Field: "media", Reason: "must be text: it holds " + flaw.String()}
		}
	}
	for _, k := range slices.Sorted(maps.Keys(in.Meta)) {
		if flaw := cmp.Or(text.Check(k), text.Check(in.Meta[k])); flaw != text.OK {
			return &provider.FieldError{Field: "meta", Reason: "must be text: it holds " + flaw.String()}
		}
	}
	return nil
}

func encodeMeta(meta map[string]string) string {
	if len(meta) == 0 {
		return ""
	}
	b, _ := json.Marshal(meta) // a map of strings always encodes
	return string(b)
}
