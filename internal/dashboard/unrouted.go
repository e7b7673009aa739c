package dashboard

import (
	"errors"
	"net/http"

	"github.com/ibiki/ibiki/internal/inbound"
	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/store"
)

// The unrouted inbox: messages no rule placed, assigned by the operator.

const unroutedPerPage = 50

type unroutedPage struct {
	Messages []model.Message
	Clients  []model.Client
	Error    string
	Next     string
}

// listUnrouted is the unrouted inbox: the inbound messages no rule could route, newest first,
// each with a form that assigns it to a client.
func (d *Dashboard) listUnrouted(w http.ResponseWriter, r *http.Request, v *view) error {
	return d.unroutedPage(w, r, v, http.StatusOK, "")
}

func (d *Dashboard) unroutedPage(w http.ResponseWriter, r *http.Request, v *view, status int, msg string) error {
	data := unroutedPage{Error: msg}
	ms, err := d.Store.UnroutedMessages(r.Context(), r.URL.Query().Get("before"), unroutedPerPage+1)
	if err != nil {
		return err
	}
	if len(ms) > unroutedPerPage {
		ms, data.Next = ms[:unroutedPerPage], ms[unroutedPerPage-1].ID
	}
	data.Messages = ms
	cs, err := d.clientChoices(r)
	if err != nil {
		return err
	}
	for _, c := range cs {
		if c.Active { // an inactive client cannot take a message (inbound.ErrClientInactive)
			data.Clients = append(data.Clients, c)
		}
	}
	d.render(w, r, v, status, "unrouted", "Unrouted messages", data)
	return nil
}

// assignUnrouted routes an unrouted message to the chosen client, like the admin API: from
// then on it is in the client's conversation and delivered to its webhook.
func (d *Dashboard) assignUnrouted(w http.ResponseWriter, r *http.Request, v *view) error {
	id, clientID := r.PathValue("id"), r.PostFormValue("client_id")
	if clientID == "" {
		return d.unroutedPage(w, r, v, http.StatusUnprocessableEntity, "Choose the client the message belongs to.")
	}
	if _, err := d.Store.Client(r.Context(), clientID); errors.Is(err, store.ErrNotFound) {
		return d.unroutedPage(w, r, v, http.StatusUnprocessableEntity, "No client has the id "+clientID+".")
	} else if err != nil {
		return err
	}
	m, err := d.Inbound.Assign(r.Context(), id, clientID)
	switch {
	case errors.Is(err, inbound.ErrNotUnrouted):
		return d.unroutedPage(w, r, v, http.StatusConflict, "This message is already routed.")
	case errors.Is(err, inbound.ErrClientInactive):
		return d.unroutedPage(w, r, v, http.StatusUnprocessableEntity, "The client "+clientID+" is not active; activate it first.")
	case err != nil:
		return err
	}
	d.audit(r, v, "unrouted.assign", clientID, m.ID, "")
	redirect(w, r, "/unrouted", "Message "+m.ID+" assigned to "+clientID+"; it is on its way to the client.")
	return nil
}
