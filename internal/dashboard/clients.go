package dashboard

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/store"
	"github.com/ibiki/ibiki/internal/tenant"
)

// The operator's clients: the list, creating one, a client's page and its changes (settings,
// credits, API key).

type clientRow struct {
	model.Client
	Balance int64
	In, Out int64 // last 24 hours
}

// clientsPerPage is how many clients the operator's home lists at a time.
const clientsPerPage = 200

type clientsPage struct {
	Clients []clientRow
	Next    string // the id to list on from ("" = the last page)
	Traffic []store.HourTraffic
	Form    newClientForm
	// Created is the client just made, with its API key (shown once).
	Created *createdClient
}

type newClientForm struct {
	ID, Name, WebhookURL, Rate, Error string
}

type createdClient struct {
	ID, APIKey, WebhookSecret string
}

// listClients is the operator's home: every client with balance and the last day's traffic,
// the traffic chart, and the form that creates a client.
func (d *Dashboard) listClients(w http.ResponseWriter, r *http.Request, v *view) error {
	data, err := d.clientsData(r)
	if err != nil {
		return err
	}
	d.render(w, r, v, http.StatusOK, "clients", "Clients", data)
	return nil
}

func (d *Dashboard) clientsData(r *http.Request) (clientsPage, error) {
	var data clientsPage
	now := d.Clock()
	since := now.Add(-23 * time.Hour)
	cs, err := d.Store.Clients(r.Context(), r.URL.Query().Get("after"), clientsPerPage+1)
	if err != nil {
		return data, err
	}
	if len(cs) > clientsPerPage {
		cs, data.Next = cs[:clientsPerPage], cs[clientsPerPage-1].ID
	}
	totals, err := d.Store.AllClientTotals(r.Context(), since.UTC().Truncate(time.Hour)) // the chart's hours
	if err != nil {
		return data, err
	}
	for _, c := range cs {
		t := totals[c.ID]
		data.Clients = append(data.Clients, clientRow{Client: c, Balance: t.Balance, In: t.In, Out: t.Out})
	}
	data.Traffic, err = d.Store.Traffic(r.Context(), "", since, now)
	return data, err
}

func (d *Dashboard) createClient(w http.ResponseWriter, r *http.Request, v *view) error {
	f := newClientForm{ID: strings.TrimSpace(r.PostFormValue("id")), Name: r.PostFormValue("name"),
		WebhookURL: r.PostFormValue("webhook_url"), Rate: strings.TrimSpace(r.PostFormValue("rate_cents"))}
	in := tenant.NewClient{ID: f.ID, Name: f.Name, WebhookURL: f.WebhookURL}
	if f.Rate != "" {
		n, err := strconv.ParseInt(f.Rate, 10, 64)
		if err != nil {
			return d.clientFormError(w, r, v, f, "The rate is a whole number of cents per segment.")
		}
		in.RateCents = &n
	}
	c, key, err := d.Tenants.Create(r.Context(), in)
	var fe *tenant.FieldError
	switch {
	case errors.As(err, &fe):
		return d.clientFormError(w, r, v, f, fe.Message)
	case errors.Is(err, tenant.ErrClientExists):
		return d.clientFormError(w, r, v, f, "A client with this id exists.")
	case err != nil:
		return err
	}
	d.audit(r, v, "client.create", c.ID, c.ID, "name="+c.Name)
	data, err := d.clientsData(r)
	if err != nil {
		return err
	}
	data.Created = &createdClient{ID: c.ID, APIKey: key, WebhookSecret: c.WebhookSecret}
	d.render(w, r, v, http.StatusCreated, "clients", "Clients", data)
	return nil
}

func (d *Dashboard) clientFormError(w http.ResponseWriter, r *http.Request, v *view, f newClientForm, msg string) error {
	data, err := d.clientsData(r)
	if err != nil {
		return err
	}
	f.Error, data.Form = msg, f
	d.render(w, r, v, http.StatusUnprocessableEntity, "clients", "Clients", data)
	return nil
}

type clientPage struct {
	Client  model.Client
	Balance balancePage
	Users   []model.User
	Traffic []store.HourTraffic
	Error   string
	// Shown once, after the action that made them.
	APIKey     string
	InviteLink string
	InviteFor  string
}

func (d *Dashboard) clientDetail(w http.ResponseWriter, r *http.Request, v *view) error {
	data, err := d.clientData(r, r.PathValue("id"))
	if err != nil {
		return err
	}
	d.render(w, r, v, http.StatusOK, "client", data.Client.Name, data)
	return nil
}

func (d *Dashboard) clientData(r *http.Request, id string) (clientPage, error) {
	c, err := d.Store.Client(r.Context(), id)
	if err != nil {
		return clientPage{}, err
	}
	data := clientPage{Client: c}
	if data.Balance, err = d.balanceData(r, c.ID, r.URL.Query().Get("before")); err != nil {
		return data, err
	}
	if data.Users, err = d.Store.Users(r.Context(), c.ID); err != nil {
		return data, err
	}
	data.Traffic, err = d.Store.Traffic(r.Context(), c.ID, d.Clock().Add(-23*time.Hour), d.Clock())
	return data, err
}

