package dashboard

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/ibiki/ibiki/internal/inbound"
	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/provider"
	"github.com/ibiki/ibiki/internal/store"
	"github.com/ibiki/ibiki/internal/tenant"
	"github.com/ibiki/ibiki/internal/webhook"
)

// The operator's operations pages: receiving numbers, providers, the unrouted inbox and failed
// webhook deliveries. Every write goes through the same domain code as the admin API.

const (
	numbersPerPage    = 200
	unroutedPerPage   = 50
	deliveriesPerPage = 50
	errorsPerProvider = 10
)

// fieldLabels names form fields in error messages the way the forms label them.
var fieldLabels = map[string]string{"number": "Number", "client_id": "Client", "provider": "Provider"}

func fieldMessage(fe *tenant.FieldError) string {
	return fieldLabels[fe.Field] + ": " + fe.Message + "."
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

func (d *Dashboard) providerNames() []string {
	if d.Providers == nil {
		return nil
	}
	return d.Providers.Names()
}

func (d *Dashboard) numberWriter() tenant.Numbers {
	return tenant.Numbers{Store: d.Store, Providers: d.Providers, Region: d.Region, Clock: d.Clock}
}

type numberRow struct {
	// Not an embedded model.Number: its field Number would be hidden by the embedded struct's
	// own name in templates.
	Number, ClientID, Provider string
	CreatedAt                  time.Time
	// Listed: the number's client is among the form's choices (else it is added as is, so that
	// saving the row does not move the number to the pool by accident).
	Listed bool
	// ProviderListed: likewise for a provider that is no longer configured.
	ProviderListed bool
}

type numberForm struct{ Number, ClientID, Provider string }

type numbersPage struct {
	Numbers         []numberRow
	Clients         []model.Client
	Providers       []string
	DefaultProvider string
	Form            numberForm
	Error           string
	Next            string
}

// listNumbers shows the receiving numbers (dedicated and shared pool) with the forms that add,
// change and remove them.
func (d *Dashboard) listNumbers(w http.ResponseWriter, r *http.Request, v *view) error {
	return d.numbersPage(w, r, v, http.StatusOK, numberForm{}, "")
}

func (d *Dashboard) numbersPage(w http.ResponseWriter, r *http.Request, v *view, status int, f numberForm, msg string) error {
	data := numbersPage{Providers: d.providerNames(), Form: f, Error: msg}
	if d.Providers != nil {
		data.DefaultProvider = d.Providers.Default()
	}
	var err error
	if data.Clients, err = d.clientChoices(r); err != nil {
		return err
	}
	ns, err := d.Store.Numbers(r.Context(), r.URL.Query().Get("after"), numbersPerPage+1)
	if err != nil {
		return err
	}
	if len(ns) > numbersPerPage {
		ns, data.Next = ns[:numbersPerPage], ns[numbersPerPage-1].Number
	}
	for _, n := range ns {
		row := numberRow{Number: n.Number, ClientID: n.ClientID, Provider: n.Provider, CreatedAt: n.CreatedAt,
			ProviderListed: slices.Contains(data.Providers, n.Provider)}
		row.Listed = slices.ContainsFunc(data.Clients, func(c model.Client) bool { return c.ID == n.ClientID })
		data.Numbers = append(data.Numbers, row)
	}
	d.render(w, r, v, status, "numbers", "Numbers", data)
	return nil
}

// numberError shows the numbers page again with what was wrong: a field error keeps the add
// form's values; anything else is not a form error and goes to fail.
func (d *Dashboard) numberError(w http.ResponseWriter, r *http.Request, v *view, f numberForm, err error) error {
	var fe *tenant.FieldError
	switch {
	case errors.As(err, &fe):
		return d.numbersPage(w, r, v, http.StatusUnprocessableEntity, f, fieldMessage(fe))
	case errors.Is(err, tenant.ErrNumberExists):
		return d.numbersPage(w, r, v, http.StatusConflict, f,
			"Number: this number is already configured; change its client in the list below.")
	}
	return err
}

func (d *Dashboard) addNumber(w http.ResponseWriter, r *http.Request, v *view) error {
	f := numberForm{Number: r.PostFormValue("number"), ClientID: r.PostFormValue("client_id"), Provider: r.PostFormValue("provider")}
	n, err := d.numberWriter().Add(r.Context(), tenant.NewNumber{Number: f.Number, ClientID: f.ClientID, Provider: f.Provider})
	if err != nil {
		return d.numberError(w, r, v, f, err)
	}
	d.audit(r, v, "number.create", n.ClientID, n.Number, "provider="+n.Provider)
	redirect(w, r, "/numbers", "Added "+n.Number+" "+numberOwner(n)+".")
	return nil
}

// updateNumber dedicates a number to a client, returns it to the pool, or moves it to another
// provider. A field left out of the form is left as it is.
func (d *Dashboard) updateNumber(w http.ResponseWriter, r *http.Request, v *view) error {
	var clientID, prov *string
	if err := r.ParseForm(); err != nil {
		return err
	}
	if _, ok := r.PostForm["client_id"]; ok {
		s := r.PostForm.Get("client_id")
		clientID = &s
	}
	if _, ok := r.PostForm["provider"]; ok {
		s := r.PostForm.Get("provider")
		prov = &s
	}
	n, err := d.numberWriter().Change(r.Context(), r.PathValue("number"), clientID, prov)
	if err != nil {
		return d.numberError(w, r, v, numberForm{}, err)
	}
	d.audit(r, v, "number.update", n.ClientID, n.Number, fmt.Sprintf("client_id=%s provider=%s", n.ClientID, n.Provider))
	redirect(w, r, "/numbers", "Saved "+n.Number+": "+numberOwner(n)+".")
	return nil
}

func (d *Dashboard) deleteNumber(w http.ResponseWriter, r *http.Request, v *view) error {
	num := r.PathValue("number")
	var before model.Number
	if n, err := d.Store.Number(r.Context(), num); err == nil {
		before = n
	}
	if err := d.numberWriter().Delete(r.Context(), num); err != nil {
		return err
	}
	d.audit(r, v, "number.delete", before.ClientID, cmp.Or(before.Number, num), "")
	redirect(w, r, "/numbers", "Removed "+cmp.Or(before.Number, num)+".")
	return nil
}

func numberOwner(n model.Number) string {
	if n.ClientID == "" {
		return "in the shared pool"
	}
	return "dedicated to " + n.ClientID
}

type statusCount struct {
	Status    model.MessageStatus
	Hour, Day int64
}

type providerRow struct {
	Name, Type string
	Default    bool
	Simulator  bool
	// Configured is false for a provider that messages still name but the configuration no
	// longer has.
	Configured     bool
	Caps           provider.Capabilities
	Reconciles     bool
	StatusCallback string
	Counts         []statusCount
	Hour, Day      int64
	// HourFailed counts failed and undelivered messages of the last hour.
	HourFailed int64
	Errors     []model.Message
}

// Limit describes the configured throttle.
func (p providerRow) Limit() string {
	if p.Caps.MaxPerSecond <= 0 {
		return "unlimited"
	}
	return strconv.FormatFloat(p.Caps.MaxPerSecond, 'f', -1, 64) + " messages/s"
}

// PerMinute is the last hour's average rate (two decimals below 10, so that a trickle does
// not read as zero).
func (p providerRow) PerMinute() string {
	r := float64(p.Hour) / 60
	if r < 10 {
		return strconv.FormatFloat(r, 'f', 2, 64)
	}
	return strconv.FormatFloat(r, 'f', 0, 64)
}

// listProviders shows the configured outbound providers (never their credentials): what each
// can do, its traffic by status over the last hour and day, and its latest errors.
func (d *Dashboard) listProviders(w http.ResponseWriter, r *http.Request, v *view) error {
	now := d.Clock()
	counts, err := d.Store.ProviderCounts(r.Context(), now.Add(-time.Hour), now.Add(-24*time.Hour))
	if err != nil {
		return err
	}
	var rows []providerRow
	index := map[string]int{}
	for _, name := range d.providerNames() {
		s, _ := d.Providers.Get(name)
		p := providerRow{Name: name, Type: d.Providers.Type(name), Default: name == d.Providers.Default(),
			Configured: true, Caps: s.Capabilities()}
		p.Simulator = p.Type == "simulator"
		_, p.Reconciles = s.(provider.Reconciler)
		if _, ok := s.(provider.StatusParser); ok {
			p.StatusCallback = "/webhooks/" + name + "/status"
		}
		index[name] = len(rows)
		rows = append(rows, p)
	}
	for _, c := range counts {
		i, ok := index[c.Provider]
		if !ok {
			i, index[c.Provider] = len(rows), len(rows)
			rows = append(rows, providerRow{Name: c.Provider})
		}
		p := &rows[i]
		p.Counts = append(p.Counts, statusCount{Status: c.Status, Hour: c.Hour, Day: c.Day})
		p.Hour, p.Day = p.Hour+c.Hour, p.Day+c.Day
		if c.Status == model.StatusFailed || c.Status == model.StatusUndelivered {
			p.HourFailed += c.Hour
		}
	}
	for i := range rows {
		if rows[i].Errors, err = d.Store.ProviderErrors(r.Context(), rows[i].Name, now.Add(-24*time.Hour), errorsPerProvider); err != nil {
			return err
		}
	}
	d.render(w, r, v, http.StatusOK, "providers", "Providers", rows)
	return nil
}

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

type failedDelivery struct {
	model.Delivery
	Attempts []attemptRow
}

type attemptRow struct {
	model.Attempt
	// Answer is the start of the client's response body.
	Answer string
}

type deliveriesPage struct {
	Client     string
	Clients    []model.Client
	Deliveries []failedDelivery
	Error      string
	Next       string
}

// listFailedDeliveries shows the webhook deliveries that ran out of attempts, across clients
// (?client= for one), each with its attempts and a replay button.
func (d *Dashboard) listFailedDeliveries(w http.ResponseWriter, r *http.Request, v *view) error {
	return d.deliveriesPage(w, r, v, http.StatusOK, "")
}

func (d *Dashboard) deliveriesPage(w http.ResponseWriter, r *http.Request, v *view, status int, msg string) error {
	q := r.URL.Query()
	data := deliveriesPage{Client: q.Get("client"), Error: msg}
	var err error
	if data.Clients, err = d.clientChoices(r); err != nil {
		return err
	}
	ds, err := d.Store.AllDeliveries(r.Context(), data.Client, model.DeliveryFailed, q.Get("before"), deliveriesPerPage+1)
	if err != nil {
		return err
	}
	if len(ds) > deliveriesPerPage {
		ds, data.Next = ds[:deliveriesPerPage], ds[deliveriesPerPage-1].ID
	}
	ids := make([]string, len(ds))
	for i, dl := range ds {
		ids[i] = dl.ID
	}
	attempts, err := d.Store.Attempts(r.Context(), ids...)
	if err != nil {
		return err
	}
	for _, dl := range ds {
		row := failedDelivery{Delivery: dl}
		for _, a := range attempts[dl.ID] {
			row.Attempts = append(row.Attempts, attemptRow{Attempt: a, Answer: clip(a.Response, 200)})
		}
		data.Deliveries = append(data.Deliveries, row)
	}
	d.render(w, r, v, status, "deliveries", "Failed deliveries", data)
	return nil
}

// replayDelivery sends a finished delivery again, as the admin API does: same webhook-id, a
// fresh retry schedule, in one transaction with its job.
func (d *Dashboard) replayDelivery(w http.ResponseWriter, r *http.Request, v *view) error {
	dl, err := webhook.Replay(r.Context(), d.Store, r.PathValue("id"), d.Clock().UTC())
	back := "/deliveries"
	if c := r.PostFormValue("client"); c != "" {
		back += "?client=" + url.QueryEscape(c)
	}
	if errors.Is(err, webhook.ErrDeliveryPending) {
		return d.deliveriesPage(w, r, v, http.StatusConflict, "This delivery is still being attempted.")
	}
	if err != nil {
		return err
	}
	d.audit(r, v, "delivery.replay", dl.ClientID, dl.ID, fmt.Sprintf("type=%s", dl.Type))
	redirect(w, r, back, "Delivery "+dl.ID+" to "+dl.ClientID+" is queued again.")
	return nil
}

// clip shortens s to at most n bytes, on a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
