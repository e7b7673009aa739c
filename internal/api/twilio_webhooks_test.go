package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	twclient "github.com/twilio/twilio-go/client"
	twapi "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/ibiki/ibiki/internal/ibikitest"
	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/webhook"
)

// twilioEndpoint is a client's endpoint written for Twilio: it checks every request with
// twilio-go's RequestValidator and answers with the TwiML it is given.
type twilioEndpoint struct {
	*httptest.Server
	mu    sync.Mutex
	forms []url.Values
	bad   []string
	twiml string
}

func newTwilioEndpoint(t *testing.T, token, twiml string) *twilioEndpoint {
	e := &twilioEndpoint{twiml: twiml}
	v := twclient.NewRequestValidator(token)
	e.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(body))
		params := map[string]string{}
		for k := range form {
			params[k] = form.Get(k)
		}
		e.mu.Lock()
		defer e.mu.Unlock()
		if r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" ||
			!v.Validate("http://"+r.Host+r.URL.RequestURI(), params, r.Header.Get("X-Twilio-Signature")) {
			e.bad = append(e.bad, r.URL.RequestURI())
			w.WriteHeader(http.StatusForbidden)
			return
		}
		e.forms = append(e.forms, form)
		w.Header().Set("Content-Type", "text/xml")
		_, _ = io.WriteString(w, e.twiml)
	}))
	t.Cleanup(e.Close)
	return e
}

func (e *twilioEndpoint) received() ([]url.Values, []string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]url.Values(nil), e.forms...), append([]string(nil), e.bad...)
}

