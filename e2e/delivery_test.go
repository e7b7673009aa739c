package e2e

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/ibiki/ibiki/internal/ibikitest"
)

// The end-to-end path across processes: an ExtremeSMS payload in, routed by its
// business tag, delivered to a receiver that fails twice, exactly three attempts with one
// webhook-id and a valid signature; the same payload again delivers nothing new.
func TestReplyRoutedByBusinessIsDeliveredOnTheThirdAttemptOnce(t *testing.T) {
	rec := ibikitest.NewReceiver(t)
	rec.Answer(http.StatusInternalServerError, http.StatusInternalServerError)
	srv := start(t, ibikitest.DatabaseURL(t))
	client := createClient(t, srv, "acme", rec.URL)

	payload := extremePayload("acme", "68d32be5acc9914eed77720d", "15551234567")
	status, body := post(srv.URL+"/webhooks/extremesms", "", payload)
	if status != http.StatusOK {
		t.Fatalf("webhook: %d %s", status, body)
	}
	got := rec.WaitFor(t, 3)
	wh, err := standardwebhooks.NewWebhook(client.WebhookSecret)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range got {
		if r.Header.Get("webhook-id") != got[0].Header.Get("webhook-id") {
			t.Errorf("attempt %d has webhook-id %q, the first had %q", i+1, r.Header.Get("webhook-id"), got[0].Header.Get("webhook-id"))
		}
		if err := wh.Verify(r.Body, r.Header); err != nil {
			t.Errorf("attempt %d: signature does not verify: %v", i+1, err)
		}
	}
	var ev struct {
		Type string `json:"type"`
		Data struct {
			ClientID string `json:"client_id"`
			From     string `json:"from"`
			RoutedBy string `json:"routed_by"`
			Contact  struct {
				FirstName string `json:"first_name"`
			} `json:"contact"`
		} `json:"data"`
	}
	if err := json.Unmarshal(got[2].Body, &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Type != "message.received" || ev.Data.ClientID != "acme" || ev.Data.RoutedBy != "business" ||
		ev.Data.From != "+15551234567" || ev.Data.Contact.FirstName != "John" {
		t.Fatalf("event = %+v", ev)
	}

	status, body = post(srv.URL+"/webhooks/extremesms", "", payload)
	if status != http.StatusOK || !json.Valid(body) {
		t.Fatalf("repeat webhook: %d %s", status, body)
	}
	var dup struct{ Duplicate bool }
	_ = json.Unmarshal(body, &dup)
	if !dup.Duplicate {
		t.Fatalf("the repeated payload was not recognised: %s", body)
	}
	// Give a wrongly queued second delivery every chance to arrive before counting.
	time.Sleep(time.Second)
	if n := len(rec.Requests()); n != 3 {
		t.Fatalf("receiver got %d requests, want exactly 3", n)
	}
}
