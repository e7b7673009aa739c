package dashboard

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ibiki/ibiki/internal/audit"
	"github.com/ibiki/ibiki/internal/auth"
	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/provider"
	"github.com/ibiki/ibiki/internal/store"
	"github.com/ibiki/ibiki/internal/tenant"
)

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

// inviteUser adds a client user and shows the invitation link to hand over.
func (d *Dashboard) inviteUser(w http.ResponseWriter, r *http.Request, v *view) error {
	id := r.PathValue("id")
	u, token, err := d.Accounts.InviteClientUser(r.Context(), id, r.PostFormValue("email"), r.PostFormValue("name"))
	switch {
	case errors.Is(err, auth.ErrBadEmail), errors.Is(err, auth.ErrEmailTaken):
		return d.clientError(w, r, v, id, err.Error()+".")
	case err != nil:
		return err
	}
	d.audit(r, v, "user.invite", id, u.Email, "")
	return d.showInvite(w, r, v, id, u.Email, token)
}

func (d *Dashboard) reinviteUser(w http.ResponseWriter, r *http.Request, v *view) error {
	id := r.PathValue("id")
	token, err := d.Accounts.Reinvite(r.Context(), id, r.PathValue("user"))
	if errors.Is(err, auth.ErrHasPassword) {
		return d.clientError(w, r, v, id, err.Error()+".")
	}
	if err != nil {
		return err
	}
	u, err := d.Store.User(r.Context(), r.PathValue("user"))
	if err != nil {
		return err
	}
	d.audit(r, v, "user.reinvite", id, u.Email, "")
	return d.showInvite(w, r, v, id, u.Email, token)
}

func (d *Dashboard) showInvite(w http.ResponseWriter, r *http.Request, v *view, clientID, email, token string) error {
	data, err := d.clientData(r, clientID)
	if err != nil {
		return err
	}
	data.InviteLink, data.InviteFor = d.baseURL(r)+"/invite/"+token, email
	d.render(w, r, v, http.StatusOK, "client", data.Client.Name, data)
	return nil
}

// setUserActive blocks or unblocks a client user; blocking also ends the user's sessions.
func (d *Dashboard) setUserActive(w http.ResponseWriter, r *http.Request, v *view) error {
	id := r.PathValue("id")
	active := r.PostFormValue("active") == "true"
	u, err := d.Accounts.SetActive(r.Context(), id, r.PathValue("user"), active)
	if err != nil {
		return err
	}
	d.audit(r, v, "user.set_active", id, u.Email, fmt.Sprintf("active=%t", active))
	redirect(w, r, "/clients/"+id, "Saved.")
	return nil
}

type setupPage struct {
	Base, ExtremeSMSURL, GenericURL string
	Clients                         []model.Client
}

// setup shows what to configure at the providers: the webhook URLs to paste into ExtremeSMS
// (or any aggregator), and the contact files to upload there.
func (d *Dashboard) setup(w http.ResponseWriter, r *http.Request, v *view) error {
	cs, err := d.clientChoices(r)
	if err != nil {
		return err
	}
	base := d.baseURL(r)
	d.render(w, r, v, http.StatusOK, "setup", "Setup", setupPage{Base: base, ExtremeSMSURL: base + "/webhooks/extremesms",
		GenericURL: base + "/webhooks/generic", Clients: cs})
	return nil
}

// exportAllContacts is the operator's ExtremeSMS contact file (?client= for one client).
func (d *Dashboard) exportAllContacts(w http.ResponseWriter, r *http.Request, v *view) error {
	id := r.URL.Query().Get("client")
	if id != "" {
		if _, err := d.Store.Client(r.Context(), id); err != nil {
			return err
		}
	}
	return d.exportFor(w, r, id)
}

type simulatorPage struct {
	From, To, Body, Error, Sent string
	Enabled                     bool
}

func (d *Dashboard) simulatorPage(w http.ResponseWriter, r *http.Request, v *view) error {
	_, enabled := d.injector()
	d.render(w, r, v, http.StatusOK, "simulator", "Simulator", simulatorPage{Enabled: enabled})
	return nil
}

// injector is the configured adapter that plays contacts (the simulator), if any.
func (d *Dashboard) injector() (provider.Injector, bool) {
	if d.Providers == nil {
		return nil, false
	}
	return d.Providers.Injector()
}

// simulateInbound injects a contact's reply through the real inbound path, as if the
// simulator provider had received it.
func (d *Dashboard) simulateInbound(w http.ResponseWriter, r *http.Request, v *view) error {
	via, enabled := d.injector()
	p := simulatorPage{From: r.PostFormValue("from"), To: r.PostFormValue("to"), Body: r.PostFormValue("body"), Enabled: enabled}
	fail := func(msg string) error {
		p.Error = msg
		d.render(w, r, v, http.StatusUnprocessableEntity, "simulator", "Simulator", p)
		return nil
	}
	if !p.Enabled {
		return fail("The simulator provider is not configured on this server.")
	}
	// A form sends the empty optional field as spaces as readily as empty.
	acc, msg, err := d.Inbound.Inject(r.Context(), via, provider.Injection{From: p.From, To: strings.TrimSpace(p.To), Body: p.Body})
	var fe *provider.FieldError
	if errors.As(err, &fe) {
		switch fe.Field {
		case "body":
			return fail("Write the message the contact sends.")
		case "to":
			return fail("To: " + fe.Reason)
		default:
			return fail("From: " + fe.Reason)
		}
	}
	if err != nil {
		return err
	}
	d.audit(r, v, "simulator.inbound", "", acc.ID, "from="+msg.From)
	p.Sent, p.Body = acc.ID, ""
	d.render(w, r, v, http.StatusOK, "simulator", "Simulator", p)
	return nil
}

type auditPage struct {
	Entries []model.AuditEntry
	Next    string
	Client  string // the ?client= filter, kept when paging
}

func (d *Dashboard) auditLog(w http.ResponseWriter, r *http.Request, v *view) error {
	es, err := d.Store.Audit(r.Context(), r.URL.Query().Get("client"), r.URL.Query().Get("before"), 101)
	if err != nil {
		return err
	}
	data := auditPage{Entries: es, Client: r.URL.Query().Get("client")}
	if len(es) > 100 {
		data.Entries, data.Next = es[:100], es[99].ID
	}
	d.render(w, r, v, http.StatusOK, "audit", "Audit log", data)
	return nil
}

// audit records an action of a signed-in user (see audit.Record).
func (d *Dashboard) audit(r *http.Request, v *view, action, clientID, target, detail string) {
	e := model.AuditEntry{Actor: v.User.Email, Action: action, ClientID: clientID, Target: target, Detail: detail}
	if err := audit.Record(r.Context(), d.Store, d.Clock(), e); err != nil {
		d.Log.Error("dashboard: audit entry not recorded", "action", action, "error", err)
	}
}
