package dashboard

import (
	"cmp"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/tenant"
	"github.com/ibiki/ibiki/internal/webhook"
)

// A client's webhook settings: URL, signing secret, test event and the delivery log.

type webhookPage struct {
	URL string
	// Format is the deliveries' shape: standard or twilio.
	Format   model.DeliveryFormat
	Error    string
	Secret   string // shown only after "reveal" or a rotation
	Disabled bool
	Log      []deliveryRow
	// The log's filters: an event type, and a phone (the contact's: the sender of a reply, the
	// recipient of a sent message).
	Type  model.EventType
	Phone string
}

// EventTypes are the types the log filters by.
func (webhookPage) EventTypes() []model.EventType {
	return []model.EventType{model.EventMessageReceived, model.EventMessageStatus, model.EventMessageOptOut,
		model.EventMessageOptIn, model.EventWebhookTest}
}

type deliveryRow struct {
	model.Delivery
	Attempts []model.Attempt
	// Read from the payload: the contact's phone, and the start of the message's text.
	Phone, Preview string
}

// logScan is how many recent deliveries the filtered log looks through, and logRows how many
// it shows.
const (
	logScan = 500
	logRows = 50
)

// summary reads a delivery's payload for the log: the contact's phone and a preview.
func summary(dl model.Delivery) (phone, preview string) {
	if dl.Format == model.DeliveryTwilio {
		return twilioSummary(dl.Payload)
	}
	payload := dl.Payload
	var ev struct {
		Data struct {
			Direction model.Direction `json:"direction"`
			From      string          `json:"from"`
			To        string          `json:"to"`
			Body      string          `json:"body"`
			Channel   model.Channel   `json:"channel"`
		} `json:"data"`
	}
	if json.Unmarshal(payload, &ev) != nil {
		return "", ""
	}
	phone = ev.Data.From
	if ev.Data.Direction == model.Outbound {
		phone = ev.Data.To
	}
	preview = ev.Data.Body
	if ev.Data.Channel == model.ChannelVoice && preview == "" {
		preview = "Call"
	}
	return phone, shorten(preview)
}

// twilioSummary is summary for a Twilio form: an incoming message names its sender, a status
// callback its recipient and the status.
func twilioSummary(payload []byte) (phone, preview string) {
	f, err := url.ParseQuery(string(payload))
	if err != nil {
		return "", ""
	}
	if st := f.Get("MessageStatus"); st != "" {
		return strings.TrimPrefix(f.Get("To"), "whatsapp:"), "Status callback: " + st
	}
	return strings.TrimPrefix(f.Get("From"), "whatsapp:"), shorten(f.Get("Body"))
}

func shorten(s string) string {
	if r := []rune(s); len(r) > 60 {
		return string(r[:59]) + "…"
	}
	return s
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
	q := r.URL.Query()
	data := webhookPage{URL: v.Client.WebhookURL, Format: cmp.Or(v.Client.WebhookFormat, model.DeliveryStandard),
		Disabled: !v.Client.WebhookDisabledAt.IsZero(),
		Phone:    cleanQuery(strings.TrimSpace(q.Get("phone")))}
	if t := model.EventType(q.Get("type")); slices.Contains(data.EventTypes(), t) {
		data.Type = t
	}
	scan := logRows
	if data.Type != "" || data.Phone != "" {
		scan = logScan
	}
	all, err := d.Store.Deliveries(r.Context(), v.Client.ID, "", "", scan)
	if err != nil {
		return data, err
	}
	var (
		ds     []model.Delivery
		phones = map[string][2]string{}
		digits = strings.TrimLeft(data.Phone, "+")
	)
	for _, dl := range all {
		phone, preview := summary(dl)
		if (data.Type != "" && dl.Type != data.Type) || (digits != "" && !strings.Contains(phone, digits)) {
			continue
		}
		phones[dl.ID] = [2]string{phone, preview}
		if ds = append(ds, dl); len(ds) == logRows {
			break
		}
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
		s := phones[dl.ID]
		data.Log = append(data.Log, deliveryRow{Delivery: dl, Attempts: attempts[dl.ID], Phone: s[0], Preview: s[1]})
	}
	return data, nil
}

func (d *Dashboard) saveWebhook(w http.ResponseWriter, r *http.Request, v *view) error {
	url := strings.TrimSpace(r.PostFormValue("webhook_url"))
	ch := tenant.Changes{WebhookURL: &url}
	format := model.DeliveryFormat(r.PostFormValue("webhook_format"))
	if format != "" {
		ch.WebhookFormat = &format
	}
	c, err := d.Tenants.Update(r.Context(), v.Client.ID, ch)
	var fe *tenant.FieldError
	if errors.As(err, &fe) {
		data, derr := d.webhookData(r, v)
		if derr != nil {
			return derr
		}
		data.URL, data.Error = url, fe.Message
		if format != "" {
			data.Format = format
		}
		d.render(w, r, v, http.StatusUnprocessableEntity, "webhook", "Webhook", data)
		return nil
	}
	if err != nil {
		return err
	}
	d.audit(r, v, "webhook.update", c.ID, "", "url="+url+" format="+string(c.WebhookFormat))
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
