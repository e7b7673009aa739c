package dashboard

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"unicode/utf8"

	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/webhook"
)

// Failed webhook deliveries of every client, and their replay.

const deliveriesPerPage = 50

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
