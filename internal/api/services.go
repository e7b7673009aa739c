package api

import (
	"errors"
	"net/http"

	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/respond"
	"github.com/ibiki/ibiki/internal/services"
	"github.com/ibiki/ibiki/internal/store"
)

// serviceIn is a service as the API takes it: its number, name, activity and spec (commands,
// flows and the rest of model.ServiceSpec, at the top level).
type serviceIn struct {
	ClientID *string `json:"client_id,omitempty"` // the operator's create only: the owner ("" or absent: a pool number's)
	Number   string  `json:"number"`
	Name     string  `json:"name"`
	Active   *bool   `json:"active"`
	model.ServiceSpec
}

// serviceOut is a service as the API shows it.
type serviceOut struct {
	ID       string `json:"id"`
	ClientID string `json:"client_id"`
	Number   string `json:"number"`
	Name     string `json:"name"`
	Active   bool   `json:"active"`
	model.ServiceSpec
	CreatedAt string `json:"created_at"`
	UpdatedAt string `json:"updated_at"`
}

func serviceJSON(s model.Service) serviceOut {
	out := serviceOut{ID: s.ID, ClientID: s.ClientID, Number: s.Number, Name: s.Name, Active: s.Active, ServiceSpec: s.Spec,
		CreatedAt: formatTime(s.CreatedAt), UpdatedAt: formatTime(s.UpdatedAt)}
	if out.Commands == nil {
		out.Commands = []model.Command{}
	}
	return out
}

// exchangeOut is one entry of a service's exchange log.
type exchangeOut struct {
	ID            string `json:"id"`
	MessageID     string `json:"message_id"`
	Phone         string `json:"phone"`
	Input         string `json:"input"`
	Command       string `json:"command"`
	Flow          string `json:"flow"`
	Step          string `json:"step"`
	Handled       bool   `json:"handled"`
	Reason        string `json:"reason"`
	Response      string `json:"response"`
	ReplyID       string `json:"reply_id"`
	CalloutStatus int    `json:"callout_status"`
	CalloutMS     int64  `json:"callout_ms"`
	CreatedAt     string `json:"created_at"`
}

func exchangeJSON(e model.ServiceExchange) exchangeOut {
	return exchangeOut{ID: e.ID, MessageID: e.MessageID, Phone: e.Phone, Input: e.Input, Command: e.Command, Flow: e.Flow,
		Step: e.Step, Handled: e.Handled, Reason: e.Reason, Response: e.Response, ReplyID: e.ReplyID,
		CalloutStatus: e.CalloutStatus, CalloutMS: e.CalloutMS, CreatedAt: formatTime(e.CreatedAt)}
}

func (a *API) serviceManager() *services.Manager {
	return &services.Manager{Store: a.Store, Region: a.Region, AllowPrivate: a.Tenants.AllowPrivateWebhooks,
		Resolver: a.Tenants.Resolver, Clock: a.now}
}

// serviceErr turns the manager's errors into the API's.
func serviceErr(err error) error {
	var fe *model.FieldErr
	switch {
	case errors.As(err, &fe):
		return respond.Invalid(fe.Field, fe.Field+": "+fe.Reason)
	case errors.Is(err, services.ErrNumberTaken):
		return &respond.Error{Status: http.StatusConflict, Code: "number_has_service", Message: "the number has a service already: change that one (PUT) or delete it", Param: "number"}
	}
	return err
}

// serviceOwner says whose services a request may see: a client's own (id), or every one (the
// operator: all true).
type serviceOwner func(r *http.Request) (id string, all bool)

func ownServices(r *http.Request) (string, bool) { return clientID(r.Context()), false }
func anyServices(*http.Request) (string, bool)   { return "", true }

// service reads the service of the path's {id} that the caller may see (another's is 404).
func (a *API) service(r *http.Request, who serviceOwner) (model.Service, error) {
	if id, all := who(r); !all {
		return a.Store.ClientService(r.Context(), id, r.PathValue("id"))
	}
	return a.Store.Service(r.Context(), r.PathValue("id"))
}

