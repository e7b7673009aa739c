package dashboard

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/tenant"
)

// Receiving numbers: listed, added, changed and removed through tenant.Numbers, as the admin
// API does.

const numbersPerPage = 200

// fieldLabels names form fields in error messages the way the forms label them.
var fieldLabels = map[string]string{"number": "Number", "client_id": "Client", "provider": "Provider"}

func fieldMessage(fe *tenant.FieldError) string {
	return fieldLabels[fe.Field] + ": " + fe.Message + "."
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
