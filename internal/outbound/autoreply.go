package outbound

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/optout"
	"github.com/ibiki/ibiki/internal/sms"
	"github.com/ibiki/ibiki/internal/store"
	"github.com/ibiki/ibiki/internal/template"
)

// QueueAutoReply answers a contact's routed message with the client's auto-reply, inside the
// routing transaction, as an ordinary message: from the number the contact wrote to (sticky),
// charged to the client with its ledger entry. Nothing is answered
//   - but text (sms, whatsapp) received from a phone: not a call, not a blocked message, not a
//     short code;
//   - to one of Ibiki's own numbers (another client's auto-reply would answer back: a loop);
//   - to a contact who opted out, or who got this rule's reply within its window (a reply already
//     given in the answer to the provider's webhook, AnswerAutoReply, took the window);
//   - when no rule applies, or the client cannot pay for it, or no provider carries the channel.
//
// A reason not to answer is not an error: the message is routed all the same.
func (s *Service) QueueAutoReply(ctx context.Context, tx *store.Tx, c model.Client, in model.Message, contact model.ContactInfo) error {
	now := s.Clock().UTC()
	d, r, ok, err := s.autoReply(ctx, tx, c, in, contact, now, nil)
	if err != nil || !ok {
		return err
	}
	d.start = true
	_, err = s.queue(ctx, tx, d, func(string) (route, error) { return r, nil }, now)
	return err
}

// AnswerAutoReply is the auto-reply given in the answer to the provider's webhook (Twilio's
// TwiML), for a message its provider has just delivered: when the number it came to is
// dedicated to an active client whose rule applies (the checks of QueueAutoReply), the reply is
// recorded, charged and counted in the window in its own transaction, as a message already
// handed to the provider ("sent": the answer carries it); its provider id comes with its first
// status report. The routing of the message then finds the window taken. ok is false when there
// is nothing to answer (a keyword, a pool number, no rule...).
func (s *Service) AnswerAutoReply(ctx context.Context, in model.Message) (reply model.Message, ok bool, err error) {
	if in.To == "" {
		return reply, false, nil
	}
	if action, _ := optout.Classify(in.Body); action != optout.None {
		return reply, false, nil // STOP, START and HELP have their own handling
	}
	n, err := s.Store.CachedNumber(ctx, in.To)
	if errors.Is(err, store.ErrNotFound) || (err == nil && n.ClientID == "") {
		return reply, false, nil // a pool number: the client is known after routing
	}
	if err != nil {
		return reply, false, err
	}
	c, err := s.Store.CachedClient(ctx, n.ClientID)
	if err != nil || !c.Active {
		return reply, false, err
	}
	if svc, err := s.Store.CachedServiceByNumber(ctx, in.To); err == nil && svc.Active {
		return reply, false, nil // the number's service answers, after routing
	} else if err != nil && !errors.Is(err, store.ErrNotFound) {
		return reply, false, err
	}
	// Most clients have no rule for most messages: know it from the cache, before any read of
	// the contact or any transaction.
	rules, err := s.Store.CachedAutoReplies(ctx, c.ID)
	if err != nil || model.PickAutoReply(rules, in.Channel, in.To) == nil {
		return reply, false, err
	}
	contact := in.Contact
	switch ct, err := s.Store.ContactByPhone(ctx, c.ID, in.From); {
	case err == nil:
		// As routing reads it (inbound's plan): the book's entry, unless it has no name and the
		// provider sent one, which then names the contact (with the entry's business).
		if ct.FirstName == "" && ct.LastName == "" && (contact.FirstName != "" || contact.LastName != "") {
			contact.Business = ct.Business
		} else {
			contact = model.ContactInfo{FirstName: ct.FirstName, LastName: ct.LastName, Business: ct.Business}
		}
	case !errors.Is(err, store.ErrNotFound):
		return reply, false, err
	}
	err = s.Store.InTx(ctx, func(tx *store.Tx) error {
		now := s.Clock().UTC()
		// The answer goes back through the provider that asked, from the number written to
		// (TwiML names no sender): a reply that would go otherwise is left to the routing,
		// before the window is taken.
		given := func(r route) bool { return r.provider == in.Provider && r.from == in.To }
		d, r, found, err := s.autoReply(ctx, tx, c, in, contact, now, given)
		if err != nil || !found {
			ok = false
			return err
		}
		d.answered, d.meta = true, answeredReplyMeta(d.meta)
		reply, err = s.queue(ctx, tx, d, func(string) (route, error) { return r, nil }, now)
		ok = err == nil
		return err
	})
	if err != nil {
		return model.Message{}, false, err
	}
	return reply, ok, nil
}

