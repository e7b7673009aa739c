package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/ibiki/ibiki/internal/ibikitest"
)

// outboundTo lists the bodies of a client's outbound messages to phone.
func outboundTo(t *testing.T, s *ibikitest.Server, key, phone string) []string {
	t.Helper()
	var page struct {
		Data []struct {
			Body string `json:"body"`
			From string `json:"from"`
		} `json:"data"`
	}
	mustDo(t, s, "GET", "/api/v1/messages?direction=outbound&to="+esc(phone), key, nil, http.StatusOK).JSON(t, &page)
	var out []string
	for _, m := range page.Data {
		out = append(out, m.Body)
	}
	return out
}

// A contact who writes in gets the client's auto-reply once per window, charged like any send,
// from the number it wrote to; never when it opted out, never to one of Ibiki's own numbers; a
// rule for the receiving number wins over the client's default.
func TestAutoReplies(t *testing.T) {
	s := ibikitest.NewServer(t, nil)
	rcv := ibikitest.NewReceiver(t)
	acme := s.CreateClient("acme", rcv.URL)
	topUp(t, s, "acme", 100)
	mustDo(t, s, "POST", "/admin/v1/numbers", admin, map[string]any{"number": "+15557654321", "client_id": "acme"}, http.StatusCreated)
	mustDo(t, s, "POST", "/admin/v1/numbers", admin, map[string]any{"number": "+15550000077"}, http.StatusCreated)
	var rule struct {
		ID            string `json:"id"`
		WindowSeconds int64  `json:"window_seconds"`
	}
	mustDo(t, s, "PUT", "/api/v1/auto-replies", acme.APIKey, map[string]any{"text": "Thanks [firstname|friend], we got it."}, http.StatusOK).JSON(t, &rule)
	if rule.ID == "" || rule.WindowSeconds != 86400 {
		t.Fatalf("rule %+v", rule)
	}
	write := func(from, body, id string) {
		t.Helper()
		eventFor(t, rcv, inbound(t, s, extreme(from, "acme", body, id))) // routed, and the reply queued with it
	}
	before, _ := ledgerSum(t, s, acme.APIKey)
	write("+15552000001", "hello", "ar-1")
	if got := outboundTo(t, s, acme.APIKey, "+15552000001"); len(got) != 1 || got[0] != "Thanks John, we got it." {
		t.Fatalf("replies %q", got)
	}
	if after, _ := ledgerSum(t, s, acme.APIKey); after != before-1 {
		t.Errorf("ledger %d, then %d: the reply is charged one cent", before, after)
	}
	t.Run("a second message within the window gets no reply", func(t *testing.T) {
		write("+15552000001", "are you there?", "ar-2")
		if got := outboundTo(t, s, acme.APIKey, "+15552000001"); len(got) != 1 {
			t.Errorf("replies %q", got)
		}
	})
	t.Run("an opted-out contact gets none", func(t *testing.T) {
		write("+15552000002", "STOP", "ar-3")
		write("+15552000002", "oops, hello", "ar-4")
		if got := outboundTo(t, s, acme.APIKey, "+15552000002"); len(got) != 0 {
			t.Errorf("replies %q", got)
		}
	})
	t.Run("one of Ibiki's own numbers gets none: no loop between auto-replies", func(t *testing.T) {
		write("+15550000077", "Thanks, we got it.", "ar-5")
		if got := outboundTo(t, s, acme.APIKey, "+15550000077"); len(got) != 0 {
			t.Errorf("replies %q", got)
		}
	})
	t.Run("the receiving number's rule wins", func(t *testing.T) {
		mustDo(t, s, "PUT", "/api/v1/auto-replies", acme.APIKey, map[string]any{"number": "+15557654321", "text": "You wrote to our sales line."}, http.StatusOK)
		write("+15552000003", "hi", "ar-6")
		if got := outboundTo(t, s, acme.APIKey, "+15552000003"); len(got) != 1 || got[0] != "You wrote to our sales line." {
			t.Errorf("replies %q", got)
		}
	})
	t.Run("rules list, replace by channel and number, and delete", func(t *testing.T) {
		mustDo(t, s, "PUT", "/api/v1/auto-replies", acme.APIKey, map[string]any{"text": "Replaced", "window_seconds": 3600}, http.StatusOK)
		var list struct {
			Data []struct {
				ID, Text, Number string
			} `json:"data"`
		}
		mustDo(t, s, "GET", "/api/v1/auto-replies", acme.APIKey, nil, http.StatusOK).JSON(t, &list)
		if len(list.Data) != 2 || list.Data[0].ID != rule.ID || list.Data[0].Text != "Replaced" || list.Data[1].Number != "+15557654321" {
			t.Fatalf("rules %+v", list.Data)
		}
		mustDo(t, s, "DELETE", "/api/v1/auto-replies/"+list.Data[1].ID, acme.APIKey, nil, http.StatusNoContent)
		wantError(t, s.Do("DELETE", "/api/v1/auto-replies/"+list.Data[1].ID, acme.APIKey, nil), http.StatusNotFound, "not_found", "")
		mustDo(t, s, "GET", "/admin/v1/clients/acme/auto-replies", admin, nil, http.StatusOK).JSON(t, &list)
		if len(list.Data) != 1 {
			t.Errorf("the operator sees %+v", list.Data)
		}
	})
	t.Run("bad rules are refused naming the field", func(t *testing.T) {
		hours := map[string]any{"time_zone": "Europe/London", "days": []string{"mon"}, "open": "09:00", "close": "17:00"}
		for _, tc := range []struct {
			body  map[string]any
			param string
		}{
			{map[string]any{}, "text"},
			{map[string]any{"text": " "}, "text"},
			{map[string]any{"text": strings.Repeat("x", 1601)}, "text"},
			{map[string]any{"text": "x", "channel": "voice"}, "channel"},
			{map[string]any{"text": "x", "number": "+15559999999"}, "number"},
			{map[string]any{"text": "x", "number": "nope"}, "number"},
			{map[string]any{"text": "x", "window_seconds": 10}, "window_seconds"},
			{map[string]any{"text": "x", "hours": hours}, "outside_text"},
			{map[string]any{"text": "x", "outside_text": "closed"}, "outside_text"},
			{map[string]any{"text": "x", "outside_text": "closed", "hours": map[string]any{"time_zone": "Mars/Olympus", "days": []string{"mon"}, "open": "09:00", "close": "17:00"}}, "hours.time_zone"},
			{map[string]any{"text": "x", "outside_text": "closed", "hours": map[string]any{"time_zone": "UTC", "days": []string{"monday"}, "open": "09:00", "close": "17:00"}}, "hours.days"},
			{map[string]any{"text": "x", "outside_text": "closed", "hours": map[string]any{"time_zone": "UTC", "days": []string{"mon"}, "open": "9am", "close": "17:00"}}, "hours.open"},
			{map[string]any{"text": "x", "outside_text": "closed", "hours": map[string]any{"time_zone": "UTC", "days": []string{"mon"}, "open": "09:00", "close": "08:00"}}, "hours.close"},
			{map[string]any{"text": "x", "id": "ar_mine"}, "id"},
		} {
			wantError(t, s.Do("PUT", "/api/v1/auto-replies", acme.APIKey, tc.body), http.StatusBadRequest, "invalid_field", tc.param)
		}
	})
}
