package dashboard

import (
	"errors"
	"net/http"
	"strings"

	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/tenant"
	"github.com/ibiki/ibiki/internal/webhook"
)

// A client's webhook settings: URL, signing secret, test event and the delivery log.

type webhookPage struct {
	URL      string
	Error    string
	Secret   string // shown only after "reveal" or a rotation
	Disabled bool
	Log      []deliveryRow
}

type deliveryRow struct {
	model.Delivery
	Attempts []model.Attempt
}

// webhookSettings shows the client's webhook: URL, secret (hidden until revealed), the test
// button and the delivery log with every attempt.
func (d *Dashboard) webhookSettings(w http.ResponseWriter, r *http.Request, v *view) error {
	data, err := d.webhookData(r, v)
	if err != nil {
		return err
	}
	if r.URL.Query().Get("part") == "log" {
		d.fragment(w, r, v, "webhook", "delivery-log", data)
		return nil
	}
	d.render(w, r, v, http.StatusOK, "webhook", "Webhook", data)
	return nil
}

func (d *Dashboard) webhookData(r *http.Request, v *view) (webhookPage, error) {
	data := webhookPage{URL: v.Client.WebhookURL, Disabled: !v.Client.WebhookDisabledAt.IsZero()}
	ds, err := d.Store.Deliveries(r.Context(), v.Client.ID, "", "", 50)
	if err != nil {
		return data, err
	}
	ids := make([]string, len(ds))
	for i, dl := range ds {
		ids[i] = dl.ID
	}
	attempts, err := d.Store.Attempts(r.Context(), ids...)
	if err != nil {
		return data, err
	}
	for _, dl := range ds {
		data.Log = append(data.Log, deliveryRow{Delivery: dl, Attempts: attempts[dl.ID]})
	}
	return data, nil
}

func (d *Dashboard) saveWebhook(w http.ResponseWriter, r *http.Request, v *view) error {
	url := strings.TrimSpace(r.PostFormValue("webhook_url"))
	c, err := d.Tenants.Update(r.Context(), v.Client.ID, tenant.Changes{WebhookURL: &url})
	var fe *tenant.FieldError
	if errors.As(err, &fe) {
		data, derr := d.webhookData(r, v)
		if derr != nil {
			return derr
		}
		data.URL, data.Error = url, fe.Message
		d.render(w, r, v, http.StatusUnprocessableEntity, "webhook", "Webhook", data)
		return nil
	}
	if err != nil {
		return err
	}
	d.audit(r, v, "webhook.update", c.ID, "", "url="+url)
	redirect(w, r, "/settings/webhook", "Webhook URL saved.")
	return nil
}

// revealSecret shows the signing secret on request (a POST, so it never sits in a history or
// a cached page).
func (d *Dashboard) revealSecret(w http.ResponseWriter, r *http.Request, v *view) error {
	data, err := d.webhookData(r, v)
	if err != nil {
		return err
	}
	data.Secret = v.Client.WebhookSecret
	d.render(w, r, v, http.StatusOK, "webhook", "Webhook", data)
	return nil
}

func (d *Dashboard) rotateSecret(w http.ResponseWriter, r *http.Request, v *view) error {
	c, err := d.Tenants.RotateWebhookSecret(r.Context(), v.Client.ID)
	if err != nil {
		return err
	}
	d.audit(r, v, "webhook.rotate_secret", c.ID, "", "")
	v.Client = c
	data, err := d.webhookData(r, v)
	if err != nil {
		return err
	}
	data.Secret = c.WebhookSecret
	d.render(w, r, v, http.StatusOK, "webhook", "Webhook", data)
	return nil
}

func (d *Dashboard) testWebhook(w http.ResponseWriter, r *http.Request, v *view) error {
	_, err := webhook.EnqueueTest(r.Context(), d.Store, v.Client, d.Clock())
	if errors.Is(err, webhook.ErrNoURL) {
		redirect(w, r, "/settings/webhook", "Set a webhook URL first.")
		return nil
	}
	if err != nil {
		return err
	}
	redirect(w, r, "/settings/webhook", "Test event queued: it appears in the log below.")
	return nil
}
