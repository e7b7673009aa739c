package outbound

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/store"
	"github.com/ibiki/ibiki/internal/webhook"
)

// ReplyTwiML sends the <Message> verbs of a client's TwiML answer to the Twilio-format delivery
// d of an inbound message (webhook.TwiMLReplier): each is a send of the client, as through the
// API (charged, opt-outs and sender rules apply), to the contact who wrote (or its to
// attribute), from the number written to (or its from attribute), on the message's channel.
// Each is keyed by the delivery and its place in the answer, so a delivery attempted again
// (a crash before its success was recorded) sends nothing twice.
func (s *Service) ReplyTwiML(ctx context.Context, d model.Delivery, msgs []webhook.TwiMLMessage) error {
	in, err := s.Store.MessageByID(ctx, d.MessageID)
	if err != nil {
		return err
	}
	c, err := s.Store.CachedClient(ctx, d.ClientID)
	if err != nil {
		return err
	}
	var errs []error
	for i, tm := range msgs {
		req := Request{To: cmp.Or(tm.To, model.TwilioAddress(in.Channel, in.From)), Body: tm.Body, MediaURLs: tm.Media,
			From: strings.TrimPrefix(cmp.Or(tm.From, in.To), "whatsapp:"), Priority: model.PriorityInteractive}
		key := &store.IdempotencyKey{Owner: c.ID, Key: fmt.Sprintf("ibiki:twiml:%s:%d", d.ID, i), RequestHash: "twiml", At: s.Clock().UTC(),
			Answer: func(any) (store.IdempotentAnswer, error) {
				return store.IdempotentAnswer{StatusCode: 201, Response: []byte(`{}`)}, nil
			}}
		_, err := s.Send(store.WithIdempotencyKey(ctx, key), c, req)
		switch {
		case errors.Is(err, store.ErrConflict):
			// Sent by an earlier attempt of this delivery.
		case err != nil:
			errs = append(errs, fmt.Errorf("<Message> %d: %w", i+1, err))
		}
	}
	return errors.Join(errs...)
}
