package api

import (
	"errors"
	"net/http"

	"github.com/ibiki/ibiki/internal/inbound"
	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/respond"
	"github.com/ibiki/ibiki/internal/store"
)

type unroutedOut struct {
	ID                string            `json:"id"`
	From              string            `json:"from"`
	To                string            `json:"to"`
	Body              string            `json:"body"`
	ReceivedAt        string            `json:"received_at"`
	Provider          string            `json:"provider"`
	ProviderMessageID *string           `json:"provider_message_id"`
	Status            string            `json:"status"`
	Contact           model.ContactInfo `json:"contact"`
}

func (a *API) listUnrouted(w http.ResponseWriter, r *http.Request) {
	limit, cursor, err := pageParams(r)
	if err != nil {
		respond.Err(w, r, err)
		return
	}
	ms, err := a.Store.UnroutedMessages(r.Context(), cursor, limit)
	if err != nil {
		respond.Err(w, r, err)
		return
	}
	out := make([]unroutedOut, len(ms))
	last := ""
	for i, m := range ms {
		out[i] = unroutedOut{ID: m.ID, From: m.From, To: m.To, Body: m.Body, ReceivedAt: formatTime(m.ReceivedAt),
			Provider: m.Provider, Status: string(m.Status), Contact: m.Contact}
		if m.ProviderMessageID != "" {
			out[i].ProviderMessageID = &ms[i].ProviderMessageID
		}
		last = m.ID
	}
	respond.JSON(w, http.StatusOK, page{Data: out, NextCursor: nextCursor(len(ms), limit, last)})
}

// assignIn is the body of POST /admin/v1/unrouted/{id}/assign.
type assignIn struct {
	ClientID string `json:"client_id"`
}

func (a *API) assignUnrouted(w http.ResponseWriter, r *http.Request) {
	var in assignIn
	if err := respond.Decode(r, &in); err != nil {
		respond.Err(w, r, err)
		return
	}
	if in.ClientID == "" {
		respond.Err(w, r, respond.Missing("client_id"))
		return
	}
	if _, err := a.Store.Client(r.Context(), in.ClientID); errors.Is(err, store.ErrNotFound) {
		respond.Err(w, r, respond.Invalid("client_id", "no client has the id "+in.ClientID))
		return
	}
	m, err := a.Inbound.Assign(r.Context(), r.PathValue("id"), in.ClientID)
	switch {
	case errors.Is(err, inbound.ErrNotUnrouted):
		err = &respond.Error{Status: http.StatusConflict, Code: "not_unrouted", Message: "this message is already routed"}
	case errors.Is(err, inbound.ErrClientInactive):
		err = &respond.Error{Status: http.StatusUnprocessableEntity, Code: "client_inactive",
			Message: "the client is not active; activate it first", Param: "client_id"}
	}
	if err != nil {
		respond.Err(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, messageJSON(m))
}
