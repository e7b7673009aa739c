package dashboard

import (
	"errors"
	"net/http"
	"strings"

	"github.com/ibiki/ibiki/internal/provider"
)

// The simulator console: the operator plays a contact writing in.

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