// autoReply decides a contact's auto-reply: the checks of QueueAutoReply, the rule's text for
// the contact, the sender (which accept, when not nil, must take), and the window taken. ok
// false is no reply, and the window is then left as it was.
func (s *Service) autoReply(ctx context.Context, tx *store.Tx, c model.Client, in model.Message, contact model.ContactInfo, now time.Time,
	accept func(route) bool) (d Draft, r route, ok bool, err error) {
	if (in.Channel != model.ChannelSMS && in.Channel != model.ChannelWhatsApp) || in.Status != model.StatusReceived ||
		!strings.HasPrefix(in.From, "+") {
		return d, r, false, nil
	}
	rules, err := s.Store.CachedAutoReplies(ctx, c.ID)
	if err != nil {
		return d, r, false, err
	}
	rule := model.PickAutoReply(rules, in.Channel, in.To)
	if rule == nil {
		return d, r, false, nil
	}
	fields := map[string]string{"phone": in.From, "firstname": contact.FirstName, "lastname": contact.LastName, "business": contact.Business}
	body, err := template.Parse(rule.TextAt(now)).Render(fields)
	if err != nil || strings.TrimSpace(body) == "" {
		s.Log.Warn("auto-reply not sent: its text does not render for this contact", "client", c.ID, "rule", rule.ID, "error", err)
		return d, r, false, nil
	}
	d, r, why, err := s.replyDraft(ctx, tx, c, in, body, autoReplyMeta(rule.ID), "auto-reply", accept)
	if err != nil || why != "" {
		if why != "" && why != ReplyOptedOut && why != ReplyToOwnNumber && why != replyNotAccepted && why != ReplyNoDLTTemplate {
			s.Log.Warn("auto-reply not sent", "client", c.ID, "rule", rule.ID, "why", why)
		}
		return d, r, false, err
	}
	took, err := tx.TakeAutoReplyWindow(ctx, rule.ID, in.From, now, rule.Window)
	return d, r, took, err
}

// Why an own reply (an auto-reply, a service's answer) was not queued (replyDraft).
const (
	ReplyToOwnNumber = "own_number"  // the sender is one of Ibiki's numbers: never answer it
	ReplyOptedOut    = "opted_out"   // the contact opted out
	ReplyNoProvider  = "no_provider" // no provider carries the answer
	ReplyNoCredit    = "no_credit"   // the client's balance does not cover it
	// ReplyTooLong: the text is longer than any send may be (MaxSegments).
	ReplyTooLong = "too_long"
	// ReplyNoDLTTemplate: the client requires DLT and no template matches the text.
	ReplyNoDLTTemplate = "no_dlt_template"
	replyNotAccepted   = "not_accepted" // the caller's accept refused the route
)

