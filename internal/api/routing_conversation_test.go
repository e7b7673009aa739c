package api_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/ibiki/ibiki/internal/ibikitest"
)

// TestRoutingByConversation: a contact who wrote to a client first (so the client never sent
// to them, and the last-sender rule knows nothing) still belongs to that client when they write
// again without a tag, from whichever pool number.
func TestRoutingByConversation(t *testing.T) {
	s := ibikitest.NewServer(t, nil)
	acmeHook, globexHook := ibikitest.NewReceiver(t), ibikitest.NewReceiver(t)
	acme, globex := s.CreateClient("acme", acmeHook.URL), s.CreateClient("globex", globexHook.URL)
	keys := map[string]string{"acme": acme.APIKey, "globex": globex.APIKey}
	hooks := map[string]*ibikitest.Receiver{"acme": acmeHook, "globex": globexHook}
	// send posts a message from phone to a pool number, tagged with business ("" for none).
	send := func(t *testing.T, phone, business, number, body, id string) string {
		t.Helper()
		p := extreme(phone, business, body, id)
		p["receiver"] = number
		return inbound(t, s, p)
	}
	routedTo := func(t *testing.T, id, client, rule string) {
		t.Helper()
		if m := message(t, s, keys[client], id); m.RoutedBy != rule {
			t.Errorf("GET message routed_by = %q, want %q", m.RoutedBy, rule)
		}
		if ev := eventFor(t, hooks[client], id); ev.Data.RoutedBy != rule || ev.Data.ClientID != client {
			t.Errorf("delivered event routed_by %q to %q, want %q to %q", ev.Data.RoutedBy, ev.Data.ClientID, rule, client)
		}
	}
	const ann, bo = "+15552300001", "+15552300002"

	t.Run("a STOP without a tag from a pool number opts out of the client the contact wrote to through its tag", func(t *testing.T) {
		routedTo(t, send(t, ann, "acme", "+15557654321", "hello", "conv-1"), "acme", "business")
		routedTo(t, send(t, ann, "", "+15557654322", "STOP", "conv-2"), "acme", "conversation")
		mustDo(t, s, "GET", "/api/v1/suppressions/"+esc(ann), acme.APIKey, nil, http.StatusOK)
		wantError(t, s.Do("GET", "/api/v1/suppressions/"+esc(ann), globex.APIKey, nil), http.StatusNotFound, "not_found", "")
	})
	t.Run("of two clients with a conversation, the one written to on the same number gets the reply", func(t *testing.T) {
		routedTo(t, send(t, bo, "acme", "+15557654321", "hi acme", "conv-3"), "acme", "business")
		routedTo(t, send(t, bo, "globex", "+15557654322", "hi globex", "conv-4"), "globex", "business")
		routedTo(t, send(t, bo, "", "+15557654322", "and again", "conv-5"), "globex", "conversation")
		routedTo(t, send(t, bo, "", "+15557654321", "and to acme", "conv-6"), "acme", "conversation")
	})
	t.Run("on a number neither conversation was on, the reply stays unrouted", func(t *testing.T) {
		id := send(t, bo, "", "+15557654323", "whose?", "conv-7")
		eventually(t, "the message listed as unrouted", func() bool {
			var page struct{ Data []unroutedOut }
			s.Do("GET", "/admin/v1/unrouted", admin, nil).JSON(t, &page)
			return slices.ContainsFunc(page.Data, func(u unroutedOut) bool { return u.ID == id })
		})
	})
	t.Run("an inactive client's conversation does not count", func(t *testing.T) {
		mustDo(t, s, "PATCH", "/admin/v1/clients/globex", admin, map[string]bool{"active": false}, http.StatusOK)
		routedTo(t, send(t, bo, "", "+15557654322", "anyone?", "conv-8"), "acme", "conversation")
	})
}
