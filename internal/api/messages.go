package api

import (
	"cmp"
	"net/http"
	"time"

	"github.com/ibiki/ibiki/internal/auth"
	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/outbound"
	"github.com/ibiki/ibiki/internal/respond"
	"github.com/ibiki/ibiki/internal/sms"
	"github.com/ibiki/ibiki/internal/store"
	"github.com/ibiki/ibiki/internal/webhook"
)

// messageOut is a message as the API shows it: the webhook shape, plus, for UCS-2 bodies, the
// characters that made them UCS-2.
type messageOut struct {
	webhook.MessageData
	NonGSM []string `json:"non_gsm_characters,omitempty"`
}

func outJSON(m model.Message) messageOut {
	out := messageOut{MessageData: messageJSON(m)}
	if m.Direction == model.Outbound && m.Encoding == string(sms.UCS2) {
		out.NonGSM = sms.Segments(m.Body).NonGSM
	}
	return out
}

// createMessage: POST /api/v1/messages {"to","body","from"?} → 202.
func (a *API) createMessage(w http.ResponseWriter, r *http.Request) {
	a.send(w, r, "", model.PriorityNormal)
}

// replyInConversation: POST /api/v1/conversations/{phone}/messages {"body"} → 202; the sticky
// sender applies and the reply goes ahead of bulk traffic.
func (a *API) replyInConversation(w http.ResponseWriter, r *http.Request) {
	a.send(w, r, r.PathValue("phone"), model.PriorityInteractive)
}

// replyIn is the body of POST /api/v1/conversations/{phone}/messages.
type replyIn struct {
	Body      string        `json:"body"`
	From      string        `json:"from"`
	Channel   model.Channel `json:"channel"`
	MediaURLs []string      `json:"media_urls"`
	// DLTTemplateID names the client's DLT template (its DLT id) the body must match.
	DLTTemplateID string `json:"dlt_template_id"`
}

// sendIn is the body of POST /api/v1/messages.
type sendIn struct {
	To        *string       `json:"to"`
	Body      string        `json:"body"`
	From      string        `json:"from"`
	Channel   model.Channel `json:"channel"`
	MediaURLs []string      `json:"media_urls"`
	// SendAt schedules the message (RFC 3339, 1 minute to 35 days ahead): charged now, sent
	// then, cancelable until then (POST /api/v1/messages/{id}/cancel).
	SendAt *string `json:"send_at"`
	// ValidityPeriod, in seconds (1 to 36,000): a message not handed to its provider within it
	// (from its acceptance, or its send_at) fails with error 30036 and is refunded.
	ValidityPeriod *int `json:"validity_period"`
	// DLTTemplateID names the client's DLT template (its DLT id, India) the body must match;
	// required when the client requires DLT. Its ids travel with the message.
	DLTTemplateID string `json:"dlt_template_id"`
}

// timing reads a send's send_at and validity_period.
func (in sendIn) timing() (at time.Time, valid time.Duration, err error) {
	if in.SendAt != nil {
		if at, err = time.Parse(time.RFC3339, *in.SendAt); err != nil {
			return at, 0, respond.Invalid("send_at", "send_at must be an RFC 3339 time, for example 2026-12-31T23:59:00Z")
		}
	}
	if in.ValidityPeriod != nil {
		if *in.ValidityPeriod < 1 || time.Duration(*in.ValidityPeriod)*time.Second > outbound.MaxValidFor {
			return at, 0, respond.Invalid("validity_period", "validity_period must be a whole number of seconds from 1 to 36000")
		}
		valid = time.Duration(*in.ValidityPeriod) * time.Second
	}
	return at, valid, nil
}

func (a *API) send(w http.ResponseWriter, r *http.Request, to string, priority int) {
	c, _ := auth.Client(r.Context())
	a.idempotent(w, r, c.ID, answerWith(http.StatusAccepted, outJSON), func(r *http.Request, body []byte) (int, any, error) {
		var in sendIn
		if to != "" {
			// A reply needs the conversation (of its channel, SMS unless named): another
			// client's phone is not found.
			var reply replyIn
			if err := respond.DecodeBytes(body, &reply); err != nil {
				return 0, nil, err
			}
			phone, err := sms.NormalizeE164(to, a.Region)
			if err != nil {
				return 0, nil, respond.ErrNotFound
			}
			if _, err := a.Store.Conversation(r.Context(), c.ID, phone, cmp.Or(reply.Channel, model.ChannelSMS)); err != nil {
				return 0, nil, err
			}
			in.To, in.Body, in.From, in.Channel, in.MediaURLs = &to, reply.Body, reply.From, reply.Channel, reply.MediaURLs
			in.DLTTemplateID = reply.DLTTemplateID
		} else if err := respond.DecodeBytes(body, &in); err != nil {
			return 0, nil, err
		}
		if in.To == nil {
			return 0, nil, respond.Missing("to")
		}
		at, valid, err := in.timing()
		if err != nil {
			return 0, nil, err
		}
		m, err := a.Outbound.Send(r.Context(), c, outbound.Request{To: *in.To, Body: in.Body, From: in.From, Priority: priority,
			Channel: in.Channel, MediaURLs: in.MediaURLs, SendAt: at, ValidFor: valid, DLTTemplateID: in.DLTTemplateID})
		return http.StatusAccepted, outJSON(m), err
	})
}

// cancelMessage: POST /api/v1/messages/{id}/cancel → 200 with the message, canceled and
// refunded; 409 not_scheduled when it is not (or no longer) a scheduled message.
func (a *API) cancelMessage(w http.ResponseWriter, r *http.Request) {
	m, err := a.Outbound.Cancel(r.Context(), clientID(r.Context()), r.PathValue("id"))
	if err != nil {
		respond.Err(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, outJSON(m))
}

// listMessages: GET /api/v1/messages?status=&to=&direction=&limit=&cursor=.
func (a *API) listMessages(w http.ResponseWriter, r *http.Request) {
	limit, cursor, err := pageParams(r)
	if err != nil {
		respond.Err(w, r, err)
		return
	}
	q := r.URL.Query()
	f := store.MessageFilter{Status: model.MessageStatus(q.Get("status")), Direction: model.Direction(q.Get("direction"))}
	if f.Status != "" && !f.Status.Known() {
		respond.Err(w, r, respond.Invalid("status", "unknown status "+string(f.Status)))
		return
	}
	if f.Direction != "" && f.Direction != model.Inbound && f.Direction != model.Outbound {
		respond.Err(w, r, respond.Invalid("direction", "direction must be inbound or outbound"))
		return
	}
	if v := q.Get("to"); v != "" {
		if f.To, err = sms.NormalizeAddress(v, a.Region); err != nil {
			respond.Err(w, r, respond.Invalid("to", err.Error()))
			return
		}
	}
	if f.Channel = model.Channel(q.Get("channel")); f.Channel != "" && !f.Channel.Known() {
		respond.Err(w, r, respond.Invalid("channel", "channel must be sms, whatsapp or voice"))
		return
	}
	ms, err := a.Store.ClientMessages(r.Context(), clientID(r.Context()), f, cursor, limit)
	if err != nil {
		respond.Err(w, r, err)
		return
	}
	out := make([]messageOut, len(ms))
	last := ""
	for i, m := range ms {
		out[i], last = outJSON(m), m.ID
	}
	respond.JSON(w, http.StatusOK, page{Data: out, NextCursor: nextCursor(len(ms), limit, last)})
}
