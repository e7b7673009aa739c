package dashboard

import (
	"cmp"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/respond"
	"github.com/ibiki/ibiki/internal/services"
	"github.com/ibiki/ibiki/internal/store"
)

// Services on numbers and short codes (package services): a client lists, creates, edits,
// pauses and deletes the services on its numbers, the spec written as JSON (the shape of
// POST /api/v1/services), and reads each one's exchange log. The operator sees every client's
// services and their logs, and can create (on a client's number or a pool number), edit, pause
// or delete them. Writes go through services.Manager, as the API's do.

// exampleSpec prefills the form of a new service: a command answering with a text, and one
// starting a one-step flow that stores the contact's name.
const exampleSpec = `{
  "commands": [
    {"keyword": "INFO", "description": "Opening hours",
     "action": {"type": "reply", "text": "We are open 9am to 5pm, Monday to Friday."}},
    {"keyword": "1", "description": "Register", "action": {"type": "flow", "flow": "register"}}
  ],
  "flows": {
    "register": {
      "steps": [
        {"id": "name", "prompt": "Reply with your full name to register",
         "expect": {"type": "text", "max_length": 60}, "contact": "name"}
      ],
      "complete": {"type": "reply", "text": "Thanks [firstname]! You are registered."}
    }
  },
  "invalid_reply": "Send one of: [menu]"
}`

// exchangesPerPage is how many exchanges a log page shows.
const exchangesPerPage = 50

// serviceForm is a service as its form holds it, written back after an error.
type serviceForm struct {
	Number, Name, Spec string
	Active             bool
	ClientID           string // the operator's form: the owner ("" for a pool number's)
}

// serviceRow is a service in the list.
type serviceRow struct {
	model.Service
	Commands int
}

type servicesPage struct {
	Services []serviceRow
	// Numbers are the client's own numbers (a service goes on one of them).
	Numbers []string
	// The operator's list: the clients to filter by, and the one chosen ("" for all).
	Clients []model.Client
	Client  string
	Form    serviceForm
	// Error is the form's error, Field the JSON path it names ("" for none).
	Error, Field string
}

type servicePage struct {
	Service model.Service
	Form    serviceForm
	Error   string
	Field   string
}

// exchangeRow is one entry of the log, with where its messages are shown ("" for nowhere).
type exchangeRow struct {
	model.ServiceExchange
	Conversation string
}

type serviceLogPage struct {
	Service   model.Service
	Exchanges []exchangeRow
	Next      string
}

func (d *Dashboard) serviceManager() *services.Manager {
	return &services.Manager{Store: d.Store, Region: d.Region, AllowPrivate: d.Tenants.AllowPrivateWebhooks,
		Resolver: d.Tenants.Resolver, Clock: d.Clock}
}

// ownService reads the service of the path's {id} that the viewer may see: a client's own,
// or any for the operator. Another client's is store.ErrNotFound (404).
func (d *Dashboard) ownService(r *http.Request, v *view) (model.Service, error) {
	svc, err := d.Store.Service(r.Context(), r.PathValue("id"))
	if err != nil {
		return svc, err
	}
	if v.User.Role != model.RoleOperator && svc.ClientID != v.Client.ID {
		return model.Service{}, store.ErrNotFound
	}
	return svc, nil
}

// listServices: a client's services and the form to add one; the operator's list of every
// client's (?client= for one; "pool" for the operator's own, on pool numbers).
func (d *Dashboard) listServices(w http.ResponseWriter, r *http.Request, v *view) error {
	return d.servicesPage(w, r, v, http.StatusOK, serviceForm{Spec: exampleSpec, Active: true}, "", "")
}

func (d *Dashboard) servicesPage(w http.ResponseWriter, r *http.Request, v *view, status int, form serviceForm, msg, field string) error {
	data := servicesPage{Form: form, Error: msg, Field: field}
	var (
		list []model.Service
		err  error
	)
	if v.User.Role == model.RoleOperator {
		data.Client = r.URL.Query().Get("client")
		if data.Clients, err = d.clientChoices(r); err != nil {
			return err
		}
		if list, err = d.Store.AllServices(r.Context()); err != nil {
			return err
		}
	} else {
		if list, err = d.Store.Services(r.Context(), v.Client.ID); err != nil {
			return err
		}
		dedicated, _, err := d.Store.SendingNumbers(r.Context(), v.Client.ID)
		if err != nil {
			return err
		}
		for _, n := range dedicated {
			data.Numbers = append(data.Numbers, n.Number)
		}
	}
	for _, s := range list {
		if data.Client != "" && s.ClientID != data.Client && (data.Client != "pool" || s.ClientID != "") {
			continue
		}
		data.Services = append(data.Services, serviceRow{Service: s, Commands: len(s.Spec.Commands)})
	}
	d.render(w, r, v, status, "services", "Services", data)
	return nil
}

