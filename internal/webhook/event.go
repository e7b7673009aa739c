// Package webhook delivers events to client webhooks: the event payloads, Standard Webhooks
// signing, the SSRF guard, the retry policy, and the delivery job that records every attempt.
// It also owns the writes that make deliveries, so every transport shares them: Enqueue (inside
// the transaction of the change the event is about, which also announces it to the client's
// open dashboards), EnqueueTest (webhook.test) and Replay.
package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/queue"
	"github.com/ibiki/ibiki/internal/store"
)

// envelope is the body of every webhook: {"type","timestamp","data"}.
type envelope struct {
	Type      model.EventType `json:"type"`
	Timestamp string          `json:"timestamp"`
	Data      any             `json:"data"`
}

// MessageData is the "data" of message events: the message as a client sees it.
type MessageData struct {
	ID                string              `json:"id"`
	ClientID          string              `json:"client_id"`
	ConversationID    string              `json:"conversation_id"`
	Direction         model.Direction     `json:"direction"`
	From              string              `json:"from"`
	To                string              `json:"to"`
	Body              string              `json:"body"`
	Channel           model.Channel       `json:"channel"`
	Status            model.MessageStatus `json:"status"`
	MatchedBlockWord  *string             `json:"matched_block_word"`
	Contact           model.ContactInfo   `json:"contact"`
	Provider          string              `json:"provider"`
	ProviderMessageID *string             `json:"provider_message_id"`
	ReceivedAt        string              `json:"received_at"`
	RoutedBy          model.RoutedBy      `json:"routed_by"`
	// Media are the attachments, [] for none.
	Media []model.Attachment `json:"media"`
	// Call is set on the message that logs a phone call (channel voice).
	Call *CallData `json:"call,omitempty"`
	// Service is set on a message a service on its number took: what the service did.
	Service *ServiceData `json:"service,omitempty"`
	*OutboundData
}

// CallData is what a call's message knows of the call: the provider's last call status
// (ringing, in-progress, completed, busy, no-answer, failed, canceled), how long it lasted and
// how long its voicemail is (the recording itself is in media).
type CallData struct {
	Status           string `json:"status"`
	DurationSeconds  int    `json:"duration_seconds"`
	RecordingSeconds int    `json:"recording_seconds"`
}

// ServiceData is what a service did with a message (its exchange): the command or the flow
// and step, whether it was handled and why (or why not: rate_limited, invalid...), the answer's
// text and message id (null: no answer was sent).
type ServiceData struct {
	ID       string  `json:"id"`
	Command  string  `json:"command"`
	Flow     string  `json:"flow"`
	Step     string  `json:"step"`
	Handled  bool    `json:"handled"`
	Reason   string  `json:"reason"`
	Response string  `json:"response"`
	ReplyID  *string `json:"reply_id"`
}

// NewServiceData describes an exchange for a client.
func NewServiceData(e model.ServiceExchange) *ServiceData {
	return &ServiceData{ID: e.ServiceID, Command: e.Command, Flow: e.Flow, Step: e.Step, Handled: e.Handled,
		Reason: e.Reason, Response: e.Response, ReplyID: orNull(e.ReplyID)}
}

// FlowCompletedData is the "data" of flow.completed: a contact finished a service's flow.
type FlowCompletedData struct {
	ServiceID string            `json:"service_id"`
	Number    string            `json:"number"`
	Phone     string            `json:"phone"`
	Flow      string            `json:"flow"`
	Answers   map[string]string `json:"answers"`
	MessageID string            `json:"message_id"`
	Contact   model.ContactInfo `json:"contact"`
}

// OutboundData are the fields only outbound messages have.
type OutboundData struct {
	Segments     int     `json:"segments"`
	Encoding     string  `json:"encoding"`
	CostCents    int64   `json:"cost_cents"`
	ErrorCode    *string `json:"error_code"`
	ErrorMessage *string `json:"error_message"`
	StatusAt     string  `json:"status_at"`
	// DLTTemplateID and DLTEntityID: the DLT ids the message was sent under (India); absent
	// for none.
	DLTTemplateID string `json:"dlt_template_id,omitempty"`
	DLTEntityID   string `json:"dlt_entity_id,omitempty"`
}

