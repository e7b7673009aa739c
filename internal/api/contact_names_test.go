package api_test

import (
	"net/http"
	"testing"

	"github.com/ibiki/ibiki/internal/ibikitest"
)

// A name a provider sends fills the routed client's contact book (a new contact when it has
// none, a name where it has none), without making the phone that client's for routing: the
// replies of a phone two clients texted still follow the last sender.
func TestProviderNamesFillTheContactBookWithoutClaimingThePhone(t *testing.T) {
	s := ibikitest.NewServer(t, nil)
	alphaHook, bravoHook := ibikitest.NewReceiver(t), ibikitest.NewReceiver(t)
	alpha, bravo := s.CreateClient("alpha", alphaHook.URL), s.CreateClient("bravo", bravoHook.URL)
	topUp(t, s, "alpha", 10)
	topUp(t, s, "bravo", 10)
	const p = "+15552400001"
	sendMessage(t, s, alpha.APIKey, map[string]string{"to": p, "body": "from alpha"})
	first := inbound(t, s, extreme(p, "", "hi alpha", "names-1")) // John Doe, no tag: the last sender
	if ev := eventFor(t, alphaHook, first); ev.Data.RoutedBy != "last_sender" {
		t.Fatalf("first reply routed by %q", ev.Data.RoutedBy)
	}
	var contacts struct {
		Data []struct {
			Phone     string `json:"phone"`
			FirstName string `json:"first_name"`
			LastName  string `json:"last_name"`
		} `json:"data"`
	}
	mustDo(t, s, "GET", "/api/v1/contacts", alpha.APIKey, nil, http.StatusOK).JSON(t, &contacts)
	if len(contacts.Data) != 1 || contacts.Data[0].Phone != p || contacts.Data[0].FirstName != "John" || contacts.Data[0].LastName != "Doe" {
		t.Errorf("alpha's contacts %+v, want John Doe", contacts.Data)
	}
	nextMillisecond()
	sendMessage(t, s, bravo.APIKey, map[string]string{"to": p, "body": "from bravo"})
	second := inbound(t, s, extreme(p, "", "hi bravo", "names-2"))
	if ev := eventFor(t, bravoHook, second); ev.Data.RoutedBy != "last_sender" || ev.Data.ClientID != "bravo" {
		t.Errorf("the reply to bravo went to %q by %q", ev.Data.ClientID, ev.Data.RoutedBy)
	}
	t.Run("a contact the client edits becomes its own, and routes", func(t *testing.T) {
		var list struct {
			Data []struct {
				ID string `json:"id"`
			} `json:"data"`
		}
		mustDo(t, s, "GET", "/api/v1/contacts", alpha.APIKey, nil, http.StatusOK).JSON(t, &list)
		mustDo(t, s, "PATCH", "/api/v1/contacts/"+list.Data[0].ID, alpha.APIKey, map[string]string{"first_name": "Johnny"}, http.StatusOK)
		third := inbound(t, s, extreme(p, "", "hi again", "names-3"))
		if ev := eventFor(t, alphaHook, third); ev.Data.RoutedBy != "contact" {
			t.Errorf("after the edit the reply routed by %q, want contact", ev.Data.RoutedBy)
		}
	})
}