// replyDraft makes the draft of one of Ibiki's own replies to in (an auto-reply, a service's
// answer) inside tx: from the number in was written to (sticky), charged to the client at its
// rate, with the DLT template its text matches when the client requires one (OwnReplyDLT; what
// names the reply in its warning). why says, when not "", why there is no reply: the sender is
// one of Ibiki's numbers, the contact opted out, no DLT template matches, accept (when not nil)
// refused the route, no provider carries it, or the client cannot pay.
func (s *Service) replyDraft(ctx context.Context, tx *store.Tx, c model.Client, in model.Message, body, meta, what string,
	accept func(route) bool) (d Draft, r route, why string, err error) {
	switch _, err := s.Store.CachedNumber(ctx, in.From); {
	case err == nil:
		return d, r, ReplyToOwnNumber, nil
	case !errors.Is(err, store.ErrNotFound):
		return d, r, "", err
	}
	switch err := optedOut(ctx, tx, c.ID, in.From); {
	case errors.Is(err, ErrOptedOut):
		return d, r, ReplyOptedOut, nil
	case err != nil:
		return d, r, "", err
	}
	n := sms.Segments(body)
	if n.Segments > MaxSegments {
		n.Segments = MaxSegments // Check bounds the text; a long contact name cannot make it a bulk send
	}
	d = Draft{To: in.From, Body: body, Channel: in.Channel, Count: n, Cost: int64(n.Segments) * c.RateCents,
		Req: Request{Priority: model.PriorityInteractive}, client: c, screened: true, meta: meta}
	if ok, err := s.OwnReplyDLT(ctx, &d, what); err != nil || !ok {
		return d, r, ReplyNoDLTTemplate, err
	}
	if r, err = s.chooseSender(ctx, c.ID, in.From, "", in.Channel, func(context.Context, string, string) (string, error) { return in.To, nil }); err != nil {
		return d, r, "", err
	}
	if accept != nil && !accept(r) {
		return d, r, replyNotAccepted, nil
	}
	if err := s.carries(r.provider, d); err != nil {
		return d, r, ReplyNoProvider, nil
	}
	if d.Cost > 0 {
		balance, err := tx.Balance(ctx, c.ID)
		if err != nil {
			return d, r, "", err
		}
		if balance < d.Cost {
			return d, r, ReplyNoCredit, nil
		}
	}
	return d, r, "", nil
}

// QueueServiceReply queues a service's answer to in, inside the service's transaction, like an
// auto-reply (replyDraft: from the number written to, charged, never to an opted-out contact
// or one of Ibiki's numbers) but without a window. why, when not "", is why nothing was queued.
func (s *Service) QueueServiceReply(ctx context.Context, tx *store.Tx, c model.Client, in model.Message, body, serviceID string) (reply model.Message, why string, err error) {
	if !strings.HasPrefix(in.From, "+") {
		return reply, ReplyToOwnNumber, nil // a short code or an alphanumeric sender cannot be answered
	}
	if sms.Segments(body).Segments > MaxSegments {
		return reply, ReplyTooLong, nil
	}
	d, r, why, err := s.replyDraft(ctx, tx, c, in, body, serviceMeta(serviceID), "service answer", nil)
	if err != nil || why != "" {
		return reply, why, err
	}
	d.start = true
	reply, err = s.queue(ctx, tx, d, func(string) (route, error) { return r, nil }, s.Clock().UTC())
	return reply, "", err
}

// serviceMeta marks a service's answer in its message's meta, with the service.
func serviceMeta(serviceID string) string {
	b, _ := json.Marshal(map[string]string{"auto": "service", "service": serviceID}) // strings: always encodes
	return string(b)
}

// autoReplyMeta marks an auto-reply in its message's meta, with the rule that sent it.
func autoReplyMeta(ruleID string) string {
	b, _ := json.Marshal(map[string]string{"auto": "reply", "rule": ruleID}) // strings: always encodes
	return string(b)
}

// answeredMetaPrefix starts the meta of an auto-reply given in the answer to the provider's
// webhook (answeredReplyMeta): ExpireUnconfirmedReplies finds them by it.
const answeredMetaPrefix = `{"answered":"webhook",`

// answeredReplyMeta marks an auto-reply's meta as given in the webhook's answer.
func answeredReplyMeta(meta string) string {
	return answeredMetaPrefix + strings.TrimPrefix(meta, "{")
}

// IsOwnReply reports whether an outbound message is one of Ibiki's own answers (HELP, an
// auto-reply, queued or given in a webhook's answer) rather than a send of its client.
func IsOwnReply(m model.Message) bool {
	return isAuto(m) || strings.HasPrefix(m.Meta, `{"auto":"reply"`) || strings.HasPrefix(m.Meta, `{"auto":"service"`) ||
		strings.HasPrefix(m.Meta, answeredMetaPrefix)
}