// TimeFormat is how times appear in payloads and API answers: RFC 3339, UTC, milliseconds.
const TimeFormat = "2006-01-02T15:04:05.000Z07:00"

func orNull(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// NewMessageData describes a message for a client; contact is the best knowledge of the sender.
func NewMessageData(m model.Message, contact model.ContactInfo) MessageData {
	d := MessageData{
		ID: m.ID, ClientID: m.ClientID, ConversationID: m.ConversationID, Direction: m.Direction,
		From: m.From, To: m.To, Body: m.Body, Channel: m.Channel, Status: m.Status,
		MatchedBlockWord: orNull(m.MatchedBlockWord), Contact: contact, Provider: m.Provider,
		ProviderMessageID: orNull(m.ProviderMessageID), ReceivedAt: m.ReceivedAt.UTC().Format(TimeFormat),
		RoutedBy: m.RoutedBy, Media: m.Media,
	}
	if d.Media == nil {
		d.Media = []model.Attachment{}
	}
	if c, ok := model.DecodeCallInfo(m.Meta); ok && m.Channel == model.ChannelVoice {
		d.Call = &CallData{Status: c.Status, DurationSeconds: c.DurationSeconds, RecordingSeconds: c.RecordingSeconds}
	}
	if m.Direction == model.Outbound {
		d.OutboundData = &OutboundData{Segments: m.Segments, Encoding: m.Encoding, CostCents: m.CostCents,
			ErrorCode: orNull(m.ErrorCode), ErrorMessage: orNull(m.ErrorMessage),
			StatusAt: m.StatusAt.UTC().Format(TimeFormat), DLTTemplateID: m.DLTTemplateID, DLTEntityID: m.DLTEntityID}
	}
	return d
}

// Payload encodes an event body. The body is frozen when the event is stored, so every attempt
// sends the same bytes and a retried delivery is recognisable by receivers.
func Payload(typ model.EventType, at time.Time, data any) ([]byte, error) {
	return json.Marshal(envelope{Type: typ, Timestamp: at.UTC().Format(TimeFormat), Data: data})
}

// Enqueue stores an event for a client's webhook, inside tx; the delivery is its own job.
// Events of one conversation are delivered one at a time, in order. A client without a webhook
// URL gets no delivery (it reads its conversations through the API); it reports false then.
//
// Every event is also announced to the client's open dashboards, webhook URL or not.
//
// A client whose webhook format is twilio gets Twilio's incoming-message form instead (for
// message.received; no other event), and
// a message sent with a status callback URL has its status events posted there too, in Twilio's
// form (twilio.go).
//
// A client with an SMPP login gets its SMS inbound messages as deliver_sm over a receiver bind
// (that delivery falls back to the webhook while no bind is up, unless the login asks both),
// and the final statuses of messages it submitted with registered_delivery as delivery
// receipts (smpp.go).
func Enqueue(ctx context.Context, tx *store.Tx, c model.Client, typ model.EventType, m model.Message, payload []byte, now time.Time) (bool, error) {
	tx.Announce(store.Announcement{ClientID: c.ID, Kind: "message", ConversationID: m.ConversationID, MessageID: m.ID})
	standard, shaped, err := twilioDeliveries(ctx, tx, c, typ, m)
	if err != nil {
		return false, err
	}
	smpp, replaces, err := smppDeliveries(ctx, tx, c, typ, m)
	if err != nil {
		return false, err
	}
	if standard && !replaces {
		shaped = append(shaped, model.Delivery{Payload: payload, Format: model.DeliveryStandard})
	}
	var data *MessageData // what the deliver_sm's payload says, when made here
	if smpp {
		if payload == nil { // its caller made none: the client has no webhook URL
			md := NewMessageData(m, m.Contact)
			if payload, err = Payload(typ, now, md); err != nil {
				return false, err
			}
			data = &md
		}
		shaped = append(shaped, model.Delivery{Payload: payload, Format: model.DeliverySMPP})
	}
	toClient := false
	for _, d := range shaped {
		d.ID, d.ClientID, d.ConversationID, d.MessageID = model.NewIDAt(model.PrefixDelivery, now), c.ID, m.ConversationID, m.ID
		d.Type, d.Status, d.CreatedAt = typ, model.DeliveryPending, now
		// Registered before the insert: a delivery born leased to this process starts right
		// after the commit, and should find itself handed off.
		h := handed{d: d}
		if d.Format == model.DeliverySMPP {
			h.data = data
		}
		tx.AfterCommit(func() { fresh.Put(d.ID, h) })
		if err := tx.EnqueueDelivery(ctx, d); err != nil {
			return false, err
		}
		toClient = toClient || (d.URL == "" && d.Format != model.DeliverySMPP)
	}
	return toClient, nil
}

// ErrNoURL means the client has no webhook URL to send to.
var ErrNoURL = errors.New("the client has no webhook URL")

// EnqueueTest queues a webhook.test event for the client's webhook: the same signing, retries
// and attempt log as real events, with a payload that says what it is.
func EnqueueTest(ctx context.Context, st *store.Store, c model.Client, now time.Time) (model.Delivery, error) {
	if c.WebhookURL == "" {
		return model.Delivery{}, ErrNoURL
	}
	payload, err := Payload(model.EventWebhookTest, now, map[string]string{"client_id": c.ID,
		"message": "This is a test event sent from the Ibiki dashboard."})
	if err != nil {
		return model.Delivery{}, err
	}
	d := model.Delivery{ID: model.NewIDAt(model.PrefixDelivery, now), ClientID: c.ID, Type: model.EventWebhookTest,
		Payload: payload, Status: model.DeliveryPending, CreatedAt: now, Format: model.DeliveryStandard}
	if c.WebhookFormat == model.DeliveryTwilio {
		// A Twilio-format endpoint takes Twilio's forms: the test is an incoming message from
		// nobody, with a body that says what it is (its TwiML answer is not acted on).
		form, err := twilioTestForm(ctx, st, c)
		if err != nil {
			return model.Delivery{}, err
		}
		d.Payload, d.Format = form, model.DeliveryTwilio
	}
	return d, st.InTx(ctx, func(tx *store.Tx) error {
		tx.Announce(store.Announcement{ClientID: c.ID, Kind: "delivery"})
		return tx.EnqueueDelivery(ctx, d)
	})
}

// fresh hands new deliveries to their first attempt in this process, which then needs not read
// them back (nor decode a deliver_sm's payload: data). Delivery ids are unique, so one handoff
// serves every store in the process. It only has to cover the moment between commit and claim:
// 10,000 entries (a few MB) are seconds of traffic; beyond that the attempt reads the row.
var fresh = queue.NewHandoff[handed](10_000)

// handed is a new delivery as created, and for a deliver_sm whose payload Enqueue made, what
// that payload says.
type handed struct {
	d    model.Delivery
	data *MessageData
}

// ErrDeliveryPending means the delivery is still being attempted: only a finished one (that
// succeeded or ran out of attempts) is replayed.
var ErrDeliveryPending = errors.New("this delivery is still being attempted")

// Replay sends the finished delivery id again, with the same webhook-id (receivers that did
// get it will recognise it), and the whole retry schedule ahead of it: its attempt count starts
// over while the attempt log keeps the earlier ones. It queues behind the conversation's other
// pending deliveries. An unknown id is store.ErrNotFound; a pending delivery ErrDeliveryPending.
func Replay(ctx context.Context, st *store.Store, id string, now time.Time) (model.Delivery, error) {
	var d model.Delivery
	err := st.InTx(ctx, func(tx *store.Tx) (err error) {
		if d, err = tx.DeliveryByID(ctx, id); err != nil {
			return err
		}
		if d.Status == model.DeliveryPending {
			return ErrDeliveryPending
		}
		d.Status, d.NextAttemptAt, d.CompletedAt, d.Attempts = model.DeliveryPending, now, time.Time{}, 0
		return tx.RequeueDelivery(ctx, d)
	})
	return d, err
}
