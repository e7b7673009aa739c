package outbound

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"github.com/ibiki/ibiki/internal/model"
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
//   - to a contact who opted out, or who got this rule's reply within its window;
//   - when no rule applies, or the client cannot pay for it, or no provider carries the channel.
//
// A reason not to answer is not an error: the message is routed all the same.
func (s *Service) QueueAutoReply(ctx context.Context, tx *store.Tx, c model.Client, in model.Message, contact model.ContactInfo) error {
	if (in.Channel != model.ChannelSMS && in.Channel != model.ChannelWhatsApp) || in.Status != model.StatusReceived ||
		!strings.HasPrefix(in.From, "+") {
		return nil
	}
	rules, err := s.Store.CachedAutoReplies(ctx, c.ID)
	if err != nil {
		return err
	}
	rule := model.PickAutoReply(rules, in.Channel, in.To)
	if rule == nil {
		return nil
	}
	switch _, err := s.Store.CachedNumber(ctx, in.From); {
	case err == nil:
		return nil // one of Ibiki's numbers: never answer it
	case !errors.Is(err, store.ErrNotFound):
		return err
	}
	switch err := optedOut(ctx, tx, c.ID, in.From); {
	case errors.Is(err, ErrOptedOut):
		return nil
	case err != nil:
		return err
	}
	now := s.Clock().UTC()
	fields := map[string]string{"phone": in.From, "firstname": contact.FirstName, "lastname": contact.LastName, "business": contact.Business}
	body, err := template.Parse(rule.TextAt(now)).Render(fields)
	if err != nil || strings.TrimSpace(body) == "" {
		s.Log.Warn("auto-reply not sent: its text does not render for this contact", "client", c.ID, "rule", rule.ID, "error", err)
		return nil
	}
	n := sms.Segments(body)
	if n.Segments > MaxSegments {
		n.Segments = MaxSegments // Check bounds the text; a long contact name cannot make it a bulk send
	}
	d := Draft{To: in.From, Body: body, Channel: in.Channel, Count: n, Cost: int64(n.Segments) * c.RateCents,
		Req: Request{Priority: model.PriorityInteractive}, client: c, screened: true, meta: autoReplyMeta(rule.ID)}
	r, err := s.chooseSender(ctx, c.ID, in.From, "", in.Channel, func(context.Context, string, string) (string, error) { return in.To, nil })
	if err != nil {
		return err
	}
	if err := s.carries(r.provider, d); err != nil {
		s.Log.Warn("auto-reply not sent", "client", c.ID, "rule", rule.ID, "error", err)
		return nil
	}
	if d.Cost > 0 {
		balance, err := tx.Balance(ctx, c.ID)
		if err != nil {
			return err
		}
		if balance < d.Cost {
			s.Log.Warn("auto-reply not sent: the client's balance does not cover it", "client", c.ID, "rule", rule.ID)
			return nil
		}
	}
	took, err := tx.TakeAutoReplyWindow(ctx, rule.ID, in.From, now, rule.Window)
	if err != nil || !took {
		return err
	}
	_, err = s.queue(ctx, tx, d, func(string) (route, error) { return r, nil }, now)
	return err
}

// autoReplyMeta marks an auto-reply in its message's meta, with the rule that sent it.
func autoReplyMeta(ruleID string) string {
	b, _ := json.Marshal(map[string]string{"auto": "reply", "rule": ruleID}) // strings: always encodes
	return string(b)
}