// draftFrom reads a service's form: its number and name, and the spec as JSON, decoded as the
// API decodes a body (unknown fields and wrong types name their field). The JSON may also
// carry "number" and "name" (the API's whole body, as in docs/examples): the form's fields,
// when filled, win.
func draftFrom(r *http.Request) (services.Draft, serviceForm, error) {
	form := serviceForm{Number: strings.TrimSpace(r.PostFormValue("number")), Name: r.PostFormValue("name"),
		Spec: r.PostFormValue("spec"), Active: r.PostFormValue("active") == "on"}
	var in struct {
		Number string `json:"number"`
		Name   string `json:"name"`
		model.ServiceSpec
	}
	if strings.TrimSpace(form.Spec) == "" {
		return services.Draft{}, form, &model.FieldErr{Field: "commands", Reason: "must hold at least one command"}
	}
	if err := respond.DecodeBytes([]byte(form.Spec), &in); err != nil {
		return services.Draft{}, form, err
	}
	return services.Draft{Number: cmp.Or(form.Number, in.Number), Name: cmp.Or(form.Name, in.Name), Spec: in.ServiceSpec}, form, nil
}

// formError turns what the manager or the JSON decoder refused into the form's message and
// the field it names (ok false when err is no such error).
func formError(err error) (msg, field string, ok bool) {
	var (
		fe *model.FieldErr
		re *respond.Error
	)
	switch {
	case errors.As(err, &fe):
		return fe.Field + ": " + fe.Reason, fe.Field, true
	case errors.Is(err, services.ErrNumberTaken):
		return "number: the number has a service already: change that one or delete it", "number", true
	case errors.As(err, &re) && re.Code == "invalid_json":
		return "spec: " + strings.Replace(re.Message, "the body is", "the spec is", 1), "spec", true
	case errors.As(err, &re):
		if re.Param != "" && !strings.HasPrefix(re.Message, re.Param) {
			return re.Param + ": " + re.Message, re.Param, true
		}
		return re.Message, re.Param, true
	}
	return "", "", false
}

// createService puts a service on one of the client's numbers; the operator's on a client's
// number (client_id) or on a pool number (client_id "").
func (d *Dashboard) createService(w http.ResponseWriter, r *http.Request, v *view) error {
	owner := v.Client.ID
	draft, form, err := draftFrom(r)
	if v.User.Role == model.RoleOperator {
		owner, form.ClientID = r.PostFormValue("client_id"), r.PostFormValue("client_id")
		if owner != "" {
			if _, cerr := d.Store.Client(r.Context(), owner); errors.Is(cerr, store.ErrNotFound) {
				err = &model.FieldErr{Field: "client_id", Reason: "no client has this id"}
			} else if cerr != nil {
				return cerr
			}
		}
	}
	if err == nil {
		draft.Active = &form.Active
		var svc model.Service
		if svc, err = d.serviceManager().Create(r.Context(), owner, draft); err == nil {
			d.audit(r, v, "service.create", owner, svc.ID, "number="+svc.Number)
			back := "/services"
			if v.User.Role == model.RoleOperator {
				back = "/services/" + svc.ID
			}
			redirect(w, r, back, "Service saved on "+svc.Number+".")
			return nil
		}
	}
	if msg, field, ok := formError(err); ok {
		return d.servicesPage(w, r, v, http.StatusUnprocessableEntity, form, msg, field)
	}
	return err
}

// servicePage shows a service's form: its spec as indented JSON.
func (d *Dashboard) servicePage(w http.ResponseWriter, r *http.Request, v *view) error {
	svc, err := d.ownService(r, v)
	if err != nil {
		return err
	}
	spec, err := json.MarshalIndent(svc.Spec, "", "  ")
	if err != nil {
		return err
	}
	data := servicePage{Service: svc, Form: serviceForm{Number: svc.Number, Name: svc.Name, Spec: string(spec), Active: svc.Active}}
	d.render(w, r, v, http.StatusOK, "service", "Service "+cmp.Or(svc.Name, svc.Number), data)
	return nil
}

