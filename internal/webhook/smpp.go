package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/queue"
	"github.com/ibiki/ibiki/internal/store"
)

// SMPP deliveries (docs/smpp.md): events that reach a client as deliver_sm over one of its
// receiver binds to Ibiki's SMPP server. They ride the same queue as webhooks: durable, retried,
// one at a time and in order per conversation; a delivery that finds no bind up waits for one
// (without spending attempts) or, for an inbound message of a "fallback" login, goes to the
// client's webhook instead.

// SMPPHold is how long a deliver_sm waits for a receiver bind before it is given up (the
// operator can replay it).
const SMPPHold = 72 * time.Hour

// smppWait is how often a delivery waiting for a bind looks again.
const smppWait = 2 * time.Second

// ErrNoBind means the client has no receiver bind up in this process.
var ErrNoBind = errors.New("the client has no receiver bind up")

// SMPPSender sends events as deliver_sm over clients' receiver binds.
type SMPPSender interface {
	// DeliverSM sends the event (its type and the message it is about) over one of the client's
	// receiver binds, and returns once the client answered it: nil for ESME_ROK, ErrNoBind when
	// it has none up, another error when it refused it or did not answer. deliveryID names the
	// delivery (for the logs).
	DeliverSM(ctx context.Context, clientID string, typ model.EventType, m MessageData, deliveryID string) error
}

// smppDeliveries says whether an event about m goes to the client as deliver_sm, and whether
// that delivery replaces its standard webhook delivery (a "fallback" login's inbound message:
// the webhook gets it only when no bind is up). A Twilio-format webhook is never replaced.
func smppDeliveries(ctx context.Context, tx *store.Tx, c model.Client, typ model.EventType, m model.Message) (smpp, replaces bool, err error) {
	switch typ {
	case model.EventMessageStatus:
		_, due := model.SMPPReceipt(m)
		return due && m.Direction == model.Outbound, false, nil
	case model.EventMessageReceived:
		if m.Direction != model.Inbound || m.Channel != model.ChannelSMS {
			return false, false, nil
		}
		a, err := tx.CachedSMPPAccount(ctx, c.ID)
		if errors.Is(err, store.ErrNotFound) {
			return false, false, nil
		}
		if err != nil {
			return false, false, err
		}
		// A Twilio-format client's webhook keeps its Twilio form (the fallback could only post
		// the standard event): it gets both.
		return true, a.MODelivery != model.SMPPMOBoth && c.WebhookFormat != model.DeliveryTwilio, nil
	}
	return false, false, nil
}

// deliverSMPP makes one attempt at an SMPP delivery: data is what its payload says when the
// code that made it handed that over (nil: the payload is decoded). handled false: d is to go
// to the client's webhook instead (its Format is now standard), the caller carries on with it.
func (dl *Deliverer) deliverSMPP(ctx context.Context, c model.Client, d *model.Delivery, data *MessageData, now time.Time) (queue.Result, bool) {
	var ev struct {
		Data MessageData `json:"data"`
	}
	if data != nil {
		ev.Data = *data
	} else if err := json.Unmarshal(d.Payload, &ev); err != nil {
		return dl.give(*d, model.Attempt{}, "the event cannot be read: "+err.Error()), true
	}
	err := ErrNoBind
	if dl.SMPP != nil {
		err = dl.SMPP.DeliverSM(ctx, c.ID, d.Type, ev.Data, d.ID)
	}
	if errors.Is(err, ErrNoBind) {
		if d.Type == model.EventMessageReceived && c.WebhookURL != "" && c.WebhookDisabledAt.IsZero() &&
			c.WebhookFormat != model.DeliveryTwilio { // a Twilio-format webhook has its own delivery
			a, aerr := dl.Store.SMPPAccount(ctx, c.ID)
			if aerr != nil && !errors.Is(aerr, store.ErrNotFound) {
				return queue.Fail(aerr), true
			}
			if aerr != nil || a.MODelivery != model.SMPPMOBoth {
				d.Format = model.DeliveryStandard // no bind: the webhook has it instead
				return queue.Result{}, false
			}
		}
		if now.Sub(d.CreatedAt) > SMPPHold {
			return dl.give(*d, model.Attempt{}, fmt.Sprintf("no receiver bind was up for %s", SMPPHold)), true
		}
		return queue.Result{RetryAt: now.Add(smppWait), Err: errors.New("no receiver bind up; held")}, true
	}
	a := model.Attempt{DeliveryID: d.ID, ClientID: c.ID, At: now, URL: "smpp:" + c.ID}
	a.Latency = dl.Clock().Sub(now)
	d.Attempts++
	if err != nil {
		a.Error = err.Error()
		d.LastError = a.Error
		delay, ok := NextDelay(dl.Schedule, d.Attempts, "", now, dl.Rand)
		if !ok {
			return dl.give(*d, a, fmt.Sprintf("gave up after %d attempts", d.Attempts)), true
		}
		d.NextAttemptAt = now.Add(delay)
		dd := *d
		return queue.Result{RetryAt: d.NextAttemptAt, Err: fmt.Errorf("attempt %d: %w", d.Attempts, err),
			Write: func(ctx context.Context, tx *store.Tx) error { return tx.RecordAttempt(ctx, a, dd) }}, true
	}
	a.Response = "deliver_sm_resp ESME_ROK"
	d.LastError, d.Status, d.CompletedAt, d.NextAttemptAt = "", model.DeliverySucceeded, dl.Clock(), time.Time{}
	dd := *d
	return queue.Result{
		Finish: func(ctx context.Context, tx *store.Tx, j model.Job) (bool, error) {
			return tx.FinishDelivery(ctx, j, &a, dd)
		},
	}, true
}