func (d *Dashboard) clientError(w http.ResponseWriter, r *http.Request, v *view, id, msg string) error {
	data, err := d.clientData(r, id)
	if err != nil {
		return err
	}
	data.Error = msg
	d.render(w, r, v, http.StatusUnprocessableEntity, "client", data.Client.Name, data)
	return nil
}

// updateClient saves the settings form: name, webhook URL, rate, quiet hours, active.
func (d *Dashboard) updateClient(w http.ResponseWriter, r *http.Request, v *view) error {
	id := r.PathValue("id")
	var ch tenant.Changes
	name, url, quiet := r.PostFormValue("name"), r.PostFormValue("webhook_url"), r.PostFormValue("quiet_hours")
	ch.Name, ch.WebhookURL, ch.QuietHours = &name, &url, &quiet
	rate, err := strconv.ParseInt(strings.TrimSpace(r.PostFormValue("rate_cents")), 10, 64)
	if err != nil {
		return d.clientError(w, r, v, id, "The rate is a whole number of cents per segment.")
	}
	ch.RateCents = &rate
	active := r.PostFormValue("active") != ""
	ch.Active = &active
	c, err := d.Tenants.Update(r.Context(), id, ch)
	var fe *tenant.FieldError
	if errors.As(err, &fe) {
		return d.clientError(w, r, v, id, fe.Message)
	}
	if err != nil {
		return err
	}
	d.audit(r, v, "client.update", c.ID, c.ID, fmt.Sprintf("name=%s rate_cents=%d active=%t quiet_hours=%s webhook_url=%s",
		c.Name, c.RateCents, c.Active, c.QuietHours, c.WebhookURL))
	redirect(w, r, "/clients/"+c.ID, "Saved.")
	return nil
}

func (d *Dashboard) topUp(w http.ResponseWriter, r *http.Request, v *view) error {
	id := r.PathValue("id")
	amount, ok := parseDollars(r.PostFormValue("amount"))
	if !ok {
		return d.clientError(w, r, v, id, "The amount is in dollars and cents, such as 25 or 12.50 (negative to take credits back).")
	}
	ref := r.PostFormValue("reference")
	_, e, err := d.Tenants.TopUp(r.Context(), id, amount, ref)
	var fe *tenant.FieldError
	var ic *store.InsufficientCreditsError
	switch {
	case errors.As(err, &fe) && fe.Field == "amount_cents":
		return d.clientError(w, r, v, id, "The amount must not be zero, and at most $1,000,000 either way.")
	case errors.As(err, &fe):
		return d.clientError(w, r, v, id, fe.Message)
	case errors.As(err, &ic):
		return d.clientError(w, r, v, id, "The balance cannot go below zero: it is "+formatCents(ic.BalanceCents)+".")
	case err != nil:
		return err
	}
	d.audit(r, v, "credits.top_up", id, e.ID, fmt.Sprintf("amount_cents=%d reference=%s", amount, ref))
	redirect(w, r, "/clients/"+id, "Balance is now "+formatCents(e.BalanceCents)+".")
	return nil
}

// parseDollars reads "12", "12.5", "12.50", "-3.25" (and a leading $) as cents.
func parseDollars(s string) (int64, bool) {
	s = strings.TrimPrefix(strings.ReplaceAll(strings.TrimSpace(s), ",", ""), "$")
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" || len(frac) > 2 || len(whole) > 9 {
		return 0, false
	}
	for len(frac) < 2 {
		frac += "0"
	}
	d, err1 := strconv.ParseUint(whole, 10, 64)
	c, err2 := strconv.ParseUint(frac, 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	n := int64(d*100 + c)
	if neg {
		n = -n
	}
	return n, n != 0
}

func (d *Dashboard) rotateClientKey(w http.ResponseWriter, r *http.Request, v *view) error {
	c, key, err := d.Tenants.RotateKey(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	d.audit(r, v, "client.rotate_key", c.ID, c.ID, "")
	data, err := d.clientData(r, c.ID)
	if err != nil {
		return err
	}
	data.APIKey = key
	d.render(w, r, v, http.StatusOK, "client", c.Name, data)
	return nil
}

// clientChoices lists the clients an operator can pick from in a form: all of them.
func (d *Dashboard) clientChoices(r *http.Request) ([]model.Client, error) {
	var all []model.Client
	for after := ""; ; {
		cs, err := d.Store.Clients(r.Context(), after, 500)
		if err != nil || len(cs) < 500 {
			return append(all, cs...), err
		}
		all, after = append(all, cs...), cs[len(cs)-1].ID
	}
}
