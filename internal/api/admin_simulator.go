package api

import (
	"errors"
	"net/http"

	"github.com/ibiki/ibiki/internal/provider"
	"github.com/ibiki/ibiki/internal/respond"
)

var errNoSimulator = &respond.Error{Status: http.StatusNotFound, Code: "simulator_not_configured",
	Message: "the simulator provider is not configured on this server"}

// simulateIn is the body of POST /admin/v1/simulator/inbound.
type simulateIn struct {
	From string `json:"from"`
	To   string `json:"to"`
	Body string `json:"body"`
}

// simulateInbound: POST /admin/v1/simulator/inbound {"from","to","body"}: a contact's reply,
// injected through the real inbound path as if the simulator provider had received it.
func (a *API) simulateInbound(w http.ResponseWriter, r *http.Request) {
	via, ok := a.Providers.Injector()
	if !ok {
		respond.Err(w, r, errNoSimulator)
		return
	}
	var in simulateIn
	if err := respond.Decode(r, &in); err != nil {
		respond.Err(w, r, err)
		return
	}
	acc, msg, err := a.Inbound.Inject(r.Context(), via, provider.Injection{From: in.From, To: in.To, Body: in.Body})
	var fe *provider.FieldError
	if errors.As(err, &fe) {
		err = respond.Invalid(fe.Field, fe.Reason)
		if fe.Missing() {
			err = respond.Missing(fe.Field)
		}
	}
	if err != nil {
		respond.Err(w, r, err)
		return
	}
	respond.JSON(w, http.StatusAccepted, map[string]string{"id": acc.ID, "provider": msg.Provider,
		"provider_message_id": msg.ProviderMessageID})
}
