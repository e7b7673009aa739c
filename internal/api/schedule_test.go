package api_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ibiki/ibiki/internal/ibikitest"
)

// Ibiki's own API schedules (send_at), bounds a message's wait (validity_period) and cancels a
// scheduled message (refunded), with a clear error for each bad input.
func TestScheduledSendThroughIbikisAPI(t *testing.T) {
	s := ibikitest.NewServer(t, nil)
	c := s.CreateClient("acme", "")
	s.Do("POST", "/admin/v1/clients/acme/credits", ibikitest.AdminToken, map[string]any{"amount_cents": 10})
	at := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	var m struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	res := s.Do("POST", "/api/v1/messages", c.APIKey, map[string]any{"to": "+15551230001", "body": "later", "send_at": at, "validity_period": 600})
	if res.JSON(t, &m); res.Status != http.StatusAccepted || m.Status != "scheduled" {
		t.Fatalf("schedule: %d %s", res.Status, res.Body)
	}
	balance := func() int64 {
		var b struct {
			BalanceCents int64 `json:"balance_cents"`
		}
		s.Do("GET", "/api/v1/balance", c.APIKey, nil).JSON(t, &b)
		return b.BalanceCents
	}
	if b := balance(); b != 9 {
		t.Errorf("balance %d after scheduling, want 9", b)
	}
	res = s.Do("POST", "/api/v1/messages/"+m.ID+"/cancel", c.APIKey, nil)
	if res.JSON(t, &m); res.Status != http.StatusOK || m.Status != "canceled" || balance() != 10 {
		t.Fatalf("cancel: %d %s, balance %d", res.Status, res.Body, balance())
	}
	if res := s.Do("POST", "/api/v1/messages/"+m.ID+"/cancel", c.APIKey, nil); res.Status != http.StatusConflict ||
		!strings.Contains(string(res.Body), `"not_scheduled"`) {
		t.Errorf("a second cancel: %d %s", res.Status, res.Body)
	}
	other := s.CreateClient("other", "")
	if res := s.Do("POST", "/api/v1/messages/"+m.ID+"/cancel", other.APIKey, nil); res.Status != http.StatusNotFound {
		t.Errorf("another client's cancel: %d %s", res.Status, res.Body)
	}
	for _, bad := range []struct {
		body  map[string]any
		param string
	}{
		{map[string]any{"to": "+15551230001", "body": "x", "send_at": "tomorrow"}, "send_at"},
		{map[string]any{"to": "+15551230001", "body": "x", "send_at": time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)}, "send_at"},
		{map[string]any{"to": "+15551230001", "body": "x", "validity_period": 0}, "validity_period"},
		{map[string]any{"to": "+15551230001", "body": "x", "validity_period": 36001}, "validity_period"},
	} {
		res := s.Do("POST", "/api/v1/messages", c.APIKey, bad.body)
		if res.Status != http.StatusBadRequest || !strings.Contains(string(res.Body), `"param":"`+bad.param+`"`) {
			t.Errorf("%v: %d %s", bad.body, res.Status, res.Body)
		}
	}
}