// updateService replaces a service's name and spec (its number and activity stay).
func (d *Dashboard) updateService(w http.ResponseWriter, r *http.Request, v *view) error {
	svc, err := d.ownService(r, v)
	if err != nil {
		return err
	}
	draft, form, err := draftFrom(r)
	if err == nil {
		draft.Number = "" // a service stays on its number: the form does not offer another
		var saved model.Service
		if saved, err = d.serviceManager().Update(r.Context(), svc, draft); err == nil {
			d.audit(r, v, "service.update", saved.ClientID, saved.ID, "number="+saved.Number)
			redirect(w, r, "/services/"+saved.ID, "Service saved.")
			return nil
		}
	}
	if msg, field, ok := formError(err); ok {
		form.Number, form.Active = svc.Number, svc.Active
		d.render(w, r, v, http.StatusUnprocessableEntity, "service", "Service "+cmp.Or(svc.Name, svc.Number),
			servicePage{Service: svc, Form: form, Error: msg, Field: field})
		return nil
	}
	return err
}

// setServiceActive activates (active=true) or pauses (active=false) a service.
func (d *Dashboard) setServiceActive(w http.ResponseWriter, r *http.Request, v *view) error {
	svc, err := d.ownService(r, v)
	if err != nil {
		return err
	}
	active, err := strconv.ParseBool(r.PostFormValue("active"))
	if err != nil {
		d.errorPage(w, r, v, http.StatusBadRequest, "The form is out of date: reload the page and try again.")
		return nil
	}
	saved, err := d.serviceManager().Update(r.Context(), svc, services.Draft{Name: svc.Name, Active: &active, Spec: svc.Spec})
	if msg, field, ok := formError(err); ok {
		// The spec is checked again (a callout's host may no longer pass the SSRF guard): the
		// service page shows why, to be fixed first.
		spec, _ := json.MarshalIndent(svc.Spec, "", "  ")
		d.render(w, r, v, http.StatusUnprocessableEntity, "service", "Service "+cmp.Or(svc.Name, svc.Number), servicePage{Service: svc,
			Form: serviceForm{Number: svc.Number, Name: svc.Name, Spec: string(spec), Active: svc.Active}, Error: msg, Field: field})
		return nil
	}
	if err != nil {
		return err
	}
	svc = saved
	msg, action := "Service paused: its number's messages go to your webhook unanswered.", "service.deactivate"
	if active {
		msg, action = "Service active.", "service.activate"
	}
	d.audit(r, v, action, svc.ClientID, svc.ID, "number="+svc.Number)
	redirect(w, r, cmp.Or(safeBack(r.PostFormValue("back")), "/services/"+svc.ID), msg)
	return nil
}

// deleteService removes a service (its log stays in the database, no longer shown).
func (d *Dashboard) deleteService(w http.ResponseWriter, r *http.Request, v *view) error {
	svc, err := d.ownService(r, v)
	if err != nil {
		return err
	}
	if err := d.serviceManager().Delete(r.Context(), svc); err != nil {
		return err
	}
	d.audit(r, v, "service.delete", svc.ClientID, svc.ID, "number="+svc.Number)
	redirect(w, r, "/services", "Service on "+svc.Number+" deleted.")
	return nil
}

// safeBack keeps a form's "back" on the services pages ("" otherwise).
func safeBack(back string) string {
	if back == "/services" || strings.HasPrefix(back, "/services?") {
		return safeNext(back)
	}
	return ""
}

// serviceLog shows a service's exchange log, newest first, 50 a page. A client's rows link to
// the conversation holding the message and its answer.
func (d *Dashboard) serviceLog(w http.ResponseWriter, r *http.Request, v *view) error {
	svc, err := d.ownService(r, v)
	if err != nil {
		return err
	}
	es, err := d.Store.ServiceExchanges(r.Context(), svc.ID, r.URL.Query().Get("before"), exchangesPerPage+1)
	if err != nil {
		return err
	}
	data := serviceLogPage{Service: svc}
	if len(es) > exchangesPerPage {
		es, data.Next = es[:exchangesPerPage], es[exchangesPerPage-1].ID
	}
	conversations := map[string]string{} // phone → conversation (the number is the service's)
	for _, e := range es {
		row := exchangeRow{ServiceExchange: e}
		if v.User.Role == model.RoleClient && e.ClientID == v.Client.ID && e.MessageID != "" {
			c, seen := conversations[e.Phone]
			if !seen {
				m, err := d.Store.Message(r.Context(), v.Client.ID, e.MessageID)
				if err != nil && !errors.Is(err, store.ErrNotFound) {
					return err
				}
				c, conversations[e.Phone] = m.ConversationID, m.ConversationID
			}
			row.Conversation = c
		}
		data.Exchanges = append(data.Exchanges, row)
	}
	d.render(w, r, v, http.StatusOK, "service_log", "Log of "+cmp.Or(svc.Name, svc.Number), data)
	return nil
}
