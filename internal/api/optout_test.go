package api_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"

	"github.com/ibiki/ibiki/internal/ibikitest"
)

// eventTypes lists, in arrival order, the event types a receiver got for a message id.
func eventTypes(r *ibikitest.Receiver, messageID string) []string {
	var out []string
	for _, got := range r.Requests() {
		var ev event
		if json.Unmarshal(got.Body, &ev) == nil && ev.Data.ID == messageID {
			out = append(out, ev.Type)
		}
	}
	return out
}

func simulate(t *testing.T, s *ibikitest.Server, from, to, body string) string {
	t.Helper()
	var out struct {
		ID string `json:"id"`
	}
	mustDo(t, s, "POST", "/admin/v1/simulator/inbound", admin, map[string]string{"from": from, "to": to, "body": body}, http.StatusAccepted).JSON(t, &out)
	return out.ID
}

func TestOptOutKeywords(t *testing.T) {
	s := ibikitest.NewServer(t, nil)
	hook := ibikitest.NewReceiver(t)
	acme := s.CreateClient("acme", hook.URL)
	topUp(t, s, "acme", 100)
	mustDo(t, s, "POST", "/admin/v1/numbers", admin, map[string]any{"number": "+15550000020", "client_id": "acme"}, http.StatusCreated)
	const phone = "+15552050001"
	sendTo := func() ibikitest.Response {
		return s.Do("POST", "/api/v1/messages", acme.APIKey, map[string]string{"to": phone, "body": "sale today"})
	}
	first := sendTo()
	if first.Status != http.StatusAccepted {
		t.Fatalf("first send: %d %s", first.Status, first.Body)
	}
	// Let the first message leave before the STOP: a STOP that finds it still queued
	// cancels and refunds it, and that refund would land in the middle of a later check.
	var firstMsg sent
	first.JSON(t, &firstMsg)
	eventually(t, "the first message to be delivered", func() bool {
		var m sent
		mustDo(t, s, "GET", "/api/v1/messages/"+firstMsg.ID, acme.APIKey, nil, http.StatusOK).JSON(t, &m)
		return m.Status == "delivered"
	})

	stop := simulate(t, s, phone, "+15550000020", "  Stop ")
	t.Run("STOP is delivered to the client, then a message.opt_out event", func(t *testing.T) {
		eventually(t, "the opt-out event", func() bool { return len(eventTypes(hook, stop)) == 2 })
		if got := eventTypes(hook, stop); !slices.Equal(got, []string{"message.received", "message.opt_out"}) {
			t.Errorf("events = %v", got)
		}
	})
	t.Run("the phone is on the client's suppression list and sends to it are refused", func(t *testing.T) {
		var o struct {
			Source  string `json:"source"`
			Keyword string `json:"keyword"`
		}
		mustDo(t, s, "GET", "/api/v1/suppressions/"+esc(phone), acme.APIKey, nil, http.StatusOK).JSON(t, &o)
		if o.Source != "keyword" || o.Keyword != "STOP" {
			t.Errorf("suppression = %+v", o)
		}
		wantError(t, sendTo(), http.StatusUnprocessableEntity, "recipient_opted_out", "to")
	})
	t.Run("HELP gets the auto-reply from the number written to, free, even when opted out", func(t *testing.T) {
		before := getBalance(t, s, acme.APIKey).BalanceCents
		simulate(t, s, phone, "+15550000020", "help")
		var pg struct {
			Data []sent `json:"data"`
		}
		eventually(t, "the HELP answer", func() bool {
			mustDo(t, s, "GET", "/api/v1/messages?direction=outbound&to="+esc(phone), acme.APIKey, nil, http.StatusOK).JSON(t, &pg)
			return len(pg.Data) == 2
		})
		help := pg.Data[0]
		if help.From != "+15550000020" || help.CostCents != 0 || help.Body != "Client acme: reply STOP to stop these messages, START to get them again." {
			t.Errorf("HELP answer = %+v", help)
		}
		if b := getBalance(t, s, acme.APIKey).BalanceCents; b != before {
			t.Errorf("balance %d → %d: the HELP answer was charged", before, b)
		}
	})
	t.Run("START takes the phone off the list, with a message.opt_in event", func(t *testing.T) {
		start := simulate(t, s, phone, "+15550000020", "START")
		eventually(t, "the opt-in event", func() bool { return len(eventTypes(hook, start)) == 2 })
		if got := eventTypes(hook, start); !slices.Equal(got, []string{"message.received", "message.opt_in"}) {
			t.Errorf("events = %v", got)
		}
		if res := sendTo(); res.Status != http.StatusAccepted {
			t.Errorf("send after START: %d %s", res.Status, res.Body)
		}
	})
	t.Run("YES from a phone that never opted out is just a reply", func(t *testing.T) {
		yes := simulate(t, s, "+15552050002", "+15550000020", "yes")
		eventually(t, "the reply", func() bool { return len(eventTypes(hook, yes)) >= 1 })
		if got := eventTypes(hook, yes); !slices.Equal(got, []string{"message.received"}) {
			t.Errorf("events = %v", got)
		}
	})
}

func TestSuppressionList(t *testing.T) {
	s := ibikitest.NewServer(t, nil)
	acme := s.CreateClient("acme", "")
	s.CreateClient("globex", "")
	mustDo(t, s, "POST", "/api/v1/suppressions", acme.APIKey, map[string]string{"phone": "(555) 206-0001"}, http.StatusCreated)
	mustDo(t, s, "POST", "/api/v1/suppressions", acme.APIKey, map[string]string{"phone": "+15552060001"}, http.StatusOK)
	wantError(t, s.Do("POST", "/api/v1/suppressions", acme.APIKey, map[string]string{"phone": "12"}), 400, "invalid_field", "phone")
	wantError(t, s.Do("POST", "/api/v1/suppressions", acme.APIKey, map[string]string{}), 400, "missing_field", "phone")
	mustDo(t, s, "POST", "/admin/v1/clients/acme/suppressions", admin, map[string]string{"phone": "+15552060002"}, http.StatusCreated)
	var pg struct {
		Data []struct {
			Phone  string `json:"phone"`
			Source string `json:"source"`
		} `json:"data"`
	}
	mustDo(t, s, "GET", "/admin/v1/clients/acme/suppressions", admin, nil, http.StatusOK).JSON(t, &pg)
	if len(pg.Data) != 2 || pg.Data[0].Source != "client" || pg.Data[1].Source != "operator" {
		t.Errorf("list = %+v", pg.Data)
	}
	mustDo(t, s, "GET", "/admin/v1/clients/globex/suppressions", admin, nil, http.StatusOK).JSON(t, &pg)
	if len(pg.Data) != 0 {
		t.Errorf("globex's list = %+v", pg.Data)
	}
	mustDo(t, s, "DELETE", "/api/v1/suppressions/%2B15552060001", acme.APIKey, nil, http.StatusNoContent)
	wantError(t, s.Do("DELETE", "/api/v1/suppressions/%2B15552060001", acme.APIKey, nil), 404, "not_found", "")
	mustDo(t, s, "DELETE", "/admin/v1/clients/acme/suppressions/%2B15552060002", admin, nil, http.StatusNoContent)
	wantError(t, s.Do("GET", "/admin/v1/clients/nobody/suppressions", admin, nil), 404, "not_found", "")
}
