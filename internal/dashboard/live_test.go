package dashboard_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"
)

// A client without a webhook URL still watches its messages change live: a send's status
// steps reach its open pages although no delivery is queued for them.
func TestStatusChangesReachPagesOfAClientWithoutWebhook(t *testing.T) {
	f := newFixture(t, map[string]string{"IBIKI_SIMULATOR_LATENCY": "20ms"})
	acme := f.client("acme") // no webhook URL
	f.admin("POST", "/admin/v1/clients/acme/credits", map[string]any{"amount_cents": 10}, http.StatusOK)
	stream := f.clientUser("acme", "ann@acme.example").events()
	var sent struct {
		ID string `json:"id"`
	}
	f.api(acme.APIKey, "POST", "/api/v1/messages", map[string]string{"to": "+15557770001", "body": "hello"},
		http.StatusAccepted).JSON(t, &sent)
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev, ok := <-stream:
			if !ok {
				t.Fatal("the stream ended before the message's status changed")
			}
			var d struct {
				MessageID string `json:"message_id"`
			}
			json.Unmarshal([]byte(ev.Data), &d) //nolint:errcheck
			if ev.Kind == "message" && d.MessageID == sent.ID {
				return
			}
		case <-timeout:
			t.Fatalf("no live event for message %s within 10 s", sent.ID)
		}
	}
}
