package api

import (
	"net/http"

	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/provider"
	"github.com/ibiki/ibiki/internal/respond"
	"github.com/ibiki/ibiki/internal/sms"
)

var errNoSimulator = &respond.Error{Status: http.StatusNotFound, Code: "simulator_not_configured",
	Message: "the simulator provider is not configured on this server"}

// simulateInbound: POST /admin/v1/simulator/inbound {"from","to","body"}: a contact's reply,
// injected through the real inbound path as if the simulator provider had received it.
func (a *API) simulateInbound(w http.ResponseWriter, r *http.Request) {
	if a.Simulator == nil {
		respond.Err(w, r, errNoSimulator)
		return
	}
	var in struct {
		From string `json:"from"`
		To   string `json:"to"`
		Body string `json:"body"`
	}
	if err := respond.Decode(r, &in); err != nil {
		respond.Err(w, r, err)
		return
	}
	msg := provider.Inbound{Provider: "simulator", Channel: model.ChannelSMS, Status: model.StatusReceived, Body: in.Body}
	var err error
	if msg.From, err = a.phoneParam("from", in.From); err == nil && in.Body == "" {
		err = respond.Missing("body")
	}
	if err == nil && in.To != "" {
		if msg.To, err = sms.NormalizeAddress(in.To, a.Region); err != nil {
			err = respond.Invalid("to", err.Error())
		}
	}
	if err != nil {
		respond.Err(w, r, err)
		return
	}
	msg.ProviderMessageID = model.NewID("sim")
	acc, err := a.Inbound.Accept(r.Context(), msg)
	if err != nil {
		respond.Err(w, r, err)
		return
	}
	respond.JSON(w, http.StatusAccepted, map[string]string{"id": acc.ID, "provider": "simulator",
		"provider_message_id": msg.ProviderMessageID})
}