// A client that chose the twilio webhook format gets its inbound messages as Twilio's form,
// signed so that twilio-go's validator accepts them, and a TwiML <Message> in its answer is sent
// (once, charged); a message sent with a StatusCallback has its statuses posted there, signed
// the same way.
func TestTwilioFormatWebhooksAndStatusCallbacks(t *testing.T) {
	s := ibikitest.NewServer(t, nil)
	acme := s.CreateClient("acme", "http://127.0.0.1:9/unused")
	s.Do("POST", "/admin/v1/clients/acme/credits", ibikitest.AdminToken, map[string]any{"amount_cents": 100})
	if res := s.Do("POST", "/admin/v1/numbers", ibikitest.AdminToken, map[string]string{"number": "+15557654321", "client_id": "acme"}); res.Status != http.StatusCreated {
		t.Fatalf("number: %d %s", res.Status, res.Body)
	}
	// The format needs the credentials that sign it.
	res := s.Do("PATCH", "/admin/v1/clients/acme", ibikitest.AdminToken, map[string]string{"webhook_format": "twilio"})
	if res.Status != http.StatusBadRequest || !strings.Contains(string(res.Body), "webhook_format") {
		t.Fatalf("twilio format without credentials: %d %s", res.Status, res.Body)
	}
	sid, token := twilioCredentials(t, s, "acme", http.StatusCreated)
	endpoint := newTwilioEndpoint(t, token, `<?xml version="1.0" encoding="UTF-8"?><Response><Message>Thanks, we got it!</Message></Response>`)
	var client struct {
		WebhookFormat string `json:"webhook_format"`
	}
	res = s.Do("PATCH", "/admin/v1/clients/acme", ibikitest.AdminToken, map[string]string{"webhook_format": "twilio", "webhook_url": endpoint.URL + "/sms?x=1"})
	if res.JSON(t, &client); res.Status != http.StatusOK || client.WebhookFormat != "twilio" {
		t.Fatalf("patch: %d %s", res.Status, res.Body)
	}
	if res := s.Do("PATCH", "/admin/v1/clients/acme", ibikitest.AdminToken, map[string]string{"webhook_format": "xml"}); res.Status != http.StatusBadRequest {
		t.Errorf("webhook_format xml: %d %s", res.Status, res.Body)
	}

	if res := s.Do("POST", "/admin/v1/simulator/inbound", ibikitest.AdminToken, map[string]string{"from": "+15551230001", "to": "+15557654321", "body": "Is my order ready?"}); res.Status != http.StatusAccepted {
		t.Fatalf("inbound: %d %s", res.Status, res.Body)
	}
	api := sdk(s, sid, token)
	var replies []twapi.ApiV2010Message
	waitFor(t, "the TwiML reply to be sent", func() bool {
		var err error
		replies, err = api.ListMessage((&twapi.ListMessageParams{}).SetTo("+15551230001"))
		return err == nil && len(replies) == 1 && *replies[0].Status == "delivered"
	})
	forms, bad := endpoint.received()
	if len(bad) != 0 || len(forms) != 1 {
		t.Fatalf("endpoint got %d forms, %d refused (%v)", len(forms), len(bad), bad)
	}
	in := forms[0]
	if in.Get("AccountSid") != sid || in.Get("From") != "+15551230001" || in.Get("To") != "+15557654321" ||
		in.Get("Body") != "Is my order ready?" || in.Get("NumMedia") != "0" || !strings.HasPrefix(in.Get("MessageSid"), "SM") {
		t.Errorf("incoming form %v", in)
	}
	if *replies[0].Body != "Thanks, we got it!" || *replies[0].From != "+15557654321" || *replies[0].Price != "-0.01" {
		t.Errorf("reply %s", show(&replies[0]))
	}
	// The delivery attempted again (a crash before its success was recorded) sends no reply twice.
	ds, err := s.Store.Deliveries(context.Background(), "acme", "", "", 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ds {
		if d.Format == model.DeliveryTwilio && d.Type == model.EventMessageReceived {
			if err := s.App.Outbound.ReplyTwiML(context.Background(), d, []webhook.TwiMLMessage{{Body: "Thanks, we got it!"}}); err != nil {
				t.Errorf("the reply again: %v", err)
			}
		}
	}
	if again, err := api.ListMessage((&twapi.ListMessageParams{}).SetTo("+15551230001")); err != nil || len(again) != 1 {
		t.Errorf("%d replies after the delivery's reply was given again (%v), want 1", len(again), err)
	}
	// The delivery log shows the form as it was posted.
	for _, d := range ds {
		if d.Format != model.DeliveryTwilio || d.Type != model.EventMessageReceived {
			continue
		}
		var got struct {
			Format    string          `json:"format"`
			Form      string          `json:"form"`
			Payload   json.RawMessage `json:"payload"`
			TargetURL *string         `json:"target_url"`
		}
		res := s.Do("GET", "/api/v1/webhook/deliveries/"+d.ID, acme.APIKey, nil)
		if res.JSON(t, &got); res.Status != http.StatusOK || got.Format != "twilio" ||
			!strings.Contains(got.Form, "Body=Is+my+order+ready") || got.Payload != nil || got.TargetURL != nil {
			t.Errorf("the delivery in the log: %d %s", res.Status, res.Body)
		}
	}
	fetched, err := api.FetchMessage(in.Get("MessageSid"), nil)
	if err != nil || *fetched.Direction != "inbound" || *fetched.Status != "received" {
		t.Errorf("the inbound message by its SID: %v %s", err, show(fetched))
	}

	// A send with a StatusCallback: its statuses arrive there, signed.
	callbacks := newTwilioEndpoint(t, token, "")
	sent, err := api.CreateMessage((&twapi.CreateMessageParams{}).SetTo("+15551230002").SetBody("Your order shipped").
		SetStatusCallback(callbacks.URL + "/status/" + "acme"))
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	var got []url.Values
	waitFor(t, "the delivered status callback", func() bool {
		got, _ = callbacks.received()
		return len(got) > 0 && got[len(got)-1].Get("MessageStatus") == "delivered"
	})
	if _, bad := callbacks.received(); len(bad) != 0 {
		t.Errorf("refused callbacks: %v", bad)
	}
	var statuses []string
	for _, f := range got {
		if f.Get("MessageSid") != *sent.Sid || f.Get("AccountSid") != sid || f.Get("To") != "+15551230002" {
			t.Errorf("callback %v", f)
		}
		statuses = append(statuses, f.Get("MessageStatus"))
	}
	if strings.Join(statuses, ",") != "sending,sent,delivered" {
		t.Errorf("callback statuses %v", statuses)
	}
	// As with Twilio, the client's webhook heard of the incoming message only: statuses go to
	// each message's own callback.
	if forms, _ = endpoint.received(); len(forms) != 1 {
		t.Errorf("%d forms to the client's webhook, want the incoming message's only", len(forms))
	}
	all, err := api.ListMessage(nil)
	if err != nil || len(all) != 3 {
		t.Errorf("%d messages (%v), want the inbound, the reply and the send", len(all), err)
	}
}
