package dashboard

import (
	"net/http"

	"github.com/ibiki/ibiki/internal/model"
)

// What to configure at the providers: webhook URLs and the contact files they want.

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
