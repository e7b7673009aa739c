package api

import (
	"cmp"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/respond"
	"github.com/ibiki/ibiki/internal/sms"
	"github.com/ibiki/ibiki/internal/store"
	"github.com/ibiki/ibiki/internal/webhook"
)

type conversationOut struct {
	ID            string        `json:"id"`
	Phone         string        `json:"phone"`
	Channel       model.Channel `json:"channel"`
	LastMessageAt string        `json:"last_message_at"`
	LastInboundAt *string       `json:"last_inbound_at"`
	LastInboundTo *string       `json:"last_inbound_to"`
	Preview       string        `json:"last_message_preview"`
	MessageCount  int64         `json:"message_count"`
	UnreadCount   int64         `json:"unread_count"`
	CreatedAt     string        `json:"created_at"`
}

func conversationJSON(c model.Conversation) conversationOut {
	return conversationOut{ID: c.ID, Phone: c.Phone, Channel: c.Channel, LastMessageAt: formatTime(c.LastMessageAt),
		LastInboundAt: timeOrNil(c.LastInboundAt), LastInboundTo: orNil(c.LastInboundTo), Preview: c.LastPreview,
		MessageCount: c.MessageCount, UnreadCount: c.UnreadCount, CreatedAt: formatTime(c.CreatedAt)}
}

// listConversations: GET /api/v1/conversations, most recently active first.
func (a *API) listConversations(w http.ResponseWriter, r *http.Request) {
	limit, cursor, err := pageParams(r)
	if err != nil {
		respond.Err(w, r, err)
		return
	}
	var after *store.ConversationCursor
	if cursor != "" {
		// The cursor is "<unix ms>:<conversation id>" of the last conversation seen.
		at, id, ok := strings.Cut(cursor, ":")
		n, err := strconv.ParseInt(at, 10, 64)
		if !ok || err != nil {
			respond.Err(w, r, respond.Invalid("cursor", "cursor is not one this API gave out"))
			return
		}
		after = &store.ConversationCursor{LastMessageAt: time.UnixMilli(n), ID: id}
	}
	q := r.URL.Query()
	f := store.ConversationFilter{Channel: model.Channel(q.Get("channel"))}
	if f.Channel != "" && !f.Channel.Known() {
		respond.Err(w, r, respond.Invalid("channel", "channel must be sms, whatsapp or voice"))
		return
	}
	if v := q.Get("to"); v != "" {
		if f.To, err = sms.NormalizeAddress(v, a.Region); err != nil {
			respond.Err(w, r, respond.Invalid("to", err.Error()))
			return
		}
	}
	cs, err := a.Store.Conversations(r.Context(), clientID(r.Context()), f, after, limit)
	if err != nil {
		respond.Err(w, r, err)
		return
	}
	out := make([]conversationOut, len(cs))
	last := ""
	for i, c := range cs {
		out[i] = conversationJSON(c)
		last = strconv.FormatInt(c.LastMessageAt.UnixMilli(), 10) + ":" + c.ID
	}
	respond.JSON(w, http.StatusOK, page{Data: out, NextCursor: nextCursor(len(cs), limit, last)})
}

// listConversationMessages: GET /api/v1/conversations/{phone}/messages, newest first. The
// phone is URL-escaped (%2B15551234567); a national number is read in the default region.
func (a *API) listConversationMessages(w http.ResponseWriter, r *http.Request) {
	limit, cursor, err := pageParams(r)
	if err != nil {
		respond.Err(w, r, err)
		return
	}
	phone, err := sms.NormalizeE164(r.PathValue("phone"), a.Region)
	if err != nil {
		respond.Err(w, r, respond.Invalid("phone", err.Error()))
		return
	}
	ch := model.Channel(cmp.Or(r.URL.Query().Get("channel"), string(model.ChannelSMS)))
	if !ch.Known() {
		respond.Err(w, r, respond.Invalid("channel", "channel must be sms, whatsapp or voice"))
		return
	}
	cid := clientID(r.Context())
	conv, err := a.Store.Conversation(r.Context(), cid, phone, ch)
	if err != nil {
		respond.Err(w, r, err)
		return
	}
	ms, err := a.Store.MessagesByConversation(r.Context(), cid, conv.ID, cursor, limit)
	if err != nil {
		respond.Err(w, r, err)
		return
	}
	out := make([]webhook.MessageData, len(ms))
	last := ""
	for i, m := range ms {
		out[i], last = messageJSON(m), m.ID
	}
	respond.JSON(w, http.StatusOK, page{Data: out, NextCursor: nextCursor(len(ms), limit, last)})
}

// getMessage: GET /api/v1/messages/{id}.
func (a *API) getMessage(w http.ResponseWriter, r *http.Request) {
	m, err := a.Store.Message(r.Context(), clientID(r.Context()), r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		err = respond.ErrNotFound
	}
	if err != nil {
		respond.Err(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, outJSON(m))
}
