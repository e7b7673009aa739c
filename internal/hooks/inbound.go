package hooks

import (
	"net/http"

	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/provider"
	"github.com/ibiki/ibiki/internal/respond"
)

// acceptedOut is the answer for one message: its Ibiki id, and whether the provider had
// delivered it before.
type acceptedOut struct {
	ID        string `json:"id"`
	Duplicate bool   `json:"duplicate"`
}

// batchOut answers a request that carried several messages (or none), in their order.
type batchOut struct {
	Data []acceptedOut `json:"data"`
}

// source serves POST /webhooks/{name} for one adapter: read, verify, parse, accept, answer.
func (h *Hooks) source(name string, parser provider.InboundParser, v provider.Verifier) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, ok := h.read(w, r, name, v, false)
		if !ok {
			return
		}
		msgs, answer, err := parser.ParseInbound(req)
		if err != nil {
			h.parseFailed(w, r, req, name, err)
			return
		}
		if len(msgs) == 1 && answer.ContentType == "" {
			// The common case, answered as it always was: {"id","duplicate"}.
			res, err := h.Inbound.Accept(r.Context(), msgs[0])
			if err != nil {
				// Not stored: answer 5xx so that the provider retries.
				h.reject(w, r, name, "store", err)
				return
			}
			respond.JSON(w, http.StatusOK, acceptedOut{ID: res.ID, Duplicate: res.Duplicate})
			return
		}
		if ir, ok := parser.(provider.InstantReplier); ok && len(msgs) == 1 && h.Replies != nil {
			h.acceptAndReply(w, r, req, name, msgs[0], answer, ir)
			return
		}
		h.acceptAll(w, r, name, msgs, answer)
	})
}

// acceptAndReply stores a message whose provider takes a reply in the answer to its webhook
// (Twilio): when the message gets an auto-reply at once (AutoAnswerer), the answer carries it.
// The message is committed before anything else, and its routing waits for the reply's
// transaction (so the routing's own auto-reply finds the window taken); a failure of the reply
// leaves it answered without one: the provider's request never fails for an auto-reply.
func (h *Hooks) acceptAndReply(w http.ResponseWriter, r *http.Request, req provider.Request, name string, in provider.Inbound,
	answer provider.Answer, ir provider.InstantReplier) {
	res, route, err := h.Inbound.AcceptHeld(r.Context(), in)
	defer route() // after the reply's transaction: routing then finds the window taken
	if err != nil {
		h.reject(w, r, name, "store", err)
		return
	}
	if !res.Duplicate {
		m := model.Message{ID: res.ID, Direction: model.Inbound, Channel: in.Channel, From: in.From, To: in.To, Body: in.Body,
			Status: in.Status, Contact: in.Contact, Provider: in.Provider}
		reply, ok, err := h.Replies.AnswerAutoReply(r.Context(), m)
		switch {
		case err != nil:
			h.Log.Warn("auto-reply not given in the answer", "source", name, "message", res.ID, "error", err)
		case ok:
			answer = ir.InstantReply(req, reply.Body, reply.ID)
		}
	}
	writeAnswer(w, r, answer)
}

// acceptAll stores the messages of one request in order and answers with the adapter's answer,
// or with every message's id. A failure answers 5xx: the provider retries the whole request,
// and the messages already stored come back as duplicates (by their provider message id).
func (h *Hooks) acceptAll(w http.ResponseWriter, r *http.Request, name string, msgs []provider.Inbound, answer provider.Answer) {
	out := batchOut{Data: make([]acceptedOut, 0, len(msgs))}
	for _, m := range msgs {
		res, err := h.Inbound.Accept(r.Context(), m)
		if err != nil {
			h.reject(w, r, name, "store", err)
			return
		}
		out.Data = append(out.Data, acceptedOut{ID: res.ID, Duplicate: res.Duplicate})
	}
	if answer.ContentType != "" {
		writeAnswer(w, r, answer)
		return
	}
	respond.JSON(w, http.StatusOK, out)
}