// createService: POST …/services {"number", "commands", …} → 201 with the service.
func (a *API) createService(who serviceOwner) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var in serviceIn
		if err := respond.Decode(r, &in); err != nil {
			respond.Err(w, r, err)
			return
		}
		owner, all := who(r)
		if all && in.ClientID != nil && *in.ClientID != "" {
			if _, err := a.Store.Client(r.Context(), *in.ClientID); errors.Is(err, store.ErrNotFound) {
				respond.Err(w, r, respond.Invalid("client_id", "no client has this id"))
				return
			} else if err != nil {
				respond.Err(w, r, err)
				return
			}
			owner = *in.ClientID
		} else if !all && in.ClientID != nil {
			respond.Err(w, r, respond.Invalid("client_id", "a client's services are its own: leave client_id out"))
			return
		}
		svc, err := a.serviceManager().Create(r.Context(), owner, services.Draft{Number: in.Number, Name: in.Name, Active: in.Active, Spec: in.ServiceSpec})
		if err != nil {
			respond.Err(w, r, serviceErr(err))
			return
		}
		respond.JSON(w, http.StatusCreated, serviceJSON(svc))
	}
}

// listServices: GET …/services → {"data":[…]}, every service (next_cursor null).
func (a *API) listServices(who serviceOwner) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var (
			list []model.Service
			err  error
		)
		if id, all := who(r); all {
			list, err = a.Store.AllServices(r.Context())
		} else {
			list, err = a.Store.Services(r.Context(), id)
		}
		if err != nil {
			respond.Err(w, r, err)
			return
		}
		out := make([]serviceOut, len(list))
		for i, s := range list {
			out[i] = serviceJSON(s)
		}
		respond.JSON(w, http.StatusOK, page{Data: out})
	}
}

// getService: GET …/services/{id}.
func (a *API) getService(who serviceOwner) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		svc, err := a.service(r, who)
		if err != nil {
			respond.Err(w, r, err)
			return
		}
		respond.JSON(w, http.StatusOK, serviceJSON(svc))
	}
}

// putService: PUT …/services/{id} {"name", "active"?, "commands", …} → 200: the whole spec is
// replaced (the number stays).
func (a *API) putService(who serviceOwner) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		svc, err := a.service(r, who)
		if err != nil {
			respond.Err(w, r, err)
			return
		}
		var in serviceIn
		if err := respond.Decode(r, &in); err != nil {
			respond.Err(w, r, err)
			return
		}
		if in.ClientID != nil && *in.ClientID != svc.ClientID {
			respond.Err(w, r, respond.Invalid("client_id", "a service keeps its owner"))
			return
		}
		svc, err = a.serviceManager().Update(r.Context(), svc, services.Draft{Number: in.Number, Name: in.Name, Active: in.Active, Spec: in.ServiceSpec})
		if err != nil {
			respond.Err(w, r, serviceErr(err))
			return
		}
		respond.JSON(w, http.StatusOK, serviceJSON(svc))
	}
}

// deleteService: DELETE …/services/{id} → 204.
func (a *API) deleteService(who serviceOwner) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		svc, err := a.service(r, who)
		if err == nil {
			err = a.serviceManager().Delete(r.Context(), svc)
		}
		if err != nil {
			respond.Err(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

// serviceLog: GET …/services/{id}/log?limit=&cursor= → the exchanges, newest first.
func (a *API) serviceLog(who serviceOwner) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		svc, err := a.service(r, who)
		if err != nil {
			respond.Err(w, r, err)
			return
		}
		limit, cursor, err := pageParams(r)
		if err != nil {
			respond.Err(w, r, err)
			return
		}
		list, err := a.Store.ServiceExchanges(r.Context(), svc.ID, cursor, limit)
		if err != nil {
			respond.Err(w, r, err)
			return
		}
		out, last := make([]exchangeOut, len(list)), ""
		for i, e := range list {
			out[i], last = exchangeJSON(e), e.ID
		}
		respond.JSON(w, http.StatusOK, page{Data: out, NextCursor: nextCursor(len(list), limit, last)})
	}
}
